"""Checking and loading a client extract (CSV) into the raw layer, all columns as text.

File-level problems stop the build with an :class:`ExtractError` that names the file (and the
line and column where one applies) and says what to do: no file, a directory, a named pipe, a
link loop, compressed content, empty, header only, missing or repeated columns, wrong delimiter,
not UTF-8, NUL bytes or other control characters anywhere in the file. Row-level problems are
not handled here: every data row is loaded as text and the dbt models quarantine the bad ones
with a reason.

The path is used literally: ``clients[1].csv`` or ``month?.csv`` name one file, never a glob
(DuckDB's reader expands globs, so it reads the file through a link with a plain name). The CSV
rules are RFC 4180's: quoted delimiters and line breaks, LF, CRLF, CR-only or mixed line
endings, any number of blank lines (blank lines are not rows; a line of delimiters only is a row).
"""

from __future__ import annotations

import codecs
import csv
import errno
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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
_CHUNK_BYTES = 1 << 24
#: Control characters a CSV text file must not hold (tab, LF and CR are allowed).
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_CONTROL_PATTERN = re.compile(b"[" + re.escape(_CONTROL_BYTES) + b"]")
#: More blank lines than this and the file is read through a normalised copy (DuckDB's reader
#: fails on very long runs of empty lines).
_MAX_BLANK_LINE_RUNS = 10_000
MAX_SHOWN_CHARS = 60


class ExtractError(Exception):
    """A file-level problem with an extract: the build stops before anything is published."""


def shorten(text: str, limit: int = MAX_SHOWN_CHARS) -> str:
    """Return a value as a person can read it in one line: invisible characters escaped, cut with "…"."""
    shown = "".join(
        char if char.isprintable() and char not in "\u200b\u200c\u200d\u2060\ufeff\u00ad" else f"\\u{ord(char):04x}"
        for char in text
    )
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


@dataclass(frozen=True)
class ExtractHeader:
    """The header of an extract: the columns as written, mapped to the canonical names."""

    path: Path
    columns: tuple[str, ...]
    mapping: dict[str, str]  # canonical name -> name as written in the file
    ignored: tuple[str, ...] = ()  # columns the warehouse does not use


@dataclass(frozen=True)
class FileScan:
    """What one pass over the whole file found about its lines."""

    crlf: int
    lone_cr: int
    lone_lf: int
    blank_line_runs: int
    leading_blank: bool

    @property
    def needs_normalising(self) -> bool:
        """Mixed or CR-only line endings, long runs of blank lines or blank lines before the header."""
        kinds = sum(1 for count in (self.crlf, self.lone_cr, self.lone_lf) if count)
        return kinds > 1 or bool(self.lone_cr) or self.blank_line_runs > _MAX_BLANK_LINE_RUNS or self.leading_blank


def _fail(path: Path, problem: str, action: str) -> ExtractError:
    return ExtractError(f"{path}: {problem}. {action}")


def check_path(path: Path) -> None:
    """Check that the extract path names one readable regular file (used literally, never as a glob).

    Raises:
        ExtractError: missing, a directory, a named pipe or device, a symbolic-link loop, unreadable.

    """
    try:
        mode = path.stat().st_mode
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise _fail(
                path, "the path is a symbolic link loop", "Point METANPROM_EXTRACT at the CSV file itself."
            ) from None
        if path.is_symlink():
            raise _fail(
                path, "a symbolic link to a file that does not exist", "Fix the link or give the file's path."
            ) from None
        raise _fail(path, "file not found", "Check the path given in METANPROM_EXTRACT.") from None
    if stat.S_ISDIR(mode):
        raise _fail(path, "this is a directory, not a file", "Give the path of the CSV file inside it.")
    if stat.S_ISFIFO(mode):
        raise _fail(path, "this is a named pipe, not a regular file", "Save the extract to a file and give its path.")
    if not stat.S_ISREG(mode):
        raise _fail(path, "this is not a regular file (a device or socket)", "Give the path of a CSV file.")
    if not os.access(path, os.R_OK):
        raise _fail(path, "the file cannot be read (permission denied)", "Make it readable (chmod) or copy it.")


def _decode_header_line(path: Path, head: bytes) -> tuple[str, bytes]:
    """Return the header line as text (the first non-blank line; LF, CRLF or CR) and the bytes after it."""
    stripped = head.lstrip(b"\r\n")
    match = re.search(b"\r\n|\n|\r", stripped)
    first_line, rest = (stripped[: match.start()], stripped[match.end() :]) if match else (stripped, b"")
    try:
        header_text = first_line.decode("utf-8").strip(" ")
        # Decode the sniffed body too, allowing a multi-byte character cut at the buffer's end.
        codecs.getincrementaldecoder("utf-8")().decode(rest, final=False)
    except UnicodeDecodeError as error:
        raise _fail(
            path,
            f"not UTF-8 text (invalid byte at offset {error.start} of the first block; the expected encoding is UTF-8)",
            "Convert it, e.g. from Windows-1251: `iconv -f cp1251 -t utf-8 in.csv > out.csv`.",
        ) from error
    return header_text, rest


def _check_binary(path: Path, head: bytes) -> None:
    if head.startswith(b"\x1f\x8b"):
        raise _fail(path, "the file is gzip-compressed", "Unpack it first (`gunzip -k file.csv.gz`) and give the .csv.")
    if head.startswith((b"PK\x03\x04", b"7z\xbc\xaf", b"BZh", b"\xfd7zXZ")):
        raise _fail(path, "the file is a compressed archive (zip/7z/bz2/xz)", "Unpack it and give the .csv inside.")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _fail(
            path,
            "the file is UTF-16 text; the expected encoding is UTF-8",
            "Save it again as UTF-8 (e.g. `iconv -f utf-16 -t utf-8 in.csv > out.csv`).",
        )
    if len(head) - len(head.translate(None, _CONTROL_BYTES)) > len(head) // 20:  # > 5 % control bytes
        raise _fail(
            path,
            "the file contains NUL bytes and looks binary, not a CSV text file",
            "Export the extract as a comma-separated UTF-8 text file.",
        )


def _parse_header(path: Path, header_text: str) -> tuple[str, ...]:
    try:
        fields = next(csv.reader([header_text]), [])
    except csv.Error as error:
        raise _fail(path, f"the header line cannot be read as CSV ({error})", "Fix the header (line 1).") from error
    columns = tuple(name.strip() for name in fields)
    if len(columns) == 1:
        for delimiter, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
            if delimiter in header_text:
                raise _fail(
                    path,
                    f"the header is separated by {name}, not commas",
                    "Export the extract with ',' as the delimiter.",
                )
    return columns


def read_header(path: Path) -> ExtractHeader:
    """Check the file-level shape of an extract and map its header to the canonical columns.

    Raises:
        ExtractError: the file is missing, empty, binary, compressed, not UTF-8, has no data rows,
            uses another delimiter, or lacks one of :data:`EXPECTED_COLUMNS`.

    """
    check_path(path)
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if not head.strip():
        raise _fail(path, "the file is empty", "Export the extract again; it must start with a header line.")
    _check_binary(path, head)
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8) :]
    header_text, rest = _decode_header_line(path, head)
    columns = _parse_header(path, header_text)
    lower = [name.lower() for name in columns]
    repeated = sorted({name for name in columns if lower.count(name.lower()) > 1})
    if repeated:
        raise _fail(
            path, f"column(s) {', '.join(repeated)} appear more than once in the header (line 1)", "Keep one of each."
        )
    by_lower = {name.lower(): name for name in columns}
    expected_lower = {name.lower() for name in EXPECTED_COLUMNS}
    unexpected = tuple(name for name in columns if name.lower() not in expected_lower)
    missing = [name for name in EXPECTED_COLUMNS if name.lower() not in by_lower]
    if missing:
        shown = ", ".join(shorten(name, 30) for name in unexpected)
        hint = f"; it has unexpected column(s) {shown} (renamed?)" if unexpected else ""
        raise _fail(
            path,
            f"missing column(s) {', '.join(missing)} in the header (line 1){hint}",
            f"The header must name all of: {', '.join(EXPECTED_COLUMNS)}.",
        )
    if not rest.strip() and path.stat().st_size <= _SNIFF_BYTES:
        raise _fail(path, "the file has a header but no data rows", "Export the extract with its rows.")
    mapping = {name: by_lower[name.lower()] for name in EXPECTED_COLUMNS}
    return ExtractHeader(path=path, columns=columns, mapping=mapping, ignored=unexpected)


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            yield chunk


def _locate(path: Path, offset: int, columns: tuple[str, ...]) -> tuple[int, str]:
    """Return the 1-based file line and the header column at a byte offset (for messages)."""
    line, start = 1, 0
    consumed = 0
    for chunk in _chunks(path):
        end = min(len(chunk), offset - consumed)
        line += chunk.count(b"\n", 0, end)
        last = chunk.rfind(b"\n", 0, end)
        if last >= 0:
            start = consumed + last + 1
        consumed += len(chunk)
        if consumed >= offset:
            break
    with path.open("rb") as handle:
        handle.seek(start)
        prefix = handle.read(offset - start).decode("utf-8", errors="replace")
    try:
        field_index = max(len(next(csv.reader([prefix]), [""])) - 1, 0)
    except csv.Error:
        field_index = prefix.count(",")
    column = columns[field_index] if 0 <= field_index < len(columns) else f"field {field_index + 1}"
    return line, column


def scan_file(path: Path, header: ExtractHeader) -> FileScan:
    """One pass over the whole file: control characters stop the build; line endings are counted.

    Raises:
        ExtractError: a NUL byte or another control character anywhere in the file.

    """
    crlf = lone_cr = lone_lf = blank_runs = 0
    offset = 0
    previous_tail = b""
    leading_blank = False
    for index, chunk in enumerate(_chunks(path)):
        if len(chunk.translate(None, _CONTROL_BYTES)) != len(chunk):
            position = _CONTROL_PATTERN.search(chunk)
            assert position is not None
            byte = chunk[position.start()]
            line, column = _locate(path, offset + position.start(), header.columns)
            raise _fail(
                path,
                f"line {line}, column {shorten(column, 30)}: control character U+{byte:04X} "
                f"({'NUL' if byte == 0 else 'not printable'}); a CSV text file cannot hold it "
                "(a corrupted or padded export?)",
                "Remove it (e.g. `tr -d '\\000' < in.csv > out.csv` for NUL bytes) or export the extract again.",
            )
        if index == 0:
            body = chunk[3:] if chunk.startswith(codecs.BOM_UTF8) else chunk
            leading_blank = body[:1] in (b"\r", b"\n")
        joined = previous_tail + chunk
        pairs = joined.count(b"\r\n")
        crlf += pairs
        lone_cr += joined.count(b"\r") - pairs - previous_tail.count(b"\r")
        lone_lf += joined.count(b"\n") - pairs - previous_tail.count(b"\n")
        blank_runs += joined.count(b"\n\n") + joined.count(b"\r\n\r\n") - previous_tail.count(b"\n\n")
        # keep the last byte so that a CRLF split between two chunks is seen whole
        if chunk.endswith(b"\r"):
            lone_cr -= 1
            previous_tail = b"\r"
        else:
            previous_tail = b""
        offset += len(chunk)
    if previous_tail:
        lone_cr += 1
    return FileScan(crlf, lone_cr, lone_lf, blank_runs, leading_blank)


def _normalised_copy(path: Path, target: Path) -> None:
    """Copy ``path`` with every line ending as LF and without blank lines (outside the data rows)."""
    pending_cr = False
    last_was_newline = True  # drops blank lines before the header too
    with target.open("wb") as out:
        for chunk in _chunks(path):
            if pending_cr:
                chunk = b"\r" + chunk
            pending_cr = chunk.endswith(b"\r")
            if pending_cr:
                chunk = chunk[:-1]
            text = re.sub(b"\r\n?", b"\n", chunk)
            text = re.sub(b"\n{2,}", b"\n", text)
            if last_was_newline:
                text = text.lstrip(b"\n")
            if text:
                out.write(text)
                last_was_newline = text.endswith(b"\n")
        if pending_cr:
            out.write(b"\n")


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


OVERFLOW_COLUMN = "__field_after_the_last_column"


@dataclass(frozen=True)
class LoadResult:
    """What loading an extract did."""

    rows: int
    normalised: bool = False
    ignored_columns: tuple[str, ...] = field(default_factory=tuple)


def _read_csv_sql(select: str, where: str, parallel: bool) -> str:
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
            parallel = {str(parallel).lower()},
            max_line_size = 10000000,
            encoding = 'utf-8'
        )
        where {where}
    """


def _reader_failure(path: Path, error: duckdb.Error) -> ExtractError:
    """DuckDB's own reason (the lines before its "Possible fixes"), each cut to a readable length."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    if "Possible fixes:" in lines:
        lines = lines[: lines.index("Possible fixes:")]
    detail = "; ".join(shorten(line, 160) for line in lines[:4])
    return _fail(
        path,
        f"DuckDB's CSV reader could not read the file: {detail}",
        "Fix the line it names (the file must be comma-separated UTF-8 with the header's columns; "
        "a value with a comma, a quote or a line break must be in double quotes, inner quotes doubled).",
    )


@contextmanager
def _literal_path(path: Path) -> Iterator[Path]:
    """Yield a path to the same file with a plain name, so DuckDB never expands glob characters in it."""
    with tempfile.TemporaryDirectory(prefix="metanprom-extract-") as folder:
        link = Path(folder) / "extract.csv"
        link.symlink_to(path.resolve())
        yield link


def load_extract(con: duckdb.DuckDBPyConnection, path: Path) -> LoadResult:
    """Load an extract into ``raw.bank_scrooge`` with every column as text, in file order.

    Columns may come in any order and any letter case; they are stored in the canonical order.
    The file is read with the header's columns declared plus one overflow column, so a short
    row is padded with nulls (its missing values become rejection reasons downstream) and a row
    with more fields than the header is found instead of silently cut. Blank lines are not rows;
    a line of delimiters only is a row (all its values missing). Mixed or CR-only line endings
    and long runs of blank lines are read through a normalised copy in a temp folder.

    Raises:
        ExtractError: a file-level problem, a row with more fields than the header, or a line
            DuckDB's CSV reader cannot split (its own reason is in the message).

    """
    header = read_header(path)
    scan = scan_file(path, header)
    declared = {f"c{i}": "VARCHAR" for i in range(len(header.columns))} | {OVERFLOW_COLUMN: "VARCHAR"}
    position = {name: f"c{header.columns.index(header.mapping[name])}" for name in EXPECTED_COLUMNS}
    select_list = ", ".join(f"{position[name]} as {_quote_identifier(name)}" for name in EXPECTED_COLUMNS)
    stop_at_long_row = f"case when {OVERFLOW_COLUMN} is not null then error('{LONG_ROW_MARKER}') else true end"
    con.execute("create schema if not exists raw")
    with _literal_path(path) as literal:
        source = literal
        if scan.needs_normalising:
            source = literal.with_name("normalised.csv")
            _normalised_copy(literal, source)
        _read_into_raw(con, path, source, declared, select_list, stop_at_long_row, len(header.columns))
    rows = int(con.execute(f"select count(*) from {RAW_TABLE}").fetchone()[0])
    if rows == 0:
        raise _fail(path, "the file has a header but no data rows", "Export the extract with its rows.")
    return LoadResult(rows=rows, normalised=scan.needs_normalising, ignored_columns=header.ignored)


def _read_into_raw(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    source: Path,
    declared: dict[str, str],
    select_list: str,
    stop_at_long_row: str,
    columns: int,
) -> None:
    """Fast parallel read; DuckDB's serial reader when the file needs it (quoted line breaks)."""
    for parallel in (True, False):
        try:
            con.execute(
                f"create or replace table {RAW_TABLE} as " + _read_csv_sql(select_list, stop_at_long_row, parallel),
                [str(source), declared],
            )
            return
        except duckdb.Error as error:
            if LONG_ROW_MARKER in str(error):
                raise _long_rows(con, path, source, declared, columns) from None
            if parallel and "parallel" in str(error).lower():
                continue
            raise _reader_failure(path, error) from error


def _long_rows(
    con: duckdb.DuckDBPyConnection, path: Path, source: Path, declared: dict[str, str], columns: int
) -> ExtractError:
    """Count the rows with more fields than the header and name the first (a second read)."""
    try:
        con.execute(
            "create or replace temp table loaded_lines as " + _read_csv_sql("*", "true", parallel=False),
            [str(source), declared],
        )
    except duckdb.Error as error:
        return _reader_failure(path, error)
    count, first_row = con.execute(
        f"select count(*), min(rowid) + 1 from loaded_lines where {OVERFLOW_COLUMN} is not null"
    ).fetchone()
    con.execute("drop table loaded_lines")
    return _fail(
        path,
        f"{count} row(s) have more fields than the header's {columns} columns (first at line {first_row + 1})",
        "Remove the extra fields, or quote values that contain commas.",
    )


__all__ = ["EXPECTED_COLUMNS", "ExtractError", "ExtractHeader", "LoadResult", "load_extract", "read_header", "shorten"]
