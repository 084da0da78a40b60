"""Statistical tests on numpy arrays: two-group comparisons, k groups, proportions.

numpy, scipy and statsmodels, no database: :mod:`metanprom.stats.step` reads the marts through any DB-API
connection and calls these. Every resampling uses a fixed seed, so the same arrays give the
same results. A comparison that cannot be computed (a group of 0 or 1 values, no variance)
returns a row marked ``testable = False`` with the reason, never raises.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

Z_95 = float(stats.norm.ppf(0.975))


@dataclass
class TestResult:
    """One row of ``marts.stat_tests``."""

    __test__ = False  # not a pytest test class

    hypothesis_id: str
    hypothesis: str
    metric: str
    population: str
    group_a: str
    group_b: str
    n_a: int
    n_b: int
    test: str
    statistic: float | None = None
    p_value: float | None = None
    effect_size_name: str | None = None
    effect_size: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    difference_name: str | None = None
    difference: float | None = None
    difference_ci_low: float | None = None
    difference_ci_high: float | None = None
    summary_a: float | None = None
    summary_b: float | None = None
    summary_name: str | None = None
    checks: str = ""
    is_primary: bool = False
    choice_reason: str = ""
    testable: bool = True
    note: str = ""
    p_value_adjusted: float | None = None
    alpha: float = 0.05
    reject_null: bool | None = None
    reject_null_raw: bool | None = None
    smallest_effect: float | None = None
    conclusion: str | None = None

    def as_row(self) -> dict[str, object]:
        """Return the row as a plain dict."""
        return asdict(self)

    @property
    def not_testable_reason(self) -> str | None:
        """Why the test could not be run (null when it ran)."""
        return None if self.testable else self.note


def clean(values: np.ndarray) -> np.ndarray:
    """Return the finite values of an array as float64 (NaN and inf dropped)."""
    array = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(array)
    return array if finite.all() else array[finite]  # no copy when every value is finite (100 M clients)


def _untestable(base: TestResult, reason: str) -> TestResult:
    base.testable = False
    base.note = reason
    return base


def _too_small(n_a: int, n_b: int, group_a: str, group_b: str, minimum: int = 2) -> str | None:
    small = [f"{name} has {n} value(s)" for name, n in ((group_a, n_a), (group_b, n_b)) if n < minimum]
    return f"not testable: {'; '.join(small)} (need at least {minimum})" if small else None


def skewness(values: np.ndarray) -> float:
    """Sample skewness (0.0 for fewer than 3 values or no variance)."""
    if values.size < 3 or np.ptp(values) == 0:
        return 0.0
    return float(stats.skew(values, bias=False))


def bootstrap_median_difference(
    a: np.ndarray, b: np.ndarray, *, n_boot: int, seed: int, max_size: int
) -> tuple[float, float]:
    """Percentile 95 % bootstrap interval of median(a) - median(b).

    Each group is first reduced to at most ``max_size`` values by a seeded sample without
    replacement, so the cost stays bounded on millions of rows.
    """
    rng = np.random.default_rng(seed)
    if a.size > max_size:
        a = rng.choice(a, size=max_size, replace=False)
    if b.size > max_size:
        b = rng.choice(b, size=max_size, replace=False)
    differences = np.empty(n_boot)
    for index in range(n_boot):  # a loop over resamples, each vectorised over the rows
        differences[index] = np.median(rng.choice(a, a.size)) - np.median(rng.choice(b, b.size))
    low, high = np.percentile(differences, [2.5, 97.5])
    return float(low), float(high)


def _whole_number_range(*arrays: np.ndarray, max_span: int = 1_000_000) -> tuple[int, int] | None:
    """(min, max) when every array holds whole numbers, together spanning at most ``max_span``, else None."""
    low, high = min(array.min() for array in arrays), max(array.max() for array in arrays)
    if high - low > max_span or not all(np.all(np.mod(array, 1) == 0) for array in arrays):
        return None
    return int(low), int(high)


def _value_counts(arrays: list[np.ndarray], low: int, high: int) -> list[np.ndarray]:
    """How often each whole number low..high occurs in each array (float64, for the rank arithmetic)."""
    return [
        np.bincount((array - low).astype(np.int64), minlength=high - low + 1).astype(np.float64) for array in arrays
    ]


def kruskal_wallis(groups: list[np.ndarray]) -> tuple[float, float]:
    """Kruskal-Wallis H (tie-corrected) and its chi-square p-value, as ``scipy.stats.kruskal``.

    Whole numbers over a bounded range (score: millions of values, a few hundred distinct) from
    value counts: the rank sums are counts times mid-ranks, with no ranking of the pooled values
    (scipy's ranks of 100 M scores take about 4 GB). Other values go to scipy.
    """
    whole = _whole_number_range(*groups)
    if whole is None:
        result = stats.kruskal(*groups)
        return float(result.statistic), float(result.pvalue)
    counts = _value_counts(groups, *whole)
    ties = np.sum(counts, axis=0)
    midranks = np.cumsum(ties) - ties + (ties + 1) / 2
    n = float(ties.sum())
    between = sum(float(np.dot(count, midranks)) ** 2 / group.size for count, group in zip(counts, groups, strict=True))
    h = 12.0 / (n * (n + 1)) * between - 3 * (n + 1)
    h /= 1 - float(np.sum(ties**3 - ties)) / (n**3 - n)
    return float(h), float(stats.chi2.sf(h, len(groups) - 1))


def mann_whitney_u(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Two-sided Mann-Whitney U of ``a`` vs ``b``: (U of a, p-value).

    The tie-corrected normal approximation with continuity correction (scipy's asymptotic method,
    which scipy itself uses when both groups hold more than 8 values). U and the tie term come from
    value counts in O(n) for whole numbers over a bounded range (score, age: millions of values, a
    few hundred distinct), else from the two groups sorted apart (no ranking of the pooled values:
    at 10 M incomes about twice as fast as scipy's ranks). Tiny samples, where scipy may use the
    exact distribution, go to scipy.
    """
    if min(a.size, b.size) <= 8:
        result = stats.mannwhitneyu(a, b, alternative="two-sided")
        return float(result.statistic), float(result.pvalue)
    whole = _whole_number_range(a, b)
    if whole is None:
        u_a, tie_term = _u_from_sorted(a, b)
    else:
        counts_a, counts_b = _value_counts([a, b], *whole)
        ties = counts_a + counts_b
        midranks = np.cumsum(ties) - ties + (ties + 1) / 2
        u_a = float(np.dot(counts_a, midranks) - a.size * (a.size + 1) / 2)
        tie_term = float(np.sum(ties**3 - ties))
    n_a, n_b = float(a.size), float(b.size)
    n = n_a + n_b
    u_max = max(u_a, n_a * n_b - u_a)
    sd = np.sqrt(n_a * n_b / 12 * ((n + 1) - tie_term / (n * (n - 1))))
    if sd == 0:
        return u_a, 1.0
    z = (u_max - n_a * n_b / 2 - 0.5) / sd
    return u_a, float(min(1.0, 2 * stats.norm.sf(z)))


def _u_from_sorted(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """U of ``a`` (pairs where a is higher, ties counting half) and the tie term sum(t^3 - t), by sorting."""
    sorted_a, sorted_b = np.sort(a), np.sort(b)
    below = np.searchsorted(sorted_b, sorted_a, side="left")
    equal = np.searchsorted(sorted_b, sorted_a, side="right") - below
    u_a = float(below.sum()) + 0.5 * float(equal.sum())
    del below
    # the tie term from the two sorted groups, without pooling them (a pooled copy and its sort: 16
    # bytes per value): a value held t_a times in a and t_b times in b is tied t_a + t_b times
    starts_a = _run_starts(sorted_a)
    t_a = np.diff(starts_a).astype(np.float64)
    t_b_of_a = equal[starts_a[:-1]].astype(np.float64)  # how often b holds each distinct value of a
    del equal
    starts_b = _run_starts(sorted_b)
    t_b = np.diff(starts_b).astype(np.float64)
    pooled = t_a + t_b_of_a
    tie_term = np.sum(pooled**3 - pooled) + np.sum(t_b**3 - t_b) - np.sum(t_b_of_a**3 - t_b_of_a)
    return u_a, float(tie_term)


def _run_starts(sorted_values: np.ndarray) -> np.ndarray:
    """Where each run of equal values starts in a sorted array, and its length at the end."""
    changes = np.empty(sorted_values.size + 1, dtype=bool)
    changes[0] = changes[-1] = True
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=changes[1:-1])
    return np.flatnonzero(changes)


def rank_biserial_interval(u_statistic: float, n_a: int, n_b: int) -> tuple[float, float, float]:
    """Rank-biserial correlation r = 2U/(n_a n_b) - 1 and its 95 % CI (Hanley-McNeil SE of the AUC)."""
    auc = u_statistic / (n_a * n_b)
    q1 = auc / (2 - auc)
    q2 = 2 * auc**2 / (1 + auc)
    variance = (auc * (1 - auc) + (n_a - 1) * (q1 - auc**2) + (n_b - 1) * (q2 - auc**2)) / (n_a * n_b)
    half = Z_95 * np.sqrt(max(variance, 0.0))
    low, high = max(auc - half, 0.0), min(auc + half, 1.0)
    return 2 * auc - 1, 2 * low - 1, 2 * high - 1


def hedges_g(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Hedges' g (a - b, pooled SD, small-sample corrected) with a normal-approximation 95 % CI."""
    n_a, n_b = a.size, b.size
    pooled = np.sqrt(((n_a - 1) * a.var(ddof=1) + (n_b - 1) * b.var(ddof=1)) / (n_a + n_b - 2))
    correction = 1 - 3 / (4 * (n_a + n_b) - 9)
    g = correction * (a.mean() - b.mean()) / pooled
    se = np.sqrt((n_a + n_b) / (n_a * n_b) + g**2 / (2 * (n_a + n_b)))
    return float(g), float(g - Z_95 * se), float(g + Z_95 * se)


def compare_two_groups(
    base: TestResult, a: np.ndarray, b: np.ndarray, *, n_boot: int, seed: int, max_size: int
) -> list[TestResult]:
    """Mann-Whitney U (two-sided) and Welch's t for a numeric metric in two groups.

    Which one is primary is not decided here, from the data: the pre-declared analysis plan
    (seeds/analysis_plan.csv, applied in stat_tests) says so. The skewness and variance ratio are
    recorded in ``checks`` for the reader.
    """
    a, b = clean(a), clean(b)
    base.n_a, base.n_b = int(a.size), int(b.size)
    mw = TestResult(**{**base.as_row(), "test": "mann_whitney_u"})
    welch = TestResult(**{**base.as_row(), "test": "welch_t"})
    reason = _too_small(a.size, b.size, base.group_a, base.group_b)
    if reason:
        return [_untestable(mw, reason), _untestable(welch, reason)]
    skew_a, skew_b = skewness(a), skewness(b)
    var_a, var_b = float(a.var(ddof=1)), float(b.var(ddof=1))
    ratio = var_a / var_b if var_b > 0 else float("inf") if var_a > 0 else 1.0
    checks = f"n_a={a.size}; n_b={b.size}; skew_a={skew_a:.2f}; skew_b={skew_b:.2f}; variance_ratio={ratio:.2f}"
    for row in (mw, welch):
        row.checks = checks

    if min(a.min(), b.min()) == max(a.max(), b.max()):  # all values equal (no pooled copy)
        mw.statistic, mw.p_value = a.size * b.size / 2, 1.0
        mw.effect_size_name, mw.effect_size, mw.ci_low, mw.ci_high = "rank_biserial", 0.0, 0.0, 0.0
        mw.note = "all values are equal: no difference"
        return [mw, _untestable(welch, "not testable: all values are equal (no variance)")]

    u_statistic, p_value = mann_whitney_u(a, b)
    r, r_low, r_high = rank_biserial_interval(u_statistic, a.size, b.size)
    median_low, median_high = bootstrap_median_difference(a, b, n_boot=n_boot, seed=seed, max_size=max_size)
    mw.statistic, mw.p_value = u_statistic, p_value
    mw.effect_size_name, mw.effect_size, mw.ci_low, mw.ci_high = "rank_biserial", r, r_low, r_high
    mw.difference_name, mw.difference = "median_difference", float(np.median(a) - np.median(b))
    mw.difference_ci_low, mw.difference_ci_high = median_low, median_high
    mw.summary_name, mw.summary_a, mw.summary_b = "median", float(np.median(a)), float(np.median(b))

    if var_a == 0 and var_b == 0:
        return [mw, _untestable(welch, "not testable: no variance in either group")]
    t_result = stats.ttest_ind(a, b, equal_var=False)
    interval = t_result.confidence_interval(0.95)
    g, g_low, g_high = hedges_g(a, b)
    welch.statistic, welch.p_value = float(t_result.statistic), float(t_result.pvalue)
    welch.effect_size_name, welch.effect_size, welch.ci_low, welch.ci_high = "hedges_g", g, g_low, g_high
    welch.difference_name, welch.difference = "mean_difference", float(a.mean() - b.mean())
    welch.difference_ci_low, welch.difference_ci_high = float(interval.low), float(interval.high)
    welch.summary_name, welch.summary_a, welch.summary_b = "mean", float(a.mean()), float(b.mean())
    return [mw, welch]


def compare_proportions(base: TestResult, x_a: int, n_a: int, x_b: int, n_b: int) -> list[TestResult]:
    """Two-proportion z test (pooled, primary) and chi-square (no continuity correction).

    Effect: risk difference p_a - p_b with Newcombe's hybrid score 95 % CI; difference columns:
    risk ratio p_a / p_b with a log (Katz) 95 % CI. All from statsmodels; chi-square from scipy.
    """
    base.n_a, base.n_b = n_a, n_b
    z_row = TestResult(**{**base.as_row(), "test": "two_proportion_z", "is_primary": True})
    chi_row = TestResult(**{**base.as_row(), "test": "chi_square", "is_primary": False})
    reason = _too_small(n_a, n_b, base.group_a, base.group_b, minimum=1)
    if reason:
        return [_untestable(z_row, reason), _untestable(chi_row, reason)]
    p_a, p_b = x_a / n_a, x_b / n_b
    pooled = (x_a + x_b) / (n_a + n_b)
    checks = f"n_a={n_a}; n_b={n_b}; events_a={x_a}; events_b={x_b}; min_expected={min(pooled * min(n_a, n_b), (1 - pooled) * min(n_a, n_b)):.1f}"
    choice = "churn is a 0/1 outcome: compare proportions (z primary, chi-square equivalent)"
    for row in (z_row, chi_row):
        row.checks, row.choice_reason = checks, choice
        row.summary_name, row.summary_a, row.summary_b = "churn_rate", p_a, p_b
    if pooled in (0.0, 1.0):
        reason = "not testable: every client has the same outcome"
        return [_untestable(z_row, reason), _untestable(chi_row, reason)]
    z, p_z = proportions_ztest([x_a, x_b], [n_a, n_b])  # pooled variance under H0
    rd_low, rd_high = confint_proportions_2indep(x_a, n_a, x_b, n_b, compare="diff", method="newcomb")
    for row in (z_row, chi_row):
        row.effect_size_name, row.effect_size = "risk_difference", float(p_a - p_b)
        row.ci_low, row.ci_high = float(rd_low), float(rd_high)
        if x_a > 0 and x_b > 0:
            ratio_low, ratio_high = confint_proportions_2indep(x_a, n_a, x_b, n_b, compare="ratio", method="log")
            row.difference_name, row.difference = "risk_ratio", float(p_a / p_b)
            row.difference_ci_low, row.difference_ci_high = float(ratio_low), float(ratio_high)
    z_row.statistic, z_row.p_value = float(z), float(p_z)
    table = np.array([[x_a, n_a - x_a], [x_b, n_b - x_b]])
    chi2, p_chi, _, _ = stats.chi2_contingency(table, correction=False)
    chi_row.statistic, chi_row.p_value = float(chi2), float(p_chi)
    return [z_row, chi_row]


def compare_k_groups(
    base: TestResult, groups: dict[str, np.ndarray], *, n_boot: int, seed: int, max_size: int
) -> TestResult:
    """Kruskal-Wallis across k groups; effect epsilon^2 = H / (n - 1) with a seeded bootstrap CI.

    Groups with fewer than 2 values are left out and named in ``note``.
    """
    cleaned = {name: clean(values) for name, values in groups.items()}
    kept = {name: values for name, values in cleaned.items() if values.size >= 2}
    dropped = [f"{name} (n={values.size})" for name, values in cleaned.items() if values.size < 2]
    base.test = "kruskal_wallis"
    base.group_a = ", ".join(kept)
    base.group_b = ""
    base.n_a = int(sum(values.size for values in kept.values()))
    base.n_b = 0
    base.is_primary = True
    base.choice_reason = "k groups of a skewed score: rank-based Kruskal-Wallis"
    base.note = f"left out: {', '.join(dropped)}" if dropped else ""
    if len(kept) < 2:
        return _untestable(base, "not testable: fewer than 2 groups with 2 or more values")
    n = sum(values.size for values in kept.values())
    if min(values.min() for values in kept.values()) == max(values.max() for values in kept.values()):
        base.statistic, base.p_value, base.effect_size_name, base.effect_size = 0.0, 1.0, "epsilon_squared", 0.0
        base.note = (base.note + "; " if base.note else "") + "all values are equal: no difference"
        return base
    statistic, p_value = kruskal_wallis(list(kept.values()))
    base.statistic, base.p_value = statistic, p_value
    base.effect_size_name, base.effect_size = "epsilon_squared", statistic / (n - 1)
    rng = np.random.default_rng(seed)
    samples = {
        name: (rng.choice(values, size=max_size, replace=False) if values.size > max_size else values)
        for name, values in kept.items()
    }
    m = sum(values.size for values in samples.values())
    boots = np.empty(n_boot)
    for index in range(n_boot):
        resampled = [rng.choice(values, values.size) for values in samples.values()]
        boots[index] = kruskal_wallis(resampled)[0] / (m - 1)
    base.ci_low, base.ci_high = (float(x) for x in np.percentile(boots, [2.5, 97.5]))
    base.checks = "; ".join(f"n_{name}={values.size}" for name, values in kept.items())
    return base
