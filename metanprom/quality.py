"""Data-quality checks with great-expectations: drift, and the Python step's table.

Keys, ranges and row reconciliation are dbt tests (every row, every build); great-expectations
does what they do not: it watches drift with ``mostly`` (missing balances and ages, the churn
rate, new cities: severity ``warn``, listed in the build summary, the build goes on), checks the
statistical step's table, which is written after dbt (severity ``error``: the build stops before
publication), and writes the reports. Thresholds are vars (``dq_*`` in dbt_project.yml); the
hypotheses come from seed analysis_plan.

Tables are read from DuckDB into pandas frames (GX's SQL datasource returns nothing for DuckDB),
up to ``max_rows`` rows and on a reproducible sample above that (DuckDB reservoir sample, fixed
seed); the summary page says which.
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

from metanprom.db import connect
from metanprom.extract import shorten
from metanprom.paths import dbt_vars

ERROR, WARN = "error", "warn"


def import_gx() -> Any:
    """Import great-expectations (about 2 s) on first use, analytics switched off first.

    The build warms this import up while dbt runs (metanprom.build), so the data-quality stage
    does not pay for it.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations

    return great_expectations


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


@dataclass
class Suite:
    """One great-expectations suite: the query giving its frame and its expectations.

    ``sample`` says whether a large table may be validated on a reservoir sample (a table read
    as is) or is always read whole (a small computed frame).
    """

    name: str
    query: str
    expectations: list[Any]
    sample: bool = True


def _suites(known_cities: list[str], hypotheses: list[str], variables: dict[str, Any]) -> list[Suite]:
    """Return the suites: drift (``mostly``, severity warn) and the Python step's table.

    dbt tests check keys, ranges and row reconciliation on every row; these are not repeated here.
    """
    E = import_gx().expectations  # noqa: N806

    def err(**meta: Any) -> dict[str, Any]:
        return {"meta": {"severity": ERROR, **meta}}

    def warn(**meta: Any) -> dict[str, Any]:
        return {"meta": {"severity": WARN, **meta}}

    balance_low, balance_high = (float(x) for x in variables["dq_balance_missing_share"])
    age_max = float(variables["dq_age_missing_max"])
    churn_low, churn_high = (float(x) for x in variables["dq_churn_rate"])
    balance_expected = f"{balance_low:.0%}-{balance_high:.0%} missing"
    return [
        Suite(
            "staging.stg_clients",
            "select balance, age from staging.stg_clients",
            [
                E.ExpectColumnValuesToBeNull(column="balance", mostly=balance_low, **warn(expected=balance_expected)),
                E.ExpectColumnValuesToNotBeNull(
                    column="balance", mostly=1 - balance_high, **warn(expected=balance_expected)
                ),
                E.ExpectColumnValuesToNotBeNull(
                    column="age", mostly=1 - age_max, **warn(expected=f"at most {age_max:.0%} missing")
                ),
            ],
        ),
        Suite(
            "marts.dim_clients",
            "select city, case when is_churned then 1.0 else 0.0 end as churned_as_number from marts.dim_clients",
            [
                E.ExpectColumnValuesToBeInSet(
                    column="city", value_set=_escaped(known_cities), **warn(expected="a known branch (seed ref_cities)")
                ),
                E.ExpectColumnMeanToBeBetween(
                    column="churned_as_number",
                    min_value=churn_low,
                    max_value=churn_high,
                    **warn(expected=f"churn {churn_low:.0%}-{churn_high:.0%}"),
                ),
            ],
        ),
        Suite(
            "marts.stat_tests",
            "select * from marts.stat_tests",
            [
                E.ExpectColumnValuesToBeBetween(column="p_value", min_value=0, max_value=1, **err()),
                E.ExpectColumnValuesToBeBetween(column="p_value_adjusted", min_value=0, max_value=1, **err()),
                E.ExpectColumnDistinctValuesToContainSet(
                    column="hypothesis_id", value_set=hypotheses, **err(expected="every hypothesis of the plan")
                ),
            ],
            sample=False,
        ),
    ]


def _frame(con: duckdb.DuckDBPyConnection, suite: Suite, max_rows: int, sampled: dict[str, int]) -> pd.DataFrame:
    query = suite.query
    rows = 0
    if suite.sample:
        row = con.execute(f"select count(*) from {suite.name}").fetchone()
        rows = int(row[0]) if row else 0
    if rows > max_rows:
        sampled[suite.name] = max_rows
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
    gx = import_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

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
        known_cities = [str(r[0]) for r in con.execute("select city from raw.ref_cities").fetchall()]
        hypotheses = [str(r[0]) for r in con.execute("select hypothesis_id from raw.analysis_plan").fetchall()]
        suites = _suites(known_cities, hypotheses, dbt_vars())
        frames = {suite.name: _frame(con, suite, max_rows, report.sampled) for suite in suites}
    for suite_spec in suites:
        name, expectations = suite_spec.name, suite_spec.expectations
        slug = name.replace(" ", "_")
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
    write_summary_page(report, out_dir / "summary.html")
    write_summary_page(report, out_dir / "index.html")
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
