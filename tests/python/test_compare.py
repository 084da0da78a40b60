"""The cross-engine comparison catches what it must (positive controls for `make test-engines`)."""

from __future__ import annotations

from pathlib import Path

from metanprom.compare import compare_marts, compare_table
from metanprom.warehouse import open_duckdb

REFERENCE = {
    "segment_id": ["S1", "S2"],
    "clients": [1544, 2000],
    "churn_rate": [0.43199481865284976, 0.377],
    "definition": ["balance ≥ 660k and gender = М", "equity 4–7 and gender = М"],
}


def _copy(**changes: list) -> dict[str, list]:
    table = {name: list(values) for name, values in REFERENCE.items()}
    table.update(changes)
    return table


def test_identical_and_rounding_noise_are_equal() -> None:
    assert compare_table("t", REFERENCE, _copy()).equal
    noise = _copy(churn_rate=[0.43199481865284976 * (1 + 1e-13), 0.377])
    result = compare_table("t", REFERENCE, noise)
    assert result.equal and 0 < result.max_relative_difference < 1e-12


def test_a_float_beyond_the_tolerance_is_reported() -> None:
    result = compare_table("t", REFERENCE, _copy(churn_rate=[0.43199481865284976 * (1 + 1e-8), 0.377]))
    assert not result.equal
    assert "churn_rate" in result.problems[0]


def test_a_changed_key_count_or_text_is_reported() -> None:
    assert "row(s) only in" in compare_table("t", REFERENCE, _copy(clients=[1544, 2001])).problems[0]
    assert (
        "row(s) only in"
        in compare_table("t", REFERENCE, _copy(definition=["x", REFERENCE["definition"][1]])).problems[0]
    )
    shorter = {name: values[:1] for name, values in REFERENCE.items()}
    assert "row counts differ: 2 vs 1" in compare_table("t", REFERENCE, shorter).problems[0]
    assert "columns differ" in compare_table("t", REFERENCE, {**_copy(), "extra": [1, 2]}).problems[0]


def test_a_null_against_a_value_is_reported() -> None:
    result = compare_table("t", REFERENCE, _copy(churn_rate=[None, 0.377]))
    assert not result.equal and "churn_rate" in result.problems[0]


def test_compare_marts_reads_through_the_warehouse_reader(tmp_path: Path) -> None:
    """Two DuckDB files written with Warehouse.replace_table: equal, then one value changed."""
    columns = {"segment_id": "varchar", "clients": "bigint", "churn_rate": "double precision"}
    rows = [
        {"segment_id": "S1", "clients": 1544, "churn_rate": 0.432},
        {"segment_id": "S2", "clients": 2000, "churn_rate": float("nan")},
    ]
    warehouses = []
    for name in ("a", "b"):
        warehouse = open_duckdb(tmp_path / f"{name}.duckdb")
        warehouse.connection.execute("create schema marts")
        warehouse.replace_table("marts.segments", columns, rows, description="test")
        warehouses.append(warehouse)
    reference, other = warehouses
    assert reference.fetch("select churn_rate from marts.segments where segment_id = 'S2'") == [(None,)]  # NaN -> null
    assert [c.equal for c in compare_marts(reference, other, ["segments"])] == [True]
    other.connection.execute("update marts.segments set churn_rate = 0.433 where segment_id = 'S1'")
    assert [c.equal for c in compare_marts(reference, other, ["segments"])] == [False]
    assert not compare_marts(reference, other, ["missing_table"])[0].equal
