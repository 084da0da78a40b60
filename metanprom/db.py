"""One way to open the DuckDB warehouse from Python, with the same memory limit as dbt's profile."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb


def connect(path: Path, read_only: bool = False, memory: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open ``path`` with memory_limit ``memory``, else METANPROM_DUCKDB_MEMORY (default 3GB, as profiles.yml).

    Spill files go to METANPROM_DUCKDB_TEMP when it is set (DuckDB's default otherwise: ``<file>.tmp``).
    """
    memory = memory or os.environ.get("METANPROM_DUCKDB_MEMORY", "3GB")
    config = {"memory_limit": memory}
    if os.environ.get("METANPROM_DUCKDB_TEMP"):  # spill files (DuckDB's default: <file>.tmp beside the file)
        config["temp_directory"] = os.environ["METANPROM_DUCKDB_TEMP"]
    return duckdb.connect(str(path), read_only=read_only, config=config)
