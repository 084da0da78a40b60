"""One way to open the DuckDB warehouse from Python, with the same memory limit as dbt's profile."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb


def connect(path: Path, read_only: bool = False, memory: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open ``path`` with memory_limit ``memory``, else METANPROM_DUCKDB_MEMORY (default 3GB, as profiles.yml)."""
    memory = memory or os.environ.get("METANPROM_DUCKDB_MEMORY", "3GB")
    return duckdb.connect(str(path), read_only=read_only, config={"memory_limit": memory})
