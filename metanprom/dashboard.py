r"""The dashboard the retention team opens first: one self-contained HTML page built from the marts.

Russian by default, English one click away (``#lang=en``, ``?lang=en`` or the button); every word
comes from :mod:`metanprom.i18n`. The top answers "whom, how many, how much, what to do" (the
retention queue and the segments' active members, balances counted once); then churn in figures,
by product segment and by feature (filtered by city/gender, churn-prone colouring judged against
the filtered overall rate, small groups greyed), and the whole-bank blocks (signs, tests, data
quality), each saying so when a filter is on.

No network: the page carries its data as JSON (made inert: ``<`` is written ``\u003c``). Data
values reach the page as text (``textContent``), never as markup. The CSS, JavaScript and HTML
live in ``metanprom/templates/`` and are put together with Jinja2.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from jinja2 import Environment, FileSystemLoader, select_autoescape

from metanprom.db import connect
from metanprom.extract import shorten
from metanprom.i18n import page_dictionary
from metanprom.paths import dbt_vars

MAX_LABEL_CHARS = 400  # long enough for a combined recommendation, short for a 1.5 MB "city"
#: Rows of the retention queue embedded in the page (the top of the list, for every filter).
QUEUE_ROWS_IN_PAGE = 300
TEMPLATES = Path(__file__).with_name("templates")


def _records(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [column[0] for column in cursor.description]
    return [{name: _cut(value) for name, value in zip(names, row, strict=True)} for row in cursor.fetchall()]


def _cut(value: Any) -> Any:
    """Long texts from the data (a 1.5 MB "city") are cut so the page stays small and readable."""
    return shorten(value, MAX_LABEL_CHARS) if isinstance(value, str) and len(value) > MAX_LABEL_CHARS else value


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    query = "select count(*) from duckdb_tables() where schema_name = 'marts' and table_name = ?"
    return bool(con.execute(query, [name]).fetchone()[0])


def collect(db_path: Path, warnings: list[str], reports_dir: Path | None = None) -> dict[str, Any]:
    """Read everything the page shows from the marts (read-only)."""
    variables = dbt_vars()
    with connect(db_path, read_only=True) as con:
        data: dict[str, Any] = {
            "segmentsByCell": _records(
                con,
                "select cells.product_segment, cells.segment_order, cells.city, cells.gender, cells.clients, "
                "cells.churners, cells.churned_balance_total, segments.is_churn_prone "
                "from marts.product_segments_by_city_gender as cells inner join marts.product_segments as segments "
                "on cells.product_segment = segments.product_segment order by cells.segment_order, cells.city, cells.gender",
            ),
            "featureCells": _records(
                con,
                "select cells.feature, cells.feature_order, cells.bucket, cells.bucket_order, cells.city, cells.gender, "
                "cells.clients, cells.churners, buckets.is_churn_prone "
                "from marts.churn_by_feature_city_gender as cells inner join marts.churn_by_feature as buckets "
                "on cells.feature = buckets.feature and cells.bucket = buckets.bucket "
                "order by cells.feature_order, cells.bucket_order, cells.city, cells.gender",
            ),
            "signals": _records(
                con,
                "select definition, clients, churners, churn_rate, ci_low, ci_high, lift, churner_share "
                "from marts.churn_signals order by feature_order, first_bucket_order",
            ),
            "segments": _records(
                con,
                "select segment_id, definition, clients, churners, churn_rate, ci_low, ci_high, lift, churner_share, "
                "priority, priority_reason, recommendation, stability.reselected_share as pass_share "
                "from marts.churn_segments left join marts.churn_segment_stability as stability using (segment_id) "
                "order by priority",
            ),
            "overlap": _records(
                con,
                "select segment_a, segment_b, shared_clients, jaccard from marts.churn_segment_overlap order by 1, 2",
            ),
            "tests": _records(
                con,
                "select hypothesis_id, hypothesis, population, group_a, group_b, test, p_value_adjusted, reject_null, "
                "effect_size_name, effect_size, ci_low, ci_high, summary_name, summary_a, summary_b, not_testable_reason, conclusion "
                "from marts.stat_tests where is_primary order by hypothesis_id",
            ),
            "rejected": _records(
                con,
                "select trim(part) as reason, count(*) as rows_rejected "
                "from marts.rejected_rows, unnest(string_split(reason, '; ')) as parts(part) group by 1 order by 2 desc",
            ),
            "cleaning": _records(
                con, "select anomaly, row_count, decision from marts.cleaning_summary order by anomaly_order"
            ),
            "cities": [
                row[0] for row in con.execute("select distinct city from marts.dim_clients order by 1").fetchall()
            ],
            "genders": [
                row[0] for row in con.execute("select distinct gender from marts.dim_clients order by 1").fetchall()
            ],
        }
        data["cities"] = [_cut(city) for city in data["cities"]]
        data["actions"] = dict(con.execute("select action, action_ru from raw.retention_actions").fetchall())
        data.update(_retention(con))
        data["build"] = (
            _records(
                con,
                "select extract_file_name, rows_read, extract_sha256, "
                "strftime(extract_modified_at, '%Y-%m-%d') as extract_date, "
                "strftime(build_finished_at, '%Y-%m-%d %H:%M UTC') as built_at from marts.build_info",
            )
            if _has_table(con, "build_info")
            else []
        )
    for segment in data["segments"]:
        members = Path("segments") / f"{segment['segment_id']}_active.csv"
        segment["members_file"] = str(members) if reports_dir and (reports_dir / members).exists() else None
    data["warnings"] = [shorten(text, 300) for text in warnings]
    data["builtAt"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    data["settings"] = {
        "minSample": int(variables.get("min_sample_clients", 30)),
        "wilsonZ": float(variables.get("wilson_z", 1.959963984540054)),
    }
    data["strings"] = page_dictionary()
    return data


def _retention(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Read the action block's data: segment membership patterns, the queue by cell and its top, model quality."""
    if not _has_table(con, "retention_queue"):
        return {"segmentPatterns": [], "queueCells": [], "queueTop": [], "model": {"trained": False, "reason": None}}
    status = con.execute("select trained, not_trained_reason from marts.churn_model_status").fetchone()
    metrics = dict(
        con.execute(
            "select metric, value from marts.churn_model_metrics where score_name = 'best' and metric = 'roc_auc'"
        ).fetchall()
    )
    capture = con.execute(
        "select churner_capture_share from marts.churn_model_capture where score_name = 'best' and top_share = 0.1"
    ).fetchone()
    return {
        "segmentPatterns": _records(
            con,
            "select segment_ids, city, gender, clients, churners, active_balance "
            "from marts.retention_segment_cells order by all",
        ),
        "queueCells": _records(
            con,
            "select city, gender, count(*) as clients, sum(expected_loss) as expected_loss "
            "from marts.retention_queue group by all order by all",
        ),
        "queueTop": _records(
            con,
            "select queue_rank, user_id, city, gender, age, products, balance, churn_probability, expected_loss, "
            f"top_reasons, segment_ids from marts.retention_queue order by queue_rank limit {QUEUE_ROWS_IN_PAGE}",
        ),
        "model": {
            "trained": bool(status[0]) if status else False,
            "reason": status[1] if status else None,
            "auc": metrics.get("roc_auc"),
            "top10_capture": capture[0] if capture else None,
        },
    }


def _inert_json(data: dict[str, Any]) -> str:
    """JSON that cannot close its <script> element or open markup."""
    text = json.dumps(data, ensure_ascii=False, default=float)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["j2"]))


def render_page(data: dict[str, Any]) -> str:
    """Assemble the self-contained page from the templates and the data."""
    from markupsafe import Markup

    template = _environment().get_template("dashboard.html.j2")
    return template.render(
        title=data["strings"]["ru"]["title"],
        style=Markup((TEMPLATES / "dashboard.css").read_text(encoding="utf-8")),
        script=Markup((TEMPLATES / "dashboard.js").read_text(encoding="utf-8")),
        data_json=Markup(_inert_json(data)),
    )


def write_dashboard(db_path: Path, out_path: Path, warnings: list[str]) -> Path:
    """Generate the dashboard (and the statistical tests page) from the warehouse into ``out_path``'s folder."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    data = collect(db_path, warnings, out_path.parent)
    out_path.write_text(render_page(data), encoding="utf-8")
    write_tests_page(db_path, out_path.parent / "stat_tests.html", data["strings"])
    return out_path


def write_tests_page(db_path: Path, out_path: Path, strings: dict[str, dict[str, str]]) -> Path:
    """Write the statistical tests as an HTML page in the dashboard's style and language switch (from marts.stat_tests)."""
    from markupsafe import Markup

    with connect(db_path, read_only=True) as con:
        rows = _records(
            con,
            "select hypothesis_id, hypothesis, population, test, is_primary, n_a, n_b, statistic, p_value, "
            "p_value_adjusted, reject_null, effect_size_name, effect_size, ci_low, ci_high, not_testable_reason, "
            "conclusion "
            "from marts.stat_tests order by hypothesis_id, is_primary desc, test",
        )
    template = _environment().get_template("stat_tests.html.j2")
    page = template.render(
        title=strings["ru"]["tests_title"],
        style=Markup((TEMPLATES / "dashboard.css").read_text(encoding="utf-8")),
        data_json=Markup(_inert_json({"rows": rows, "strings": strings})),
    )
    out_path.write_text(page, encoding="utf-8")
    return out_path
