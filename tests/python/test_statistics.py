"""The statistical step against independent references, textbook cases and edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from metanprom.stats.methods import (
    TestResult,
    compare_k_groups,
    compare_proportions,
    compare_two_groups,
    rank_biserial_interval,
)
from metanprom.stats.step import StatConfig, run_tests

CONTRACT_IDS = {
    "income_churned_vs_retained",
    "income_1_vs_2_products",
    "score_by_products",
    "balance_churned_vs_retained",
    "age_churned_vs_retained",
    "score_churned_vs_retained",
    "activity_churn",
    "credit_card_churn",
}
OPTIONS = {"n_boot": 200, "seed": 7, "max_size": 100_000}


def _base(a="a", b="b"):
    return TestResult("h", "H0", "m", "p", a, b, 0, 0, "")


def _tests(shipped_build):
    columns = [row[0] for row in shipped_build.query("describe marts.stat_tests")]
    return [dict(zip(columns, row, strict=True)) for row in shipped_build.query("select * from marts.stat_tests")]


def test_every_contract_hypothesis_with_its_tests(shipped_build):
    rows = _tests(shipped_build)
    assert {row["hypothesis_id"] for row in rows} == CONTRACT_IDS
    for hypothesis_id in CONTRACT_IDS - {"score_by_products", "activity_churn", "credit_card_churn"}:
        assert {r["test"] for r in rows if r["hypothesis_id"] == hypothesis_id} == {"mann_whitney_u", "welch_t"}
    for hypothesis_id in CONTRACT_IDS:
        assert sum(r["is_primary"] for r in rows if r["hypothesis_id"] == hypothesis_id) == 1, hypothesis_id
    assert all(r["alpha"] == 0.05 and r["population"] for r in rows)


def test_p_values_equal_scipy_on_the_same_populations(shipped_build):
    rows = {(r["hypothesis_id"], r["test"]): r for r in _tests(shipped_build)}

    def values(sql):
        return np.array([row[0] for row in shipped_build.query(sql)], dtype=float)

    cases = {
        "income_churned_vs_retained": ("est_salary", "is_churned", "not is_churned"),
        "balance_churned_vs_retained": (
            "balance",
            "is_churned and balance is not null",
            "not is_churned and balance is not null",
        ),
        "age_churned_vs_retained": ("age", "is_churned and age is not null", "not is_churned and age is not null"),
        "score_churned_vs_retained": ("score", "is_churned", "not is_churned"),
        "income_1_vs_2_products": ("est_salary", "products = 1", "products = 2"),
    }
    for hypothesis_id, (metric, where_a, where_b) in cases.items():
        a = values(f"select {metric} from marts.dim_clients where {where_a}")
        b = values(f"select {metric} from marts.dim_clients where {where_b}")
        mw, welch = rows[(hypothesis_id, "mann_whitney_u")], rows[(hypothesis_id, "welch_t")]
        assert (mw["n_a"], mw["n_b"]) == (a.size, b.size)
        assert mw["p_value"] == pytest.approx(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue, rel=1e-9)
        assert welch["p_value"] == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue, rel=1e-9)
    groups = [
        values(f"select score from marts.dim_clients where product_segment = '{s}'") for s in ("1", "2", "3", "4+")
    ]
    kw = rows[("score_by_products", "kruskal_wallis")]
    assert kw["p_value"] == pytest.approx(stats.kruskal(*groups).pvalue, rel=1e-9)
    assert kw["effect_size"] == pytest.approx(stats.kruskal(*groups).statistic / (sum(g.size for g in groups) - 1))
    z = rows[("activity_churn", "two_proportion_z")]
    counts = shipped_build.query(
        "select count(*) filter (where is_churned), count(*) from marts.dim_clients group by is_active order by is_active desc"
    )
    statistic, p_value = proportions_ztest([counts[0][0], counts[1][0]], [counts[0][1], counts[1][1]])
    assert (z["statistic"], z["p_value"]) == (pytest.approx(statistic), pytest.approx(p_value, rel=1e-9))


def test_holm_is_consistent(shipped_build):
    rows = _tests(shipped_build)
    primary = [r for r in rows if r["is_primary"]]
    expected = multipletests([r["p_value"] for r in primary], method="holm")[1]
    np.testing.assert_allclose([r["p_value_adjusted"] for r in primary], expected, rtol=1e-12)
    assert all(r["p_value_adjusted"] is None for r in rows if not r["is_primary"])
    assert all(r["reject_null"] == (r["p_value_adjusted"] < 0.05) for r in primary)


def test_newcombe_interval_and_z_match_statsmodels():
    z_row, chi_row = compare_proportions(_base(), 56, 70, 48, 80)
    low, high = confint_proportions_2indep(56, 70, 48, 80, method="newcomb", compare="diff")
    assert (z_row.ci_low, z_row.ci_high) == (pytest.approx(low), pytest.approx(high))
    statistic, p_value = proportions_ztest([56, 48], [70, 80])
    assert z_row.statistic == pytest.approx(statistic) and z_row.p_value == pytest.approx(p_value)
    assert chi_row.statistic == pytest.approx(statistic**2)
    assert z_row.difference == pytest.approx((56 / 70) / (48 / 80))


def test_textbook_effect_sizes():
    # complete separation: every b above every a -> U = 0, rank-biserial -1
    r, _, _ = rank_biserial_interval(0.0, 3, 3)
    assert r == -1
    mw, welch = compare_two_groups(_base(), np.array([1.0, 2, 3, 4, 5]), np.array([3.0, 4, 5, 6, 7]), **OPTIONS)
    assert mw.effect_size == pytest.approx(2 * stats.mannwhitneyu([1, 2, 3, 4, 5], [3, 4, 5, 6, 7]).statistic / 25 - 1)
    # Cohen's d = -2 / sd 1.58 = -1.265; Hedges' J = 1 - 3 / (4 * 10 - 9)
    assert welch.effect_size == pytest.approx(-2 / np.sqrt(2.5) * (1 - 3 / 31))
    assert welch.difference == -2.0
    assert welch.difference_ci_low < -2 < welch.difference_ci_high


@pytest.mark.parametrize("a", [np.array([]), np.array([5.0])])
def test_groups_of_size_0_or_1_are_marked_not_testable(a):
    rows = compare_two_groups(_base("tiny", "big"), a, np.arange(10.0), **OPTIONS)
    assert [row.testable for row in rows] == [False, False]
    assert all("tiny has" in row.note and row.p_value is None for row in rows)
    z_row, _ = compare_proportions(_base("empty", "b"), 0, 0, 3, 10)
    assert not z_row.testable and "empty has 0" in z_row.note


def test_all_equal_values_and_nan_handling():
    mw, welch = compare_two_groups(_base(), np.full(5, 3.0), np.full(7, 3.0), **OPTIONS)
    assert mw.p_value == 1.0 and mw.effect_size == 0.0 and not welch.testable
    with_nan = compare_two_groups(_base(), np.array([1.0, np.nan, 2, 3]), np.array([4.0, 5, np.inf, 6]), **OPTIONS)
    assert (with_nan[0].n_a, with_nan[0].n_b) == (3, 3)
    kw = compare_k_groups(
        _base(),
        {"x": np.array([1.0]), "y": np.array([1.0, 2]), "z": np.array([3.0, 4])},
        n_boot=50,
        seed=1,
        max_size=10,
    )
    assert kw.testable and "x (n=1)" in kw.note and kw.n_a == 4


def test_deterministic_for_the_same_inputs():
    rng = np.random.default_rng(0)
    data = {
        "product_segment": rng.choice(["1", "2", "3", "4+"], 500).astype(str),
        "products": rng.integers(1, 5, 500).astype(float),
        "is_churned": rng.random(500) < 0.2,
        "is_active": rng.random(500) < 0.5,
        "has_credit_card": rng.random(500) < 0.6,
        "est_salary": rng.lognormal(11, 0.5, 500),
        "balance": np.where(rng.random(500) < 0.2, np.nan, rng.lognormal(13, 1, 500)),
        "age": rng.integers(18, 80, 500).astype(float),
        "score": rng.normal(850, 60, 500),
    }
    config = StatConfig(bootstrap_resamples=100)
    first, _ = run_tests(data, config)
    second, _ = run_tests(data, config)
    assert [r.as_row() for r in first] == [r.as_row() for r in second]


def test_report_is_plain_language(shipped_build):
    text = (shipped_build.db.parent / "reports" / "stat_tests.md").read_text(encoding="utf-8")
    for hypothesis_id in CONTRACT_IDS:
        assert f"### {hypothesis_id}" in text
    assert "Holm" in text and "percentage points" in text and "of pairs" in text


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mann_whitney_from_counts_equals_scipy(seed):
    from metanprom.stats.methods import mann_whitney_u

    rng = np.random.default_rng(seed)
    a = rng.integers(640, 1000, 3_000).astype(float)
    b = rng.integers(650, 1000, 5_000).astype(float) + (seed == 2) * 7
    reference = stats.mannwhitneyu(a, b, alternative="two-sided")
    u_value, p_value = mann_whitney_u(a, b)
    assert u_value == pytest.approx(reference.statistic, rel=1e-12)
    assert p_value == pytest.approx(reference.pvalue, rel=1e-9)
    jittered = a + 0.5 * rng.random(a.size)  # not whole numbers: scipy's own path
    assert mann_whitney_u(jittered, b)[1] == pytest.approx(stats.mannwhitneyu(jittered, b).pvalue, rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kruskal_wallis_from_counts_equals_scipy(seed):
    from metanprom.stats.methods import kruskal_wallis

    rng = np.random.default_rng(seed)
    groups = [rng.integers(640 + 5 * index, 1000, 1_000 * (index + 1)).astype(float) for index in range(4)]
    reference = stats.kruskal(*groups)
    h_value, p_value = kruskal_wallis(groups)
    assert h_value == pytest.approx(reference.statistic, rel=1e-9)
    assert p_value == pytest.approx(reference.pvalue, rel=1e-9)
    jittered = [group + 0.5 * rng.random(group.size) for group in groups]  # not whole numbers: scipy's path
    assert kruskal_wallis(jittered)[1] == pytest.approx(stats.kruskal(*jittered).pvalue, rel=1e-12)


def test_tie_term_without_pooling_equals_pooled_ranks():
    from metanprom.stats.methods import _u_from_sorted

    rng = np.random.default_rng(3)
    a = np.round(rng.lognormal(size=4_000), 1)  # many ties within and across the groups
    b = np.round(rng.lognormal(0.1, size=6_000), 1)
    pooled = np.concatenate([a, b])
    _, counts = np.unique(pooled, return_counts=True)
    ranks = stats.rankdata(pooled)
    u_value, tie_term = _u_from_sorted(a, b)
    assert u_value == pytest.approx(ranks[: a.size].sum() - a.size * (a.size + 1) / 2, rel=1e-12)
    assert tie_term == pytest.approx(float(np.sum(counts.astype(float) ** 3 - counts)), rel=1e-12)


def test_metrics_are_read_when_used_and_one_at_a_time(shipped_build):
    from metanprom.stats.step import read_clients
    from metanprom.warehouse import open_duckdb

    warehouse = open_duckdb(shipped_build.db, read_only=True)
    try:
        data = read_clients(warehouse)
        assert data._metric is None  # nothing read before a test asks
        balance = data["balance"]
        expected = warehouse.fetch("select balance from marts.dim_clients order by source_row_number")
        assert np.array_equal(balance, np.array([np.nan if v is None else v for (v,) in expected]), equal_nan=True)
        assert data["balance"] is balance  # kept while the tests use it
        data["score"]
        assert data._metric[0] == "score"  # the balance was let go
        counts = dict(warehouse.fetch("select product_segment, count(*) from marts.dim_clients group by 1"))
        segments = data["product_segment"]
        assert {
            str(label): int((segments == label).sum()) for label in segments.categories if counts.get(label)
        } == counts
    finally:
        warehouse.close()
