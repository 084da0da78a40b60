"""Command line: ``python -m metanprom build`` (what ``make build`` runs) and ``... engines``."""

from __future__ import annotations

import argparse
import os
import sys

from metanprom.build import format_summary, run_build
from metanprom.dbt import DbtError
from metanprom.extract import ExtractError
from metanprom.paths import Paths
from metanprom.quality import DataQualityError


def _build(args: argparse.Namespace) -> int:
    extract = args.extract or os.environ.get("METANPROM_EXTRACT") or None
    published = Paths.from_env().published_db
    try:
        report = run_build(extract)
    except (ExtractError, DbtError, DataQualityError) as error:
        print(f"\nerror: {error}", file=sys.stderr)
        state = "was left unchanged" if published.exists() else "was not created"
        print(f"The published warehouse {published} {state}.", file=sys.stderr)
        return 2
    print(format_summary(report))
    return 0


def _engines(args: argparse.Namespace) -> int:
    from metanprom.engines import EngineError, run_engines

    try:
        report = run_engines(args.engines.split(","))
    except (EngineError, DbtError) as error:
        print(f"\nerror: {error}", file=sys.stderr)
        return 2
    different = [(run.target, c.table) for run in report.runs for c in run.comparisons if not c.equal]
    for target, table in different:
        print(f"different on {target}: marts.{table}", file=sys.stderr)
    return 1 if different else 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the command; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="metanprom", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="load the extract, run dbt and the Python steps, publish")
    build.add_argument(
        "--extract", help="CSV extract to build from (default: $METANPROM_EXTRACT, else the shipped seed)"
    )
    build.set_defaults(handler=_build)
    engines = commands.add_parser(
        "engines", help="build on DuckDB and on PostgreSQL/Spark, compare every mart (make test-engines)"
    )
    engines.add_argument("--engines", default="postgres,spark", help="comma-separated: postgres, spark")
    engines.set_defaults(handler=_engines)
    args = parser.parse_args(argv)
    return int(args.handler(args))
