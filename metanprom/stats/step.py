"""The statistical step: the study's hypotheses on ``marts.dim_clients``, written back as tables.

Reads through a plain DB-API connection (DuckDB here; PostgreSQL or Spark through the same
calls), writes ``marts.stat_tests`` (one row per hypothesis and test), ``marts.stat_tests_posthoc``
(pairwise comparisons after Kruskal-Wallis) and ``reports/stat_tests.md`` in plain English.
Settings (alpha, seed, resamples) are dbt vars in ``dbt_project.yml``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from metanprom.paths import REPO_ROOT, settings_from_vars
from metanprom.stats.methods import (
    TestResult,
    compare_k_groups,
    compare_proportions,
    compare_two_groups,
)
from metanprom.warehouse import Warehouse, batch_bools, batch_floats

FLAG_COLUMNS = ("is_churned", "is_active", "has_credit_card")
METRIC_COLUMNS = ("est_salary", "balance", "age", "score")

#: Column name -> SQL type of marts.stat_tests, in order (portable type names).
TABLE_COLUMNS: dict[str, str] = {
    "hypothesis_id": "varchar",
    "hypothesis": "varchar",
    "metric": "varchar",
    "population": "varchar",
    "group_a": "varchar",
    "group_b": "varchar",
    "n_a": "bigint",
    "n_b": "bigint",
    "test": "varchar",
    "statistic": "double precision",
    "p_value": "double precision",
    "p_value_adjusted": "double precision",
    "alpha": "double precision",
    "reject_null": "boolean",
    "is_primary": "boolean",
    "effect_size_name": "varchar",
    "effect_size": "double precision",
    "ci_low": "double precision",
    "ci_high": "double precision",
    "difference_name": "varchar",
    "difference": "double precision",
    "difference_ci_low": "double precision",
    "difference_ci_high": "double precision",
    "summary_name": "varchar",
    "summary_a": "double precision",
    "summary_b": "double precision",
    "checks": "varchar",
    "choice_reason": "varchar",
    "testable": "boolean",
    "note": "varchar",
    "not_testable_reason": "varchar",
    "reject_null_raw": "boolean",
    "smallest_effect": "double precision",
    "conclusion": "varchar",
}
ANALYSIS_PLAN = REPO_ROOT / "seeds" / "analysis_plan.csv"
POSTHOC_COLUMNS: dict[str, str] = {
    "hypothesis_id": "varchar",
    "group_a": "varchar",
    "group_b": "varchar",
    "n_a": "bigint",
    "n_b": "bigint",
    "test": "varchar",
    "statistic": "double precision",
    "p_value": "double precision",
    "p_value_holm": "double precision",
    "reject_null": "boolean",
    "effect_size_name": "varchar",
    "effect_size": "double precision",
    "ci_low": "double precision",
    "ci_high": "double precision",
    "median_a": "double precision",
    "median_b": "double precision",
}


@dataclass(frozen=True)
class StatConfig:
    """Settings of the step (dbt vars ``stat_*``)."""

    alpha: float = 0.05
    bootstrap_resamples: int = 1000
    kruskal_bootstrap_resamples: int = 200
    seed: int = 20261124
    max_resample_size: int = 10_000

    @classmethod
    def from_dbt_project(cls) -> StatConfig:
        """Read the ``stat_*`` vars of dbt_project.yml (defaults for any not set)."""
        return settings_from_vars(
            cls,
            {
                "alpha": "stat_alpha",
                "bootstrap_resamples": "stat_bootstrap_resamples",
                "kruskal_bootstrap_resamples": "stat_kruskal_bootstrap_resamples",
                "seed": "stat_seed",
                "max_resample_size": "stat_max_resample_size",
            },
        )


def _read_columns(warehouse: Warehouse, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Read columns of marts.dim_clients in file order, batch by batch: flags as bool, others float64 (NaN)."""
    # in file order: the bootstrap's resamples depend on the order of the values, and an
    # unordered select may return rows in any order (parallel scans, other engines)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for batch in warehouse.fetch_batches(
        f"select {', '.join(names)} from marts.dim_clients order by source_row_number"
    ):
        for name in names:
            parts[name].append(batch_bools(batch[name]) if name in FLAG_COLUMNS else batch_floats(batch[name]))
    columns = {}
    for name in names:  # one column at a time: the batches of the others are not copied alongside
        empty = np.empty(0, dtype=bool if name in FLAG_COLUMNS else np.float64)
        columns[name] = np.concatenate(parts.pop(name) or [empty])
    return columns


class ClientColumns(Mapping[str, Any]):
    """marts.dim_clients' columns for the tests, in file order, read from the warehouse when first used.

    Flags (bool), products (float32, whole numbers) and the product segment (a pandas Categorical)
    are read at once; each numeric metric (float64, NaN for null) is read when a test first asks for
    it, and only the latest is kept (the tests take the metrics one after the other): at 100 M
    clients 0.8 GB of metric values are held instead of 4 GB.
    """

    def __init__(self, warehouse: Warehouse) -> None:
        self._warehouse = warehouse
        self._held = _read_columns(warehouse, ("products", *FLAG_COLUMNS))
        self._held["products"] = self._held["products"].astype(np.float32)
        # product segments from the integer product count: segment ranges from the mart
        segments = warehouse.fetch(
            "select product_segment, min_products from marts.product_segments order by min_products"
        )
        labels = [str(row[0]) for row in segments]
        starts = np.array([row[1] for row in segments], dtype=np.float64)
        codes = np.searchsorted(starts, self._held["products"], side="right").astype(np.int8) - 1
        self._held["product_segment"] = pd.Categorical.from_codes(codes, labels)
        self._metric: tuple[str, np.ndarray] | None = None

    def __getitem__(self, name: str) -> Any:
        if name in self._held:
            return self._held[name]
        if name not in METRIC_COLUMNS:
            raise KeyError(name)
        if self._metric is None or self._metric[0] != name:
            self._metric = None  # the previous metric is freed before the next one is read
            self._metric = (name, _read_columns(self._warehouse, (name,))[name])
        return self._metric[1]

    def __iter__(self) -> Iterator[str]:
        return iter((*self._held, *METRIC_COLUMNS))

    def __len__(self) -> int:
        return len(self._held) + len(METRIC_COLUMNS)


def read_clients(warehouse: Warehouse) -> ClientColumns:
    """Return the columns the tests need from marts.dim_clients on any engine (read as they are used)."""
    return ClientColumns(warehouse)


def run_tests(data: Mapping[str, Any], config: StatConfig) -> tuple[list[TestResult], list[dict[str, Any]]]:
    """Run every hypothesis of the study; return the test rows and the post-hoc rows."""
    churned, active, card = data["is_churned"], data["is_active"], data["has_credit_card"]
    options = {
        "n_boot": config.bootstrap_resamples,
        "seed": config.seed,
        "max_size": config.max_resample_size,
    }

    def base(hypothesis_id: str, hypothesis: str, metric: str, population: str, a: str, b: str) -> TestResult:
        return TestResult(hypothesis_id, hypothesis, metric, population, a, b, 0, 0, "", alpha=config.alpha)

    rows: list[TestResult] = []
    numeric = [
        (
            "income_churned_vs_retained",
            "Churned and retained clients have the same estimated income",
            "est_salary",
            "all clients",
            churned,
            ~churned,
            "churned",
            "retained",
        ),
        (
            "income_1_vs_2_products",
            "Clients with 1 and with 2 products have the same estimated income",
            "est_salary",
            "clients with exactly 1 or 2 products",
            data["products"] == 1,
            data["products"] == 2,
            "1 product",
            "2 products",
        ),
        (
            "balance_churned_vs_retained",
            "Churned and retained clients have the same balance",
            "balance",
            "clients with a known balance",
            churned,
            ~churned,
            "churned",
            "retained",
        ),
        (
            "age_churned_vs_retained",
            "Churned and retained clients have the same age",
            "age",
            "clients with a known age",
            churned,
            ~churned,
            "churned",
            "retained",
        ),
        (
            "score_churned_vs_retained",
            "Churned and retained clients have the same credit score",
            "score",
            "all clients",
            churned,
            ~churned,
            "churned",
            "retained",
        ),
    ]
    for hypothesis_id, hypothesis, metric, population, mask_a, mask_b, name_a, name_b in numeric:
        rows += compare_two_groups(
            base(hypothesis_id, hypothesis, metric, population, name_a, name_b),
            data[metric][mask_a],
            data[metric][mask_b],
            **options,
        )

    product_segment = data["product_segment"]
    if not isinstance(product_segment, pd.Categorical):  # (callers may pass plain label arrays)
        product_segment = pd.Categorical(product_segment)
    used = np.unique(product_segment.codes)
    segments = sorted(str(product_segment.categories[code]) for code in used if code >= 0)
    groups = {segment: data["score"][np.asarray(product_segment == segment)] for segment in segments}
    rows.append(
        compare_k_groups(
            base(
                "score_by_products",
                "The credit score is distributed the same in every product segment",
                "score",
                "product segments with at least 2 clients",
                "",
                "",
            ),
            groups,
            **{**options, "n_boot": config.kruskal_bootstrap_resamples},
        )
    )
    posthoc = _posthoc(groups, config)

    for hypothesis_id, hypothesis, flag, name_a, name_b in (
        ("activity_churn", "Active and inactive clients churn at the same rate", active, "active", "inactive"),
        (
            "credit_card_churn",
            "Clients with and without a credit card churn at the same rate",
            card,
            "with credit card",
            "without credit card",
        ),
    ):
        rows += compare_proportions(
            base(hypothesis_id, hypothesis, "churn rate", "all clients", name_a, name_b),
            int(churned[flag].sum()),
            int(flag.sum()),
            int(churned[~flag].sum()),
            int((~flag).sum()),
        )
    apply_plan(rows, load_plan())
    _adjust(rows, config.alpha)
    conclude(rows)
    return rows, posthoc


@dataclass(frozen=True)
class PlannedTest:
    """One hypothesis of the pre-declared analysis plan (seeds/analysis_plan.csv)."""

    primary_test: str
    effect_size_name: str
    smallest_effect: float
    reason: str


def load_plan(path: Path = ANALYSIS_PLAN) -> dict[str, PlannedTest]:
    """Read the pre-declared plan: hypothesis id -> primary test, smallest effect of interest, reason."""
    with path.open(encoding="utf-8", newline="") as handle:
        return {
            row["hypothesis_id"]: PlannedTest(
                row["primary_test"], row["effect_size_name"], float(row["smallest_effect"]), row["reason"]
            )
            for row in csv.DictReader(handle)
        }


def apply_plan(rows: list[TestResult], plan: dict[str, PlannedTest]) -> None:
    """Mark each hypothesis's pre-declared primary test (never chosen from the data) and its threshold."""
    for row in rows:
        planned = plan.get(row.hypothesis_id)
        if planned is None:
            raise ValueError(f"seeds/analysis_plan.csv has no row for hypothesis {row.hypothesis_id}; add one")
        row.is_primary = row.test == planned.primary_test
        row.choice_reason = f"pre-declared ({'primary' if row.is_primary else 'also reported'}): {planned.reason}"
        row.smallest_effect = (
            planned.smallest_effect if row.effect_size_name in (None, planned.effect_size_name) else None
        )


def _adjust(rows: list[TestResult], alpha: float) -> None:
    """Holm over the family of primary tests; reject_null on the adjusted p only, reject_null_raw on the raw p."""
    primary = [row for row in rows if row.is_primary and row.testable and row.p_value is not None]
    for row, adjusted in zip(primary, multipletests([row.p_value for row in primary], method="holm")[1], strict=True):
        row.p_value_adjusted = float(adjusted)
    for row in rows:
        row.reject_null = None if row.p_value_adjusted is None else bool(row.p_value_adjusted < alpha)
        row.reject_null_raw = None if row.p_value is None or not row.testable else bool(row.p_value < alpha)


def conclude(rows: list[TestResult]) -> None:
    """One conclusion per hypothesis, on every row of it.

    ``not testable``; ``tests disagree`` (the other test's raw decision differs from the primary's
    raw decision); ``differ, meaningful`` / ``differ, negligible`` (Holm-adjusted p below alpha; the
    primary effect at or above / below the smallest effect of interest); else ``no evidence of a
    difference`` (never "the groups are the same").
    """
    for hypothesis_id in dict.fromkeys(row.hypothesis_id for row in rows):
        group = [row for row in rows if row.hypothesis_id == hypothesis_id]
        primary = next(row for row in group if row.is_primary)
        others = [row for row in group if row is not primary and row.reject_null_raw is not None]
        if not primary.testable or primary.p_value is None:
            conclusion = "not testable"
        elif any(other.reject_null_raw != primary.reject_null_raw for other in others):
            conclusion = "tests disagree"
        elif primary.reject_null:
            size = abs(primary.effect_size) if primary.effect_size is not None else None
            threshold = primary.smallest_effect
            conclusion = (
                "differ, meaningful" if size is None or threshold is None or size >= threshold else "differ, negligible"
            )
        else:
            conclusion = "no evidence of a difference"
        for row in group:
            row.conclusion = conclusion


def _posthoc(groups: dict[str, np.ndarray], config: StatConfig) -> list[dict[str, Any]]:
    """Pairwise Mann-Whitney between product segments (n >= 2), Holm within the family."""
    names = [name for name, values in groups.items() if np.isfinite(values).sum() >= 2]
    results = []
    for index, name_a in enumerate(names):
        for name_b in names[index + 1 :]:
            mw = compare_two_groups(
                TestResult("score_by_products", "", "score", "", name_a, name_b, 0, 0, ""),
                groups[name_a],
                groups[name_b],
                n_boot=1,
                seed=config.seed,
                max_size=config.max_resample_size,
            )[0]
            results.append(mw)
    adjusted = multipletests([row.p_value if row.p_value is not None else 1.0 for row in results], method="holm")[1]
    return [
        {
            "hypothesis_id": row.hypothesis_id,
            "group_a": row.group_a,
            "group_b": row.group_b,
            "n_a": row.n_a,
            "n_b": row.n_b,
            "test": row.test,
            "statistic": row.statistic,
            "p_value": row.p_value,
            "p_value_holm": float(p_holm),
            "reject_null": bool(p_holm < config.alpha),
            "effect_size_name": row.effect_size_name,
            "effect_size": row.effect_size,
            "ci_low": row.ci_low,
            "ci_high": row.ci_high,
            "median_a": row.summary_a,
            "median_b": row.summary_b,
        }
        for row, p_holm in zip(results, adjusted, strict=True)
    ]


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f} %"


def _p(value: float | None) -> str:
    if value is None:
        return "n/a"
    return "< 0.0001" if value < 0.0001 else f"{value:.4f}"


def _f(value: float | None, spec: str, scale: float = 1.0) -> str:
    """Format ``value * scale`` with ``spec``, or 'n/a' when there is no value."""
    if value is None:
        return "n/a"
    return format(value * scale if scale != 1.0 else value, spec)


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def _describe(primary: TestResult, others: list[TestResult]) -> list[str]:
    lines = [
        f"### {primary.hypothesis_id}",
        "",
        f"*Null hypothesis:* {primary.hypothesis}. *Population:* {primary.population}.",
        "",
    ]
    if not primary.testable:
        return [*lines, f"{primary.note.capitalize()}.", ""]
    verdict = f"**{primary.conclusion}**"
    if primary.test == "kruskal_wallis":
        lines.append(
            f"Kruskal-Wallis across segments {primary.group_a}: H = {_f(primary.statistic, '.1f')}, "
            f"p {_p(primary.p_value)} (Holm-adjusted {_p(primary.p_value_adjusted)}). Conclusion: {verdict}; "
            f"epsilon² = {_f(primary.effect_size, '.3f')} (95 % CI {_f(primary.ci_low, '.3f')}–{_f(primary.ci_high, '.3f')}): "
            f"the product segment explains about {_f(primary.effect_size, '.1f', 100)} % of the ranking of scores. "
            "Pairwise comparisons are in marts.stat_tests_posthoc."
        )
    elif primary.test in ("two_proportion_z", "chi_square"):
        lines.append(
            f"Churn: {primary.group_a} {_pct(primary.summary_a)} (n = {_f(primary.n_a, ',')}) vs {primary.group_b} "
            f"{_pct(primary.summary_b)} (n = {_f(primary.n_b, ',')}). The difference is "
            f"{_f(primary.effect_size, '+.1f', 100)} percentage points (95 % CI {_f(primary.ci_low, '+.1f', 100)} to "
            f"{_f(primary.ci_high, '+.1f', 100)}); {primary.group_a} clients churn {_f(primary.difference, '.2f')} times as often "
            f"(95 % CI {_f(primary.difference_ci_low, '.2f')}–{_f(primary.difference_ci_high, '.2f')}). "
            f"Two-proportion z test p {_p(primary.p_value)} (Holm-adjusted {_p(primary.p_value_adjusted)}). Conclusion: {verdict}."
        )
    else:
        share = (
            (primary.effect_size + 1) / 2
            if primary.effect_size is not None and primary.test == "mann_whitney_u"
            else None
        )
        what = (
            f"medians {_num(primary.summary_a)} vs {_num(primary.summary_b)}"
            if primary.summary_name == "median"
            else f"means {_num(primary.summary_a)} vs {_num(primary.summary_b)}"
        )
        lines.append(
            f"{primary.group_a} (n = {_f(primary.n_a, ',')}) vs {primary.group_b} (n = {_f(primary.n_b, ',')}) on {primary.metric}: {what}. "
            f"Primary test: {primary.test} ({primary.choice_reason}); p {_p(primary.p_value)}, Holm-adjusted "
            f"{_p(primary.p_value_adjusted)}. Conclusion: {verdict} (smallest effect of interest: "
            f"|{primary.effect_size_name}| {_f(primary.smallest_effect, '.2f')})."
        )
        if share is not None:
            lines.append(
                f"How big: a random {primary.group_a} client has the higher {primary.metric} in {_f(share, '.0f', 100)} % of pairs "
                f"(rank-biserial {_f(primary.effect_size, '+.3f')}, 95 % CI {_f(primary.ci_low, '+.3f')} to {_f(primary.ci_high, '+.3f')}); "
                f"median difference {_num(primary.difference)} (bootstrap 95 % CI {_num(primary.difference_ci_low)} to "
                f"{_num(primary.difference_ci_high)})."
            )
        else:
            lines.append(
                f"How big: Hedges' g {_f(primary.effect_size, '+.3f')} (95 % CI {_f(primary.ci_low, '+.3f')} to {_f(primary.ci_high, '+.3f')}); "
                f"mean difference {_num(primary.difference)} (95 % CI {_num(primary.difference_ci_low)} to {_num(primary.difference_ci_high)})."
            )
    for other in others:
        if other.testable:
            lines.append(
                f"Also reported: {other.test}, p {_p(other.p_value)}; {other.effect_size_name} {_f(other.effect_size, '+.3f')} "
                f"(95 % CI {_f(other.ci_low, '+.3f')} to {_f(other.ci_high, '+.3f')})."
            )
        else:
            lines.append(f"Also: {other.test} {other.note}.")
    return [*lines, ""]


def render_report(rows: list[TestResult], config: StatConfig) -> str:
    """Write the tests in plain language for a bank manager (Markdown)."""
    out = [
        "# Statistical tests: what differs between churned and retained clients",
        "",
        f"Each hypothesis has one primary test; their p-values are adjusted for testing {sum(r.is_primary for r in rows)} "
        f"hypotheses at once (Holm), and a difference counts when the adjusted p is below {config.alpha}. "
        "The primary test and the smallest effect of interest of each hypothesis were declared before looking at "
        "the data (seeds/analysis_plan.csv). A p-value is the probability of data at least this extreme if there "
        "were no difference (H0 true); it is not the probability that a difference exists. A large p is no "
        "evidence of a difference, never proof that the groups are the same. The effect size says how big a "
        "difference is: below the smallest effect of interest it is negligible in practice. "
        "Mann-Whitney compares whole distributions (is one group typically higher?), not means. "
        "Conclusions: differ, meaningful / differ, negligible / no evidence of a difference / tests disagree "
        "(the two tests reach different raw decisions) / not testable.",
        "",
    ]
    seen: list[str] = []
    for row in rows:
        if row.hypothesis_id not in seen:
            seen.append(row.hypothesis_id)
    for hypothesis_id in seen:
        group = [row for row in rows if row.hypothesis_id == hypothesis_id]
        primary = next((row for row in group if row.is_primary), group[0])
        out += _describe(primary, [row for row in group if row is not primary])
    return "\n".join(out)


def run_step(warehouse: Warehouse, report_path: Path, config: StatConfig | None = None) -> list[TestResult]:
    """Read dim_clients, run the tests, write marts.stat_tests(+_posthoc) and the Markdown report."""
    config = config or StatConfig.from_dbt_project()
    rows, posthoc = run_tests(read_clients(warehouse), config)
    warehouse.replace_table(
        "marts.stat_tests",
        TABLE_COLUMNS,
        [{**row.as_row(), "not_testable_reason": row.not_testable_reason} for row in rows],
        description="The study's hypothesis tests: one row per (hypothesis, test); Holm over the primary tests.",
    )
    warehouse.replace_table(
        "marts.stat_tests_posthoc",
        POSTHOC_COLUMNS,
        posthoc,
        description="Pairwise Mann-Whitney of score between product segments, Holm-adjusted.",
    )
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(render_report(rows, config), encoding="utf-8")
    return rows
