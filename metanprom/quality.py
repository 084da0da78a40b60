"""Data-quality checks with great-expectations on the raw, staging and mart tables.

Tables are read from DuckDB into pandas frames (GX's SQL datasource returns nothing for
DuckDB) and validated in one checkpoint that writes Data Docs. Each expectation carries a
severity in its ``meta``:

* ``error`` guards correctness (keys unique, ranges, rates in [0, 1], buckets partition all
  clients, ...): a failure stops the build before publication;
* ``warn`` watches drift (missing-value rates, the churn rate, new cities): a failure is listed
  in the build summary and the build goes on.

Checks that must hold on every row at any size (row counts reconcile, keys unique, at least one
client) are pushed down to SQL ("warehouse totals") and validated as one computed row. Column
checks run on the table itself up to ``max_rows`` rows (the shipped extract: every row) and on a
reproducible sample above that (DuckDB reservoir sample, fixed seed); the summary page says
which. Ranges and keys on every row are also checked by the dbt tests.
"""

from __future__ import annotations

import html
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx  # noqa: E402  (after the analytics switch)
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402

from metanprom.db import connect
from metanprom.extract import EXPECTED_COLUMNS, shorten  # noqa: E402

ERROR, WARN = "error", "warn"
CONTRACT_HYPOTHESES = [
    "income_churned_vs_retained",
    "income_1_vs_2_products",
    "score_by_products",
    "balance_churned_vs_retained",
    "age_churned_vs_retained",
    "score_churned_vs_retained",
    "activity_churn",
    "credit_card_churn",
]


class DataQualityError(Exception):
    """An expectation that guards correctness failed: the build must not publish."""


@dataclass
class CheckOutcome:
    """One expectation's result, flattened for the summary."""

    suite: str
    expectation: str
    column: str
    severity: str
    success: bool
    observed: str


@dataclass
class QualityReport:
    """All outcomes of a data-quality run and where the reports were written."""

    outcomes: list[CheckOutcome] = field(default_factory=list)
    sampled: dict[str, int] = field(default_factory=dict)
    docs_index: Path | None = None
    summary_page: Path | None = None

    @property
    def errors(self) -> list[CheckOutcome]:
        """Failed expectations of severity error."""
        return [o for o in self.outcomes if not o.success and o.severity == ERROR]

    @property
    def warnings(self) -> list[CheckOutcome]:
        """Failed expectations of severity warn."""
        return [o for o in self.outcomes if not o.success and o.severity == WARN]


def _escaped(values: list[str]) -> list[str]:
    return [html.escape(value) for value in values]


def _suites(clients: int, known_cities: list[str]) -> dict[str, list[Any]]:
    """Return the expectations by the frame they validate (suite name = the table)."""
    E = gx.expectations  # noqa: N806

    def err(**meta: Any) -> dict[str, Any]:
        return {"meta": {"severity": ERROR, **meta}}

    def warn(**meta: Any) -> dict[str, Any]:
        return {"meta": {"severity": WARN, **meta}}

    def rate_checks() -> list[Any]:
        return [
            E.ExpectColumnValuesToBeBetween(column="churn_rate", min_value=0, max_value=1, **err()),
            E.ExpectColumnValuesToBeBetween(column="ci_low", min_value=0, max_value=1, **err()),
            E.ExpectColumnValuesToBeBetween(column="ci_high", min_value=0, max_value=1, **err()),
            E.ExpectColumnPairValuesAToBeGreaterThanB(column_A="churn_rate", column_B="ci_low", or_equal=True, **err()),
            E.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="ci_high", column_B="churn_rate", or_equal=True, **err()
            ),
        ]

    return {
        "raw.bank_scrooge": [
            E.ExpectTableColumnsToMatchSet(column_set=list(EXPECTED_COLUMNS), exact_match=True, **err()),
            E.ExpectTableRowCountToBeBetween(min_value=1, **err()),
        ],
        "warehouse totals (SQL, every row)": [
            E.ExpectColumnPairValuesToBeEqual(column_A="raw_rows", column_B="staging_rows", **err()),
            E.ExpectColumnPairValuesToBeEqual(column_A="raw_rows", column_B="accepted_plus_rejected", **err()),
            E.ExpectColumnValuesToBeBetween(column="repeated_source_rows", min_value=0, max_value=0, **err()),
            E.ExpectColumnValuesToBeBetween(column="repeated_client_keys", min_value=0, max_value=0, **err()),
            E.ExpectColumnValuesToBeBetween(column="accepted_clients", min_value=1, **err()),
        ],
        "staging.stg_clients": [
            E.ExpectColumnValuesToNotBeNull(column="source_row_number", **err()),
            # drift: about 23 % of balances and 0.3 % of ages are missing in the shipped extract
            E.ExpectColumnValuesToBeNull(column="balance", mostly=0.15, **warn(expected="15-30 % missing")),
            E.ExpectColumnValuesToNotBeNull(column="balance", mostly=0.70, **warn(expected="15-30 % missing")),
            E.ExpectColumnValuesToNotBeNull(column="age", mostly=0.99, **warn(expected="at most 1 % missing")),
        ],
        "staging.stg_clients (column types)": [
            E.ExpectColumnPairValuesToBeEqual(column_A="data_type", column_B="expected_type", **err()),
            E.ExpectTableRowCountToBeBetween(min_value=len(STAGING_TYPES), **err()),
        ],
        "marts.dim_clients": [
            E.ExpectColumnValuesToBeUnique(column="client_key", **err()),
            E.ExpectColumnValuesToNotBeNull(column="client_key", **err()),
            E.ExpectColumnValuesToBeBetween(column="age", min_value=18, max_value=100, **err()),
            E.ExpectColumnValuesToBeBetween(column="score", min_value=1, max_value=1000, **err()),
            E.ExpectColumnValuesToBeBetween(column="equity", min_value=0, max_value=10, **err()),
            E.ExpectColumnValuesToBeBetween(column="products", min_value=0, max_value=10, **err()),
            E.ExpectColumnValuesToBeBetween(column="balance", min_value=0, **err()),
            E.ExpectColumnValuesToBeBetween(column="est_salary", min_value=0, strict_min=True, **err()),
            E.ExpectColumnValuesToBeInSet(column="gender", value_set=_escaped(["М", "Ж"]), **err()),
            E.ExpectColumnValuesToBeInSet(column="product_segment", value_set=["0", "1", "2", "3", "4+"], **err()),
            E.ExpectColumnValuesToNotBeNull(column="is_churned", **err()),
            E.ExpectColumnValuesToBeInSet(
                column="city", value_set=_escaped(known_cities), **warn(expected="a known branch")
            ),
            E.ExpectColumnMeanToBeBetween(
                column="churned_as_number", min_value=0.10, max_value=0.30, **warn(expected="churn 10-30 %")
            ),
        ],
        "marts.churn_by_feature": [
            E.ExpectCompoundColumnsToBeUnique(column_list=["feature", "bucket"], **err()),
            *rate_checks(),
        ],
        "marts.churn_by_feature (totals per feature)": [
            E.ExpectColumnValuesToBeBetween(column="clients", min_value=clients, max_value=clients, **err()),
            E.ExpectTableRowCountToBeBetween(min_value=10, **err()),
        ],
        "marts.churn_signals": [E.ExpectColumnValuesToBeUnique(column="signal_id", **err()), *rate_checks()],
        "marts.product_segments": [E.ExpectColumnValuesToBeUnique(column="product_segment", **err()), *rate_checks()],
        "marts.churn_segments": [
            E.ExpectColumnValuesToBeUnique(column="segment_id", **err()),
            E.ExpectColumnValuesToBeUnique(column="priority", **err()),
            *rate_checks(),
        ],
        "marts.stat_tests": [
            E.ExpectColumnValuesToBeBetween(column="p_value", min_value=0, max_value=1, **err()),
            E.ExpectColumnValuesToBeBetween(column="p_value_adjusted", min_value=0, max_value=1, **err()),
            E.ExpectColumnDistinctValuesToContainSet(column="hypothesis_id", value_set=CONTRACT_HYPOTHESES, **err()),
        ],
    }


STAGING_TYPES = {
    "source_row_number": "BIGINT",
    "user_id": "BIGINT",
    "city": "VARCHAR",
    "gender": "VARCHAR",
    "age": "INTEGER",
    "score": "INTEGER",
    "equity": "INTEGER",
    "balance": "DOUBLE",
    "products": "INTEGER",
    "has_credit_card": "BOOLEAN",
    "is_active": "BOOLEAN",
    "is_churned": "BOOLEAN",
    "est_salary": "DOUBLE",
    "is_age_missing": "BOOLEAN",
    "is_balance_missing": "BOOLEAN",
    "is_duplicate_user_id": "BOOLEAN",
}
_EXPECTED_TYPES = " union all ".join(
    f"select '{name}' as column_name, '{kind}' as expected_type" for name, kind in STAGING_TYPES.items()
)
_QUERIES = {
    "warehouse totals (SQL, every row)": """
        select
            (select count(*) from raw.bank_scrooge) as raw_rows,
            (select count(*) from staging.stg_clients) as staging_rows,
            (select count(*) from marts.dim_clients) + (select count(*) from marts.rejected_rows) as accepted_plus_rejected,
            (select count(*) from marts.dim_clients) as accepted_clients,
            (select count(*) - count(distinct source_row_number) from staging.stg_clients) as repeated_source_rows,
            (select count(*) - count(distinct client_key) from marts.dim_clients) as repeated_client_keys
    """,
    "staging.stg_clients (column types)": (
        f"select expected.column_name, expected.expected_type, columns.data_type from ({_EXPECTED_TYPES}) as expected "
        "left join information_schema.columns as columns on columns.table_schema = 'staging' "
        "and columns.table_name = 'stg_clients' and columns.column_name = expected.column_name"
    ),
    "raw.bank_scrooge": "select * from raw.bank_scrooge",
    "staging.stg_clients": "select * from staging.stg_clients",
    "marts.dim_clients": "select *, case when is_churned then 1.0 else 0.0 end as churned_as_number from marts.dim_clients",
    "marts.churn_by_feature": "select * from marts.churn_by_feature",
    "marts.churn_by_feature (totals per feature)": (
        "select feature, sum(clients) as clients, sum(churners) as churners from marts.churn_by_feature group by feature"
    ),
    "marts.churn_signals": "select * from marts.churn_signals",
    "marts.product_segments": "select * from marts.product_segments",
    "marts.churn_segments": "select * from marts.churn_segments",
    "marts.stat_tests": "select * from marts.stat_tests",
}


def _frame(con: duckdb.DuckDBPyConnection, name: str, max_rows: int, sampled: dict[str, int]) -> pd.DataFrame:
    query = _QUERIES[name]
    if "(" in name:  # a computed frame (totals, types): small, never sampled
        rows = 0
    else:
        row = con.execute(f"select count(*) from {name}").fetchone()
        rows = int(row[0]) if row else 0
    if rows > max_rows:
        sampled[name] = max_rows
        query = f"{query} using sample reservoir({max_rows} rows) repeatable (42)"
    frame = con.execute(query).df()
    # Data Docs put data values into HTML unescaped: hand GX escaped text (value sets are escaped alike).
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            frame[column] = frame[column].map(lambda value: html.escape(value) if isinstance(value, str) else value)
    return frame


def _observed(result: Any) -> str:
    details = result.result or {}
    parts = []
    if "observed_value" in details:
        parts.append(f"observed {details['observed_value']}")
    if details.get("unexpected_count"):
        parts.append(f"{details['unexpected_count']} unexpected ({details.get('unexpected_percent', 0):.2f} %)")
    if details.get("partial_unexpected_list"):
        examples = [shorten(html.unescape(str(value)), 40) for value in details["partial_unexpected_list"][:5]]
        parts.append(f"e.g. {examples}")
    if result.exception_info and result.exception_info.get("raised_exception"):
        parts.append(f"error: {result.exception_info.get('exception_message')}")
    return html.unescape("; ".join(parts))  # values were escaped for Data Docs; keep them readable here


def run_quality(db_path: Path, out_dir: Path, max_rows: int = 100_000) -> QualityReport:
    """Validate the warehouse at ``db_path``; write Data Docs and a summary page into ``out_dir``."""
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    report = QualityReport()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    context.add_data_docs_site(
        site_name="metanprom",
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(out_dir / "gx")},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    source = context.data_sources.add_or_update_pandas("warehouse")
    with connect(db_path, read_only=True) as con:
        clients = int(con.execute("select count(*) from marts.dim_clients").fetchone()[0])  # type: ignore[index]
        known_cities = [str(r[0]) for r in con.execute("select city from raw.ref_cities").fetchall()]
        suites = _suites(clients, known_cities)
        frames = {name: _frame(con, name, max_rows, report.sampled) for name in suites}
    for name, expectations in suites.items():
        slug = name.replace(" ", "_").replace("(", "").replace(")", "")
        asset = source.add_dataframe_asset(slug)
        batch = asset.add_batch_definition_whole_dataframe("all")
        suite = context.suites.add_or_update(gx.ExpectationSuite(name=slug))
        for expectation in expectations:
            suite.add_expectation(expectation)
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=f"validate_{slug}", data=batch, suite=suite)
        )
        checkpoint = context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=f"checkpoint_{slug}",
                validation_definitions=[definition],
                actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=["metanprom"])],
                result_format={"result_format": "SUMMARY"},
            )
        )
        result = checkpoint.run(batch_parameters={"dataframe": frames[name]})
        for validation in result.run_results.values():
            for outcome in validation.results:
                config = outcome.expectation_config
                report.outcomes.append(
                    CheckOutcome(
                        suite=name,
                        expectation=config.type,
                        column=str(config.kwargs.get("column") or config.kwargs.get("column_A") or ""),
                        severity=str((config.meta or {}).get("severity", ERROR)),
                        success=bool(outcome.success),
                        observed=_observed(outcome),
                    )
                )
    # the one data-quality page, offline: summary.html, and index.html (the contract's path) is the same
    # page; great-expectations' own Data Docs (styles from a CDN) stay in gx/ for engineers
    report.summary_page = write_summary_page(report, out_dir / "summary.html")
    report.docs_index = write_summary_page(report, out_dir / "index.html")
    return report


def write_summary_page(report: QualityReport, path: Path) -> Path:
    """Write a self-contained, offline summary of every expectation (all data values HTML-escaped).

    Russian by default, English with ``#lang=en`` or the button (strings from metanprom.i18n).
    """
    from metanprom.i18n import page_dictionary

    rows = []
    for outcome in report.outcomes:
        status = "pass" if outcome.success else ("fail" if outcome.severity == ERROR else "warn")
        rows.append(
            f"<tr class='{status}'><td data-i18n='dq_{status}'>{status}</td><td>{html.escape(outcome.suite)}</td>"
            f"<td>{html.escape(outcome.expectation)}</td><td>{html.escape(outcome.column)}</td>"
            f"<td>{html.escape(outcome.severity)}</td><td>{html.escape(outcome.observed)}</td></tr>"
        )
    sampled = "".join(
        f"<li>{html.escape(name)}: <span data-i18n='dq_sampled'></span> {rows_:,}</li>"
        for name, rows_ in report.sampled.items()
    )
    passed = sum(o.success for o in report.outcomes)
    strings = json.dumps(page_dictionary(), ensure_ascii=False).replace("<", "\\u003c")
    page = f"""<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Проверки качества данных</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1rem; color: #222; }}
table {{ border-collapse: collapse; width: 100%; font-size: 14px; }}
.wrap {{ overflow-x: auto; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }}
tr.fail td {{ background: #fdd; }} tr.warn td {{ background: #ffd; }}
button {{ min-height: 40px; font: inherit; }}
</style></head><body>
<p><a href="../dashboard.html" data-i18n="back_to_dashboard"></a> <button type="button" id="lang-toggle"></button></p>
<h1 data-i18n="dq_title">Проверки качества данных</h1>
<p><span id="dq-passed">{passed} / {len(report.outcomes)}</span> <span data-i18n="dq_passed"></span>;
{len(report.errors)} <span data-i18n="dq_errors"></span>; {len(report.warnings)} <span data-i18n="dq_warnings"></span>.
<span data-i18n="dq_gx"></span> <a href="gx/index.html">gx/index.html</a>.</p>
<ul>{sampled}</ul>
<div class="wrap"><table><tr><th data-i18n="dq_status"></th><th data-i18n="dq_table"></th><th data-i18n="dq_expectation"></th>
<th data-i18n="dq_column"></th><th data-i18n="dq_severity"></th><th data-i18n="dq_observed"></th></tr>
{"".join(rows)}
</table></div>
<script type="application/json" id="strings">{strings}</script>
<script>
"use strict";
const STRINGS = JSON.parse(document.getElementById("strings").textContent);
let lang = new URLSearchParams(location.hash.slice(1)).get("lang") === "en" ? "en" : "ru";
function render() {{
  document.documentElement.lang = lang;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = STRINGS[lang][node.dataset.i18n] || node.textContent;
  document.getElementById("lang-toggle").textContent = STRINGS[lang].lang_switch;
  document.title = STRINGS[lang].dq_title;
}}
document.getElementById("lang-toggle").addEventListener("click", () => {{
  lang = lang === "ru" ? "en" : "ru"; history.replaceState(null, "", lang === "en" ? "#lang=en" : location.pathname); render();
}});
render();
</script>
</body></html>
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def describe_errors(report: QualityReport) -> str:
    """Describe the failed correctness expectations: the message a user sees."""
    lines = [f"{len(report.errors)} data-quality expectation(s) that guard correctness failed:"]
    lines += [f"  - {o.suite}: {o.expectation}({o.column}) {o.observed}".rstrip() for o in report.errors]
    return "\n".join(lines)
