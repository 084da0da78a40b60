"""Issue 16's rules on hand-made data with known answers (and the shipped build's conclusions)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from metanprom.stats.methods import TestResult, compare_two_groups
from metanprom.stats.step import PlannedTest, _adjust, apply_plan, conclude

OPTIONS = {"n_boot": 100, "seed": 3, "max_size": 100_000}
CLASSES = {"differ, meaningful", "differ, negligible", "no evidence of a difference", "tests disagree", "not testable"}


def _two_groups(hypothesis_id: str, a: np.ndarray, b: np.ndarray) -> list[TestResult]:
    base = TestResult(hypothesis_id, "H0", "metric", "all", "a", "b", 0, 0, "")
    return compare_two_groups(base, a, b, **OPTIONS)


def test_the_pre_declared_primary_stands_on_skewed_data():
    """Lognormal money (skewness about 6): a skewness rule would pick Mann-Whitney; the plan says Welch."""
    rng = np.random.default_rng(1)
    a, b = rng.lognormal(10, 1.2, 400), rng.lognormal(10.05, 1.2, 400)
    assert stats.skew(a) > 2
    rows = _two_groups("money", a, b)
    apply_plan(rows, {"money": PlannedTest("welch_t", "hedges_g", 0.2, "declared before the data")})
    assert [row.test for row in rows if row.is_primary] == ["welch_t"]
    assert all("pre-declared" in row.choice_reason for row in rows)


def test_a_huge_sample_with_a_tiny_shift_differs_but_negligibly():
    rng = np.random.default_rng(2)
    a, b = rng.normal(100.0, 10, 60_000), rng.normal(100.4, 10, 60_000)  # Hedges' g about 0.04
    rows = _two_groups("tiny", a, b)
    apply_plan(rows, {"tiny": PlannedTest("welch_t", "hedges_g", 0.2, "declared")})
    _adjust(rows, 0.05)
    conclude(rows)
    primary = next(row for row in rows if row.is_primary)
    assert primary.test == "welch_t" and primary.reject_null and primary.conclusion == "differ, negligible"


def test_no_evidence_is_not_called_equality():
    rng = np.random.default_rng(4)
    rows = _two_groups("same", rng.normal(0, 1, 50), rng.normal(0, 1, 50))
    apply_plan(rows, {"same": PlannedTest("mann_whitney_u", "rank_biserial", 0.1, "declared")})
    _adjust(rows, 0.05)
    conclude(rows)
    assert {row.conclusion for row in rows} == {"no evidence of a difference"}


def test_reject_null_is_decided_on_the_holm_p_only():
    """p = 0.03 alone rejects; in a family with three larger p-values Holm lifts it above 0.05."""
    rows = []
    for index, p_value in enumerate([0.03, 0.2, 0.4, 0.6]):
        row = TestResult(f"h{index}", "H0", "m", "all", "a", "b", 10, 10, "welch_t", p_value=p_value, is_primary=True)
        rows.append(row)
    _adjust(rows, 0.05)
    assert rows[0].reject_null_raw is True and rows[0].reject_null is False
    assert rows[0].p_value_adjusted == pytest.approx(multipletests([0.03, 0.2, 0.4, 0.6], method="holm")[1][0])


def test_shipped_conclusions_and_report_wording(shipped_build):
    rows = shipped_build.query(
        "select hypothesis_id, conclusion, reject_null, p_value_adjusted from marts.stat_tests where is_primary"
    )
    assert {row[1] for row in rows} <= CLASSES and len(rows) == 8
    for _, conclusion, reject, p_adjusted in rows:
        assert reject == (p_adjusted < 0.05)
        assert conclusion.startswith("differ") == reject or conclusion == "tests disagree"
    report = (shipped_build.db.parent / "reports" / "stat_tests.md").read_text(encoding="utf-8")
    assert "how sure we are" not in report and "accept" not in report.lower().replace("accepted", "")
    stated = re.findall(r"Conclusion: \*\*([a-z, ]+)\*\*", report)
    assert sorted(stated) == sorted(row[1] for row in rows)  # one conclusion per hypothesis, the table's


# --- churn signs on a hand-made extract -------------------------------------------------------------


def _hand_made_extract(path):
    """2,400 clients with known structure.

    * age: 18-24 churn 8 %, 25-30 churn 45 %, other ages 18 % (a decile bin 18-28 would mix them);
    * city Ростов: 300 clients at 25 % against about 19 % overall (one-sided p about 0.01 raw: passes
      the old Wilson rule, fails Holm over every bucket tested);
    * equity 9: 5 clients, all churned (n = 5 at 100 %); equity 8: 200 clients at the base rate.
    """
    rng = np.random.default_rng(16)
    rows = []
    ages = np.tile(np.arange(18, 78), 40)  # 2,400 clients, 40 per age
    rng.shuffle(ages)
    for index, age in enumerate(ages):
        rate = 0.08 if age <= 24 else 0.45 if age <= 30 else 0.18
        rows.append({"age": int(age), "churn": int(rng.random() < rate), "city": "Ярославль", "equity": int(index % 8)})
    pool = [i for i, row in enumerate(rows) if row["age"] > 30]
    churned = [i for i in pool if rows[i]["churn"]][:75]
    kept = [i for i in pool if not rows[i]["churn"]][:225]
    for i in churned + kept:
        rows[i]["city"] = "Ростов"
    others = [i for i in pool if i not in set(churned + kept)]
    for i in others[:200]:
        rows[i]["equity"] = 8
    for i in [i for i in others[200:] if rows[i]["churn"]][:5]:
        rows[i]["equity"] = 9
    lines = ["USERID,score,city,gender,age,equity,balance,products,credit_card,last_activity,EST_SALARY,churn"]
    for index, row in enumerate(rows):
        lines.append(
            f"{100000 + index},{600 + index % 300},{row['city']},{'МЖ'[index % 2]},{row['age']},{row['equity']},"
            f"{1000 + index * 37},{1 + index % 3},{index % 2},{(index // 2) % 2},{30000 + index * 11},{row['churn']}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def hand_made(tmp_path_factory):
    from conftest import run_build

    work = tmp_path_factory.mktemp("hand_made")
    extract = work / "hand_made.csv"
    _hand_made_extract(extract)
    build = run_build(work, extract)
    assert build.returncode == 0, build.output[-3000:]
    return build


def test_a_bucket_passing_raw_but_not_holm_is_no_sign(hand_made):
    overall = hand_made.scalar("select avg(case when is_churned then 1.0 else 0.0 end) from marts.dim_clients")
    (clients, churners, ci_low, p_value, p_adjusted, prone) = hand_made.query(
        "select clients, churners, ci_low, p_value, p_value_adjusted, is_churn_prone from marts.churn_by_feature "
        "where feature = 'city' and bucket = 'Ростов'"
    )[0]
    assert (clients, churners) == (300, 75)
    assert ci_low > overall and churners / clients >= 1.2 * overall  # the old rule would have called it a sign
    assert p_value < 0.05 < p_adjusted and not prone
    assert not hand_made.query("select * from marts.churn_signals where feature = 'city'")


def test_signs_hold_no_sub_range_below_the_overall_rate(hand_made):
    overall = hand_made.scalar("select avg(case when is_churned then 1.0 else 0.0 end) from marts.dim_clients")
    signs = hand_made.query("select signal_id, lower_bound, upper_bound from marts.churn_signals where feature = 'age'")
    assert signs, "the 25-30 age band churning at 45 % is a sign"
    for signal_id, lower, upper in signs:
        assert lower >= 22 and upper <= 33, signal_id  # around 25-30; never reaches down into 18-21 (8 %)
    below = hand_made.query(
        "select bucket, churn_rate from marts.churn_by_feature where signal_id is not null and not is_small_sample "
        f"and churn_rate <= {overall}"
    )
    assert below == []


def test_a_five_client_bucket_at_100_percent_is_never_churn_prone(hand_made):
    row = hand_made.query(
        "select clients, churn_rate, is_small_sample, is_churn_prone, test_clients from marts.churn_by_feature "
        "where feature = 'equity' and bucket = '9'"
    )[0]
    assert row[:4] == (5, 1.0, True, False)
    assert row[4] == 205  # tested with its neighbour equity 8, not dropped
