"""Every file of the malformed-extract corpus (tests/corpus) ends the way its manifest says."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import json

import pytest
from conftest import REPO_ROOT, run_build

CORPUS = REPO_ROOT / "tests" / "corpus"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))


def _data_rows(path) -> int:
    text = path.read_bytes().decode("utf-8-sig")
    csv.field_size_limit(1 << 24)
    return sum(1 for row in csv.reader(io.StringIO(text, newline=None)) if row) - 1


def test_corpus_is_current():
    """The committed files are exactly what scripts/make_bad_extracts.py generates."""
    spec = importlib.util.spec_from_file_location("make_bad_extracts", REPO_ROOT / "scripts" / "make_bad_extracts.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    generated = module.build_corpus()
    assert set(generated) == set(MANIFEST)
    for name, (content, expected) in generated.items():
        assert (CORPUS / name).read_bytes() == content, name
        assert MANIFEST[name] == expected, name


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_corpus_case(name, tmp_path, shipped_build):
    expected = MANIFEST[name]
    published = tmp_path / "warehouse.duckdb"
    published.write_bytes(shipped_build.db.read_bytes())
    before = hashlib.sha256(published.read_bytes()).hexdigest()
    run = run_build(tmp_path, CORPUS / name)
    assert run.returncode == expected["exit"], run.output[-3000:]
    assert "Traceback" not in run.output
    for word in expected.get("words", []):
        assert word in run.output, (word, run.output[-2000:])
    if expected["exit"] != 0:
        assert name in run.output or "expect_" in run.output  # names the file, or the failed expectation
        assert "was left unchanged" in run.output
        assert hashlib.sha256(published.read_bytes()).hexdigest() == before
        return
    rows = _data_rows(CORPUS / name)
    clients = run.scalar("select count(*) from marts.dim_clients")
    rejected = run.query("select reason from marts.rejected_rows")
    assert clients + len(rejected) == rows
    assert len(rejected) == expected["rejected"]
    assert all(expected["reason"] in reason for (reason,) in rejected)
    if expected["rejected"]:
        assert f"rows rejected     {expected['rejected']}" in run.output
        assert expected["reason"] in run.output  # counted by reason in the summary
    if "rejected_rows" in expected:  # row numbers do not shift
        numbers = [row for (row,) in run.query("select source_row_number from marts.rejected_rows order by 1")]
        assert numbers == expected["rejected_rows"]
    if expected.get("known_cities_only"):
        assert run.scalar("select count(*) from marts.dim_clients where not is_known_city") == 0
        assert run.scalar("select count(distinct city) from marts.dim_clients") <= 3
    if "balance_missing_at_least" in expected:
        missing = run.scalar("select count(*) from marts.dim_clients where is_balance_missing")
        assert missing >= expected["balance_missing_at_least"]
    if "max_output_line" in expected:
        assert max(len(line) for line in run.output.splitlines()) <= expected["max_output_line"]
        dashboard = (tmp_path / "reports" / "dashboard.html").stat().st_size
        assert dashboard < 400_000, dashboard
    if "new_cities" in expected:
        cities = {city for (city,) in run.query("select city from marts.dim_clients where not is_known_city")}
        assert cities == {"<script>alert('x')</script>", "'; drop table marts.dim_clients; --"}
        summary = (tmp_path / "reports" / "data_quality" / "summary.html").read_text(encoding="utf-8")
        assert "<script>alert" not in summary and "&lt;script&gt;alert" in summary
        for page in (tmp_path / "reports").rglob("*.html"):
            assert "<script>alert(" not in page.read_text(encoding="utf-8"), page
