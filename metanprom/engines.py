"""Build the same dbt project on DuckDB, PostgreSQL and Spark and compare the marts.

``python -m metanprom engines`` (what ``make test-engines`` runs through pytest):

1. DuckDB, the reference: ``dbt seed``, ``dbt build`` and the statistical step, in a temp dir;
2. PostgreSQL: a throwaway cluster (``initdb`` into a temp dir, listening on 127.0.0.1 only),
   the same three steps with ``--target postgres``, then the cluster is stopped and removed;
3. Spark: a local session with a Derby metastore in a temp dir (``--target spark``);
   ``spark-cluster``: the same target on a standalone master and two workers started as separate
   processes (:mod:`metanprom.spark_cluster`), with the tasks each executor ran;
4. every table of schema ``marts`` compared with DuckDB's (:mod:`metanprom.compare`).

Each engine runs exactly the same SQL; the statistical step reads and writes through
:mod:`metanprom.warehouse`. Build times per engine and every difference go to
``reports/engines.md``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from metanprom.compare import TableComparison, compare_marts
from metanprom.dbt_runner import DbtResults, run_dbt
from metanprom.paths import REPO_ROOT
from metanprom.risk import run_risk
from metanprom.stats.stability import run_stability
from metanprom.stats.step import run_step
from metanprom.warehouse import Warehouse, open_duckdb, open_postgres, open_spark

ENGINES = ("postgres", "spark")
KNOWN_ENGINES = (*ENGINES, "spark-cluster")
T = TypeVar("T")


class EngineError(Exception):
    """An engine could not be started or built (the message says which and what to do)."""


@dataclass
class EngineRun:
    """One engine's build: seconds per step and dbt's results."""

    target: str
    seconds: dict[str, float] = field(default_factory=dict)
    dbt: DbtResults = field(default_factory=DbtResults)
    comparisons: list[TableComparison] = field(default_factory=list)
    #: spark-cluster only: tasks run per executor id, summed over the applications (dbt and Python steps)
    executor_tasks: dict[str, int] = field(default_factory=dict)
    applications: int = 0

    @property
    def total_seconds(self) -> float:
        """Seed + build + statistics."""
        return sum(self.seconds.values())


def _timed(run: EngineRun, step: str, action: Callable[[], T]) -> T:
    start = time.perf_counter()
    print(f"==> {run.target}: {step}", flush=True)
    result = action()
    run.seconds[step] = time.perf_counter() - start
    print(f"    {step} done in {run.seconds[step]:.1f} s", flush=True)
    return result


def build_engine(target: str, work_dir: Path, open_warehouse: Callable[[], Warehouse]) -> EngineRun:
    """Seed, build and run the Python steps (statistics, stability, churn risk) on ``target``; kept for comparison."""
    run = EngineRun(target)
    target_dir = work_dir / f"target-{target}"
    db_path = work_dir / "metanprom.duckdb" if target == "duckdb" else None
    log = work_dir / f"dbt-{target}.log"
    seeded = _timed(run, "dbt seed", lambda: run_dbt(["seed"], db_path, target_dir, target, log))
    built = _timed(
        run,
        "dbt build",
        lambda: run_dbt(["build", "--exclude", "bank_scrooge"], db_path, target_dir, target, log),
    )
    run.dbt.merge(seeded)
    run.dbt.merge(built)

    def statistics() -> None:
        warehouse = open_warehouse()
        try:
            run_step(warehouse, work_dir / f"stat_tests-{target}.md")
            run_stability(warehouse)
            run_risk(warehouse, None)
        finally:
            if target != "spark":  # the Spark session is reused for the comparison
                warehouse.close()

    _timed(run, "statistics", statistics)
    return run


# --- a throwaway PostgreSQL cluster ---


def _postgres_bin() -> Path:
    """Find the directory of initdb/pg_ctl: Debian's /usr/lib/postgresql/<version>/bin, else PATH."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if candidates:
        return candidates[-1].parent
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise EngineError(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them with "
        "`apt-get install postgresql` (make test-engines does this when it runs as root)."
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def throwaway_postgres(user: str = "metanprom", database: str = "metanprom") -> Iterator[dict[str, str]]:
    """Start a PostgreSQL cluster in a temp dir on 127.0.0.1; yield the METANPROM_PG_* settings; remove it.

    As root the server runs as the ``postgres`` system user (PostgreSQL refuses root).
    Authentication is ``trust`` on loopback only: the cluster lives for one test run.
    """
    binaries = _postgres_bin()
    as_postgres: list[str] = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    base = Path(tempfile.mkdtemp(prefix="metanprom-pg-"))
    if as_postgres:
        shutil.chown(base, user="postgres")
    data, port = base / "data", _free_port()

    def run(command: list[str]) -> None:
        completed = subprocess.run(as_postgres + command, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            raise EngineError(f"`{' '.join(command)}` failed: {completed.stderr.strip() or completed.stdout.strip()}")

    started = False
    try:
        run([str(binaries / "initdb"), "-D", str(data), "-U", user, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
        options = f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off -c full_page_writes=off"
        run([str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "server.log"), "-w", "start"])
        started = True
        run([str(binaries / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", user, "-d", "postgres",
             "-q", "-c", f"create database {database}"])  # fmt: skip
        yield {
            "METANPROM_PG_HOST": "127.0.0.1",
            "METANPROM_PG_PORT": str(port),
            "METANPROM_PG_USER": user,
            "METANPROM_PG_PASSWORD": "",
            "METANPROM_PG_DATABASE": database,
        }
    finally:
        if started:
            subprocess.run(
                [*as_postgres, str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                capture_output=True,
                check=False,
            )
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block (dbt subprocesses inherit them)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def mart_tables(warehouse: Warehouse) -> list[str]:
    """List the tables of schema marts (from information_schema: DuckDB and PostgreSQL)."""
    rows = warehouse.fetch(
        "select table_name from information_schema.tables where table_schema = 'marts' order by table_name"
    )
    return [str(row[0]) for row in rows]


@dataclass
class EnginesReport:
    """Everything `make test-engines` measured."""

    runs: list[EngineRun]
    tables: list[str]

    def render(self) -> str:
        """Render the report as Markdown: times per engine, then each table's comparison."""
        lines = [
            "# The same warehouse on DuckDB, PostgreSQL and Spark",
            "",
            "Written by `make test-engines`: each engine ran `dbt seed`, `dbt build` and the statistical",
            "step on the shipped extract; every table of schema `marts` was compared with DuckDB's",
            "(same columns, rows and keys; floats within a relative 1e-9).",
            "",
            "| engine | dbt seed (s) | dbt build (s) | statistics (s) | total (s) | models | tests passed |",
            "|---|---|---|---|---|---|---|",
        ]
        for run in self.runs:
            tests = run.dbt.count("test", "pass") + run.dbt.count("unit_test", "pass")
            lines.append(
                f"| {run.target} | {run.seconds.get('dbt seed', 0):.1f} | {run.seconds.get('dbt build', 0):.1f} "
                f"| {run.seconds.get('statistics', 0):.1f} | {run.total_seconds:.1f} "
                f"| {run.dbt.count('model', 'success')} | {tests} |"
            )
        for run in self.runs:
            if run.executor_tasks:
                lines += [
                    "",
                    f"## {run.target}: tasks per executor ({run.applications} Spark applications: dbt seed, "
                    "dbt build, Python steps)",
                    "",
                    "| executor | tasks |",
                    "|---|---|",
                    *(f"| {executor} | {tasks:,} |" for executor, tasks in sorted(run.executor_tasks.items())),
                ]
        for run in self.runs[1:]:
            equal = sum(c.equal for c in run.comparisons)
            lines += [
                "",
                f"## {run.target} vs duckdb: {equal} of {len(run.comparisons)} tables equal",
                "",
                "| table | rows | max relative difference of floats | result |",
                "|---|---|---|---|",
            ]
            for comparison in run.comparisons:
                verdict = "equal" if comparison.equal else "; ".join(comparison.problems)
                lines.append(
                    f"| {comparison.table} | {comparison.rows_other:,} | {comparison.max_relative_difference:.1e} "
                    f"| {verdict} |"
                )
        return "\n".join(lines) + "\n"


def compare_with(reference: Warehouse, other: Warehouse, run: EngineRun, tables: list[str]) -> None:
    """Compare ``tables`` of ``other`` with the reference and print one line per table."""
    run.comparisons = compare_marts(reference, other, tables)
    for comparison in run.comparisons:
        verdict = "equal" if comparison.equal else "DIFFERENT: " + "; ".join(comparison.problems)
        print(f"    {run.target} marts.{comparison.table}: {comparison.rows_other:,} rows, {verdict}")


def _build_on_spark(
    work: Path, reference: Warehouse, tables: list[str], settings: dict[str, str], name: str = "spark"
) -> EngineRun:
    """Build the spark target with ``settings`` in the environment and compare its marts with the reference."""
    with environment(settings):
        run = build_engine("spark", work, open_spark)
        run.target = name
        other = open_spark()  # the statistics step's session, still running
        compare_with(reference, other, run, tables)
        other.close()
    return run


def _build_on_spark_cluster(work: Path, reference: Warehouse, tables: list[str]) -> EngineRun:
    """Start a standalone master + 2 workers, build the spark target on it, compare, count tasks, stop."""
    from metanprom.spark_cluster import StandaloneCluster, task_counts

    events = work / "spark-cluster" / "events"
    events.mkdir(parents=True)
    with StandaloneCluster(work / "spark-cluster" / "daemons") as cluster:
        print(f"    spark cluster: master {cluster.master_url}, {cluster.alive_workers()} workers alive "
              f"after {cluster.startup_seconds:.1f} s", flush=True)  # fmt: skip
        settings = {
            "METANPROM_SPARK_DIR": str(work / "spark-cluster"),
            "METANPROM_SPARK_MASTER": cluster.master_url,
            "METANPROM_SPARK_EVENTS": str(events),
            "PYSPARK_PYTHON": sys.executable,  # executors run Python for DataFrames made from Python rows
        }
        run = _build_on_spark(work, reference, tables, settings, "spark-cluster")
    per_application = task_counts(events)
    run.applications = len(per_application)
    for tasks in per_application.values():
        for executor, count in tasks.items():
            run.executor_tasks[executor] = run.executor_tasks.get(executor, 0) + count
    print(f"    tasks per executor: {run.executor_tasks} over {run.applications} applications", flush=True)
    return run


def run_engines(engines: Sequence[str] = ENGINES, report_path: Path | None = None) -> EnginesReport:
    """Build DuckDB (the reference) and each of ``engines``, compare, write the report."""
    report_path = report_path or REPO_ROOT / "reports" / "engines.md"
    with tempfile.TemporaryDirectory(prefix="metanprom-engines-") as temp:
        work = Path(temp)
        duckdb_file = work / "metanprom.duckdb"
        runs = [build_engine("duckdb", work, lambda: open_duckdb(duckdb_file))]
        reference = open_duckdb(duckdb_file, read_only=True)
        tables = mart_tables(reference)
        try:
            for engine in engines:
                if engine == "postgres":
                    with throwaway_postgres() as settings, environment(settings):
                        run = build_engine("postgres", work, open_postgres)
                        other: Warehouse = open_postgres()
                        compare_with(reference, other, run, tables)
                        other.close()
                elif engine == "spark":
                    run = _build_on_spark(work, reference, tables, {"METANPROM_SPARK_DIR": str(work / "spark")})
                elif engine == "spark-cluster":
                    run = _build_on_spark_cluster(work, reference, tables)
                else:
                    raise EngineError(f"unknown engine {engine!r}: use {', '.join(KNOWN_ENGINES)}")
                runs.append(run)
        finally:
            reference.close()
    report = EnginesReport(runs, tables)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(report.render(), encoding="utf-8")
    print(f"report: {report_path}")
    return report
