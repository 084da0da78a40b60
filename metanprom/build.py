"""The whole build: load the extract, run dbt, the Python steps, then publish atomically.

Everything is written into a work file next to the published warehouse; the published file is
replaced (``os.replace``) only when every step passed, so a failed build leaves it untouched and
BI readers holding it open are never disturbed.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from metanprom.dashboard import write_dashboard
from metanprom.db import connect
from metanprom.dbt_runner import DbtResults, run_dbt
from metanprom.extract import load_extract, shorten
from metanprom.guards import (
    BuildError,
    RejectionShare,
    build_lock,
    check_memory_setting,
    check_target,
    describe_rejections,
    rejection_budget,
    rejection_reason_counts,
)
from metanprom.memory import RSS
from metanprom.paths import SHIPPED_EXTRACT, Paths, dbt_vars
from metanprom.publish import BuildInfo, bi_path, comment_python_step_tables, write_bi_file, write_build_info
from metanprom.quality import DataQualityError, QualityReport, describe_errors, import_gx, run_quality
from metanprom.warehouse import DbApiWarehouse, Warehouse, open_duckdb


@dataclass
class BuildReport:
    """What a build did: figures for the summary and the benchmark."""

    extract: Path
    paths: Paths
    stage_seconds: dict[str, float] = field(default_factory=dict)
    stage_peak_mb: dict[str, float] = field(default_factory=dict)  # each stage's own peak RSS (this process)
    dbt: DbtResults = field(default_factory=DbtResults)
    counts: dict[str, int] = field(default_factory=dict)
    rejected_by_reason: list[tuple[str, int]] = field(default_factory=list)
    new_cities: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    build_info: dict[str, object] = field(default_factory=dict)
    outputs: list[Path] = field(default_factory=list)
    quality: QualityReport | None = None


#: Where each Python stage's DuckDB memory limit is set (the others use METANPROM_DUCKDB_MEMORY).
STAGE_MEMORY_SETTINGS = {
    "statistics": "dbt vars hypothesis_tests_duckdb_memory (the tests) and python_steps_duckdb_memory (stability)",
    "churn risk": "dbt var python_steps_duckdb_memory",
    "statistics and churn risk": "METANPROM_DUCKDB_MEMORY (small extracts run both steps on one connection)",
}


def memory_advice(stage: str, error: Exception) -> str:
    """Say which limit to raise when DuckDB ran out of memory *within its limit* in ``stage``.

    DuckDB stops with "Out of Memory" when an operator cannot spill any further inside the limit
    it was given: the fix is a larger limit for that step (if the machine has the RAM) and free
    disk for the spill files, not a smaller one.
    """
    setting = STAGE_MEMORY_SETTINGS.get(stage, "METANPROM_DUCKDB_MEMORY (default 3GB)")
    return (
        f"DuckDB ran out of memory within its limit in the {stage} stage ({shorten(str(error).splitlines()[0], 200)}). "
        f"Raise that step's limit, {setting}, if the machine has the memory, and keep free disk for DuckDB's "
        "spill files (METANPROM_DUCKDB_TEMP, else <work file>.tmp); then build again"
    )


def _stage(report: BuildReport, name: str, step: Callable[[], object]) -> None:
    print(f"\n==> {name}", flush=True)
    started = time.perf_counter()
    RSS.restart()
    try:
        step()
    except duckdb.OutOfMemoryException as error:
        raise BuildError(memory_advice(name, error)) from error
    report.stage_seconds[name] = time.perf_counter() - started
    report.stage_peak_mb[name] = RSS.peak_mb()
    print(f"    {name} done in {report.stage_seconds[name]:.1f} s", flush=True)


def _load(report: BuildReport, extract: str | None) -> None:
    """Load the extract (default: the shipped seed file) into raw.bank_scrooge, every column as text.

    DuckDB reads it directly: the same table `dbt seed` would write, without a dbt start-up (a plain
    `dbt build` still loads the seed itself).
    """
    paths = report.paths
    source = Path(extract) if extract else SHIPPED_EXTRACT
    with connect(paths.work_db) as con:
        loaded = load_extract(con, source)
    print(f"    loaded {loaded.rows:,} rows from {source} into raw.bank_scrooge (all text)")
    if loaded.normalised:
        print("    read through a normalised copy (mixed or CR-only line endings, or many blank lines)")
    if loaded.ignored_columns:
        report.notes.append(
            "extract column(s) not used by the warehouse, ignored: "
            + ", ".join(shorten(name, 30) for name in loaded.ignored_columns)
        )


#: What the Python steps import (about 3 s on the shipped extract's build): imported in a background
#: thread while dbt runs in its own process, so the steps after dbt start without the wait.
WARM_IMPORTS = (
    "metanprom.stats.step",
    "metanprom.stats.stability",
    "metanprom.stats.rederive",
    "metanprom.risk",
    "sklearn.ensemble",
    "sklearn.calibration",
    "sklearn.linear_model",
    "sklearn.model_selection",
    "sklearn.metrics",
    "threadpoolctl",
    "openpyxl",
)


def _warm_imports() -> threading.Thread:
    """Start importing the Python steps' libraries (and great-expectations) in a daemon thread."""

    def work() -> None:
        for name in WARM_IMPORTS:
            importlib.import_module(name)
        import_gx()

    thread = threading.Thread(target=work, name="warm-imports", daemon=True)
    thread.start()
    return thread


def _check_rejections(report: BuildReport) -> None:
    """Stop before publishing when too many rows were rejected; warn in the band below."""
    warn_share, max_share = rejection_budget()
    with connect(report.paths.work_db, read_only=True) as con:
        rows = int(con.execute("select count(*) from staging.stg_clients").fetchone()[0])
        rejected = int(con.execute("select count(*) from marts.rejected_rows").fetchone()[0])
        share = RejectionShare(rows, rejected, warn_share, max_share)
        reasons = describe_rejections(con) if share.warn else []
        report.notes += _lookalike_notes(con)
    if share.over_budget:
        raise BuildError(
            f"{report.extract}: {rejected:,} of {rows:,} rows ({share.share:.1%}) were rejected, above the budget "
            f"max_rejected_share = {max_share:.1%} (dbt_project.yml), so this extract is not published. "
            "Most frequent reasons:\n" + "\n".join(reasons) + "\nFix the export (the rows are numbered from 1 after "
            "the header), or, if these rows really should be left out, build again with "
            "METANPROM_MAX_REJECTED_SHARE set above the share, e.g. "
            f"METANPROM_MAX_REJECTED_SHARE={min(1.0, round(share.share + 0.01, 2))}."
        )
    if share.warn:
        report.notes.append(
            f"{share.share:.1%} of rows rejected (above warn_rejected_share = {warn_share:.1%}); most frequent: "
            + "; ".join(line.strip() for line in reasons[:3])
        )


def _lookalike_notes(con) -> list[str]:  # noqa: ANN001 - a DuckDB connection
    """Rows rejected for Latin look-alike letters, with the code points that give them away."""
    import unicodedata

    rows = con.execute(
        """
        select source_row_number, city_raw, gender_raw, reason from marts.rejected_rows
        where reason like '%look-alike%' order by source_row_number limit 3
        """
    ).fetchall()
    notes = []
    for row, city, gender, reason in rows:
        value = city if "city:" in reason and "look-alike" in reason.split("city:", 1)[1] else gender
        latin = sorted({char for char in str(value or "") if "LATIN" in unicodedata.name(char, "")})
        points = ", ".join(f"U+{ord(char):04X} {unicodedata.name(char)}" for char in latin)
        notes.append(f"row {row}: {shorten(str(value))!s} mixes Latin letters into a Cyrillic name ({points})")
    return notes


Say = Callable[[str], None]


def _python_step_warehouse(report: BuildReport) -> Warehouse:
    """Open the work file for the stability and risk steps, DuckDB's memory at var ``python_steps_duckdb_memory``.

    Their arrays in Python are small (streamed); their SQL joins every client with the segment
    members (at 100 M clients 1 GB was too little even with spilling); the rest of the budget stays
    with Python.
    """
    return open_duckdb(report.paths.work_db, memory=str(dbt_vars().get("python_steps_duckdb_memory", "2GB")))


def _statistics(report: BuildReport, warehouse: Warehouse | None = None, say: Say = print) -> None:
    from metanprom.stats.stability import run_stability
    from metanprom.stats.step import run_step

    target = report.paths.work_reports / "stat_tests.md"
    if warehouse is None:
        # the hypothesis tests hold their columns in Python: DuckDB gets var hypothesis_tests_duckdb_memory
        # (its sorts spill); the stability step joins every client (var python_steps_duckdb_memory)
        memory = str(dbt_vars().get("hypothesis_tests_duckdb_memory", "1GB"))
        with_tests = open_duckdb(report.paths.work_db, memory=memory)
        try:
            rows = run_step(with_tests, target)
        finally:
            with_tests.close()
        warehouse = _python_step_warehouse(report)
    else:
        rows = run_step(warehouse, target)
    try:
        stability = run_stability(warehouse)
    finally:
        warehouse.close()
    primary = [row for row in rows if row.is_primary]
    rejected = sum(bool(row.reject_null) for row in primary)
    say(f"    {len(rows)} tests, {len(primary)} primary, {rejected} null hypotheses rejected (Holm)")
    stable = sum(row["is_stable"] for row in stability)
    say(
        f"    segment stability: {stable} of {len(stability)} segments selected again in >= 80 % of resamples "
        "when bins, signs and selection are re-derived"
    )
    report.outputs.append(Path("stat_tests.md"))


def _risk(report: BuildReport, warehouse: Warehouse | None = None, say: Say = print) -> None:
    from metanprom.risk import run_risk

    warehouse = warehouse or _python_step_warehouse(report)
    try:
        result = run_risk(warehouse, report.paths.work_reports)
    finally:
        warehouse.close()
    if not result.trained:
        report.notes.append(f"churn risk: no model trained ({result.reason}); risk columns are null")
        say(f"    no model trained: {result.reason}")
        return
    auc = {row["score_name"]: row["value"] for row in result.metrics if row["metric"] == "roc_auc"}
    say(
        f"    out-of-fold ROC AUC: best {auc['best']:.3f}, transparent {auc['transparent']:.3f}, "
        f"segment rule {auc['segment_rule']:.3f}"
    )
    report.outputs += [Path("retention_queue.csv"), Path("retention_queue.xlsx")]


def _side_by_side(report: BuildReport) -> None:
    """Run the statistical and risk steps in two threads of one process, sharing one DuckDB database.

    Small extracts only (var ``small_extract_max_clients``): there the risk step runs on one
    core and the statistical step takes the other; above it scikit-learn uses both cores itself and
    the steps run one after the other (memory stays within the budget). Each step's messages are
    printed when both are done, so they never interleave.
    """
    from concurrent.futures import ThreadPoolExecutor

    steps = {"statistics": _statistics, "churn risk": _risk}
    messages: dict[str, list[str]] = {name: [] for name in steps}
    connection = connect(report.paths.work_db)

    def timed(name: str) -> float:
        started = time.perf_counter()
        steps[name](report, DbApiWarehouse(connection.cursor(), "duckdb"), messages[name].append)
        return time.perf_counter() - started

    print("\n==> statistics and churn risk (side by side)", flush=True)
    started = time.perf_counter()
    RSS.restart()
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = {name: pool.submit(timed, name) for name in steps}
            seconds = {name: future.result() for name, future in futures.items()}
    except duckdb.OutOfMemoryException as error:
        raise BuildError(memory_advice("statistics and churn risk", error)) from error
    finally:
        connection.close()
    for name in steps:
        print("\n".join(messages[name]))
        print(f"    {name} done in {seconds[name]:.1f} s", flush=True)
    report.stage_seconds["statistics and churn risk"] = time.perf_counter() - started
    report.stage_peak_mb["statistics and churn risk"] = RSS.peak_mb()


def _client_count(report: BuildReport) -> int:
    with connect(report.paths.work_db, read_only=True) as con:
        return int(con.execute("select count(*) from marts.dim_clients").fetchone()[0])


def _quality(report: BuildReport) -> None:
    paths = report.paths
    quality = run_quality(paths.work_db, paths.work_reports / "data_quality")
    report.quality = quality
    print(f"    {len(quality.outcomes)} expectations: {len(quality.errors)} errors, {len(quality.warnings)} warnings")
    if quality.errors:
        kept = paths.reports_dir / "failed_build" / "data_quality"
        shutil.rmtree(kept, ignore_errors=True)
        shutil.copytree(paths.work_reports / "data_quality", kept)
        raise DataQualityError(f"{describe_errors(quality)}\nReport of the failed build: {kept / 'summary.html'}")
    report.outputs += [Path("data_quality") / "summary.html", Path("data_quality") / "index.html"]


def _dashboard(report: BuildReport) -> None:
    target = write_dashboard(report.paths.work_db, report.paths.work_reports / "dashboard.html", _warnings(report))
    print(f"    wrote {target.name} ({target.stat().st_size / 1024:.0f} KiB, self-contained)")
    report.outputs[:0] = [Path("dashboard.html"), Path("stat_tests.html")]


def _collect(report: BuildReport) -> None:
    with connect(report.paths.work_db, read_only=True) as con:
        rows = con.execute("select anomaly, row_count from marts.cleaning_summary").fetchall()
        report.counts = {str(name): int(count) for name, count in rows}
        report.rejected_by_reason = rejection_reason_counts(con)
        report.new_cities = [
            shorten(str(city), 40)
            for (city,) in con.execute(
                "select distinct city from marts.dim_clients where not is_known_city order by 1"
            ).fetchall()
        ]


def _metadata(report: BuildReport) -> None:
    """marts.build_info, comments on the Python step's tables, then the BI file (marts only)."""
    counts = report.counts
    info = BuildInfo(
        extract=report.extract,
        started=report.started,
        finished=datetime.now(UTC),
        rows_read=counts.get("extract_rows", 0),
        clients_accepted=counts.get("accepted_clients", 0),
        rows_rejected=counts.get("rejected_rows", 0),
    )
    with connect(report.paths.work_db) as con:
        report.build_info = write_build_info(con, info)
        comment_python_step_tables(con)
    tables = write_bi_file(report.paths.work_db, report.paths.work_dir / bi_path(report.paths.published_db).name)
    print(f"    build_info: {info.extract.name}, sha256 {str(report.build_info['extract_sha256'])[:12]}…")
    print(
        f"    BI file: {len(tables)} marts tables in DuckDB storage version {report.build_info['bi_storage_version']}"
    )


def _publish(report: BuildReport) -> None:
    paths = report.paths
    paths.published_db.parent.mkdir(parents=True, exist_ok=True)
    check_target(paths.published_db)  # again: a BI tool may have attached read-write during the build
    os.replace(paths.work_db, paths.published_db)
    os.replace(paths.work_dir / bi_path(paths.published_db).name, bi_path(paths.published_db))
    paths.reports_dir.mkdir(parents=True, exist_ok=True)
    for produced in sorted(paths.work_reports.iterdir()):
        destination = paths.reports_dir / produced.name
        if destination.is_dir():
            shutil.rmtree(destination)
        os.replace(produced, destination)
    shutil.rmtree(paths.reports_dir / "failed_build", ignore_errors=True)
    print(f"    published {paths.published_db} and {bi_path(paths.published_db).name} (for BI tools, read-only)")


def run_build(extract: str | None = None, *, split_dbt: bool = False, timings: Path | None = None) -> BuildReport:
    """Build the warehouse from ``extract`` (or the shipped seed) and publish it.

    ``split_dbt`` runs dbt's models and tests as two timed stages (the benchmark); ``timings``
    receives the seconds of each stage as JSON.

    Raises:
        BuildError: the environment or the target path is not usable, another build of the same
            target is running, or too many rows were rejected.
        ExtractError: the extract has a file-level problem.
        DbtError: a dbt model or test failed.

    """
    paths = Paths.from_env()
    check_memory_setting()
    check_target(paths.published_db)
    report = BuildReport(extract=Path(extract) if extract else SHIPPED_EXTRACT, paths=paths)
    with build_lock(paths.published_db):
        if paths.work_dir.exists():
            shutil.rmtree(paths.work_dir)
        paths.work_reports.mkdir(parents=True)
        try:
            _run_stages(report, extract, split_dbt)
        finally:
            shutil.rmtree(paths.work_dir, ignore_errors=True)
            if timings is not None:
                payload = {"seconds": report.stage_seconds, "peak_rss_mb": report.stage_peak_mb}
                timings.write_text(json.dumps(payload), encoding="utf-8")
    return report


def _run_stages(report: BuildReport, extract: str | None, split_dbt: bool) -> None:
    paths = report.paths
    _stage(report, "load", lambda: _load(report, extract))
    warming = _warm_imports()  # while dbt runs in its own process
    excluded = ["--exclude", "bank_scrooge"]
    if split_dbt:  # the benchmark times models and tests apart
        _stage(
            report,
            "dbt models",
            lambda: report.dbt.merge(
                run_dbt(
                    ["build", *excluded, "--exclude-resource-type", "test", "unit_test"],
                    paths.work_db,
                    paths.dbt_target_dir,
                )
            ),
        )
        _stage(
            report,
            "dbt tests",
            lambda: report.dbt.merge(run_dbt(["test", *excluded], paths.work_db, paths.dbt_target_dir)),
        )
    else:
        _stage(
            report,
            "dbt build",
            lambda: report.dbt.merge(run_dbt(["build", *excluded], paths.work_db, paths.dbt_target_dir)),
        )
    warming.join()
    _check_rejections(report)
    if _client_count(report) <= int(dbt_vars().get("small_extract_max_clients", 0)):
        _side_by_side(report)
    else:
        _stage(report, "statistics", lambda: _statistics(report))
        _stage(report, "churn risk", lambda: _risk(report))
    _stage(report, "data quality", lambda: _quality(report))
    _collect(report)
    _stage(report, "build info and BI file", lambda: _metadata(report))
    _stage(report, "dashboard", lambda: _dashboard(report))
    _stage(report, "publish", lambda: _publish(report))


def _warnings(report: BuildReport) -> list[str]:
    warnings = list(report.notes) + list(report.dbt.warnings)
    if report.new_cities:
        warnings.append(
            f"new city (accepted; add to seeds/ref_cities.csv if it is a branch): {', '.join(report.new_cities)}"
        )
    if report.quality:
        warnings += [
            f"data quality: {o.suite} {o.expectation}({o.column}) {o.observed}" for o in report.quality.warnings
        ]
    return warnings


def format_summary(report: BuildReport) -> str:
    """Format the short end-of-build summary: rows, rejected, tests, warnings, where the outputs are."""
    counts = report.counts
    dbt = report.dbt
    lines = [
        "",
        "Build summary",
        f"  extract           {report.extract}",
        f"  rows read         {counts.get('extract_rows', 0):,}",
        f"  clients accepted  {counts.get('accepted_clients', 0):,} ({counts.get('churners', 0):,} churners)",
        f"  rows rejected     {counts.get('rejected_rows', 0):,} (marts.rejected_rows)",
    ]
    lines += [f"    {count:>8,}  {reason}" for reason, count in report.rejected_by_reason]
    lines.append(
        f"  flags             age missing {counts.get('age_missing', 0):,}, "
        f"balance missing {counts.get('balance_missing', 0):,}, "
        f"repeated user_id rows {counts.get('duplicate_user_id_rows', 0):,}, "
        f"balance outliers {counts.get('balance_outliers', 0):,}"
    )
    lines.append(
        f"  dbt               {dbt.count('model')} models, {dbt.count('seed')} seeds, "
        f"{dbt.count('test', 'pass')} data tests passed, {dbt.count('test', 'warn')} warned, "
        f"{dbt.count('unit_test', 'pass')} unit tests passed"
    )
    lines += [f"  warning           {text}" for text in _warnings(report)]
    timings = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report.stage_seconds.items())
    lines.append(f"  time              {timings}")
    lines.append(f"  warehouse         {report.paths.published_db}")
    lines.append(f"  BI file           {bi_path(report.paths.published_db)} (marts only, DuckDB 1.x clients)")
    if report.build_info:
        info = report.build_info
        lines.append(
            f"  build info        {info['extract_file_name']} ({int(str(info['extract_size_bytes'])):,} bytes, "
            f"sha256 {str(info['extract_sha256'])[:12]}…), commit {str(info['git_commit'] or 'unknown')[:12]}"
        )
    if report.quality:
        quality = report.quality
        passed = sum(outcome.success for outcome in quality.outcomes)
        lines.append(
            f"  data quality      {passed}/{len(quality.outcomes)} expectations passed, {len(quality.warnings)} warnings"
        )
    lines += [f"  report            {report.paths.reports_dir / path}" for path in report.outputs]
    return "\n".join(lines)
