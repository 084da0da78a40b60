"""Bad input beyond the corpus files: the target path, the environment, concurrent builds, odd paths."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO_ROOT, run_build, shipped_rows, write_csv


def _env(tmp_path: Path, db: Path, **extra: str) -> dict[str, str]:
    env = dict(
        os.environ,
        METANPROM_DB=str(db),
        METANPROM_REPORTS=str(tmp_path / "reports"),
        DBT_TARGET_PATH=str(tmp_path / "target"),
        **extra,
    )
    env.pop("METANPROM_EXTRACT", None)
    return env


def _build(tmp_path: Path, db: Path, extract: Path | None = None, **extra: str) -> subprocess.CompletedProcess:
    env = _env(tmp_path, db, **extra)
    if extract is not None:
        env["METANPROM_EXTRACT"] = str(extract)
    return subprocess.run(
        [sys.executable, "-m", "metanprom", "build"], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )


def _small_extract(tmp_path: Path) -> Path:
    header, rows = shipped_rows(200)
    return write_csv(tmp_path / "small.csv", header, rows)


def _stopped(completed: subprocess.CompletedProcess, *words: str) -> str:
    output = completed.stdout + completed.stderr
    assert completed.returncode == 2, output[-3000:]
    assert "Traceback" not in output
    for word in words:
        assert word in output, (word, output[-2000:])
    return output


def test_a_file_that_is_not_a_warehouse_is_never_replaced(tmp_path):
    precious = tmp_path / "thesis.duckdb"
    precious.write_text("my thesis, not a database\n", encoding="utf-8")
    _stopped(_build(tmp_path, precious, _small_extract(tmp_path)), "is not a DuckDB warehouse", "choose another path")
    assert precious.read_text(encoding="utf-8") == "my thesis, not a database\n"


def test_a_foreign_duckdb_file_is_never_replaced(tmp_path):
    import duckdb

    other = tmp_path / "other.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("create table sales as select 1 as amount")
    before = hashlib.sha256(other.read_bytes()).hexdigest()
    _stopped(_build(tmp_path, other, _small_extract(tmp_path)), "not this project's warehouse")
    assert hashlib.sha256(other.read_bytes()).hexdigest() == before


def test_target_is_a_directory(tmp_path):
    folder = tmp_path / "folder.duckdb"
    folder.mkdir()
    output = _stopped(_build(tmp_path, folder, _small_extract(tmp_path)), "is a directory")
    assert "==> load" not in output  # found before any work


@pytest.mark.parametrize("value", ["lots", "3 gigabytes", "-1GB"])
def test_bad_memory_setting(tmp_path, value):
    _stopped(
        _build(tmp_path, tmp_path / "w.duckdb", _small_extract(tmp_path), METANPROM_DUCKDB_MEMORY=value),
        "METANPROM_DUCKDB_MEMORY",
        "e.g. METANPROM_DUCKDB_MEMORY=3GB",
    )


def test_extract_is_a_directory_a_pipe_or_a_link_loop(tmp_path):
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    _stopped(_build(tmp_path, tmp_path / "w.duckdb", folder), "folder.csv: this is a directory")
    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)
    _stopped(_build(tmp_path, tmp_path / "w.duckdb", pipe), "pipe.csv: this is a named pipe")
    loop = tmp_path / "loop.csv"
    loop.symlink_to(tmp_path / "loop2.csv")
    (tmp_path / "loop2.csv").symlink_to(loop)
    _stopped(_build(tmp_path, tmp_path / "w.duckdb", loop), "loop.csv: the path is a symbolic link loop")


def test_rejection_budget_can_be_raised_knowingly(tmp_path):
    header, rows = shipped_rows(100)
    for row in rows[:10]:
        row[header.index("score")] = "n.a."
    extract = write_csv(tmp_path / "ten_bad.csv", header, rows)
    _stopped(_build(tmp_path, tmp_path / "w.duckdb", extract), "10 of 100 rows (10.0%) were rejected")
    accepted = _build(tmp_path, tmp_path / "w.duckdb", extract, METANPROM_MAX_REJECTED_SHARE="0.2")
    assert accepted.returncode == 0, accepted.stdout[-2000:]
    assert "10.0% of rows rejected (above warn_rejected_share" in accepted.stdout


def test_two_builds_on_one_path(tmp_path):
    """The second of two concurrent builds of one warehouse stops at once; the first publishes."""
    db = tmp_path / "w.duckdb"
    env = _env(tmp_path, db)
    first = subprocess.Popen(
        [sys.executable, "-m", "metanprom", "build"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lock = db.with_name(db.name + ".lock")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (lock.exists() and lock.read_text().strip() == str(first.pid)):
        time.sleep(0.1)
    second = _build(tmp_path / "second", db)
    output = _stopped(second, f"another build of {db} is running (pid {first.pid})")
    assert "==> load" not in output
    first_output, _ = first.communicate(timeout=600)
    assert first.returncode == 0, first_output[-3000:]
    assert db.exists()


def test_glob_characters_in_the_extract_path_are_literal(tmp_path):
    header, rows = shipped_rows(40)
    write_csv(tmp_path / "clients1.csv", header, rows[:5])
    bracketed = write_csv(tmp_path / "clients[1].csv", header, rows)
    run = run_build(tmp_path / "build", bracketed)
    assert run.returncode == 0, run.output[-2000:]
    assert run.scalar("select count(*) from marts.dim_clients") == 40
    question = write_csv(tmp_path / "month?.csv", header, rows[:7])
    run = run_build(tmp_path / "build2", question)
    assert run.returncode == 0, run.output[-2000:]
    assert run.scalar("select count(*) from marts.dim_clients") == 7
