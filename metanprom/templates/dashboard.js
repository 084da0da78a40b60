"use strict";
// The dashboard's behaviour: every figure comes from DATA (read from the marts by metanprom/dashboard.py);
// every word from DATA.strings (metanprom/i18n.py). Values from the data are set as text, never as HTML.
const errors = document.getElementById("js-errors");
window.addEventListener("error", (event) => { errors.textContent += "Error: " + event.message + "\n"; });
const DATA = JSON.parse(document.getElementById("dashboard-data").textContent);
const SETTINGS = DATA.settings;
const Z = SETTINGS.wilsonZ;
const NBSP = "\u00a0";
let LANG = "ru";

function T(key, values) {
  let text = (DATA.strings[LANG] && DATA.strings[LANG][key]) || DATA.strings.ru[key] || key;
  for (const [name, value] of Object.entries(values || {})) text = text.replace("{" + name + "}", value);
  return text;
}
function label(prefix, key) {
  const found = DATA.strings[LANG][prefix + key];
  return found === undefined ? key : found;
}

// --- numbers: Russian by default (10 000; 18,2 %; 2,05 млрд ₽), English with the switch ---
function groupDigits(text, separator) { return text.replace(/\B(?=(\d{3})+(?!\d))/g, separator); }
function fmtInt(x) {
  if (x === null || x === undefined) return "—";
  const sign = x < 0 ? "-" : "";
  return sign + groupDigits(String(Math.round(Math.abs(x))), LANG === "ru" ? NBSP : ",");
}
function fmtDecimal(x, digits) {
  const text = Math.abs(x).toFixed(digits);
  const [whole, fraction] = text.split(".");
  const sign = x < 0 ? "-" : "";
  const grouped = groupDigits(whole, LANG === "ru" ? NBSP : ",");
  return sign + grouped + (fraction ? (LANG === "ru" ? "," : ".") + fraction : "");
}
function fmtPct(x) { return x === null || x === undefined ? "—" : fmtDecimal(x * 100, 1) + NBSP + "%"; }
function fmtMoney(x) {
  if (x === null || x === undefined) return "—";
  const units = LANG === "ru" ? [[1e9, "млрд ₽"], [1e6, "млн ₽"], [1e3, "тыс. ₽"]] : [[1e9, "B RUB"], [1e6, "M RUB"], [1e3, "k RUB"]];
  for (const [size, unit] of units) if (Math.abs(x) >= size) return fmtDecimal(x / size, size === 1e9 ? 2 : 1) + NBSP + unit;
  return fmtInt(x) + NBSP + (LANG === "ru" ? "₽" : "RUB");
}
function fmtP(p) {
  if (p === null || p === undefined) return "—";
  if (p < 1e-4) return "< " + fmtDecimal(0.0001, 4);
  return fmtDecimal(p, 4);
}
function interval(low, high) { return T("likely", { low: fmtPct(low), high: fmtPct(high) }); }
function wilson(k, n) {
  if (!n) return [0, 0];
  const p = k / n, d = 1 + Z * Z / n, c = (p + Z * Z / (2 * n)) / d;
  const h = Z * Math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / d;
  return [k <= 0 ? 0 : Math.max(0, c - h), k >= n ? 1 : Math.min(1, c + h)];
}

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}
function byId(id) { return document.getElementById(id); }

// --- filters (city, gender) and language, kept in the URL: #city=…&gender=…&lang=en ---
function filters() { return { city: byId("filter-city").value, gender: byId("filter-gender").value }; }
function isFiltered() { const f = filters(); return f.city !== "*" || f.gender !== "*"; }
function selected(row) {
  const f = filters();
  return (f.city === "*" || row.city === f.city) && (f.gender === "*" || row.gender === f.gender);
}
function readState() {
  const hash = new URLSearchParams(location.hash.slice(1));
  const query = new URLSearchParams(location.search);
  LANG = (hash.get("lang") || query.get("lang") || "ru") === "en" ? "en" : "ru";
  for (const [id, key] of [["filter-city", "city"], ["filter-gender", "gender"]]) {
    const select = byId(id), value = hash.get(key);
    select.value = value !== null && [...select.options].some((o) => o.value === value) ? value : "*";
  }
}
function writeState() {
  const f = filters();
  const parts = [];
  if (f.city !== "*") parts.push("city=" + encodeURIComponent(f.city));
  if (f.gender !== "*") parts.push("gender=" + encodeURIComponent(f.gender));
  if (LANG === "en") parts.push("lang=en");
  const hash = parts.length ? "#" + parts.join("&") : "";
  if (location.hash !== hash) history.replaceState(null, "", location.pathname + location.search + hash);
}

// --- tables: sortable, values readable by screen readers as text ---
function fillTable(id, columns, rows, options) {
  const table = byId(id);
  table.replaceChildren();
  if (options && options.caption) table.appendChild(el("caption", { class: "visually-hidden" }, options.caption));
  const head = el("tr");
  columns.forEach((column, index) => {
    const th = el("th", { scope: "col", class: column.num ? "num" : "" });
    const button = el("button", { type: "button", title: T("sort_hint") }, column.title);
    button.addEventListener("click", () => sortTable(table, index, column.num));
    th.appendChild(button);
    head.appendChild(th);
  });
  const thead = el("thead"); thead.appendChild(head); table.appendChild(thead);
  const body = el("tbody");
  for (const row of rows) {
    const tr = el("tr");
    for (const column of columns) {
      const td = el("td", { class: (column.num ? "num " : "") + (column.cls || ""), "data-label": column.title }, column.value(row));
      const key = column.sort ? column.sort(row) : null;
      if (key !== null && key !== undefined) td.dataset.sort = String(key);
      if (column.title_attr) td.title = column.title_attr(row);
      if (column.link) { td.textContent = ""; const link = column.link(row); if (link) td.appendChild(link); }
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  table.appendChild(body);
}
function sortTable(table, index, numeric) {
  const th = table.querySelectorAll("th")[index];
  const ascending = th.getAttribute("aria-sort") !== "ascending";
  table.querySelectorAll("th").forEach((cell) => cell.removeAttribute("aria-sort"));
  th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  const body = table.tBodies[0];
  const rows = [...body.rows];
  const key = (row) => { const cell = row.cells[index]; return cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent; };
  rows.sort((a, b) => {
    const x = key(a), y = key(b);
    const order = numeric ? Number(x) - Number(y) : String(x).localeCompare(String(y), LANG);
    return ascending ? order : -order;
  });
  for (const row of rows) body.appendChild(row);
}

// --- bar charts as HTML (text stays readable on a phone), each bar with its n and interval ---
function barChart(target, bars, overall, title) {
  const maxRate = Math.max(overall, ...bars.map((b) => b.high), 0.01);
  const x = (v) => (100 * v / maxRate).toFixed(2) + "%";
  const chart = el("div", { class: "chart", role: "group", "aria-label": title });
  for (const bar of bars) {
    chart.appendChild(el("div", { class: "label" }, bar.label));
    const track = el("div", { class: "track" });
    const description = bar.label + ": " + fmtPct(bar.rate) + ", " + T("n") + " = " + fmtInt(bar.clients) + "; "
      + interval(bar.low, bar.high) + (bar.small ? "; " + T("legend_small", { n: SETTINGS.minSample }) : "");
    track.title = description;
    track.setAttribute("role", "img");
    track.setAttribute("aria-label", description);
    const cls = "bar" + (bar.small ? " small" : bar.prone ? " prone" : "");
    track.appendChild(el("div", { class: cls, style: `left:0;width:${x(bar.rate)}` }));
    track.appendChild(el("div", { class: "whisker", style: `left:${x(bar.low)};width:calc(${x(bar.high)} - ${x(bar.low)})` }));
    track.appendChild(el("div", { class: "overall", style: `left:${x(overall)}` }));
    chart.appendChild(track);
    chart.appendChild(el("div", { class: "value" + (bar.small ? " small-n" : "") },
      fmtPct(bar.rate) + " (" + T("n") + "=" + fmtInt(bar.clients) + ")"));
  }
  target.appendChild(chart);
  target.appendChild(el("div", { class: "chart-foot" }, "┆ " + T("overall") + " " + fmtPct(overall)));
}
// a bar of the current view: its rate and interval from the filtered cells; coloured churn-prone
// only when the bank-wide sign covers it (marts.churn_by_feature / product_segments decide, with
// Holm over every bucket) and the filtered cell is not a small sample (greyed, n shown)
function judged(churners, clients, bankWideProne) {
  const [low, high] = wilson(churners, clients);
  const rate = clients ? churners / clients : 0;
  const small = clients < SETTINGS.minSample;
  const prone = !small && Boolean(bankWideProne);
  return { rate, low, high, clients, small, prone };
}

// --- the blocks ---
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

function segmentFigures() {
  const patterns = DATA.segmentPatterns.filter(selected);
  const bySegment = new Map(DATA.segments.map((s) => [s.segment_id, { active: 0, churned: 0 }]));
  let unionActive = 0, unionBalance = 0, unionChurned = 0;
  for (const p of patterns) {
    const ids = p.segment_ids ? p.segment_ids.split(",") : [];
    for (const id of ids) {
      const figure = bySegment.get(id);
      if (figure) { figure.active += p.clients - p.churners; figure.churned += p.churners; }
    }
    if (ids.length) { unionActive += p.clients - p.churners; unionChurned += p.churners; unionBalance += p.active_balance; }
  }
  // reach in priority order: a churner counts at the first segment (by priority) that holds it
  const order = [...DATA.segments].sort((a, b) => a.priority - b.priority).map((s) => s.segment_id);
  const reached = new Set(); let running = 0;
  const cumulative = new Map();
  for (const id of order) {
    for (const [index, p] of patterns.entries()) {
      if (!reached.has(index) && p.segment_ids && p.segment_ids.split(",").includes(id)) { reached.add(index); running += p.churners; }
    }
    cumulative.set(id, running);
  }
  const churners = patterns.reduce((s, p) => s + p.churners, 0);
  return { bySegment, unionActive, unionBalance, unionChurned, cumulative, churners };
}

function renderAction() {
  const figures = segmentFigures();
  const queue = DATA.queueCells.filter(selected);
  byId("kpi-contact").textContent = fmtInt(figures.unionActive);
  byId("kpi-contact-balance").textContent = fmtMoney(figures.unionBalance);
  const loss = queue.reduce((s, r) => s + (r.expected_loss || 0), 0);
  byId("kpi-queue-loss").textContent = DATA.model.trained ? fmtMoney(loss) : "—";
  byId("kpi-queue").textContent = fmtInt(queue.reduce((s, r) => s + r.clients, 0));
  const rows = [...DATA.segments].sort((a, b) => a.priority - b.priority).map((s) => {
    const f = figures.bySegment.get(s.segment_id);
    const clients = f.active + f.churned;
    const [low, high] = wilson(f.churned, clients);
    return { ...s, active: f.active, churned: f.churned, rate: clients ? f.churned / clients : null, low, high,
      reach: figures.cumulative.get(s.segment_id), reachShare: figures.churners ? figures.cumulative.get(s.segment_id) / figures.churners : null };
  });
  fillTable("table-segments", [
    { title: T("col_segment"), value: (r) => r.segment_id, cls: "sid", sort: (r) => r.segment_id },
    { title: T("col_priority"), value: (r) => String(r.priority), num: true, sort: (r) => r.priority },
    { title: T("col_definition"), value: (r) => signText(r.definition) },
    { title: T("col_active"), value: (r) => fmtInt(r.active), num: true, sort: (r) => r.active },
    { title: T("col_churned"), value: (r) => fmtInt(r.churned), num: true, sort: (r) => r.churned },
    { title: T("col_rate"), value: (r) => r.rate === null ? "—" : fmtPct(r.rate) + " (" + fmtPct(r.low) + "–" + fmtPct(r.high) + ")",
      num: true, sort: (r) => r.rate, title_attr: (r) => r.rate === null ? "" : interval(r.low, r.high) },
    { title: T("col_reach"), value: (r) => fmtInt(r.reach) + " (" + fmtPct(r.reachShare) + ")", num: true, sort: (r) => r.reach },
    { title: T("col_action"), value: (r) => actionText(r.recommendation, true), title_attr: (r) => actionText(r.recommendation, false) },
    { title: T("col_members"), value: () => "", link: (r) => r.members_file
      ? el("a", { href: r.members_file, download: "" }, T("members_csv")) : null },
  ], rows, { caption: T("segments_title") });
  byId("union-reach").textContent = T("union_reach") + " " + fmtInt(figures.unionChurned) + " " + T("of_churners")
    + " (" + fmtPct(figures.churners ? figures.unionChurned / figures.churners : null) + ")";
  const top = DATA.queueTop.filter(selected).slice(0, 10);
  fillTable("table-queue", [
    { title: T("col_rank"), value: (r) => String(r.queue_rank), num: true, sort: (r) => r.queue_rank },
    { title: T("col_client"), value: (r) => String(r.user_id), num: true, sort: (r) => r.user_id },
    { title: T("city"), value: (r) => r.city },
    { title: T("gender"), value: (r) => r.gender },
    { title: T("col_age"), value: (r) => r.age === null ? "—" : String(r.age), num: true, sort: (r) => r.age },
    { title: T("col_products"), value: (r) => String(r.products), num: true, sort: (r) => r.products },
    { title: T("col_balance"), value: (r) => fmtMoney(r.balance), num: true, sort: (r) => r.balance },
    { title: T("col_probability"), value: (r) => fmtPct(r.churn_probability), num: true, sort: (r) => r.churn_probability },
    { title: T("col_loss"), value: (r) => fmtMoney(r.expected_loss), num: true, sort: (r) => r.expected_loss },
    { title: T("col_reasons"), value: (r) => r.top_reasons ? r.top_reasons.split("; ").map(signText).join("; ") : "—" },
    { title: T("col_segment"), value: (r) => r.segment_ids || "—" },
  ], top, { caption: T("queue_title") });
  const model = DATA.model;
  byId("model-quality").textContent = model.trained
    ? T("model_quality") + ": " + T("model_auc") + " " + fmtDecimal(model.auc, 3) + "; " + fmtPct(model.top10_capture) + " " + T("model_top10")
    : T("model_quality") + ": " + (model.reason || "—");
}
function actionText(text, first) {
  if (!text) return "—";
  const parts = text.split(". Also: ").map((part) => (LANG === "ru" ? DATA.actions[part] || part : part));
  return first ? parts[0] : parts.join(LANG === "ru" ? ". Также: " : ". Also: ");
}

// amounts in a sign's label ("≥ 1.1M", "250k–340k") in Russian units ("≥ 1,1 млн"), as i18n.amounts_in_words
function amountText(text) {
  if (LANG !== "ru") return text;
  return text.replace(/(\d+(?:\.\d+)?)([kM])(?![A-Za-z])/g, (_, amount, unit) => amount.replace(".", ",") + (unit === "k" ? " тыс." : " млн"));
}

// a sign's definition ("balance ≥ 660k", "last_activity = yes") in words of the page language
function signText(definition) {
  if (!definition) return "—";
  return definition.split(" and ").map((part) => {
    const match = part.match(/^([a-z_]+)( = | )(.*)$/);
    if (!match) return part;
    const [, feature, separator, value] = match;
    const shown = separator === " = " ? label("value:", value) : amountText(value);
    return label("feature:", feature) + (separator === " = " ? ": " : " ") + shown;
  }).join(LANG === "ru" ? " и " : " and ");
}

function renderOverview() {
  const segments = sumBy(DATA.segmentsByCell, (r) => r.product_segment).sort((a, b) => a.segment_order - b.segment_order);
  const clients = segments.reduce((s, r) => s + r.clients, 0);
  const churners = segments.reduce((s, r) => s + r.churners, 0);
  const money = segments.reduce((s, r) => s + r.money, 0);
  const overall = clients ? churners / clients : 0;
  byId("kpi-clients").textContent = fmtInt(clients);
  byId("kpi-churners").textContent = fmtInt(churners);
  byId("kpi-rate").textContent = fmtPct(overall);
  byId("kpi-money").textContent = fmtMoney(money);
  const productChart = byId("chart-products");
  productChart.replaceChildren();
  barChart(productChart, segments.map((r) => ({ label: r.product_segment + " " + T("products_label"), ...judged(r.churners, r.clients, r.is_churn_prone) })),
    overall, T("products_title"));
  const features = byId("chart-features");
  features.replaceChildren();
  const cells = sumBy(DATA.featureCells, (r) => r.feature + "|" + r.bucket);
  for (const name of [...new Set(DATA.featureCells.map((r) => r.feature))]) {
    const rows = cells.filter((r) => r.feature === name).sort((a, b) => a.bucket_order - b.bucket_order);
    const box = el("div", { class: "feature" });
    const title = label("feature:", name);
    box.appendChild(el("h3", {}, title));
    barChart(box, rows.map((r) => ({ label: label("value:", r.bucket), ...judged(r.churners, r.clients, r.is_churn_prone) })), overall, title);
    features.appendChild(box);
  }
}

function renderWholeBank() {
  fillTable("table-signals", [
    { title: T("col_sign"), value: (r) => signText(r.definition) },
    { title: T("col_clients"), value: (r) => fmtInt(r.clients), num: true, sort: (r) => r.clients },
    { title: T("kpi_rate"), value: (r) => fmtPct(r.churn_rate), num: true, sort: (r) => r.churn_rate, title_attr: (r) => interval(r.ci_low, r.ci_high) },
    { title: T("col_lift"), value: (r) => fmtDecimal(r.lift, 2), num: true, sort: (r) => r.lift },
    { title: T("col_churner_share"), value: (r) => fmtPct(r.churner_share), num: true, sort: (r) => r.churner_share },
  ], DATA.signals);
  fillTable("table-overlap", [
    { title: T("col_pair"), value: (r) => r.segment_a + " & " + r.segment_b },
    { title: T("col_shared"), value: (r) => fmtInt(r.shared_clients), num: true, sort: (r) => r.shared_clients },
    { title: T("col_jaccard"), value: (r) => fmtDecimal(r.jaccard, 2), num: true, sort: (r) => r.jaccard },
  ], DATA.overlap);
  fillTable("table-tests", [
    { title: T("col_hypothesis"), value: (r) => label("h:", r.hypothesis_id) },
    { title: T("col_compared"), value: (r) => r.summary_name ? r.group_a + " " + fmtNumber(r.summary_a) + " / " + r.group_b + " " + fmtNumber(r.summary_b) + " (" + label("t:", r.summary_name) + ")" : r.group_a },
    { title: T("col_effect"), value: (r) => r.effect_size === null ? "—" : label("t:", r.effect_size_name) + " " + fmtDecimal(r.effect_size, 3) + " (" + fmtDecimal(r.ci_low, 3) + " … " + fmtDecimal(r.ci_high, 3) + ")" },
    { title: T("col_p"), value: (r) => fmtP(r.p_value_adjusted), num: true, sort: (r) => r.p_value_adjusted },
    { title: T("col_conclusion"), value: (r) => T("c:" + r.conclusion) + (r.not_testable_reason ? ": " + r.not_testable_reason : "") },
  ], DATA.tests);
  fillTable("table-rejected", [
    { title: T("col_reason"), value: (r) => r.reason },
    { title: T("rows"), value: (r) => fmtInt(r.rows_rejected), num: true, sort: (r) => r.rows_rejected },
  ], DATA.rejected.length ? DATA.rejected : [{ reason: T("no_rejected"), rows_rejected: 0 }]);
  fillTable("table-cleaning", [
    { title: T("col_anomaly"), value: (r) => r.anomaly },
    { title: T("rows"), value: (r) => fmtInt(r.row_count), num: true, sort: (r) => r.row_count },
    { title: T("col_decision"), value: (r) => r.decision },
  ], DATA.cleaning);
  const warnings = byId("warnings");
  warnings.replaceChildren();
  for (const text of DATA.warnings.length ? DATA.warnings : [T("no_warning")]) warnings.appendChild(el("li", {}, text));
}
function fmtNumber(x) {
  if (x === null) return "—";
  if (Math.abs(x) >= 1000) return fmtInt(x);
  if (Math.abs(x) < 1) return fmtPct(x);
  return fmtDecimal(x, 1);
}

function renderTexts() {
  document.documentElement.lang = LANG;
  document.title = T("title");
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = T(node.dataset.i18n, { n: SETTINGS.minSample });
  const scope = isFiltered() ? T("filtered") : "";
  for (const node of document.querySelectorAll("[data-scope=filtered]")) node.textContent = scope;
  for (const node of document.querySelectorAll("[data-scope=whole]")) node.textContent = T("whole_bank");
  byId("lang-toggle").textContent = T("lang_switch");
  for (const select of [byId("filter-city"), byId("filter-gender")]) select.options[0].textContent = T("all");
  const build = DATA.build[0];
  byId("built-at").textContent = build
    ? T("extract") + " " + build.extract_file_name + " (" + fmtInt(build.rows_read) + " " + T("rows") + ", " + build.extract_date
      + ", sha256 " + build.extract_sha256.slice(0, 12) + ") · " + T("built") + " " + build.built_at
    : T("built") + " " + DATA.builtAt;
}

function render() {
  renderTexts();
  renderAction();
  renderOverview();
  renderWholeBank();
  document.body.setAttribute("data-rendered", "yes");
}

function setup() {
  for (const [id, values] of [["filter-city", DATA.cities], ["filter-gender", DATA.genders]]) {
    const select = byId(id);
    for (const value of values) select.appendChild(el("option", { value }, value));
    select.addEventListener("change", () => { writeState(); render(); });
  }
  byId("lang-toggle").addEventListener("click", () => { LANG = LANG === "ru" ? "en" : "ru"; writeState(); render(); });
  window.addEventListener("hashchange", () => { readState(); render(); });
  readState();
  render();
}
setup();
