"""A small reader/writer that works on each engine the dbt project builds on.

The statistical step and the cross-engine comparison read marts and write tables through
:class:`Warehouse`, so no engine-specific code sits in the core path: DuckDB (the embedded
default), PostgreSQL (psycopg2) and Spark (a local or remote SparkSession).

Column types are given in the names DuckDB and PostgreSQL share (``varchar``, ``double
precision``, ``bigint``, ``integer``, ``boolean``); Spark gets its own spelling.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from jinja2 import Environment

from metanprom.paths import REPO_ROOT, wal_path

SPARK_TYPES = {"varchar": "string", "double precision": "double"}
#: Rows per batch when a query is read or a table written batch by batch.
BATCH_ROWS = 1 << 20


def batch_floats(column: Any) -> np.ndarray:
    """Return a column of a fetched batch (pandas Series) as writable float64 with NaN for null.

    Works for numpy columns, pandas' masked (nullable) columns and object columns with None.
    """
    import pandas as pd

    values = pd.to_numeric(column).to_numpy(dtype=np.float64, na_value=np.nan)
    return values if values.flags.writeable else values.copy()  # a view of the fetched batch is read-only


def batch_bools(column: Any) -> np.ndarray:
    """Return a column of a fetched batch (pandas Series) as bool, null as False."""
    return column.to_numpy(dtype=bool, na_value=False)


def _clean(value: Any) -> Any:
    """None for NaN/inf (SQL null), the value otherwise; numpy scalars become Python ones."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _remove_database_file(path: Path) -> None:
    """Delete a DuckDB file and its write-ahead log, if they exist."""
    for leftover in (path, wal_path(path)):
        leftover.unlink(missing_ok=True)


def _with_ranked(ranked: str, select: str) -> str:
    """Return ``select`` preceded by the CTE ``ranked`` (the query ``ranked``): create_ranked_table's shape."""
    return f"""
        with

        ranked as ({ranked})

        {select}
    """


def _quote_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Ranking:
    """The rows of ``source`` (alias ``alias``) that match ``where``, ranked 1..n by ``order_by`` into ``rank``.

    ``scratch``: a table name the DuckDB way may use for the ranks while the table is made (dropped after).
    """

    source: str
    alias: str
    where: str
    order_by: str
    rank: str
    scratch: str


class Warehouse:
    """Base: ``fetch`` rows, ``fetch_batches`` as DataFrames, ``replace_table`` with rows."""

    engine = "base"

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run ``sql`` (``?`` marks the parameters) and return all rows as tuples."""
        raise NotImplementedError

    def fetch_named(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run ``sql`` and return its column names and rows."""
        raise NotImplementedError

    def replace_table(
        self, table: str, columns: dict[str, str], rows: list[dict[str, Any]], description: str | None = None
    ) -> None:
        """Drop and re-create ``table`` with ``columns`` (name -> type) and insert ``rows``."""
        raise NotImplementedError

    def replace_frame(self, table: str, columns: dict[str, str], frame: Any, description: str | None = None) -> None:
        """Replace ``table`` with the rows of a pandas DataFrame (columns named as ``columns``).

        Whole-number columns that pandas holds as floats (because of nulls) go back to ints, which
        strict drivers (Spark) require for integer columns.
        """
        rows = frame[list(columns)].astype(object).where(frame[list(columns)].notna(), None).to_dict("records")
        whole = [name for name, kind in columns.items() if kind in ("integer", "bigint")]
        for row in rows:
            for name in whole:
                if isinstance(row[name], float):
                    row[name] = int(row[name])
        self.replace_table(table, columns, rows, description)

    def fetch_batches(self, sql: str, rows: int = BATCH_ROWS) -> Iterator[Any]:
        """Run ``sql`` and yield its rows as pandas DataFrames of at most about ``rows`` rows.

        Here one frame with every row (the engines other than DuckDB hold small extracts); nulls
        are None in object columns. DuckDB streams (see :class:`DbApiWarehouse`).
        """
        import pandas as pd

        names, values = self.fetch_named(sql)
        yield pd.DataFrame(values, columns=names)

    def write_frames(self, table: str, columns: dict[str, str], frames: Iterable[Any]) -> None:
        """Replace ``table`` with the rows of ``frames`` (DataFrames), in the order they come.

        Here the frames are joined and written once; DuckDB inserts each as it comes, so only one
        frame is in memory at a time.
        """
        import pandas as pd

        parts = list(frames)
        frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(columns))
        self.replace_frame(table, columns, frame)

    def execute(self, sql: str) -> None:
        """Run one statement that returns nothing (DDL)."""
        raise NotImplementedError

    def create_table_as(self, table: str, select: str) -> None:
        """Replace ``table`` with the result of ``select``."""
        self.execute(f"drop table if exists {table}")
        self.execute(f"create table {table} as {select}")

    def drop_table(self, table: str) -> None:
        """Drop ``table`` if it exists."""
        self.execute(f"drop table if exists {table}")

    @contextmanager
    def scratch_schema(self, name: str, default: str) -> Iterator[str]:
        """Yield the schema for a step's large scratch tables: here ``default``, a schema of the warehouse."""
        del name
        yield default

    def create_ranked_table(self, table: str, ranking: Ranking, select: str) -> None:
        """Replace ``table`` with ``select``, a query over ``ranked``: the rows of the ranking with their rank.

        Here one window over the rows (portable SQL): the sort carries every column of the source.
        """
        ranked = f"""
            select
                {ranking.alias}.*,
                row_number() over (order by {ranking.order_by}) as {ranking.rank}
            from {ranking.source} as {ranking.alias}
            where {ranking.where}
        """
        self.create_table_as(table, _with_ranked(ranked, select))

    def close(self) -> None:
        """Release the connection or session."""


class DbApiWarehouse(Warehouse):
    """DuckDB or PostgreSQL through a DB-API connection."""

    def __init__(self, connection: Any, engine: str, placeholder: str = "?") -> None:
        self.connection = connection
        self.engine = engine
        self.placeholder = placeholder

    def _sql(self, sql: str) -> str:
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run ``sql`` with ``params`` and return all rows."""
        cursor = self.connection.cursor()
        cursor.execute(self._sql(sql), tuple(params))
        return [tuple(row) for row in cursor.fetchall()]

    def execute(self, sql: str) -> None:
        """Run one statement (committed on PostgreSQL)."""
        cursor = self.connection.cursor()
        cursor.execute(sql)
        if self.engine == "postgres":
            self.connection.commit()

    def fetch_named(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run ``sql``; names from the cursor's description."""
        cursor = self.connection.cursor()
        cursor.execute(sql)
        return [column[0] for column in cursor.description], [tuple(row) for row in cursor.fetchall()]

    def replace_table(
        self, table: str, columns: dict[str, str], rows: list[dict[str, Any]], description: str | None = None
    ) -> None:
        """Portable DDL, one parameterised insert, the description as the table's comment."""
        cursor = self.connection.cursor()
        cursor.execute(f"drop table if exists {table}")
        cursor.execute(f"create table {table} ({', '.join(f'{name} {kind}' for name, kind in columns.items())})")
        marks = ", ".join([self.placeholder] * len(columns))
        values = [tuple(_clean(row[name]) for name in columns) for row in rows]
        if values:
            cursor.executemany(f"insert into {table} ({', '.join(columns)}) values ({marks})", values)
        if description:
            cursor.execute(f"comment on table {table} is {_quote_text(description)}")
        if self.engine == "postgres":
            self.connection.commit()

    def fetch_batches(self, sql: str, rows: int = BATCH_ROWS) -> Iterator[Any]:
        """DuckDB streams the result in frames of about ``rows`` rows (nulls as pandas' masked NA)."""
        if self.engine != "duckdb":
            yield from super().fetch_batches(sql, rows)
            return
        cursor = self.connection.cursor()
        cursor.execute(sql)
        vectors = max(1, rows // 2048)  # DuckDB hands results over in vectors of 2,048 rows
        while True:
            frame = cursor.fetch_df_chunk(vectors)
            if frame.empty:
                return
            yield frame

    def write_frames(self, table: str, columns: dict[str, str], frames: Iterable[Any]) -> None:
        """DuckDB creates the table, then inserts each frame as it comes."""
        if self.engine != "duckdb":
            super().write_frames(table, columns, frames)
            return
        self._create(table, columns)
        for frame in frames:
            self._insert_frame(table, columns, frame)

    def _create(self, table: str, columns: dict[str, str]) -> None:
        cursor = self.connection.cursor()
        cursor.execute(f"drop table if exists {table}")
        cursor.execute(f"create table {table} ({', '.join(f'{name} {kind}' for name, kind in columns.items())})")

    def _insert_frame(self, table: str, columns: dict[str, str], frame: Any) -> None:
        cursor = self.connection.cursor()
        cursor.register("metanprom_frame", frame)  # the insert reads only `columns`: no copy of the frame
        try:
            cursor.execute(f"insert into {table} select {', '.join(columns)} from metanprom_frame")
        finally:
            cursor.unregister("metanprom_frame")

    def replace_frame(self, table: str, columns: dict[str, str], frame: Any, description: str | None = None) -> None:
        """DuckDB reads the DataFrame directly (millions of rows); other drivers insert rows."""
        if self.engine != "duckdb":
            super().replace_frame(table, columns, frame, description)
            return
        self._create(table, columns)
        self._insert_frame(table, columns, frame)
        if description:
            self.connection.cursor().execute(f"comment on table {table} is {_quote_text(description)}")

    @contextmanager
    def scratch_schema(self, name: str, default: str) -> Iterator[str]:
        """DuckDB: a database file of its own beside the warehouse, attached as ``name``, deleted afterwards.

        A DuckDB file never shrinks: tables dropped at the end of a step leave their blocks in the
        warehouse (about 4 GiB of scores at 100 M clients), which then count twice while the BI file
        is written beside it. Scratch tables in their own file leave nothing behind.
        """
        if self.engine != "duckdb":
            with super().scratch_schema(name, default) as schema:
                yield schema
            return
        warehouse = Path(
            str(self.fetch("select path from duckdb_databases() where database_name = current_database()")[0][0])
        )
        path = warehouse.with_name(f"{warehouse.stem}.{name}.duckdb")
        _remove_database_file(path)
        self.execute(f"attach {_quote_text(str(path))} as {name}")
        try:
            yield f"{name}.main"
        finally:
            self.execute(f"detach {name}")
            _remove_database_file(path)

    def create_ranked_table(self, table: str, ranking: Ranking, select: str) -> None:
        """DuckDB sorts only the rows' positions by the keys, then joins the ranks back by position.

        The window of the portable way sorts every column of the source; at 100 M clients its spill
        files were the build's disk peak. Here the sort carries a row's position (``rowid``: the
        order it was inserted in) and the keys; the ranks are set at those positions in an array
        with a slot per row (0: not ranked), written as a scratch table in the same order, and
        ``positional join`` pairs it row by row with the source.
        """
        if self.engine != "duckdb":
            super().create_ranked_table(table, ranking, select)
            return
        import pandas as pd

        total = int(self.fetch(f"select count(*) from {ranking.source}")[0][0])
        ranks = np.zeros(total, dtype=np.int64)
        placed = 0
        for frame in self.fetch_batches(
            f"select {ranking.alias}.rowid as row_position from {ranking.source} as {ranking.alias} "
            f"where {ranking.where} order by {ranking.order_by}"
        ):
            positions = frame["row_position"].to_numpy(dtype=np.int64)
            ranks[positions] = np.arange(placed + 1, placed + positions.size + 1)
            placed += positions.size
        self.replace_frame(ranking.scratch, {ranking.rank: "bigint"}, pd.DataFrame({ranking.rank: ranks}, copy=False))
        del ranks
        # the positional join's size is unknown to DuckDB's optimizer, which then builds the hash tables
        # of the small joins (texts per pattern) on it, spilling every row: keep them as written. The
        # setting is global to the database, so it is restored as soon as the statement is done.
        (disabled,) = self.fetch("select current_setting('disabled_optimizers')")[0]
        ranked = f"""
            select
                {ranking.alias}.*,
                positions.{ranking.rank}
            from {ranking.source} as {ranking.alias}
            positional join {ranking.scratch} as positions
            where positions.{ranking.rank} > 0
        """
        disabled_here = ",".join(filter(None, [disabled, "build_side_probe_side"]))
        self.execute(f"set disabled_optimizers = {_quote_text(disabled_here)}")
        try:
            self.create_table_as(table, _with_ranked(ranked, select))
        finally:
            self.execute(f"set disabled_optimizers = {_quote_text(disabled)}")
        self.drop_table(ranking.scratch)

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()


class SparkWarehouse(Warehouse):
    """Spark through a SparkSession (tables in the session's catalog, e.g. a Hive metastore)."""

    engine = "spark"

    def __init__(self, session: Any) -> None:
        self.session = session

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run ``sql`` (positional ``?`` parameters) and collect the rows."""
        frame = self.session.sql(sql, args=list(params)) if params else self.session.sql(sql)
        return [tuple(row) for row in frame.collect()]

    def execute(self, sql: str) -> None:
        """Run one statement."""
        self.session.sql(sql)

    def create_table_as(self, table: str, select: str) -> None:
        """Replace ``table`` with the result of ``select`` as a parquet table."""
        self.execute(f"drop table if exists {table}")
        self.execute(f"create table {table} using parquet as {select}")

    def fetch_named(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run ``sql`` and collect; names from the DataFrame."""
        frame = self.session.sql(sql)
        return list(frame.columns), [tuple(row) for row in frame.collect()]

    def replace_table(
        self, table: str, columns: dict[str, str], rows: list[dict[str, Any]], description: str | None = None
    ) -> None:
        """Create a parquet table with the description as its comment, then insert the rows."""
        ddl = ", ".join(f"{name} {SPARK_TYPES.get(kind, kind)}" for name, kind in columns.items())
        comment = f" comment {_quote_text(description)}" if description else ""
        self.session.sql(f"drop table if exists {table}")
        self.session.sql(f"create table {table} ({ddl}) using parquet{comment}")
        if rows:
            values = [tuple(_clean(row[name]) for name in columns) for row in rows]
            self.session.createDataFrame(values, schema=ddl).coalesce(1).write.insertInto(table)

    def close(self) -> None:
        """Stop the session."""
        self.session.stop()


# --- opening each engine from the same settings dbt uses (profiles.yml + environment) ---


def _profile_output(target: str) -> dict[str, Any]:
    """Return the target's settings from profiles.yml, with env_var() rendered as dbt renders them."""
    environment = Environment()
    environment.filters["as_number"] = lambda value: int(value) if re.fullmatch(r"\d+", str(value)) else float(value)

    def env_var(name: str, default: str | None = None) -> str:
        value = os.environ.get(name, default)
        if value is None:
            raise KeyError(f"profiles.yml needs the environment variable {name}; set it and retry")
        return value

    def render(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: render(item) for key, item in value.items()}
        if isinstance(value, str) and "{{" in value:
            return environment.from_string(value).render(env_var=env_var)
        return value

    profiles = yaml.safe_load((REPO_ROOT / "profiles.yml").read_text(encoding="utf-8"))
    return render(profiles["metanprom"]["outputs"][target])


def open_duckdb(path: Path, read_only: bool = False, memory: str | None = None) -> DbApiWarehouse:
    """Open the DuckDB file at ``path`` (``memory``: its memory limit, else the configured one)."""
    from metanprom.db import connect

    return DbApiWarehouse(connect(path, read_only=read_only, memory=memory), "duckdb")


def open_postgres(user: str | None = None) -> DbApiWarehouse:
    """PostgreSQL as the ``postgres`` target of profiles.yml (METANPROM_PG_* variables), optionally as ``user``."""
    import psycopg2

    settings = _profile_output("postgres")
    connection = psycopg2.connect(
        host=settings["host"],
        port=int(settings["port"]),
        user=user or settings["user"],
        password=settings.get("password") or None,
        dbname=settings["dbname"],
    )
    return DbApiWarehouse(connection, "postgres", placeholder="%s")


def spark_session() -> Any:
    """Start a SparkSession with the ``spark`` target's server_side_parameters (dbt's metastore)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.enableHiveSupport()
    for key, value in _profile_output("spark").get("server_side_parameters", {}).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def open_spark() -> SparkWarehouse:
    """Spark as the ``spark`` target of profiles.yml."""
    return SparkWarehouse(spark_session())
