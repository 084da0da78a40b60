r"""The dashboard: one self-contained HTML page generated from the marts.

No network: the page carries its data as JSON (made inert: ``<`` is written ``\u003c``) and a small
embedded chart script that draws SVG bars with confidence whiskers. Data values only ever reach
the page as text (``textContent``), never as markup. Filters (city, gender) re-add the cells of
``product_segments_by_city_gender`` and ``churn_by_feature_city_gender`` and recompute rates and
Wilson intervals in the browser.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from metanprom.db import connect
from metanprom.extract import shorten

MAX_LABEL_CHARS = 80


def _records(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [column[0] for column in cursor.description]
    return [{name: _cut(value) for name, value in zip(names, row, strict=True)} for row in cursor.fetchall()]


def _cut(value: Any) -> Any:
    """Long texts from the data (a 1.5 MB "city") are cut so the page stays small and readable."""
    return shorten(value, MAX_LABEL_CHARS) if isinstance(value, str) and len(value) > MAX_LABEL_CHARS else value


def collect(db_path: Path, warnings: list[str]) -> dict[str, Any]:
    """Read everything the page shows from the marts (read-only)."""
    with connect(db_path, read_only=True) as con:
        data = {
            "segmentsByCell": _records(
                con,
                "select product_segment, segment_order, city, gender, clients, churners, churned_balance_total "
                "from marts.product_segments_by_city_gender order by segment_order, city, gender",
            ),
            "featureCells": _records(
                con,
                "select feature, feature_order, bucket, bucket_order, city, gender, clients, churners "
                "from marts.churn_by_feature_city_gender order by feature_order, bucket_order",
            ),
            "proneBuckets": _records(
                con, "select feature, bucket, signal_id from marts.churn_by_feature where is_churn_prone"
            ),
            "signals": _records(
                con,
                "select definition, clients, churners, churn_rate, ci_low, ci_high, lift, churner_share "
                "from marts.churn_signals order by feature_order, first_bucket_order",
            ),
            "segments": _records(
                con,
                "select segment_id, definition, clients, churners, churn_rate, ci_low, ci_high, lift, churner_share, "
                "priority, priority_reason, recommendation, stability.pass_share "
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
                "effect_size_name, effect_size, ci_low, ci_high, summary_name, summary_a, summary_b, not_testable_reason "
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
        has_build_info = con.execute(
            "select count(*) from duckdb_tables() where schema_name = 'marts' and table_name = 'build_info'"
        ).fetchone()[0]
        data["build"] = (
            _records(
                con,
                "select extract_file_name, rows_read, extract_sha256, "
                "strftime(extract_modified_at, '%Y-%m-%d') as extract_date, "
                "strftime(build_finished_at, '%Y-%m-%d %H:%M UTC') as built_at from marts.build_info",
            )
            if has_build_info
            else []
        )
    data["warnings"] = warnings
    data["builtAt"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return data


def _inert_json(data: dict[str, Any]) -> str:
    """JSON that cannot close its <script> element or open markup."""
    text = json.dumps(data, ensure_ascii=False, default=float)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


STYLE = """
:root { --ink:#1d2733; --muted:#5b6675; --line:#d8dee6; --accent:#1f6feb; --prone:#d1495b; --bar:#7a93b8; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f6f8fa; }
header { background: #fff; border-bottom: 1px solid var(--line); padding: 12px 20px; display: flex; flex-wrap: wrap; gap: 12px 24px; align-items: center; }
header h1 { font-size: 20px; margin: 0; }
header .meta { color: var(--muted); font-size: 12px; }
.filters { display: flex; gap: 12px; margin-left: auto; }
.filters label { font-size: 13px; color: var(--muted); }
.filters select { font-size: 14px; padding: 2px 6px; }
main { padding: 16px 20px; display: grid; grid-template-columns: repeat(12, 1fr); gap: 16px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; min-width: 0; }
section h2 { font-size: 16px; margin: 0 0 8px; }
.kpis { grid-column: span 12; display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; background: none; border: 0; padding: 0; }
.kpi { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
.kpi .value { font-size: 26px; font-weight: 600; }
.kpi .label { color: var(--muted); font-size: 12px; }
.span6 { grid-column: span 6; } .span12 { grid-column: span 12; }
.features { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 12px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.note { color: var(--muted); font-size: 12px; }
.legend span { display: inline-block; margin-right: 12px; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: middle; }
svg text { font-size: 11px; fill: var(--ink); }
.table-wrap { overflow-x: auto; }
#js-errors:empty { display: none; }
#js-errors { grid-column: span 12; color: #a00; }
@media (max-width: 900px) {
  .span6 { grid-column: span 12; }
  .kpis { grid-template-columns: repeat(2, 1fr); }
  .filters { margin-left: 0; }
}
"""

SCRIPT = r"""
"use strict";
const errors = document.getElementById("js-errors");
window.addEventListener("error", (event) => { errors.textContent += "Error: " + event.message + "\n"; });
const DATA = JSON.parse(document.getElementById("dashboard-data").textContent);
const Z = 1.959963984540054;
const NS = "http://www.w3.org/2000/svg";

function wilson(k, n) {
  if (!n) return [0, 0];
  const p = k / n, d = 1 + Z * Z / n, c = (p + Z * Z / (2 * n)) / d;
  const h = Z * Math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / d;
  return [k <= 0 ? 0 : Math.max(0, c - h), k >= n ? 1 : Math.min(1, c + h)];
}
const fmtInt = (x) => Math.round(x).toLocaleString("en-US");
const fmtPct = (x) => (x * 100).toFixed(1) + " %";
function fmtMoney(x) {
  if (Math.abs(x) >= 1e9) return (x / 1e9).toFixed(2) + " B RUB";
  if (Math.abs(x) >= 1e6) return (x / 1e6).toFixed(1) + " M RUB";
  return fmtInt(x) + " RUB";
}
function el(tag, attrs, text) {
  const node = tag.startsWith("svg:") ? document.createElementNS(NS, tag.slice(4)) : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}
function selected(row) {
  const city = document.getElementById("filter-city").value;
  const gender = document.getElementById("filter-gender").value;
  return (city === "*" || row.city === city) && (gender === "*" || row.gender === gender);
}
function sumBy(rows, key) {
  const groups = new Map();
  for (const row of rows) {
    if (!selected(row)) continue;
    const id = key(row);
    const group = groups.get(id) || { ...row, clients: 0, churners: 0, money: 0 };
    group.clients += row.clients; group.churners += row.churners; group.money += row.churned_balance_total || 0;
    groups.set(id, group);
  }
  return [...groups.values()];
}

function barChart(target, bars, overall, options) {
  const width = options.width || 560, rowHeight = 22, left = options.left || 110, right = 125;
  const height = bars.length * rowHeight + 30;
  const maxRate = Math.max(overall, ...bars.map((b) => b.high), 0.01);
  const x = (v) => left + (width - left - right) * v / maxRate;
  const svg = el("svg:svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", "aria-label": options.title });
  bars.forEach((bar, i) => {
    const y = 8 + i * rowHeight;
    svg.appendChild(el("svg:text", { x: left - 6, y: y + 12, "text-anchor": "end" }, bar.label));
    svg.appendChild(el("svg:rect", { x: left, y: y + 2, width: Math.max(0, x(bar.rate) - left), height: 14,
      fill: bar.prone ? "var(--prone)" : "var(--bar)" }));
    svg.appendChild(el("svg:line", { x1: x(bar.low), x2: x(bar.high), y1: y + 9, y2: y + 9, stroke: "#222", "stroke-width": 1.2 }));
    for (const v of [bar.low, bar.high]) svg.appendChild(el("svg:line", { x1: x(v), x2: x(v), y1: y + 5, y2: y + 13, stroke: "#222" }));
    svg.appendChild(el("svg:text", { x: x(bar.high) + 4, y: y + 12 }, fmtPct(bar.rate) + " (n=" + fmtInt(bar.clients) + ")"));
  });
  const ox = x(overall);
  svg.appendChild(el("svg:line", { x1: ox, x2: ox, y1: 4, y2: height - 18, stroke: "var(--accent)", "stroke-dasharray": "4 3" }));
  svg.appendChild(el("svg:text", { x: ox, y: height - 6, "text-anchor": "middle", fill: "var(--accent)" }, "overall " + fmtPct(overall)));
  target.appendChild(svg);
}

function render() {
  const segments = sumBy(DATA.segmentsByCell, (r) => r.product_segment).sort((a, b) => a.segment_order - b.segment_order);
  const clients = segments.reduce((s, r) => s + r.clients, 0);
  const churners = segments.reduce((s, r) => s + r.churners, 0);
  const money = segments.reduce((s, r) => s + r.money, 0);
  const overall = clients ? churners / clients : 0;
  document.getElementById("kpi-clients").textContent = fmtInt(clients);
  document.getElementById("kpi-churners").textContent = fmtInt(churners);
  document.getElementById("kpi-rate").textContent = fmtPct(overall);
  document.getElementById("kpi-money").textContent = fmtMoney(money);

  const productChart = document.getElementById("chart-products");
  productChart.replaceChildren();
  barChart(productChart, segments.map((r) => {
    const [low, high] = wilson(r.churners, r.clients);
    return { label: r.product_segment + " product(s)", rate: r.churners / r.clients, low, high, clients: r.clients };
  }), overall, { title: "Churn by product segment" });

  const prone = new Set(DATA.proneBuckets.map((b) => b.feature + "|" + b.bucket));
  const features = document.getElementById("chart-features");
  features.replaceChildren();
  const cells = sumBy(DATA.featureCells, (r) => r.feature + "|" + r.bucket);
  const names = [...new Set(DATA.featureCells.map((r) => r.feature))];
  for (const name of names) {
    const rows = cells.filter((r) => r.feature === name).sort((a, b) => a.bucket_order - b.bucket_order);
    const box = el("div", { class: "feature" });
    box.appendChild(el("h3", { style: "font-size:13px;margin:4px 0" }, name));
    barChart(box, rows.map((r) => {
      const [low, high] = wilson(r.churners, r.clients);
      return { label: r.bucket, rate: r.churners / r.clients, low, high, clients: r.clients, prone: prone.has(name + "|" + r.bucket) };
    }), overall, { title: "Churn by " + name, width: 470, left: 90 });
    features.appendChild(box);
  }
}

function fillTable(id, columns, rows) {
  const table = document.getElementById(id);
  const head = el("tr");
  for (const column of columns) head.appendChild(el("th", {}, column.title));
  table.appendChild(head);
  for (const row of rows) {
    const tr = el("tr");
    for (const column of columns) tr.appendChild(el("td", column.num ? { class: "num" } : {}, column.value(row)));
    table.appendChild(tr);
  }
}

function renderStatic() {
  const build = DATA.build[0];
  document.getElementById("built-at").textContent = build
    ? "extract " + build.extract_file_name + " (" + fmtInt(build.rows_read) + " rows, " + build.extract_date
      + ", sha256 " + build.extract_sha256.slice(0, 12) + ") · built " + build.built_at
    : "built " + DATA.builtAt;
  for (const [id, values] of [["filter-city", DATA.cities], ["filter-gender", DATA.genders]]) {
    const select = document.getElementById(id);
    for (const value of values) select.appendChild(el("option", { value }, value));
    select.addEventListener("change", () => {
      const city = document.getElementById("filter-city").value, gender = document.getElementById("filter-gender").value;
      history.replaceState(null, "", "#city=" + encodeURIComponent(city) + "&gender=" + encodeURIComponent(gender));
      render();
    });
  }
  // a filtered view can be linked: dashboard.html#city=Ростов&gender=Ж
  const wanted = new URLSearchParams(location.hash.slice(1));
  for (const [id, key] of [["filter-city", "city"], ["filter-gender", "gender"]]) {
    const select = document.getElementById(id), value = wanted.get(key);
    if (value !== null && [...select.options].some((option) => option.value === value)) select.value = value;
  }
  fillTable("table-segments", [
    { title: "priority", value: (r) => String(r.priority), num: true },
    { title: "segment", value: (r) => r.definition },
    { title: "clients", value: (r) => fmtInt(r.clients), num: true },
    { title: "churn rate (95 % CI)", value: (r) => fmtPct(r.churn_rate) + " (" + fmtPct(r.ci_low) + "–" + fmtPct(r.ci_high) + ")", num: true },
    { title: "share of all churners", value: (r) => fmtPct(r.churner_share), num: true },
    { title: "stable in resamples", value: (r) => r.pass_share === null ? "n/a" : fmtPct(r.pass_share), num: true },
    { title: "why this priority", value: (r) => r.priority_reason },
    { title: "recommendation", value: (r) => r.recommendation },
  ], DATA.segments);
  fillTable("table-overlap", [
    { title: "segments", value: (r) => r.segment_a + " & " + r.segment_b },
    { title: "shared clients", value: (r) => fmtInt(r.shared_clients), num: true },
    { title: "Jaccard", value: (r) => r.jaccard.toFixed(2), num: true },
  ], DATA.overlap);
  fillTable("table-signals", [
    { title: "churn sign", value: (r) => r.definition },
    { title: "clients", value: (r) => fmtInt(r.clients), num: true },
    { title: "churn rate", value: (r) => fmtPct(r.churn_rate), num: true },
    { title: "lift", value: (r) => r.lift.toFixed(2), num: true },
    { title: "share of churners", value: (r) => fmtPct(r.churner_share), num: true },
  ], DATA.signals);
  fillTable("table-tests", [
    { title: "null hypothesis", value: (r) => r.hypothesis },
    { title: "population", value: (r) => r.population },
    { title: "compared", value: (r) => r.summary_name ? r.group_a + " " + fmtNum(r.summary_a) + " vs " + r.group_b + " " + fmtNum(r.summary_b) + " (" + r.summary_name + ")" : r.group_a },
    { title: "effect (95 % CI)", value: (r) => r.effect_size === null ? "n/a" : r.effect_size_name + " " + r.effect_size.toFixed(3) + " (" + r.ci_low.toFixed(3) + " to " + r.ci_high.toFixed(3) + ")" },
    { title: "Holm-adjusted p", value: (r) => r.p_value_adjusted === null ? "n/a" : (r.p_value_adjusted < 1e-4 ? "< 0.0001" : r.p_value_adjusted.toFixed(4)), num: true },
    { title: "conclusion", value: (r) => r.reject_null === null ? "not testable: " + (r.not_testable_reason || "no result") : (r.reject_null ? "differ" : "no detectable difference") },
  ], DATA.tests);
  fillTable("table-rejected", [
    { title: "reason", value: (r) => r.reason },
    { title: "rows", value: (r) => fmtInt(r.rows_rejected), num: true },
  ], DATA.rejected.length ? DATA.rejected : [{ reason: "no row rejected", rows_rejected: 0 }]);
  fillTable("table-cleaning", [
    { title: "anomaly", value: (r) => r.anomaly },
    { title: "rows", value: (r) => fmtInt(r.row_count), num: true },
    { title: "decision", value: (r) => r.decision },
  ], DATA.cleaning);
  const warnings = document.getElementById("warnings");
  for (const text of DATA.warnings.length ? DATA.warnings : ["no warning"]) warnings.appendChild(el("li", {}, text));
}
function fmtNum(x) {
  if (x === null) return "n/a";
  if (Math.abs(x) >= 1000) return fmtInt(x);
  if (Math.abs(x) < 1) return fmtPct(x);
  return x.toFixed(1);
}
renderStatic();
render();
document.body.setAttribute("data-rendered", "yes");
"""


def render_page(data: dict[str, Any], title: str = "Metanprom churn dashboard") -> str:
    """Assemble the self-contained page."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{STYLE}</style></head>
<body>
<header><h1>{html.escape(title)}</h1><span class="meta" id="built-at"></span>
<div class="filters">
<label>City <select id="filter-city"><option value="*">all</option></select></label>
<label>Gender <select id="filter-gender"><option value="*">all</option></select></label>
</div></header>
<main>
<pre id="js-errors"></pre>
<div class="kpis">
<div class="kpi"><div class="value" id="kpi-clients"></div><div class="label">clients</div></div>
<div class="kpi"><div class="value" id="kpi-churners"></div><div class="label">churned clients</div></div>
<div class="kpi"><div class="value" id="kpi-rate"></div><div class="label">churn rate</div></div>
<div class="kpi"><div class="value" id="kpi-money"></div><div class="label">balances held by churned clients</div></div>
</div>
<section class="span6"><h2>Churn by product segment</h2><div id="chart-products"></div>
<p class="note">Bars: churn rate; whiskers: Wilson 95 % interval; dashed line: overall rate of the selection.
Filters apply to the figures and charts above and on this row.</p></section>
<section class="span6"><h2>Churn signs (признаки отточности)</h2><div class="table-wrap"><table id="table-signals"></table></div>
<p class="note">Churn-prone intervals found by the rule in marts.churn_signals (whole client base).</p></section>
<section class="span12"><h2>Churn by feature</h2>
<p class="legend note"><span><i class="swatch" style="background:var(--prone)"></i>churn-prone bucket</span>
<span><i class="swatch" style="background:var(--bar)"></i>other bucket</span></p>
<div class="features" id="chart-features"></div></section>
<section class="span12"><h2>Segments to act on</h2><div class="table-wrap"><table id="table-segments"></table></div>
<p class="note">Selected from all combinations of 2-3 churn signs (marts.churn_segments); priority by the balance the
bank can expect to lose. Whole client base, not filtered.</p>
<h3 style="font-size:14px">Overlap between segments</h3><div class="table-wrap"><table id="table-overlap"></table></div></section>
<section class="span12"><h2>What the statistical tests say</h2><div class="table-wrap"><table id="table-tests"></table></div>
<p class="note">One primary test per hypothesis, p-values Holm-adjusted over the family; the full text is in
<a href="stat_tests.md">stat_tests.md</a>.</p></section>
<section class="span6"><h2>Data quality</h2><table id="table-rejected"></table>
<h3 style="font-size:14px">Warnings</h3><ul id="warnings"></ul>
<p class="note"><a href="data_quality/summary.html">Data-quality summary</a> ·
<a href="data_quality/index.html">great-expectations Data Docs</a></p></section>
<section class="span6"><h2>Cleaning decisions</h2><table id="table-cleaning"></table></section>
</main>
<script type="application/json" id="dashboard-data">{_inert_json(data)}</script>
<script>{SCRIPT}</script>
</body></html>
"""


def write_dashboard(db_path: Path, out_path: Path, warnings: list[str]) -> Path:
    """Generate the dashboard from the warehouse at ``db_path`` into ``out_path``."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(render_page(collect(db_path, warnings)), encoding="utf-8")
    return out_path
