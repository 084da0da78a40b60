"""Compare the marts of two warehouses built from the same extract on different engines.

Every table of schema ``marts`` in the reference (DuckDB) must exist in the other engine with
the same columns, the same number of rows and the same keys; text, integers and booleans must
be equal, and floats equal within a relative tolerance (``|a - b| <= tol * max(1, |a|, |b|)``,
1e-9 by default: sums of millions of roubles are added in a different order on each engine).
Rows are matched on their non-float columns, which hold each mart's key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from metanprom.warehouse import Warehouse

TOLERANCE = 1e-9


@dataclass
class TableComparison:
    """The outcome for one table."""

    table: str
    rows_reference: int
    rows_other: int
    problems: list[str] = field(default_factory=list)
    max_relative_difference: float = 0.0

    @property
    def equal(self) -> bool:
        """True when the table matches within the tolerance."""
        return not self.problems


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _is_float_column(values: list[Any]) -> bool:
    present = [value for value in values if value is not None]
    return bool(present) and all(isinstance(value, float) for value in present)


def _normalise(value: Any) -> Any:
    """One Python representation per value, whatever the driver returned."""
    if value is None:
        return None
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if type(value).__name__ == "Decimal":
        return float(value)
    return str(value)


def read_table(warehouse: Warehouse, table: str) -> dict[str, list[Any]]:
    """Read ``marts.<table>`` as columns of normalised Python values (column names lower case)."""
    names, rows = warehouse.fetch_named(f"select * from marts.{table}")
    return {name.lower(): [_normalise(row[i]) for row in rows] for i, name in enumerate(names)}


def _row_key(row: dict[str, Any], key_columns: list[str]) -> tuple[Any, ...]:
    return tuple((value is None, "" if value is None else str(value)) for value in (row[c] for c in key_columns))


def compare_table(
    table: str, reference: dict[str, list[Any]], other: dict[str, list[Any]], tolerance: float = TOLERANCE
) -> TableComparison:
    """Compare one mart read from two engines."""
    rows_reference = len(next(iter(reference.values()), []))
    rows_other = len(next(iter(other.values()), []))
    result = TableComparison(table, rows_reference, rows_other)
    missing = sorted(set(reference) - set(other))
    extra = sorted(set(other) - set(reference))
    if missing or extra:
        result.problems.append(f"columns differ: missing {missing}, unexpected {extra}")
        return result
    if rows_reference != rows_other:
        result.problems.append(f"row counts differ: {rows_reference:,} vs {rows_other:,}")
    float_columns = [name for name in reference if _is_float_column(reference[name] + other[name])]
    key_columns = [name for name in reference if name not in float_columns]
    by_key_reference = _index(reference, key_columns)
    by_key_other = _index(other, key_columns)
    only_reference = set(by_key_reference) - set(by_key_other)
    only_other = set(by_key_other) - set(by_key_reference)
    if only_reference or only_other:
        sample = sorted(only_reference or only_other)[:3]
        result.problems.append(
            f"{len(only_reference)} row(s) only in the reference and {len(only_other)} only in the other "
            f"engine (matched on {', '.join(key_columns)}); e.g. {sample}"
        )
    worst: dict[str, tuple[float, Any, Any]] = {}
    for key in set(by_key_reference) & set(by_key_other):
        row_reference, row_other = by_key_reference[key], by_key_other[key]
        for name in float_columns:
            a, b = _number(row_reference[name]), _number(row_other[name])
            if (a is None) != (b is None):
                worst[name] = (math.inf, a, b)
                continue
            if a is None or b is None:
                continue
            difference = abs(a - b) / max(1.0, abs(a), abs(b))
            result.max_relative_difference = max(result.max_relative_difference, difference)
            if difference > tolerance and difference > worst.get(name, (0.0, None, None))[0]:
                worst[name] = (difference, a, b)
    for name, (difference, a, b) in sorted(worst.items()):
        result.problems.append(f"column {name}: relative difference {difference:.3g} (e.g. {a!r} vs {b!r})")
    return result


def _index(columns: dict[str, list[Any]], key_columns: list[str]) -> dict[tuple[Any, ...], dict[str, Any]]:
    names = list(columns)
    count = len(columns[names[0]]) if names else 0
    rows = [{name: columns[name][i] for name in names} for i in range(count)]
    indexed: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = _row_key(row, key_columns)
        # a repeated key (a mart whose key includes a float) keeps its rows apart by position
        while key in indexed:
            key = (*key, ("#", ""))
        indexed[key] = row
    return indexed


def compare_marts(
    reference: Warehouse, other: Warehouse, tables: list[str], tolerance: float = TOLERANCE
) -> list[TableComparison]:
    """Compare each of ``tables`` (in schema marts) between the two warehouses."""
    results = []
    for table in tables:
        try:
            other_table = read_table(other, table)
        except Exception as error:  # noqa: BLE001 - a missing table is a finding, not a crash
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            results.append(TableComparison(table, 0, 0, [f"cannot read marts.{table}: {first_line}"]))
            continue
        results.append(compare_table(table, read_table(reference, table), other_table, tolerance))
    return results
