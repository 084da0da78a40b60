"""Generate the malformed-extract corpus in tests/corpus/ from the shipped extract.

Each case is a small file derived from the first rows of seeds/bank_scrooge.csv plus the outcome
a build must have on it (see CASES). tests/python/test_corpus.py builds every file and checks
the outcome; it also regenerates the corpus to check the committed files are current.

    python scripts/make_bad_extracts.py [--out tests/corpus]
"""

from __future__ import annotations

import argparse
import codecs
import csv
import io
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "seeds" / "bank_scrooge.csv"
BASE_ROWS = 200


def _base() -> tuple[list[str], list[list[str]]]:
    with SHIPPED.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [row for _, row in zip(range(BASE_ROWS), reader, strict=False)]
    return header, rows


def _csv(header: list[str], rows: list[list[str]], newline: str = "\n", quote_all: bool = False) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _set(rows: list[list[str]], header: list[str], index: int, column: str, value: str) -> None:
    rows[index][header.index(column)] = value


def build_corpus() -> dict[str, tuple[bytes, dict]]:
    """Return {file name: (content, expected outcome)} for every case."""
    header, base = _base()
    cases: dict[str, tuple[bytes, dict]] = {}

    def add(name: str, content: str | bytes, **expected: object) -> None:
        data = content.encode("utf-8") if isinstance(content, str) else content
        cases[name] = (data, expected)

    def rows() -> list[list[str]]:
        return [list(row) for row in base]

    # --- file-level problems: the build stops, nothing is published ---
    add("fatal_empty.csv", b"", exit=2, words=["the file is empty"])
    add("fatal_header_only.csv", ",".join(header) + "\n", exit=2, words=["header but no data rows"])
    dropped = [name for name in header if name != "EST_SALARY"]
    add(
        "fatal_missing_column.csv",
        _csv(dropped, [[v for n, v in zip(header, row, strict=True) if n != "EST_SALARY"] for row in base]),
        exit=2,
        words=["missing column(s) EST_SALARY"],
    )
    renamed = ["churned" if name == "churn" else name for name in header]
    add(
        "fatal_renamed_column.csv",
        _csv(renamed, rows()),
        exit=2,
        words=["missing column(s) churn", "churned", "renamed?"],
    )
    add("fatal_semicolons.csv", _csv(header, rows()).replace(",", ";"), exit=2, words=["separated by semicolons"])
    add(
        "fatal_cp1251.csv",
        _csv(header, rows()).encode("cp1251"),
        exit=2,
        words=["not UTF-8", "expected encoding is UTF-8", "iconv"],
    )
    add(
        "fatal_utf16.csv", _csv(header, rows()).encode("utf-16"), exit=2, words=["UTF-16", "expected encoding is UTF-8"]
    )
    add("fatal_binary.csv", bytes(range(256)) * 64, exit=2, words=["looks binary"])
    long_rows = rows()
    long_rows[4] = [*long_rows[4], "surplus"]
    add(
        "fatal_extra_field.csv",
        _csv(header, long_rows),
        exit=2,
        words=["more fields than the header", "first at line 6"],
    )
    every_row_bad = rows()
    for index in range(len(every_row_bad)):
        _set(every_row_bad, header, index, "gender", "?")
    add(
        "fatal_every_row_rejected.csv",
        _csv(header, every_row_bad),
        exit=2,
        words=["assert_some_clients_accepted"],
    )

    # --- row-level problems: quarantined with a reason, the build succeeds ---
    def row_case(name: str, column: str, value: str, reason: str, count: int = 3) -> None:
        data = rows()
        for index in range(count):
            _set(data, header, 10 * index + 1, column, value)
        add(name, _csv(header, data), exit=0, rejected=count, reason=reason)

    row_case("rows_text_in_number.csv", "score", "восемьсот", "score: not a whole number")
    row_case("rows_out_of_range.csv", "age", "150.0", "age: outside the plausible range 18..100")
    row_case("rows_unknown_gender.csv", "gender", "F", "gender: not an accepted value")
    row_case("rows_bad_flag.csv", "churn", "yes", "churn: not 0 or 1")
    row_case("rows_missing_user_id.csv", "USERID", "", "user_id: missing")
    row_case("rows_negative_balance.csv", "balance", "-100.5", "balance: outside the plausible range")
    duplicated = rows()
    duplicated[7] = list(duplicated[3])
    duplicated[9] = list(duplicated[3])
    add(
        "rows_repeated_key.csv",
        _csv(header, duplicated),
        exit=0,
        rejected=2,
        reason="user_id, city: repeats an earlier row",
    )
    short = _csv(header, rows()).splitlines()
    short[6] = ",".join(short[6].split(",")[:7])
    add("rows_short_row.csv", "\n".join(short) + "\n", exit=0, rejected=1, reason="churn: missing")

    # --- harmless variations: accepted as they are ---
    add("ok_bom.csv", codecs.BOM_UTF8 + _csv(header, rows()).encode("utf-8"), exit=0, rejected=0)
    add("ok_crlf.csv", _csv(header, rows(), newline="\r\n"), exit=0, rejected=0)
    add("ok_quoted.csv", _csv(header, rows(), quote_all=True), exit=0, rejected=0)
    order = [header.index(name) for name in sorted(header, key=str.lower)]
    add(
        "ok_reordered.csv",
        _csv([header[i] for i in order], [[row[i] for i in order] for row in rows()]),
        exit=0,
        rejected=0,
    )
    add("ok_trailing_blank_lines.csv", _csv(header, rows()) + "\n\n\n", exit=0, rejected=0)

    # --- values from the data are text, never code ---
    hostile = rows()
    _set(hostile, header, 2, "city", "<script>alert('x')</script>")
    _set(hostile, header, 5, "city", "'; drop table marts.dim_clients; --")
    add("ok_hostile_city_names.csv", _csv(header, hostile), exit=0, rejected=0, new_cities=2)
    _second_round(header, rows, add)
    return cases


def _second_round(header: list[str], rows, add) -> None:  # noqa: ANN001, C901 - the case list reads top to bottom
    """Cases of the second bad-input round (issue "Bad input, second round")."""
    text = _csv(header, rows())
    # 1. a literal path: the file with brackets in its name is read, not its neighbour
    add("ok_glob_name[1].csv", text, exit=0, rejected=0)
    add("ok_glob_name1.csv", _csv(header, rows()[:50]), exit=0, rejected=0)
    # 2. missing values spelled NA/NULL/None/-: missing, not rejected; a mostly-rejected file stops
    spelled = rows()
    for index, spelling in enumerate(["NA", "NULL", "None", "-", "N/A", "null"] * 5):
        _set(spelled, header, index * 5, "balance", spelling)
    _set(spelled, header, 3, "age", "NA")
    add("ok_missing_value_spellings.csv", _csv(header, spelled), exit=0, rejected=0, balance_missing_at_least=30)
    mostly_bad = rows()
    for index in range(len(mostly_bad) - 6):
        _set(mostly_bad, header, index, "score", "n.a.")
    add(
        "fatal_mostly_rejected.csv",
        _csv(header, mostly_bad),
        exit=2,
        words=[
            "194 of 200 rows (97.0%) were rejected",
            "max_rejected_share",
            "score: not a whole number",
            "e.g. row 1",
        ],
    )
    # 3. look-alike cities: case, zero-width space, tab are the known city; Latin letters are rejected
    cities = rows()
    _set(cities, header, 1, "city", "ярославль")
    _set(cities, header, 2, "city", "Рыбинск\u200b")
    _set(cities, header, 3, "city", "Ростов\t")
    _set(cities, header, 4, "city", "Poстов")  # Latin P and o
    _set(cities, header, 5, "gender", "M")  # Latin M
    add(
        "rows_lookalike_categories.csv",
        _csv(header, cities),
        exit=0,
        rejected=2,
        reason="look-alike letters",
        rejected_rows=[5, 6],
        known_cities_only=True,
        words=["U+0050 LATIN CAPITAL LETTER P", "U+006F LATIN SMALL LETTER O"],
    )
    # 4. NUL bytes anywhere: a file-level stop naming the line and the column
    many = base_rows(rows, 6)
    many[899][header.index("city")] = "Яро\x00славль"
    add("fatal_nul_after_64k.csv", _csv(header, many), exit=2, words=["line 901", "column city", "U+0000"])
    add("fatal_trailing_zero_bytes.csv", text.encode("utf-8") + b"\x00" * 70000, exit=2, words=["NUL"])
    # 5. a row of delimiters only is a row (rejected), and later row numbers do not shift
    lines = text.split("\n")
    lines.insert(51, "," * (len(header) - 1))
    delimited = "\n".join(lines)
    add(
        "rows_delimiters_only.csv",
        delimited,
        exit=0,
        rejected=1,
        reason="user_id: missing",
        rejected_rows=[51],
    )
    # 8. valid CSV: quoted line break, mixed and CR-only line endings, many blank lines, quoted header
    broken = rows()
    _set(broken, header, 7, "city", "Ярос\nлавль")  # a quoted line break: a new city, accepted with a warning
    add("ok_quoted_line_break.csv", _csv(header, broken), exit=0, rejected=0)
    mixed = text.split("\n")
    add("ok_mixed_line_endings.csv", "\r\n".join(mixed[:100]) + "\r\n" + "\n".join(mixed[100:]), exit=0, rejected=0)
    add("ok_cr_only.csv", text.replace("\n", "\r"), exit=0, rejected=0)
    add("ok_many_blank_lines.csv", "\n" * 3 + text.replace("\n", "\n" * 60, 150), exit=0, rejected=0)
    quoted_header = [*[f'"{name}"' for name in header], '"note, free text"']
    add(
        "ok_quoted_header_with_comma.csv",
        ",".join(quoted_header) + "\n" + "\n".join(",".join([*row, "x"]) for row in _quoted(rows())) + "\n",
        exit=0,
        rejected=0,
        words=["not used by the warehouse, ignored: note, free text"],
    )

    # 10. degenerate data publishes honestly
    def every_row(column: str, value: str) -> list[list[str]]:
        data = rows()
        for index in range(len(data)):
            _set(data, header, index, column, value)
        return data

    add("ok_no_churners.csv", _csv(header, every_row("churn", "0")), exit=0, rejected=0)
    add("ok_all_churners.csv", _csv(header, every_row("churn", "1")), exit=0, rejected=0)
    add("ok_three_rows.csv", _csv(header, rows()[:3]), exit=0, rejected=0)
    add("ok_constant_balance.csv", _csv(header, every_row("balance", "1000.0")), exit=0, rejected=0)
    # 11. DuckDB's reason reaches the message
    add("fatal_unterminated_quote.csv", text + '1,"850.0\n', exit=2, words=["unterminated quote", "Line"])
    # 12. compressed
    import gzip

    add("fatal_gzip.csv", gzip.compress(text.encode("utf-8"), mtime=0), exit=2, words=["gzip-compressed", "gunzip"])
    # 13. user ids: positive, no leading zeros
    ids = rows()
    _set(ids, header, 10, "USERID", "-5")
    _set(ids, header, 20, "USERID", "0")
    add(
        "rows_user_id_not_positive.csv",
        _csv(header, ids),
        exit=0,
        rejected=2,
        reason="user_id: outside the plausible range 1..",
    )
    zeros = rows()
    _set(zeros, header, 30, "USERID", "0" + zeros[30][header.index("USERID")])
    add(
        "rows_user_id_leading_zeros.csv",
        _csv(header, zeros),
        exit=0,
        rejected=1,
        reason="user_id: written with leading zeros",
    )
    long_city = rows()
    _set(long_city, header, 12, "city", "Кострома" * 20000)
    add("ok_long_city_value.csv", _csv(header, long_city), exit=0, rejected=0, max_output_line=400)


def base_rows(rows, copies: int) -> list[list[str]]:  # noqa: ANN001
    """The base rows repeated ``copies`` times with distinct user ids (a file over 64 KiB)."""
    out = []
    for copy in range(copies):
        for row in rows():
            row[0] = str(int(row[0]) + 1_000_000 * copy)
            out.append(row)
    return out


def _quoted(rows: list[list[str]]) -> list[list[str]]:
    return [[f'"{value}"' for value in row] for row in rows]


def write_corpus(out_dir: Path) -> None:
    """Write every case file and manifest.json (the expected outcomes) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name, (content, expected) in build_corpus().items():
        (out_dir / name).write_bytes(content)
        manifest[name] = expected
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "tests" / "corpus")
    write_corpus(parser.parse_args().out)
