"""Checking and loading a client extract (CSV) into the raw layer, all columns as text.

File-level problems (no file, empty, header only, missing columns, wrong delimiter, not UTF-8,
binary content) stop the build with an :class:`ExtractError` that names the file and says what
to do. Row-level problems are not handled here: every data row is loaded as text and the dbt
models quarantine the bad ones with a reason.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

import duckdb

#: The extract's columns in their canonical order, as the bank writes them.
EXPECTED_COLUMNS: tuple[str, ...] = (
    "USERID",
    "score",
    "city",
    "gender",
    "age",
    "equity",
    "balance",
    "products",
    "credit_card",
    "last_activity",
    "EST_SALARY",
    "churn",
)
RAW_TABLE = "raw.bank_scrooge"
LONG_ROW_MARKER = "metanprom: a row has more fields than the header"
_SNIFF_BYTES = 1 << 16


class ExtractError(Exception):
    """A file-level problem with an extract: the build stops before anything is published."""


@dataclass(frozen=True)
class ExtractHeader:
    """The header of an extract: the columns as written, mapped to the canonical names."""

    path: Path
    columns: tuple[str, ...]
    mapping: dict[str, str]  # canonical name -> name as written in the file


def _fail(path: Path, problem: str, action: str) -> ExtractError:
    return ExtractError(f"{path}: {problem}. {action}")


def read_header(path: Path) -> ExtractHeader:
    """Check the file-level shape of an extract and map its header to the canonical columns.

    Raises:
        ExtractError: the file is missing, empty, binary, not UTF-8, has no data rows, uses
            another delimiter, or lacks one of :data:`EXPECTED_COLUMNS`.

    """
    if not path.is_file():
        raise _fail(path, "file not found", "Check the path given in METANPROM_EXTRACT.")
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if not head.strip():
        raise _fail(path, "the file is empty", "Export the extract again; it must start with a header line.")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _fail(
            path,
            "the file is UTF-16 text; the expected encoding is UTF-8",
            "Save it again as UTF-8 (e.g. `iconv -f utf-16 -t utf-8 in.csv > out.csv`).",
        )
    if b"\x00" in head:
        raise _fail(
            path,
            "the file contains NUL bytes and looks binary, not a CSV text file",
            "Export the extract as a comma-separated UTF-8 text file.",
        )
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8) :]
    first_line, _, rest = head.partition(b"\n")
    try:
        header_text = first_line.decode("utf-8").strip("\r ")
        # Decode the sniffed body too, allowing a multi-byte character cut at the buffer's end.
        codecs.getincrementaldecoder("utf-8")().decode(rest, final=False)
    except UnicodeDecodeError as error:
        raise _fail(
            path,
            f"not UTF-8 text (invalid byte at offset {error.start} of the first block; the expected encoding is UTF-8)",
            "Convert it, e.g. from Windows-1251: `iconv -f cp1251 -t utf-8 in.csv > out.csv`.",
        ) from error
    columns = tuple(name.strip().strip('"').strip() for name in header_text.split(","))
    if len(columns) == 1:
        for delimiter, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
            if delimiter in header_text:
                raise _fail(
                    path,
                    f"the header is separated by {name}, not commas",
                    "Export the extract with ',' as the delimiter.",
                )
    repeated = sorted({name for name in columns if [c.lower() for c in columns].count(name.lower()) > 1})
    if repeated:
        raise _fail(
            path, f"column(s) {', '.join(repeated)} appear more than once in the header (line 1)", "Keep one of each."
        )
    by_lower = {name.lower(): name for name in columns}
    missing = [name for name in EXPECTED_COLUMNS if name.lower() not in by_lower]
    if missing:
        unexpected = [name for name in columns if name.lower() not in {c.lower() for c in EXPECTED_COLUMNS}]
        hint = f"; it has unexpected column(s) {', '.join(unexpected)} (renamed?)" if unexpected else ""
        raise _fail(
            path,
            f"missing column(s) {', '.join(missing)} in the header (line 1){hint}",
            f"The header must name all of: {', '.join(EXPECTED_COLUMNS)}.",
        )
    if not rest.strip() and path.stat().st_size <= _SNIFF_BYTES:
        raise _fail(path, "the file has a header but no data rows", "Export the extract with its rows.")
    mapping = {name: by_lower[name.lower()] for name in EXPECTED_COLUMNS}
    return ExtractHeader(path=path, columns=columns, mapping=mapping)


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


OVERFLOW_COLUMN = "__field_after_the_last_column"


@dataclass(frozen=True)
class LoadResult:
    """What loading an extract did."""

    rows: int
    blank_lines_skipped: int


def _read_csv_sql(select: str, where: str) -> str:
    return f"""
        select {select} from read_csv(
            ?,
            auto_detect = false,
            header = false,
            skip = 1,
            columns = ?,
            delim = ',',
            quote = '"',
            escape = '"',
            null_padding = true,
            encoding = 'utf-8'
        )
        where {where}
    """


def _reader_failure(path: Path, error: duckdb.Error) -> ExtractError:
    first_line = str(error).strip().splitlines()[0]
    return _fail(
        path,
        f"DuckDB's CSV reader could not read the file: {first_line}",
        "Fix the line it names (the file must be comma-separated UTF-8 with the header's columns).",
    )


def load_extract(con: duckdb.DuckDBPyConnection, path: Path) -> LoadResult:
    """Load an extract into ``raw.bank_scrooge`` with every column as text, in file order.

    Columns may come in any order and any letter case; they are stored in the canonical order.
    The file is read with the header's columns declared plus one overflow column, so a short
    row is padded with nulls (its missing values become rejection reasons downstream) and a row
    with more fields than the header is found instead of silently cut. Blank lines are skipped
    and counted.

    One pass reads the file straight into the raw table and stops at a row with extra fields;
    only then is the file read again into a temporary table, to count such rows and name the
    first one. Insertion order (file order) is kept, so rowid numbers the rows.

    Raises:
        ExtractError: a file-level problem, a row with more fields than the header, or a line
            DuckDB's CSV reader cannot split.

    """
    header = read_header(path)
    declared = {f"c{i}": "VARCHAR" for i in range(len(header.columns))} | {OVERFLOW_COLUMN: "VARCHAR"}
    position = {name: f"c{header.columns.index(header.mapping[name])}" for name in EXPECTED_COLUMNS}
    select_list = ", ".join(f"{position[name]} as {_quote_identifier(name)}" for name in EXPECTED_COLUMNS)
    stop_at_long_row = f"case when {OVERFLOW_COLUMN} is not null then error('{LONG_ROW_MARKER}') else true end"
    con.execute("create schema if not exists raw")
    try:
        con.execute(
            f"create or replace table {RAW_TABLE} as " + _read_csv_sql(select_list, stop_at_long_row),
            [str(path), declared],
        )
    except duckdb.Error as error:
        if LONG_ROW_MARKER not in str(error):
            raise _reader_failure(path, error) from error
        raise _long_rows(con, path, declared, len(header.columns)) from None
    all_null = " and ".join(f"{_quote_identifier(name)} is null" for name in EXPECTED_COLUMNS)
    blank = int(con.execute(f"select count(*) from {RAW_TABLE} where {all_null}").fetchone()[0])
    if blank:  # rare: rewrite without the blank lines, keeping file order
        con.execute(
            f"create or replace temp table raw_without_blank_lines as select * from {RAW_TABLE} where not ({all_null})"
        )
        con.execute(f"create or replace table {RAW_TABLE} as select * from raw_without_blank_lines")
        con.execute("drop table raw_without_blank_lines")
    rows = int(con.execute(f"select count(*) from {RAW_TABLE}").fetchone()[0])
    if rows == 0:
        raise _fail(path, "the file has a header but no data rows", "Export the extract with its rows.")
    return LoadResult(rows=rows, blank_lines_skipped=blank)


def _long_rows(con: duckdb.DuckDBPyConnection, path: Path, declared: dict[str, str], columns: int) -> ExtractError:
    """Count the rows with more fields than the header and name the first (a second read)."""
    try:
        con.execute("create or replace temp table loaded_lines as " + _read_csv_sql("*", "true"), [str(path), declared])
    except duckdb.Error as error:
        return _reader_failure(path, error)
    count, first_line = con.execute(
        f"select count(*), min(rowid) + 2 from loaded_lines where {OVERFLOW_COLUMN} is not null"
    ).fetchone()
    con.execute("drop table loaded_lines")
    return _fail(
        path,
        f"{count} row(s) have more fields than the header's {columns} columns (first at line {first_line})",
        "Remove the extra fields, or quote values that contain commas.",
    )
