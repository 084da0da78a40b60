"""The command line starts fast: --help imports none of the heavy libraries a build needs."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO_ROOT

HEAVY = ("great_expectations", "dbt", "sklearn", "pandas", "duckdb", "pyspark", "scipy", "statsmodels")


def test_help_imports_no_heavy_library() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from metanprom.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['build', '--help'])\n"
        f"print(sorted(name for name in {HEAVY!r} if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_build_flags_are_documented() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "metanprom", "build", "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    for flag in ("--extract", "--debug", "--split-dbt", "--timings"):
        assert flag in result.stdout


def test_duckdb_out_of_memory_names_the_stage_and_the_limit_to_raise(tmp_path) -> None:
    """A real DuckDB "Out of Memory" inside a stage says which setting to raise (not to lower it)."""
    import duckdb
    import pytest

    from metanprom.build import BuildReport, _stage
    from metanprom.guards import BuildError
    from metanprom.paths import Paths

    def starved_step() -> None:
        connection = duckdb.connect(config={"memory_limit": "2MB"})
        connection.execute("select count(distinct range::varchar) from range(3000000)").fetchone()

    report = BuildReport(extract=tmp_path / "extract.csv", paths=Paths.from_env())
    with pytest.raises(BuildError) as raised:
        _stage(report, "churn risk", starved_step)
    message = str(raised.value)
    assert "churn risk stage" in message and "python_steps_duckdb_memory" in message
    assert "Raise" in message and "lower" not in message.lower()
    assert "churn risk" not in report.stage_seconds  # a stage that failed is not timed


def test_parse_warms_the_builds_partial_parsing(tmp_path, monkeypatch) -> None:
    """`metanprom parse` (run by `make setup`) leaves a parse the build's dbt reuses instead of parsing again."""
    from metanprom.dbt_runner import run_dbt
    from metanprom.paths import Paths

    monkeypatch.setenv("METANPROM_DB", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    monkeypatch.delenv("DBT_LOG_PATH", raising=False)
    subprocess.run([sys.executable, "-m", "metanprom", "parse"], cwd=REPO_ROOT, check=True)
    assert (tmp_path / "target" / "partial_parse.msgpack").exists()
    paths = Paths.from_env()
    log = tmp_path / "again.log"
    run_dbt(
        ["ls", "--select", "stg_clients", "--log-level", "debug"], paths.work_db, paths.dbt_target_dir, log_file=log
    )
    text = log.read_text(encoding="utf-8")
    assert "Partial parsing enabled, no changes found, skipping parsing" in text
    assert "Starting full parse" not in text
