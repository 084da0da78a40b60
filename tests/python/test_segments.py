"""Segments of combined churn signs on the shipped extract."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest

from metanprom.stats.stability import segment_stability


def _segments(build):
    columns = [row[0] for row in build.query("describe marts.churn_segments")]
    return [
        dict(zip(columns, row, strict=True))
        for row in build.query("select * from marts.churn_segments order by segment_id")
    ]


def test_at_least_three_segments_with_consistent_figures(shipped_build):
    segments = _segments(shipped_build)
    assert 3 <= len(segments) <= 5
    overall = 1_820 / 10_000
    for segment in segments:
        assert segment["lift"] >= 2.0 and segment["clients"] >= 500
        assert segment["churn_rate"] == pytest.approx(segment["churners"] / segment["clients"])
        assert segment["lift"] == pytest.approx(segment["churn_rate"] / overall)
        assert segment["churner_share"] == pytest.approx(segment["churners"] / 1_820)
        assert segment["ci_low"] < segment["churn_rate"] < segment["ci_high"]
        assert segment["recommendation"] and " and " in segment["definition"]
        assert "select" not in segment["definition"].lower()
    assert sorted(s["priority"] for s in segments) == list(range(1, len(segments) + 1))
    losses = sorted(segments, key=lambda s: s["priority"])
    assert [s["expected_balance_loss"] for s in losses] == sorted(
        (s["expected_balance_loss"] for s in segments), reverse=True
    )


def test_members_materialise_the_figures(shipped_build):
    rows = shipped_build.query(
        """
        select segments.segment_id, segments.clients, segments.churners,
               count(*), count(*) filter (where dim.is_churned)
        from marts.churn_segments as segments
        join marts.churn_segment_members as members using (segment_id)
        join marts.dim_clients as dim using (client_key)
        group by all
        """
    )
    for segment_id, clients, churners, member_count, member_churners in rows:
        assert (clients, churners) == (member_count, member_churners), segment_id


def test_greedy_selection_reaches_distinct_churners(shipped_build):
    reached = shipped_build.scalar(
        """
        select count(distinct client_key) from marts.churn_segment_members
        join marts.dim_clients using (client_key) where dim_clients.is_churned
        """
    )
    last = shipped_build.scalar("select max(cumulative_churners_reached) from marts.churn_segments")
    assert reached == last
    assert reached / 1_820 > 0.6
    first = _segments(shipped_build)[0]
    best_eligible = shipped_build.scalar("select max(churners) from marts.churn_segment_candidates where is_eligible")
    assert first["churners"] == best_eligible


def test_overlap_is_consistent_and_no_near_duplicates(shipped_build):
    for a, b, shared, jaccard in shipped_build.query(
        "select segment_a, segment_b, shared_clients, jaccard from marts.churn_segment_overlap"
    ):
        counted = shipped_build.scalar(
            f"""
            select count(*) from marts.churn_segment_members as first
            join marts.churn_segment_members as second using (client_key)
            where first.segment_id = '{a}' and second.segment_id = '{b}'
            """
        )
        assert counted == shared
        assert jaccard <= 0.5


def test_candidates_keep_every_combination(shipped_build):
    n_signs = dict(shipped_build.query("select n_signs, count(*) from marts.churn_segment_candidates group by 1"))
    assert set(n_signs) == {2, 3} and n_signs[3] > n_signs[2]
    # a known pair recounted from dim_clients
    clients, churners = shipped_build.query(
        "select count(*), count(*) filter (where is_churned) from marts.dim_clients where balance >= 1100000 and gender = 'М'"
    )[0]
    row = shipped_build.query(
        "select clients, churners from marts.churn_segment_candidates where candidate_id = 'balance: ≥ 1.1M & gender: М'"
    )[0]
    assert row == (clients, churners)


def test_stability_columns(shipped_build):
    rows = shipped_build.query(
        "select segment_id, pass_share, churn_rate_ci_low, churn_rate_ci_high from marts.churn_segment_stability"
    )
    rates = dict(shipped_build.query("select segment_id, churn_rate from marts.churn_segments"))
    assert {row[0] for row in rows} == set(rates)
    for segment_id, share, low, high in rows:
        assert 0 <= share <= 1 and low < rates[segment_id] < high


def test_stability_recognises_a_fragile_segment():
    rng = np.random.default_rng(3)
    churned = rng.random(4_000) < 0.2
    strong = churned | (rng.random(4_000) < 0.05)  # almost all churners: lift far above 2
    borderline = rng.random(4_000) < 0.1
    borderline[churned] = rng.random(churned.sum()) < 0.2  # lift about 2, size about 10 %
    membership = np.column_stack([strong, borderline])
    # aggregate the clients into patterns, as run_stability does in SQL
    keys, counts = np.unique(np.column_stack([churned, membership]), axis=0, return_counts=True)
    result = segment_stability(
        counts,
        keys[:, 0].astype(bool),
        keys[:, 1:].astype(bool),
        min_share=0.05,
        min_lift=2.0,
        resamples=100,
        seed=1,
        stable_share=0.8,
    )
    assert result[0]["pass_share"] == 1.0
    assert result[1]["pass_share"] < result[0]["pass_share"]
    assert [row["is_stable"] for row in result] == [True, result[1]["pass_share"] >= 0.8]


@pytest.mark.parametrize(
    ("singular_test", "tampering"),
    [
        (
            "assert_segments_reproduce_from_dim_clients",
            "delete from marts.churn_segment_members where client_key = "
            "(select min(client_key) from marts.churn_segment_members where segment_id = 'S1')",
        ),
        (
            "assert_segments_reproduce_from_dim_clients",
            "update marts.churn_segments set churners = churners + 1 where segment_id = 'S2'",
        ),
        (
            "assert_segment_coverage_counts_each_churner_once",
            "update marts.churn_segments set cumulative_churners_reached = cumulative_churners_reached + churners "
            "where priority = 2",
        ),
        (
            "assert_retention_actions_match_signs",
            "update raw.retention_actions set sign_value = 'Ростов ' where sign_value = 'Ростов'",
        ),
        ("assert_retention_actions_match_signs", "delete from raw.retention_actions where sign_feature = 'any'"),
    ],
)
def test_singular_tests_catch_a_wrong_member_or_figure(shipped_build, tmp_path, singular_test, tampering):
    """Positive controls: each singular dbt test passes on the build and fails once the data is broken."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(shipped_build.db, copy)
    repo = Path(__file__).resolve().parents[2]
    dbt = str(Path(sys.executable).with_name("dbt"))
    command = [dbt, "test", "--select", singular_test, "--profiles-dir", str(repo)]
    env = {**os.environ, "METANPROM_DB": str(copy), "DBT_TARGET_PATH": str(tmp_path / "target")}
    env["DBT_LOG_PATH"] = str(tmp_path / "logs")
    clean = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, check=False)
    assert clean.returncode == 0, clean.stdout[-2000:]
    with duckdb.connect(str(copy)) as con:
        con.execute(tampering)
    tampered = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, check=False)
    assert tampered.returncode != 0
    assert "FAIL" in tampered.stdout
