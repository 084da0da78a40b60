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


def load_extract(con: duckdb.DuckDBPyConnection, path: Path) -> LoadResult:
    """Load an extract into ``raw.bank_scrooge`` with every column as text, in file order.

    Columns may come in any order and any letter case; they are stored in the canonical order.
    The file is read with the header's columns declared plus one overflow column, so a short
    row is padded with nulls (its missing values become rejection reasons downstream) and a row
    with more fields than the header is found instead of silently cut. Blank lines are skipped
    and counted.

    Raises:
        ExtractError: a file-level problem, a row with more fields than the header, or a line
            DuckDB's CSV reader cannot split.

    """
    header = read_header(path)
    declared = {f"c{i}": "VARCHAR" for i in range(len(header.columns))} | {OVERFLOW_COLUMN: "VARCHAR"}
    position = {name: f"c{header.columns.index(header.mapping[name])}" for name in EXPECTED_COLUMNS}
    try:
        con.execute(
            """
            create or replace temp table loaded_lines as
            select * from read_csv(
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
            """,
            [str(path), declared],
        )
    except duckdb.Error as error:
        first_line = str(error).strip().splitlines()[0]
        raise _fail(
            path,
            f"DuckDB's CSV reader could not read the file: {first_line}",
            "Fix the line it names (the file must be comma-separated UTF-8 with the header's columns).",
        ) from error
    long_rows = con.execute(
        f"select count(*), min(rowid) + 2 from loaded_lines where {OVERFLOW_COLUMN} is not null"
    ).fetchone()
    if long_rows and long_rows[0]:
        raise _fail(
            path,
            f"{long_rows[0]} row(s) have more fields than the header's {len(header.columns)} columns "
            f"(first at line {long_rows[1]})",
            "Remove the extra fields, or quote values that contain commas.",
        )
    all_null = " and ".join(f"c{i} is null" for i in range(len(header.columns)))
    select_list = ", ".join(f"{position[name]} as {_quote_identifier(name)}" for name in EXPECTED_COLUMNS)
    con.execute("create schema if not exists raw")
    con.execute(
        f"create or replace table {RAW_TABLE} as select {select_list} from loaded_lines "
        f"where not ({all_null}) order by rowid"
    )
    counts = con.execute(
        f"select (select count(*) from {RAW_TABLE}), (select count(*) from loaded_lines where {all_null})"
    ).fetchone()
    rows, blank = (int(counts[0]), int(counts[1])) if counts else (0, 0)
    con.execute("drop table loaded_lines")
    if rows == 0:
        raise _fail(path, "the file has a header but no data rows", "Export the extract with its rows.")
    return LoadResult(rows=rows, blank_lines_skipped=blank)
