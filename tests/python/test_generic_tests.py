"""The project's own generic dbt tests find exactly the rows they should (tests/dbt/generic)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Keys with a duplicate (k1 twice, k3 three times), a null twice, and unique ones.
KEYS = "('k1', 1), ('k1', 2), ('k2', 1), ('k3', 1), ('k3', 1), ('k3', 1), (null, 1), (null, 2), ('k4', 7)"


def _show(tmp_path: Path, sql: str) -> list[dict[str, object]]:
    """Rows of ``dbt show --inline sql`` on an empty DuckDB file in tmp_path."""
    env = dict(
        os.environ,
        METANPROM_DB=str(tmp_path / "empty.duckdb"),
        DBT_TARGET_PATH=str(tmp_path / "target"),
        DBT_LOG_PATH=str(tmp_path / "logs"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    dbt = Path(sys.executable).with_name("dbt")
    completed = subprocess.run(
        [
            str(dbt),
            "show",
            "--inline",
            sql,
            "--limit",
            "-1",
            "--output",
            "json",
            "--log-format",
            "json",
            "--profiles-dir",
            str(REPO_ROOT),
            "--project-dir",
            str(REPO_ROOT),
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    for line in completed.stdout.splitlines():
        data = json.loads(line).get("data", {})
        if "preview" in data:
            return json.loads(data["preview"])
    raise AssertionError(f"no preview in dbt show's output: {completed.stdout[-2000:]}")


#: case -> (test macro, column_name, expected failing rows as (key_value, occurrences))
CASES = {
    "duckdb_single": ("test_primary_key", "key_text", {("k1", 2), ("k3", 3), (None, 2)}),
    "portable_single": ("metanprom.default__test_primary_key", "key_text", {("k1", 2), ("k3", 3), (None, 2)}),
    # a composite key: k3|1 is the only repeated pair; a null part makes the whole key null
    "duckdb_composite": ("test_primary_key", "key_text || '|' || cast(part as varchar)", {("k3|1", 3), (None, 2)}),
    "portable_composite": (
        "metanprom.default__test_primary_key",
        "key_text || '|' || cast(part as varchar)",
        {("k3|1", 3), (None, 2)},
    ),
}


def test_primary_key_reports_each_repeated_and_null_key(tmp_path: Path) -> None:
    """On DuckDB the test groups 64-bit hashes first and texts only for repeated hashes; it reports
    every duplicated key with its count, and nulls, exactly as the portable way other engines run.
    100,000 unique keys (over DuckDB's row groups) give no row. One dbt invocation for every case."""
    model = f"(select * from (values {KEYS}) as keys_table (key_text, part))"
    unique_model = "(select 'client-' || cast(range as varchar) as key_text from range(100000))"
    cases = {**CASES, "duckdb_unique": ("test_primary_key", "key_text", set())}
    parts = []
    for case, (implementation, column_name, _) in cases.items():
        source = unique_model if case == "duckdb_unique" else model
        parts.append(
            f"select '{case}' as test_case, cast(key_value as varchar) as key_value, occurrences "
            f"from ({{{{ {implementation}({source!r}, {column_name!r}) }}}})"
        )
    rows = _show(tmp_path, "\nunion all\n".join(parts))
    found: dict[str, set[tuple[object, int]]] = {case: set() for case in cases}
    for row in rows:
        found[str(row["test_case"])].add((row["key_value"], row["occurrences"]))
    assert found == {case: expected for case, (_, _, expected) in cases.items()}
