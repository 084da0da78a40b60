"""The benchmark's pandas baseline does the pipeline's work: an independent re-implementation
whose figures must equal the warehouse's marts on the shipped extract (and on a generated one)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT, SHIPPED, run_build

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import pandas_baseline  # noqa: E402


def _marts_figures(build) -> dict:
    segments = build.query("select clients, churners from marts.churn_segments")
    overlaps = build.query("select shared_clients from marts.churn_segment_overlap")
    return {
        "clients": build.scalar("select count(*) from marts.dim_clients"),
        "rejected": build.scalar("select count(*) from marts.rejected_rows"),
        "churners": build.scalar("select count(*) from marts.dim_clients where is_churned"),
        "buckets": build.scalar("select count(*) from marts.churn_by_feature"),
        "signals": sorted(build.query("select feature, merged_buckets from marts.churn_signals")),
        "candidates": build.scalar("select count(*) from marts.churn_segment_candidates"),
        "eligible": build.scalar("select count(*) from marts.churn_segment_candidates where is_eligible"),
        "segments": sorted(segments),
        "members": build.scalar("select count(*) from marts.churn_segment_members"),
        "overlaps": sorted(row[0] for row in overlaps),
    }


def _baseline_figures(path: Path) -> dict:
    summary = dict(pandas_baseline.run(path, parts=()).summary)
    summary["signals"] = sorted(summary["signals"])
    summary["segments"] = sorted(summary["segments"])
    summary["overlaps"] = sorted(summary["overlaps"].values())
    return summary


def test_baseline_reproduces_the_marts_on_the_shipped_extract(shipped_build):
    figures = _baseline_figures(SHIPPED)
    assert figures == _marts_figures(shipped_build)
    assert figures["candidates"] == 1017 and figures["eligible"] == 53 and len(figures["segments"]) == 5


@pytest.fixture(scope="module")
def generated_build(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("generated")
    extract = workdir / "extract.csv"
    subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "scripts" / "generate_extract.py"),
            "--clients",
            "30000",
            "--seed",
            "7",
            "--out",
            str(extract),
        ],
        check=True,
    )
    return extract, run_build(workdir, extract)


def test_baseline_reproduces_the_marts_on_a_generated_extract(generated_build):
    extract, build = generated_build
    assert _baseline_figures(extract) == _marts_figures(build)


def test_baseline_statistics_and_risk_equal_the_marts(shipped_build, tmp_path):
    """The benchmark's pandas counterpart of the statistical and risk steps does the same work:
    every hypothesis's p-value and effect size equal marts.stat_tests, Holm on the primary tests,
    and the risk models' out-of-fold AUC equal marts.churn_model_metrics."""
    summary = pandas_baseline.run(SHIPPED, parts=("tests", "risk"), out=tmp_path).summary
    rows = shipped_build.query(
        "select hypothesis_id, test, p_value, effect_size, p_value_adjusted from marts.stat_tests"
    )
    assert len(rows) == len(summary["hypotheses"]) == 15
    for hypothesis, test, p_value, effect, adjusted in rows:
        theirs = summary["hypotheses"][(hypothesis, test)]
        assert theirs["p"] == pytest.approx(p_value, rel=1e-9), (hypothesis, test)
        assert theirs["effect"] == pytest.approx(effect, rel=1e-9, abs=1e-12), (hypothesis, test)
        if adjusted is not None:
            assert theirs["p_adjusted"] == pytest.approx(adjusted, rel=1e-9), (hypothesis, test)
    auc = dict(
        shipped_build.query(
            "select score_name, value from marts.churn_model_metrics where metric = 'roc_auc' "
            "and score_name in ('best', 'transparent')"
        )
    )
    assert summary["risk_auc"]["best"] == pytest.approx(auc["best"], abs=1e-6)
    assert summary["risk_auc"]["transparent"] == pytest.approx(auc["transparent"], abs=1e-6)
    assert (tmp_path / "retention_queue.xlsx").stat().st_size > 0
