"""What a build publishes besides the warehouse: build metadata, comments, the BI file.

* ``marts.build_info``: one row saying which extract the warehouse was built from (path, size,
  sha256, rows), when, with which versions and vars, so a BI user can tell a stale build.
* Comments on the tables the Python step writes, from ``models/marts/_python_step__sources.yml``
  (the same text dbt docs show).
* The BI file (``<name>_bi.duckdb`` beside the warehouse): the ``marts`` schema only, written in
  DuckDB storage version :data:`BI_STORAGE_VERSION` so that DuckDB 1.x clients (the JDBC driver
  in DBeaver and Metabase, the CLI, Node and Python 1.x packages) can open it, with every table
  and column comment.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb
import yaml

from metanprom.db import connect
from metanprom.paths import REPO_ROOT, dbt_vars

#: Storage version of the BI file: DuckDB >= 1.4 reads it, with the comments. Change it here (e.g.
#: 'v1.1.0' for older clients; DuckDB's docs list the versions ATTACH accepts).
BI_STORAGE_VERSION = os.environ.get("METANPROM_BI_STORAGE_VERSION", "v1.4.0")
PYTHON_STEP_SOURCES = REPO_ROOT / "models" / "marts" / "_python_step__sources.yml"


def bi_path(published: Path) -> Path:
    """Return the BI file beside ``published``: metanprom.duckdb -> metanprom_bi.duckdb."""
    return published.with_name(f"{published.stem}_bi{published.suffix or '.duckdb'}")


def sha256_of(path: Path) -> str:
    """Return the sha256 of a file, read in 16 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 24):
            digest.update(chunk)
    return digest.hexdigest()


def _git_commit() -> str | None:
    try:
        completed = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=False, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = completed.stdout.strip()
    if completed.returncode != 0 or not commit:
        return None
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return commit + ("-dirty" if dirty else "")


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


@dataclass(frozen=True)
class BuildInfo:
    """The facts of one build (marts.build_info)."""

    extract: Path
    started: datetime
    finished: datetime
    rows_read: int
    clients_accepted: int
    rows_rejected: int

    def row(self) -> dict[str, Any]:
        """Return the table's one row."""
        return {
            "extract_path": str(self.extract.resolve()),
            "extract_file_name": self.extract.name,
            "extract_size_bytes": self.extract.stat().st_size,
            "extract_sha256": sha256_of(self.extract),
            "extract_modified_at": datetime.fromtimestamp(self.extract.stat().st_mtime, UTC).replace(tzinfo=None),
            "rows_read": self.rows_read,
            "clients_accepted": self.clients_accepted,
            "rows_rejected": self.rows_rejected,
            "build_started_at": self.started.replace(tzinfo=None),
            "build_finished_at": self.finished.replace(tzinfo=None),
            "build_seconds": round((self.finished - self.started).total_seconds(), 3),
            "dbt_version": _version("dbt-core"),
            "duckdb_version": duckdb.__version__,
            "python_version": platform.python_version(),
            "git_commit": _git_commit(),
            "vars_json": json.dumps(dbt_vars(), ensure_ascii=False, sort_keys=True),
            "bi_storage_version": BI_STORAGE_VERSION,
        }


BUILD_INFO_TYPES: dict[str, str] = {
    "extract_path": "varchar",
    "extract_file_name": "varchar",
    "extract_size_bytes": "bigint",
    "extract_sha256": "varchar",
    "extract_modified_at": "timestamp",
    "rows_read": "bigint",
    "clients_accepted": "bigint",
    "rows_rejected": "bigint",
    "build_started_at": "timestamp",
    "build_finished_at": "timestamp",
    "build_seconds": "double",
    "dbt_version": "varchar",
    "duckdb_version": "varchar",
    "python_version": "varchar",
    "git_commit": "varchar",
    "vars_json": "varchar",
    "bi_storage_version": "varchar",
}


def write_build_info(con: duckdb.DuckDBPyConnection, info: BuildInfo) -> dict[str, Any]:
    """Create marts.build_info with its one row (comments: :func:`comment_python_step_tables`)."""
    row = info.row()
    con.execute("drop table if exists marts.build_info")
    con.execute(
        "create table marts.build_info (" + ", ".join(f"{name} {kind}" for name, kind in BUILD_INFO_TYPES.items()) + ")"
    )
    con.execute(
        f"insert into marts.build_info values ({', '.join('?' for _ in BUILD_INFO_TYPES)})",
        [row[name] for name in BUILD_INFO_TYPES],
    )
    return row


def _literal(text: str) -> str:
    return "'" + " ".join(text.split()).replace("'", "''") + "'"


def comment_table(con: duckdb.DuckDBPyConnection, table: str, description: str, columns: dict[str, str]) -> None:
    """COMMENT ON the table and each of its columns."""
    con.execute(f"comment on table {table} is {_literal(description)}")
    for column, text in columns.items():
        con.execute(f"comment on column {table}.{column} is {_literal(text)}")


def python_step_descriptions(path: Path = PYTHON_STEP_SOURCES) -> dict[str, tuple[str, dict[str, str]]]:
    """{table: (description, {column: description})} from the dbt source YAML of the Python step."""
    payload = yaml.safe_load(path.read_text(encoding="utf-8"))
    tables = {}
    for source in payload.get("sources", []):
        for table in source.get("tables", []):
            columns = {column["name"]: str(column.get("description", "")) for column in table.get("columns", [])}
            tables[table["name"]] = (str(table.get("description", "")), columns)
    return tables


def comment_python_step_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Comments on every table and column the Python step wrote (only the columns that exist)."""
    for table, (description, columns) in python_step_descriptions().items():
        existing = {
            str(name)
            for (name,) in con.execute(
                "select column_name from duckdb_columns() where schema_name = 'marts' and table_name = ?", [table]
            ).fetchall()
        }
        if existing:
            comment_table(con, f"marts.{table}", description, {k: v for k, v in columns.items() if k in existing})


def write_bi_file(work_db: Path, target: Path) -> list[str]:
    """Write the marts (data and comments) into ``target`` in :data:`BI_STORAGE_VERSION`; returns the tables."""
    target.unlink(missing_ok=True)
    # the build's memory limit and spill folder: a 100 M-client copy is bounded like the other stages
    with connect(work_db) as con:
        con.execute(f"attach {_literal(str(target))} as bi_file (storage_version {_literal(BI_STORAGE_VERSION)})")
        try:
            con.execute("create schema bi_file.marts")
            tables = [
                (str(name), comment)
                for name, comment in con.execute(
                    "select table_name, comment from duckdb_tables() "
                    "where database_name = current_database() and schema_name = 'marts' order by table_name"
                ).fetchall()
            ]
            for name, comment in tables:
                con.execute(f"create table bi_file.marts.{name} as select * from marts.{name}")
                columns = con.execute(
                    "select column_name, comment from duckdb_columns() where database_name = current_database() "
                    "and schema_name = 'marts' and table_name = ? order by column_index",
                    [name],
                ).fetchall()
                comment_table(
                    con, f"bi_file.marts.{name}", str(comment or ""), {str(c): str(text or "") for c, text in columns}
                )
        finally:
            con.execute("detach bi_file")
    return [name for name, _ in tables]
