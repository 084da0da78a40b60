"""Shared fixtures: every warehouse built by the tests lives in a temp directory."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED = REPO_ROOT / "seeds" / "bank_scrooge.csv"


@dataclass
class BuildRun:
    returncode: int
    output: str
    db: Path

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.db), read_only=True) as con:
            return con.execute(sql).fetchall()

    def scalar(self, sql: str):
        return self.query(sql)[0][0]


def run_build(
    workdir: Path, extract: Path | None = None, db_name: str = "warehouse.duckdb", **extra_env: str
) -> BuildRun:
    """Run `python -m metanprom build` as a user would, into workdir (``extra_env``: more variables)."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ,
        METANPROM_DB=str(workdir / db_name),
        METANPROM_REPORTS=str(workdir / "reports"),
        DBT_TARGET_PATH=str(workdir / "target"),
        DBT_LOG_PATH=str(workdir / "logs"),
    )
    env.pop("METANPROM_EXTRACT", None)
    if os.environ.get("PYTEST_XDIST_WORKER"):  # tests run builds side by side: one thread each, no oversubscription
        env.setdefault("OMP_NUM_THREADS", "1")
    if extract is not None:
        env["METANPROM_EXTRACT"] = str(extract)
    env.update(extra_env)
    completed = subprocess.run(
        [sys.executable, "-m", "metanprom", "build"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return BuildRun(completed.returncode, completed.stdout + completed.stderr, workdir / db_name)


def shipped_rows(count: int) -> tuple[list[str], list[list[str]]]:
    """The header and the first `count` data rows of the shipped extract."""
    with SHIPPED.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [row for _, row in zip(range(count), reader, strict=False)]
    return header, rows


def write_csv(path: Path, header: list[str], rows: list[list[str]], newline: str = "\n") -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    return path


@pytest.fixture(scope="session")
def shipped_build(tmp_path_factory: pytest.TempPathFactory) -> BuildRun:
    """One full build of the shipped extract, shared by the tests that only read it."""
    run = run_build(tmp_path_factory.mktemp("shipped"))
    assert run.returncode == 0, run.output
    return run
