"""Command line: ``python -m metanprom build`` (what ``make build`` runs) and ``... engines``."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path


def _build(args: argparse.Namespace) -> int:
    # heavy imports (dbt runner, great-expectations, scikit-learn) only when a build runs: --help stays fast
    import duckdb

    from metanprom.build import format_summary, run_build
    from metanprom.dbt_runner import DbtError
    from metanprom.extract import ExtractError, shorten
    from metanprom.guards import BuildError
    from metanprom.paths import Paths
    from metanprom.quality import DataQualityError

    extract = args.extract or os.environ.get("METANPROM_EXTRACT") or None
    published = Paths.from_env().published_db
    try:
        report = run_build(extract, split_dbt=args.split_dbt, timings=args.timings)
    except (ExtractError, DbtError, DataQualityError, BuildError) as error:
        return _stopped(str(error), published, args.debug)
    except MemoryError:
        return _stopped(
            "the machine ran out of memory. Lower METANPROM_DUCKDB_MEMORY and the dbt vars "
            "python_steps_duckdb_memory / hypothesis_tests_duckdb_memory (DuckDB then spills to disk), "
            "or free memory.",
            published,
            args.debug,
        )
    except (OSError, duckdb.Error) as error:  # the environment: disk full, permissions, DuckDB's own limits
        hint = "check the paths, free disk space and permissions, then build again (--debug shows the details)"
        return _stopped(
            f"{type(error).__name__}: {shorten(str(error).splitlines()[0], 300)}. {hint}.", published, args.debug
        )
    print(format_summary(report))
    return 0


def _parse(args: argparse.Namespace) -> int:
    """Parse the dbt project as the build will (same target folder and work file) to warm partial parsing."""
    from metanprom.dbt_runner import DbtError, run_dbt
    from metanprom.paths import Paths

    paths = Paths.from_env()
    try:
        run_dbt(["parse", "--quiet"], paths.work_db, paths.dbt_target_dir)
    except DbtError as error:
        print(f"\nerror: {error}", file=sys.stderr)
        return 2
    print(f"dbt project parsed into {paths.dbt_target_dir} (the next build parses only what changed)")
    return 0


def _stopped(message: str, published: object, debug: bool) -> int:
    """Print why the build stopped (a traceback only with --debug) and what happened to the warehouse."""
    if debug:
        traceback.print_exc()
    print(f"\nerror: {message}", file=sys.stderr)
    path = Path(str(published))
    state = "was left unchanged" if path.exists() else "was not created"
    print(f"The published warehouse {path} {state}.", file=sys.stderr)
    return 2


def _engines(args: argparse.Namespace) -> int:
    from metanprom.dbt_runner import DbtError
    from metanprom.engines import EngineError, run_engines

    try:
        report = run_engines(args.engines.split(","), args.report)
    except (EngineError, DbtError) as error:
        print(f"\nerror: {error}", file=sys.stderr)
        return 2
    different = [(run.target, c.table) for run in report.runs for c in run.comparisons if not c.equal]
    for target, table in different:
        print(f"different on {target}: marts.{table}", file=sys.stderr)
    return 1 if different else 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the command; returns the process exit code."""
    # OpenBLAS worker threads left spinning by the statistical step's matrix products starve the
    # risk step's OpenMP threads (measured: 63 s instead of 3 s for the shipped extract). BLAS work
    # here is small; scikit-learn keeps its OpenMP threads. Set before numpy is imported.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    parser = argparse.ArgumentParser(prog="metanprom", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="load the extract, run dbt and the Python steps, publish")
    build.add_argument(
        "--extract", help="CSV extract to build from (default: $METANPROM_EXTRACT, else the shipped seed)"
    )
    build.add_argument("--debug", action="store_true", help="show Python tracebacks of errors")
    build.add_argument(
        "--split-dbt", action="store_true", help="run dbt models and tests as two timed stages (the benchmark does)"
    )
    build.add_argument(
        "--timings", type=Path, help="write the seconds and the peak RSS (MB) after each stage to this JSON file"
    )
    build.set_defaults(handler=_build)
    parse = commands.add_parser(
        "parse", help="parse the dbt project as the build will, so the first build parses only what changed"
    )
    parse.set_defaults(handler=_parse)
    engines = commands.add_parser(
        "engines", help="build on DuckDB and on PostgreSQL/Spark, compare every mart (make test-engines)"
    )
    engines.add_argument("--engines", default="postgres,spark", help="comma-separated: postgres, spark, spark-cluster")
    engines.add_argument("--report", type=Path, help="where to write the Markdown report (default reports/engines.md)")
    engines.set_defaults(handler=_engines)
    args = parser.parse_args(argv)
    return int(args.handler(args))
