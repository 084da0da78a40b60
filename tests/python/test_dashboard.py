"""The dashboard in a real (headless Chromium) browser, and BI-safe publication."""

from __future__ import annotations

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


def test_dashboard_shows_the_marts(shipped_build, tmp_path):
    page = shipped_build.db.parent / "reports" / "dashboard.html"
    dom, problems = _dom(page.as_uri(), tmp_path)
    assert problems == []
    assert dom.rendered and dom.by_id.get("js-errors", "") == ""
    clients, churners, money = shipped_build.query(
        "select count(*), count(*) filter (where is_churned), sum(balance) filter (where is_churned) from marts.dim_clients"
    )[0]
    assert dom.by_id["kpi-clients"] == f"{clients:,}"
    assert dom.by_id["kpi-churners"] == f"{churners:,}"
    assert dom.by_id["kpi-rate"] == f"{churners / clients * 100:.1f} %"
    assert dom.by_id["kpi-money"] == f"{money / 1e9:.2f} B RUB"
    shown = [row[1] for row in dom.cells["table-segments"][1:]]
    expected = [row[0] for row in shipped_build.query("select definition from marts.churn_segments order by priority")]
    assert shown == expected and len(shown) >= 3
    hypotheses = {row[0] for row in dom.cells["table-tests"][1:]}
    assert len(hypotheses) == 8
    assert len(dom.cells["table-signals"]) - 1 == shipped_build.scalar("select count(*) from marts.churn_signals")


def test_filters_from_the_link(shipped_build, tmp_path):
    page = shipped_build.db.parent / "reports" / "dashboard.html"
    dom, problems = _dom(page.as_uri() + "#city=%D0%A0%D0%BE%D1%81%D1%82%D0%BE%D0%B2&gender=%D0%96", tmp_path)
    assert problems == []
    clients, churners = shipped_build.query(
        "select count(*), count(*) filter (where is_churned) from marts.dim_clients where city = 'Ростов' and gender = 'Ж'"
    )[0]
    assert dom.by_id["kpi-clients"] == f"{clients:,}" and dom.by_id["kpi-churners"] == f"{churners:,}"


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
    ("name", "size"), [("dashboard_1400x1000.png", "1400,1000"), ("dashboard_narrow_390.png", "390,1600")]
)
def test_screenshots(shipped_build, tmp_path, name, size):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / name
    page = shipped_build.db.parent / "reports" / "dashboard.html"
    result = chromium(
        page.as_uri(), tmp_path, f"--window-size={size}", "--virtual-time-budget=5000", f"--screenshot={target}"
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
