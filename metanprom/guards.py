"""Checks that stop a build before it does any work or before it publishes.

Before any work: the memory setting, the target path (a folder that can be written, not a
directory, not an existing file that is something other than this project's warehouse), no
writer attached to the published file (a ``.wal`` beside it) and one build at a time per target
(an exclusive lock file). Before publishing: the rejection budget (dbt vars
``max_rejected_share`` / ``warn_rejected_share``).
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from metanprom.extract import shorten
from metanprom.paths import dbt_vars, wal_path

_MEMORY_PATTERN = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*$", re.IGNORECASE)


class BuildError(Exception):
    """An environment or input problem that stops the build; the message says what to do."""


def check_memory_setting() -> None:
    """METANPROM_DUCKDB_MEMORY, when set, is a size DuckDB understands (e.g. 3GB, 512MB)."""
    value = os.environ.get("METANPROM_DUCKDB_MEMORY")
    if value is not None and not _MEMORY_PATTERN.match(value):
        raise BuildError(
            f"METANPROM_DUCKDB_MEMORY={shorten(value, 30)!r} is not a memory size. "
            "Set it to a number with a unit, e.g. METANPROM_DUCKDB_MEMORY=3GB (or unset it for the default 3GB)."
        )


def check_target(published: Path) -> None:
    """Check that the published path can be (re)written by this build.

    Raises:
        BuildError: a directory; a folder that cannot be written; an existing file that is not a
            DuckDB file or not this project's warehouse; a writer attached (a ``.wal`` file).

    """
    where = f"METANPROM_DB={published}"
    if published.is_dir():
        raise BuildError(
            f"{where} is a directory. Point METANPROM_DB at a file, e.g. {published / 'metanprom.duckdb'}."
        )
    folder = published.parent
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise BuildError(f"{where}: the folder {existing} cannot be written. Choose a folder you can write to.")
    if published.exists():
        _check_existing_warehouse(published, where)
    if wal_path(published).exists():
        raise BuildError(
            f"{where}: {wal_path(published).name} exists, so a program (a BI tool or a script) has the warehouse open "
            "for writing, or one crashed while writing. Close it (BI tools must connect read-only), or, if no "
            "program uses the file, delete the .wal file; then build again."
        )


def _check_existing_warehouse(published: Path, where: str) -> None:
    if not published.is_file():
        raise BuildError(f"{where} exists and is not a regular file. Choose another path.")
    try:
        with duckdb.connect(str(published), read_only=True) as con:
            tables = {
                (str(schema), str(name))
                for schema, name in con.execute("select schema_name, table_name from duckdb_tables()").fetchall()
            }
    except duckdb.Error as error:
        text = str(error)
        if "lock" in text.lower():
            raise BuildError(
                f"{where}: the file is locked by another process (a BI tool connected read-write?). "
                "Close it or connect read-only, then build again."
            ) from None
        raise BuildError(
            f"{where} exists and is not a DuckDB warehouse ({shorten(text.splitlines()[0], 120)}). "
            "The build would replace it: choose another path, or move the file away if it can go."
        ) from None
    if ("marts", "dim_clients") not in tables and ("marts", "build_info") not in tables:
        raise BuildError(
            f"{where} is a DuckDB file but not this project's warehouse (no marts.dim_clients or marts.build_info). "
            "The build would replace it: choose another path, or move the file away if it can go."
        )


@contextmanager
def build_lock(published: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<published>.lock`` for the whole build; a second build stops at once."""
    lock_path = published.with_name(published.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = lock_path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise BuildError(
                f"another build of {published} is running (pid {holder}). Wait for it to finish, "
                "or build into another file with METANPROM_DB."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()


@dataclass(frozen=True)
class RejectionShare:
    """How many rows the build rejected, against the budget."""

    rows: int
    rejected: int
    warn_share: float
    max_share: float

    @property
    def share(self) -> float:
        """Rejected rows as a share of the extract's rows."""
        return self.rejected / self.rows if self.rows else 0.0

    @property
    def over_budget(self) -> bool:
        """Above max_rejected_share: the build stops."""
        return self.share > self.max_share

    @property
    def warn(self) -> bool:
        """Above warn_rejected_share: published with a warning."""
        return self.share > self.warn_share


def rejection_budget() -> tuple[float, float]:
    """(warn share, max share) from the dbt vars; METANPROM_MAX_REJECTED_SHARE overrides the max."""
    variables = dbt_vars()
    warn = float(variables.get("warn_rejected_share", 0.005))
    override = os.environ.get("METANPROM_MAX_REJECTED_SHARE")
    try:
        maximum = float(override) if override else float(variables.get("max_rejected_share", 0.02))
    except ValueError:
        raise BuildError(
            f"METANPROM_MAX_REJECTED_SHARE={shorten(override or '', 30)!r} is not a number; use e.g. 0.05 for 5 %."
        ) from None
    return warn, maximum


def _column_of(reason: str) -> str:
    return reason.split(":", 1)[0].split(",")[0].strip()


def rejection_reason_counts(con: duckdb.DuckDBPyConnection, top: int | None = None) -> list[tuple[str, int]]:
    """Count rejected rows per broken rule (a row breaking two rules counts for each), most frequent first."""
    rows = con.execute(
        f"""
        select trim(reason_part) as reason, count(*) as row_count
        from marts.rejected_rows, unnest(string_split(reason, '; ')) as parts(reason_part)
        group by 1 order by 2 desc, 1{f" limit {int(top)}" if top else ""}
        """
    ).fetchall()
    return [(str(reason), int(count)) for reason, count in rows]


def describe_rejections(con: duckdb.DuckDBPyConnection, top: int = 5, examples: int = 3) -> list[str]:
    """Return the most frequent rejection reasons with counts and a few example rows (raw values cut)."""
    lines = []
    reasons = rejection_reason_counts(con, top)
    columns = {
        str(name)
        for (name,) in con.execute(
            "select column_name from duckdb_columns() where schema_name = 'marts' and table_name = 'rejected_rows'"
        ).fetchall()
    }
    for reason, count in reasons:
        column = f"{_column_of(str(reason))}_raw"
        value = f'"{column}"' if column in columns else "null"
        rows = con.execute(
            f"""
            select source_row_number, {value}
            from marts.rejected_rows
            where contains('; ' || reason || '; ', '; ' || ? || '; ')
            order by source_row_number limit ?
            """,
            [reason, examples],
        ).fetchall()
        shown = ", ".join(
            f"row {row} ({column.removesuffix('_raw')}={shorten(str(raw), 24)!s})" if raw is not None else f"row {row}"
            for row, raw in rows
        )
        lines.append(f"{count:>8,}  {reason}  e.g. {shown}")
    return lines
