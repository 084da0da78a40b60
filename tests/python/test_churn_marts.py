"""Churn marts on the shipped extract, checked against independent computations."""

from __future__ import annotations

import csv
from collections import Counter

import numpy as np
import pytest
from conftest import SHIPPED
from statsmodels.stats.proportion import proportion_confint


@pytest.fixture(scope="module")
def extract_rows():
    with SHIPPED.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_wilson_bounds_match_statsmodels(shipped_build):
    for table in ("churn_by_feature", "churn_signals", "product_segments", "product_segments_by_city_gender"):
        rows = shipped_build.query(f"select clients, churners, ci_low, ci_high from marts.{table}")
        assert rows, table
        clients = np.array([row[0] for row in rows])
        churners = np.array([row[1] for row in rows])
        low, high = proportion_confint(churners, clients, alpha=0.05, method="wilson")
        np.testing.assert_allclose([row[2] for row in rows], low, rtol=0, atol=1e-12, err_msg=table)
        np.testing.assert_allclose([row[3] for row in rows], high, rtol=0, atol=1e-12, err_msg=table)


@pytest.mark.parametrize(
    ("feature", "column", "relabel"),
    [
        ("city", "city", str),
        ("gender", "gender", str),
        ("equity", "equity", str),
        ("products", "products", str),
        ("credit_card", "credit_card", {"0": "no", "1": "yes"}.get),
        ("last_activity", "last_activity", {"0": "no", "1": "yes"}.get),
    ],
)
def test_natural_categories_equal_the_raw_extract(shipped_build, extract_rows, feature, column, relabel):
    clients = Counter(relabel(row[column]) for row in extract_rows)
    churners = Counter(relabel(row[column]) for row in extract_rows if row["churn"] == "1")
    got = shipped_build.query(
        f"select bucket, clients, churners from marts.churn_by_feature where feature = '{feature}'"
    )
    assert {bucket: (n, c) for bucket, n, c in got} == {key: (clients[key], churners[key]) for key in clients}


def test_known_figures(shipped_build):
    figures = dict(
        (f"{feature}/{bucket}", (clients, churners))
        for feature, bucket, clients, churners in shipped_build.query(
            "select feature, bucket, clients, churners from marts.churn_by_feature"
        )
    )
    assert figures["products/1"] == (3_341, 235)
    assert figures["balance/missing"] == (2_295, 13)
    assert figures["age/missing"] == (26, 1)


def test_continuous_bins_partition_and_follow_the_quantile_rule(shipped_build, extract_rows):
    rows = shipped_build.query(
        "select feature, bucket, clients, lower_bound, upper_bound from marts.churn_by_feature "
        "where feature_kind = 'continuous' order by feature, bucket_order"
    )
    by_feature: dict[str, list] = {}
    for feature, bucket, clients, low, high in rows:
        by_feature.setdefault(feature, []).append((bucket, clients, low, high))
    for feature, column in (("age", "age"), ("score", "score"), ("balance", "balance"), ("est_salary", "EST_SALARY")):
        values = np.array([float(row[column]) for row in extract_rows if row[column] != ""])
        buckets = [b for b in by_feature[feature] if b[0] != "missing"]
        assert 10 <= len(buckets) <= 20, feature  # ventiles (var quantile_bins = 20), duplicate cuts dropped
        for bucket, clients, low, high in buckets:
            inside = (values >= (low if low is not None else -np.inf)) & (
                values < (high if high is not None else np.inf)
            )
            assert inside.sum() == clients, (feature, bucket)
        assert sum(b[1] for b in by_feature[feature]) == 10_000
    assert [b[0] for b in by_feature["score"]][:3] == ["642–736", "737–764", "765–778"]


def test_churn_signals_follow_the_rule(shipped_build):
    overall = shipped_build.scalar("select avg(case when is_churned then 1.0 else 0.0 end) from marts.dim_clients")
    signals = shipped_build.query(
        "select signal_id, clients, churners, churn_rate, ci_low, lift, churner_share from marts.churn_signals"
    )
    ids = {row[0] for row in signals}
    assert {"score: 853–891", "balance: ≥ 1.1M", "products: 3–5", "equity: 4–9", "last_activity: yes"} <= ids
    for signal_id, clients, churners, rate, ci_low, lift, share in signals:
        assert ci_low > overall and lift >= 1.2 and clients >= 100, signal_id
        assert rate == pytest.approx(churners / clients) and lift == pytest.approx(rate / overall)
        assert share == pytest.approx(churners / 1_820)
    # a merged interval holds exactly the clients of its buckets
    merged = shipped_build.query(
        "select sum(clients), sum(churners) from marts.churn_by_feature where signal_id = 'balance: ≥ 1.1M'"
    )[0]
    recount = shipped_build.query(
        "select count(*), count(*) filter (where is_churned) from marts.dim_clients where balance >= 1100000"
    )[0]
    assert merged == recount == (1_617, 663)


def test_product_segments(shipped_build):
    rows = {
        row[0]: row[1:]
        for row in shipped_build.query(
            "select product_segment, clients, churners, median_age, share_women, share_active "
            "from marts.product_segments"
        )
    }
    assert {key: value[:2] for key, value in rows.items()} == {
        "0": (1, 1),
        "1": (3_341, 235),
        "2": (5_126, 979),
        "3": (1_039, 297),
        "4+": (493, 308),
    }
    assert rows["4+"][2] == 37.0
    cells = shipped_build.query("select sum(clients), sum(churners) from marts.product_segments_by_city_gender")[0]
    assert cells == (10_000, 1_820)


def test_segment_similarity_is_a_pooled_smd(shipped_build, extract_rows):
    ages = {"1": [], "2": []}
    for row in extract_rows:
        if row["products"] in ages and row["age"]:
            ages[row["products"]].append(float(row["age"]))
    a, b = np.array(ages["1"]), np.array(ages["2"])
    expected = (a.mean() - b.mean()) / np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    got = shipped_build.scalar(
        "select smd from marts.product_segment_similarity where segment_a = '1' and segment_b = '2' and metric = 'age'"
    )
    assert got == pytest.approx(expected, rel=1e-9)


def test_churn_profile_and_money_at_risk(shipped_build, extract_rows):
    churned_balance = sum(float(r["balance"]) for r in extract_rows if r["churn"] == "1" and r["balance"])
    money = dict(shipped_build.query("select client_group, balance_total from marts.money_at_risk"))
    assert money["churned"] == pytest.approx(churned_balance, rel=1e-12)
    profile = {
        row[0]: row[1:]
        for row in shipped_build.query(
            "select feature, churned_mean, retained_mean, mean_diff from marts.churn_profile"
        )
    }
    active_churned = np.mean([r["last_activity"] == "1" for r in extract_rows if r["churn"] == "1"])
    assert profile["is_active"][0] == pytest.approx(active_churned)
    assert profile["is_active"][2] == pytest.approx(profile["is_active"][0] - profile["is_active"][1])


def test_products_4_and_5_are_close_enough_to_merge_on_the_shipped_extract(shipped_build):
    """The bank study merged 4 and 5 products; on the shipped data their churn does not differ (z < 1.96)."""
    clients_4, churners_4, clients_5, churners_5 = shipped_build.query(
        "select count(*) filter (where products = 4), count(*) filter (where products = 4 and is_churned), "
        "count(*) filter (where products = 5), count(*) filter (where products = 5 and is_churned) from marts.dim_clients"
    )[0]
    from statsmodels.stats.proportion import proportions_ztest

    z, p_value = proportions_ztest([churners_4, churners_5], [clients_4, clients_5])
    assert (clients_4, churners_4, clients_5, churners_5) == (474, 300, 19, 8)
    assert abs(z) < 1.96 and p_value > 0.05
    assert "assert_products_4_and_5_mergeable" not in shipped_build.output.split("Build summary")[1]  # no warning


def test_wilson_bounds_are_exact_at_rates_0_and_1(shipped_build):
    """A bucket where everyone (or no one) churned has ci_high = 1 (ci_low = 0) exactly, not 1 - 2e-16."""
    rows = shipped_build.query("select churners, clients, ci_low, ci_high from marts.churn_by_feature")
    full = [row for row in rows if row[0] == row[1]]
    assert full and all(row[3] == 1.0 for row in full)  # products 0: 1 of 1 churned
    assert all(row[2] <= row[0] / row[1] <= row[3] for row in rows)
