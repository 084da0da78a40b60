"""The dashboard in a real (headless Chromium) browser, and BI-safe publication."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import REPO_ROOT, run_build

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = REPO_ROOT / "reports" / "screenshots"
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium missing: `make test` installs it")


def chromium(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{time.monotonic_ns()}"
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
        url,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def console_problems(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


class _Cells(HTMLParser):
    """Collect text by element id and the cells of tables."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, str] = {}
        self.cells: dict[str, list[list[str]]] = {}
        self._stack: list[tuple[str, str | None]] = []
        self._table: str | None = None
        self.rendered = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "body" and attributes.get("data-rendered") == "yes":
            self.rendered = True
        if tag == "table":
            self._table = attributes.get("id")
            self.cells[self._table] = []
        if tag == "tr" and self._table:
            self.cells[self._table].append([])
        if tag in ("td", "th") and self._table:
            self.cells[self._table][-1].append("")
        self._stack.append((tag, attributes.get("id")))

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        while self._stack:
            if self._stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        for _, element_id in self._stack:
            if element_id:
                self.by_id[element_id] = self.by_id.get(element_id, "") + data
        if self._table and self._stack and self._stack[-1][0] in ("td", "th"):
            self.cells[self._table][-1][-1] += data


def _dom(url, tmp_path) -> tuple[_Cells, list[str]]:
    result = chromium(url, tmp_path, "--window-size=1400,1000", "--virtual-time-budget=5000", "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    parser = _Cells()
    parser.feed(result.stdout)
    return parser, console_problems(result.stderr)


def test_console_errors_are_detected(tmp_path):
    """Positive control: the check below would see a broken page."""
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>missingFunction();</script></body></html>", encoding="utf-8")
    _, problems = _dom(page.as_uri(), tmp_path)
    assert any("missingFunction" in line for line in problems)


NBSP = "\u00a0"


def ru_int(value: float) -> str:
    """Russian grouping as the page writes it: 10 000 (no-break space)."""
    return f"{round(value):,}".replace(",", NBSP)


def ru_pct(value: float) -> str:
    return f"{value * 100:.1f}".replace(".", ",") + NBSP + "%"


def ru_money(value: float) -> str:
    for size, unit, digits in ((1e9, "млрд ₽", 2), (1e6, "млн ₽", 1), (1e3, "тыс. ₽", 1)):
        if abs(value) >= size:
            whole, _, fraction = f"{value / size:.{digits}f}".partition(".")
            return f"{int(whole):,}".replace(",", NBSP) + "," + fraction + NBSP + unit
    return ru_int(value) + NBSP + "₽"


PROBE = """<!doctype html><html><body style="margin:0">
<iframe id="frame" src="dashboard.html__HASH__" width="__WIDTH__" height="__HEIGHT__" style="border:0"></iframe>
<script>
const frame = document.getElementById("frame");
frame.addEventListener("load", () => setTimeout(probe, 100));
function probe() {
  const w = frame.contentWindow, d = w.document;
  const out = { lang: d.documentElement.lang, innerWidth: w.innerWidth, innerHeight: w.innerHeight,
    overflow: d.documentElement.scrollWidth - w.innerWidth,
    resources: w.performance.getEntriesByType("resource").map((entry) => entry.name),
    errors: d.getElementById("js-errors").textContent,
    kpi: Object.fromEntries([...d.querySelectorAll(".kpi .value")].map((node) => [node.id, node.textContent])),
    segments: [...d.querySelectorAll("#table-segments tbody tr")].map((tr) => ({
      cells: [...tr.cells].map((cell) => cell.textContent),
      bottom: Math.max(...[...tr.cells].slice(0, 8).map((cell) => cell.getBoundingClientRect().bottom)) })),
    downloads: [...d.querySelectorAll("a[download]")].map((a) => a.getAttribute("href")),
    chartFont: Math.min(...[...d.querySelectorAll(".chart .label, .chart .value")].map(
      (node) => parseFloat(w.getComputedStyle(node).fontSize))),
    tapTargets: Math.min(...[...d.querySelectorAll("select, #lang-toggle, .downloads a")].map(
      (node) => node.getBoundingClientRect().height)),
    ariaBars: d.querySelectorAll(".chart .track[aria-label]").length,
  };
  w.location.hash = "#city=" + encodeURIComponent("Ростов");
  setTimeout(() => {
    out.kpiAfterHash = d.getElementById("kpi-clients").textContent;
    d.getElementById("lang-toggle").click();
    out.langAfter = d.documentElement.lang;
    out.hashAfterSwitch = w.location.hash;
    out.titleAfter = d.querySelector("h1").textContent;
    document.body.setAttribute("data-probe", JSON.stringify(out));
  }, 300);
}
</script></body></html>
"""


class _Probe(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.result: dict | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "body" and dict(attrs).get("data-probe"):
            self.result = json.loads(dict(attrs)["data-probe"])


def probe(page: Path, tmp_path: Path, size: str, hash_: str = "") -> tuple[dict, list[str]]:
    """Load the page in an iframe of exactly ``size`` (CSS px) next to it and measure it from the outside."""
    width, height = size.split(",")
    harness = page.with_name(f"_probe_{width}x{height}.html")
    harness.write_text(
        PROBE.replace("__HASH__", hash_).replace("__WIDTH__", width).replace("__HEIGHT__", height), encoding="utf-8"
    )
    try:
        result = chromium(
            harness.as_uri(),
            tmp_path,
            "--allow-file-access-from-files",
            "--window-size=1600,1200",
            "--virtual-time-budget=10000",
            "--dump-dom",
        )
    finally:
        harness.unlink()
    parser = _Probe()
    parser.feed(result.stdout)
    assert parser.result is not None, result.stderr[-2000:]
    return parser.result, console_problems(result.stderr)


@pytest.fixture(scope="module")
def desktop(shipped_build, tmp_path_factory):
    return probe(shipped_build.db.parent / "reports" / "dashboard.html", tmp_path_factory.mktemp("desk"), "1440,900")


@pytest.fixture(scope="module")
def phone(shipped_build, tmp_path_factory):
    return probe(shipped_build.db.parent / "reports" / "dashboard.html", tmp_path_factory.mktemp("phone"), "390,844")


def test_dashboard_shows_the_marts(shipped_build, tmp_path):
    page = shipped_build.db.parent / "reports" / "dashboard.html"
    dom, problems = _dom(page.as_uri(), tmp_path)
    assert problems == []
    assert dom.rendered and dom.by_id.get("js-errors", "") == ""
    clients, churners, money = shipped_build.query(
        "select count(*), count(*) filter (where is_churned), sum(balance) filter (where is_churned) from marts.dim_clients"
    )[0]
    assert dom.by_id["kpi-clients"] == ru_int(clients) == "10" + NBSP + "000"
    assert dom.by_id["kpi-churners"] == ru_int(churners)
    assert dom.by_id["kpi-rate"] == ru_pct(churners / clients) == "18,2" + NBSP + "%"
    assert dom.by_id["kpi-money"] == ru_money(money)
    summary = shipped_build.query(
        "select segment_active_clients, segment_active_balance, queue_expected_loss, active_clients "
        "from marts.retention_summary"
    )[0]
    assert dom.by_id["kpi-contact"] == ru_int(summary[0]) == "2" + NBSP + "999"
    assert dom.by_id["kpi-contact-balance"] == ru_money(summary[1])
    assert dom.by_id["kpi-queue-loss"] == ru_money(summary[2])
    assert dom.by_id["kpi-queue"] == ru_int(summary[3])
    segments = shipped_build.query(
        "select segment_id, clients - churners, churners, churn_rate from marts.churn_segments order by priority"
    )
    shown = dom.cells["table-segments"][1:]
    assert [row[0] for row in shown] == [row[0] for row in segments] and len(shown) >= 3
    for row, (_, active, churned, rate) in zip(shown, segments, strict=True):
        assert row[3] == ru_int(active) and row[4] == ru_int(churned)
        assert row[5].startswith(ru_pct(rate))
    queue = shipped_build.query("select user_id from marts.retention_queue order by queue_rank limit 10")
    assert [row[1] for row in dom.cells["table-queue"][1:]] == [str(user_id) for (user_id,) in queue]
    assert len({row[0] for row in dom.cells["table-tests"][1:]}) == 8
    assert len(dom.cells["table-signals"]) - 1 == shipped_build.scalar("select count(*) from marts.churn_signals")


def test_desktop_first_screen_answers_whom_and_what(desktop, shipped_build):
    result, problems = desktop
    assert problems == [] and result["errors"] == ""
    assert (result["innerWidth"], result["innerHeight"]) == (1440, 900)
    assert result["lang"] == "ru" and result["langAfter"] == "en" and result["titleAfter"].startswith("Metanprom")
    assert result["resources"] == []  # no network request of any kind
    assert result["overflow"] <= 0
    ids = [row[0] for row in shipped_build.query("select segment_id from marts.churn_segments order by priority")]
    assert [row["cells"][0] for row in result["segments"]] == ids
    for row in result["segments"]:  # S-id, active count and action visible without scrolling
        assert row["bottom"] <= result["innerHeight"], row
        assert row["cells"][3] and row["cells"][7] not in ("", "—")


def test_phone_has_no_horizontal_scroll_and_readable_charts(phone):
    result, problems = phone
    assert problems == []
    assert (result["innerWidth"], result["innerHeight"]) == (390, 844)
    assert result["overflow"] <= 0, result["overflow"]
    assert result["chartFont"] >= 11
    assert result["tapTargets"] >= 40
    assert result["ariaBars"] > 50  # every bar describes its value, n and interval to screen readers


def test_filters_follow_the_hash_after_load(desktop, shipped_build):
    result, _ = desktop
    rostov = shipped_build.scalar("select count(*) from marts.dim_clients where city = 'Ростов'")
    assert result["kpi"]["kpi-clients"] == ru_int(10_000)
    assert result["kpiAfterHash"] == ru_int(rostov) != result["kpi"]["kpi-clients"]
    assert "city=" in result["hashAfterSwitch"] and "lang=en" in result["hashAfterSwitch"]  # shareable view


def test_download_links_resolve_to_the_call_list(desktop, shipped_build):
    result, _ = desktop
    reports = shipped_build.db.parent / "reports"
    queue_rows = shipped_build.scalar("select count(*) from marts.retention_queue")
    for href in result["downloads"]:
        target = reports / href
        assert target.is_file(), href
        if target.suffix == ".csv":
            lines = target.read_text(encoding="utf-8-sig").splitlines()
            if target.name == "retention_queue.csv":
                assert len(lines) - 1 == queue_rows
            else:
                segment = target.name.split("_")[0]
                members = shipped_build.scalar(
                    "select count(*) from marts.churn_segment_members as members inner join marts.dim_clients "
                    f"as clients using (client_key) where segment_id = '{segment}' and not clients.is_churned"
                )
                assert len(lines) - 1 == members
    assert {"retention_queue.xlsx", "retention_queue.csv"} <= {Path(href).name for href in result["downloads"]}


def test_filters_from_the_link(shipped_build, tmp_path):
    page = shipped_build.db.parent / "reports" / "dashboard.html"
    dom, problems = _dom(page.as_uri() + "#city=%D0%A0%D0%BE%D1%81%D1%82%D0%BE%D0%B2&gender=%D0%96", tmp_path)
    assert problems == []
    clients, churners = shipped_build.query(
        "select count(*), count(*) filter (where is_churned) from marts.dim_clients where city = 'Ростов' and gender = 'Ж'"
    )[0]
    assert dom.by_id["kpi-clients"] == ru_int(clients) and dom.by_id["kpi-churners"] == ru_int(churners)
    active = shipped_build.scalar(
        "select count(distinct members.client_key) from marts.churn_segment_members as members "
        "inner join marts.dim_clients as clients using (client_key) "
        "where clients.city = 'Ростов' and clients.gender = 'Ж' and not clients.is_churned"
    )
    assert dom.by_id["kpi-contact"] == ru_int(active)


def test_english_is_one_switch_away(shipped_build, tmp_path):
    page = shipped_build.db.parent / "reports" / "dashboard.html"
    dom, problems = _dom(page.as_uri() + "#lang=en", tmp_path)
    assert problems == []
    assert dom.by_id["kpi-clients"] == "10,000" and dom.by_id["kpi-rate"] == "18.2" + NBSP + "%"


def test_report_pages_are_offline_and_switch_language(shipped_build, tmp_path):
    reports = shipped_build.db.parent / "reports"
    for page in (
        reports / "stat_tests.html",
        reports / "data_quality" / "summary.html",
        reports / "data_quality" / "index.html",
    ):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)=["']https?://""", text), page
        dom, problems = _dom(page.as_uri(), tmp_path)
        assert problems == [], page
        dom_en, _ = _dom(page.as_uri() + "#lang=en", tmp_path)
        assert dom.by_id["lang-toggle"] == "English" and dom_en.by_id["lang-toggle"] == "Русский"


def test_page_is_self_contained_and_values_are_inert(shipped_build):
    text = (shipped_build.db.parent / "reports" / "dashboard.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']https?://""", text)
    assert "innerHTML" not in text


def test_hostile_values_stay_text(tmp_path):
    run = run_build(tmp_path, REPO_ROOT / "tests" / "corpus" / "ok_hostile_city_names.csv")
    assert run.returncode == 0, run.output[-2000:]
    page = tmp_path / "reports" / "dashboard.html"
    raw = page.read_text(encoding="utf-8")
    assert "<script>alert" not in raw
    dom, problems = _dom(page.as_uri() + "#city=" + "%3Cscript%3Ealert('x')%3C%2Fscript%3E", tmp_path)
    assert problems == []  # nothing executed, nothing broke
    assert dom.by_id["kpi-clients"] == "1"


@pytest.mark.parametrize(
    ("name", "size", "hash_"),
    [
        ("dashboard_ru_1440x900.png", "1440,900", ""),
        ("dashboard_en_1440x900.png", "1440,900", "#lang=en"),
        ("dashboard_ru_390x844.png", "390,844", ""),
        ("dashboard_en_390x844.png", "390,844", "#lang=en"),
    ],
)
def test_screenshots(shipped_build, tmp_path, name, size, hash_):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / name
    page = shipped_build.db.parent / "reports" / "dashboard.html"
    result = chromium(
        page.as_uri() + hash_, tmp_path, f"--window-size={size}", "--virtual-time-budget=5000", f"--screenshot={target}"
    )
    assert result.returncode == 0 and target.stat().st_size > 20_000
    assert console_problems(result.stderr) == []


def test_rebuild_while_a_bi_reader_holds_the_warehouse(shipped_build, tmp_path):
    published = tmp_path / "warehouse.duckdb"
    shutil.copy(shipped_build.db, published)
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time\n"
            f"con = duckdb.connect({str(published)!r}, read_only=True)\n"
            "print(con.execute('select count(*) from marts.dim_clients').fetchone()[0], flush=True)\n"
            "sys.stdin.readline()\n"
            "print(con.execute('select count(*) from marts.dim_clients').fetchone()[0], flush=True)\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "10000"  # the BI reader holds the file open
        run = run_build(tmp_path, REPO_ROOT / "tests" / "corpus" / "ok_crlf.csv")
        assert run.returncode == 0, run.output[-2000:]
        assert run.scalar("select count(*) from marts.dim_clients") == 200  # the new warehouse is published
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "10000"  # the open reader was not disturbed
    finally:
        reader.kill()
        reader.wait()


def test_browser_wilson_matches_statsmodels(tmp_path):
    """The dashboard recomputes intervals for filtered views in JavaScript: same bounds as statsmodels."""
    from statsmodels.stats.proportion import proportion_confint

    script = (REPO_ROOT / "metanprom" / "templates" / "dashboard.js").read_text(encoding="utf-8")
    source = re.search(r"^function wilson\(k, n\) \{.*?^\}", script, re.S | re.M).group(0)
    cases = [(0, 1), (1, 1), (0, 30), (3, 7), (5, 5), (182, 1000), (1820, 10000), (1, 10000)]
    page = tmp_path / "wilson.html"
    page.write_text(
        "<html><body><script>const Z = 1.959963984540054;\n"
        f"{source}\nconst cases = {json.dumps(cases)};\n"
        "document.body.setAttribute('data-out', JSON.stringify(cases.map(([k, n]) => wilson(k, n))));"
        "</script></body></html>",
        encoding="utf-8",
    )
    dom = chromium(page.as_uri(), tmp_path, "--dump-dom").stdout
    bounds = json.loads(re.search(r"data-out=\"([^\"]*)\"", dom).group(1).replace("&quot;", '"'))
    for (k, n), (low, high) in zip(cases, bounds, strict=True):
        expected = proportion_confint(k, n, alpha=0.05, method="wilson")
        assert (low, high) == (pytest.approx(expected[0], abs=1e-12), pytest.approx(expected[1], abs=1e-12)), (k, n)
