"""Churn risk: out-of-fold scores, validation tables equal to sklearn, the queue and its exports."""

from __future__ import annotations

import csv
import re

import numpy as np
import pandas as pd
import pytest
from conftest import REPO_ROOT, run_build
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from metanprom.i18n import queue_title
from metanprom.risk import (
    RiskConfig,
    RiskInputs,
    cross_validate,
    feature_frame,
    fold_assignment,
    read_inputs,
    sign_matrix,
)
from metanprom.warehouse import open_duckdb


@pytest.fixture(scope="module")
def shipped_inputs(shipped_build) -> RiskInputs:
    """What the risk step reads from the shipped warehouse."""
    warehouse = open_duckdb(shipped_build.db, read_only=True)
    try:
        return read_inputs(warehouse)
    finally:
        warehouse.close()


def _scored(build) -> pd.DataFrame:
    rows = build.query(
        "select risk.client_key, clients.is_churned, risk.churn_probability, risk.transparent_probability, "
        "risk.segment_rule_probability, risk.cv_fold, risk.risk_decile "
        "from marts.client_churn_risk as risk inner join marts.dim_clients as clients using (client_key) "
        "order by clients.source_row_number"
    )
    return pd.DataFrame(
        rows, columns=["client_key", "is_churned", "best", "transparent", "segment_rule", "cv_fold", "risk_decile"]
    )


def test_every_client_is_scored_once_out_of_fold(shipped_build):
    scored = _scored(shipped_build)
    assert len(scored) == 10_000 == scored["client_key"].nunique()
    assert scored["best"].between(0, 1).all() and scored["transparent"].between(0, 1).all()
    assert set(scored["cv_fold"]) == {1, 2, 3, 4, 5}
    assert scored["risk_decile"].value_counts().sort_index().tolist() == [1000] * 10
    # the highest probabilities are decile 1
    assert scored.loc[scored["risk_decile"] == 1, "best"].min() >= scored.loc[scored["risk_decile"] == 2, "best"].max()


def test_metrics_equal_sklearn_on_the_published_columns(shipped_build):
    scored = _scored(shipped_build)
    labels = scored["is_churned"].astype(int)
    published = {
        (score, metric): value
        for score, metric, value in shipped_build.query(
            "select score_name, metric, value from marts.churn_model_metrics"
        )
    }
    for score in ("best", "transparent", "segment_rule"):
        assert published[(score, "roc_auc")] == pytest.approx(roc_auc_score(labels, scored[score]), abs=1e-12)
        assert published[(score, "average_precision")] == pytest.approx(
            average_precision_score(labels, scored[score]), abs=1e-12
        )
        assert published[(score, "brier")] == pytest.approx(brier_score_loss(labels, scored[score]), abs=1e-12)
    # a good gradient-boosted model on this extract: cross-validated AUC near 0.90, better than the signs alone
    assert published[("best", "roc_auc")] > 0.85
    assert published[("best", "roc_auc")] > published[("transparent", "roc_auc")] > 0.7
    top = scored.sort_values("best", ascending=False, kind="stable").head(1000)
    captured = shipped_build.scalar(
        "select churners_captured from marts.churn_model_capture where score_name = 'best' and top_share = 0.1"
    )
    assert captured == int(top["is_churned"].sum())


def test_calibration_table_is_consistent(shipped_build):
    rows = shipped_build.query(
        "select risk_decile, clients, churners, mean_predicted, observed_rate from marts.churn_model_calibration "
        "where score_name = 'best' order by risk_decile"
    )
    assert [row[0] for row in rows] == list(range(1, 11))
    assert sum(row[1] for row in rows) == 10_000 and sum(row[2] for row in rows) == 1_820
    for _, clients, churners, predicted, observed in rows:
        assert observed == pytest.approx(churners / clients)
        assert abs(predicted - observed) < 0.08  # calibrated: predicted and observed rates agree per decile


def test_a_clients_score_ignores_its_own_label(shipped_inputs):
    """Flip the labels of fold 1: fold 1's probabilities stay the same, the others move."""
    inputs = shipped_inputs
    signs = inputs.signs
    sample = inputs.clients.iloc[:3000].reset_index(drop=True)
    labels = sample["is_churned"].to_numpy(dtype=bool)
    features, groups = feature_frame(sample)
    held = sign_matrix(sample, signs).astype(np.float64)
    config = RiskConfig(importance_repeats=1)
    folds = fold_assignment(labels, 5, config.seed)
    best, transparent, _ = cross_validate(features, held, labels, folds, groups, config)
    flipped = labels.copy()
    flipped[folds == 1] = ~flipped[folds == 1]
    best_flipped, transparent_flipped, _ = cross_validate(features, held, flipped, folds, groups, config)
    in_fold = folds == 1
    assert np.array_equal(best[in_fold], best_flipped[in_fold])
    assert np.array_equal(transparent[in_fold], transparent_flipped[in_fold])
    assert not np.allclose(best[~in_fold], best_flipped[~in_fold])


def test_sign_matrix_matches_the_signs_client_counts(shipped_build, shipped_inputs):
    inputs = shipped_inputs
    counts = dict(shipped_build.query("select signal_id, clients from marts.churn_signals"))
    signs = inputs.signs
    held = sign_matrix(inputs.clients, signs)
    members = dict(shipped_build.query("select segment_id, count(*) from marts.churn_segment_members group by 1"))
    for index, segment_id in enumerate(inputs.segments["segment_id"]):  # the membership bit masks
        assert int(((inputs.clients["segment_mask"].to_numpy() >> index) & 1).sum()) == members[segment_id]
    assert dict(zip(signs["signal_id"], held.sum(axis=0).tolist(), strict=True)) == counts


def test_queue_holds_active_clients_in_order(shipped_build):
    queue = pd.DataFrame(
        shipped_build.query(
            "select queue.queue_rank, queue.client_key, queue.balance, queue.churn_probability, queue.expected_loss, "
            "clients.is_churned, queue.recommended_action from marts.retention_queue as queue "
            "inner join marts.dim_clients as clients using (client_key) order by queue.queue_rank"
        ),
        columns=["rank", "key", "balance", "p", "loss", "churned", "action"],
    )
    assert len(queue) == shipped_build.scalar("select count(*) from marts.dim_clients where not is_churned") == 8_180
    assert not queue["churned"].any()
    assert queue["rank"].tolist() == list(range(1, len(queue) + 1))
    assert np.allclose(queue["loss"], queue["p"] * queue["balance"].fillna(0.0))
    assert queue["loss"].is_monotonic_decreasing
    assert queue["action"].notna().all()
    summary = shipped_build.query(
        "select active_clients, queue_expected_loss, segment_active_clients from marts.retention_summary"
    )
    assert summary[0][0] == 8_180 and summary[0][1] == pytest.approx(queue["loss"].sum())
    in_segments = shipped_build.scalar(
        "select count(distinct members.client_key) from marts.churn_segment_members as members "
        "inner join marts.dim_clients as clients using (client_key) where not clients.is_churned"
    )
    assert summary[0][2] == in_segments


def test_segment_cells_add_up_the_clients_of_each_segment_combination(shipped_build):
    """retention_segment_cells (from the scores) = client_churn_risk joined to dim_clients, grouped."""
    cells = shipped_build.query(
        "select segment_ids, city, gender, clients, churners, active_balance "
        "from marts.retention_segment_cells order by all"
    )
    joined = shipped_build.query(
        "select risk.segment_ids, clients.city, clients.gender, count(*), "
        "count(*) filter (where clients.is_churned), "
        "coalesce(sum(clients.balance) filter (where not clients.is_churned), 0) "
        "from marts.client_churn_risk as risk inner join marts.dim_clients as clients using (client_key) "
        "group by all order by all"
    )
    assert [row[:5] for row in cells] == [row[:5] for row in joined]
    assert [row[5] for row in cells] == pytest.approx([row[5] for row in joined], rel=1e-12)
    assert sum(row[3] for row in cells) == 10_000 and sum(row[4] for row in cells) == 1_820
    # every selected segment's members are in the cells that name it
    in_segment = dict(
        shipped_build.query("select segment_id, count(*) from marts.churn_segment_members group by segment_id")
    )
    for segment_id, members in in_segment.items():
        assert sum(row[3] for row in cells if row[0] and segment_id in row[0].split(",")) == members


def test_exports_hold_the_mart_rows_for_russian_excel(shipped_build):
    from openpyxl import load_workbook

    reports = shipped_build.db.parent / "reports"
    mart = shipped_build.query(
        "select user_id, city, expected_loss, top_reasons from marts.retention_queue order by queue_rank"
    )
    raw = (reports / "retention_queue.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel shows Cyrillic
    with (reports / "retention_queue.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    header, body = rows[0], rows[1:]
    assert header[0] == queue_title("queue_rank") == "Очередь"
    assert len(body) == len(mart)
    city, loss = header.index(queue_title("city")), header.index(queue_title("expected_loss"))
    for row, (user_id, mart_city, mart_loss, _) in zip(body[:50], mart[:50], strict=True):
        assert int(row[header.index(queue_title("user_id"))]) == user_id
        assert row[city] == mart_city
        assert float(row[loss].replace(",", ".")) == pytest.approx(mart_loss)  # decimal comma
    sheet = load_workbook(reports / "retention_queue.xlsx").active
    values = list(sheet.values)
    assert values[0][0] == "Очередь" and sheet.freeze_panes == "A2" and sheet.auto_filter.ref
    assert len(values) - 1 == len(mart)
    assert [row[1] for row in values[1:]] == [user_id for user_id, *_ in mart]
    assert isinstance(values[1][9], float)  # numbers stay numbers
    assert {row[2] for row in values[1:]} <= {"Ярославль", "Рыбинск", "Ростов"}


def test_russian_exports_read_as_russian(shipped_build):
    """Reasons carry Russian money units and two actions are two sentences, in the file staff open."""
    reports = shipped_build.db.parent / "reports"
    with (reports / "retention_queue.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    header, body = rows[0], rows[1:]
    reasons = [row[header.index(queue_title("top_reasons"))] for row in body]
    actions = [row[header.index(queue_title("recommended_action_ru"))] for row in body]
    money = [text for text in reasons if "Остаток на счёте" in text]
    assert money and all(" млн" in text or " тыс." in text for text in money)
    assert not any(re.search(r"\d[kM]\b", text) for text in reasons)
    joined = [text for text in actions if "Также: " in text]
    assert joined and all(". Также: " in text and "Also" not in text for text in joined)
    english = shipped_build.query("select recommendation from marts.churn_segments")
    assert any(". Also: " in text for (text,) in english)
    assert not any(re.search(r"[^.] Also: ", text) for (text,) in english)


@pytest.mark.parametrize("name", ["ok_no_churners.csv", "ok_three_rows.csv"])
def test_no_model_without_both_classes(tmp_path, name):
    run = run_build(tmp_path, REPO_ROOT / "tests" / "corpus" / name)
    assert run.returncode == 0, run.output[-3000:]
    assert "Traceback" not in run.output
    trained, reason = run.query("select trained, not_trained_reason from marts.churn_model_status")[0]
    assert trained is False and "too few clients of one class" in reason
    assert "no model trained" in run.output
    assert run.scalar("select count(churn_probability) from marts.client_churn_risk") == 0
    assert run.scalar("select count(*) from marts.client_churn_risk") == run.scalar(
        "select count(*) from marts.dim_clients"
    )
    assert run.scalar("select count(*) from marts.churn_model_metrics") == 0
