"""The same dbt project on DuckDB, PostgreSQL and Spark gives the same marts (`make test-engines`).

Each engine builds the shipped extract from scratch in a temp dir: a throwaway PostgreSQL
cluster on 127.0.0.1, a local Spark session with its own metastore. Every table of schema
marts (the contract's, the Python step's included) is compared with DuckDB's: same columns,
rows and keys, floats within a relative 1e-9. The read-only role `bi_reader` is checked by
logging in as it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from psycopg2 import errors

from metanprom import engines
from metanprom.compare import compare_marts
from metanprom.engines import EngineRun, EnginesReport, build_engine, environment, throwaway_postgres
from metanprom.paths import REPO_ROOT
from metanprom.warehouse import DbApiWarehouse, Warehouse, open_duckdb, open_postgres, open_spark

#: The marts the contract (warehouse-contract.md) names; every one must exist on every engine.
CONTRACT_MARTS = {
    "dim_clients",
    "rejected_rows",
    "churn_by_feature",
    "product_segments",
    "churn_segments",
    "churn_segment_members",
    "stat_tests",
}

Built = tuple[EngineRun, Warehouse]


@pytest.fixture(scope="session")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("engines")


@pytest.fixture(scope="session")
def duckdb_reference(work: Path) -> Iterator[Built]:
    path = work / "metanprom.duckdb"
    run = build_engine("duckdb", work, lambda: open_duckdb(path))
    warehouse = open_duckdb(path, read_only=True)
    yield run, warehouse
    warehouse.close()


@pytest.fixture(scope="session")
def mart_tables(duckdb_reference: Built) -> list[str]:
    return engines.mart_tables(duckdb_reference[1])


@pytest.fixture(scope="session")
def postgres(work: Path, duckdb_reference: Built, mart_tables: list[str]) -> Iterator[tuple[EngineRun, Warehouse]]:
    with throwaway_postgres() as settings, environment(settings):
        run = build_engine("postgres", work, open_postgres)
        warehouse = open_postgres()
        run.comparisons = compare_marts(duckdb_reference[1], warehouse, mart_tables)
        yield run, warehouse
        warehouse.close()


@pytest.fixture(scope="session")
def spark(work: Path, duckdb_reference: Built, mart_tables: list[str]) -> Iterator[tuple[EngineRun, Warehouse]]:
    with environment({"METANPROM_SPARK_DIR": str(work / "spark")}):
        run = build_engine("spark", work, open_spark)
        warehouse = open_spark()
        run.comparisons = compare_marts(duckdb_reference[1], warehouse, mart_tables)
        yield run, warehouse
        warehouse.close()


def _differences(run: EngineRun) -> list[str]:
    return [f"marts.{c.table}: {'; '.join(c.problems)}" for c in run.comparisons if not c.equal]


def test_reference_has_every_contract_mart(duckdb_reference: Built, mart_tables: list[str]) -> None:
    assert CONTRACT_MARTS <= set(mart_tables)
    clients = duckdb_reference[1].fetch(
        "select count(*), sum(case when is_churned then 1 else 0 end) from marts.dim_clients"
    )
    assert clients == [(10000, 1820)]


@pytest.mark.parametrize("engine", ["postgres", "spark"])
def test_every_mart_equals_duckdb(engine: str, request: pytest.FixtureRequest, mart_tables: list[str]) -> None:
    run, _ = request.getfixturevalue(engine)
    assert [c.table for c in run.comparisons] == mart_tables
    assert not _differences(run), "\n".join(_differences(run))
    assert run.dbt.count("model", "success") == 35
    assert run.dbt.count("test", "fail") == run.dbt.count("test", "error") == 0


@pytest.mark.parametrize("engine", ["postgres", "spark"])
def test_headline_figures_and_p_values_per_engine(
    engine: str, request: pytest.FixtureRequest, duckdb_reference: Built
) -> None:
    """The figures a reader quotes, spelled out: clients, churners, segments and every p-value."""
    _, warehouse = request.getfixturevalue(engine)
    query_figures = (
        "select (select count(*) from marts.dim_clients), "
        "(select count(*) from marts.dim_clients where is_churned), "
        "(select count(*) from marts.churn_segments), "
        "(select count(*) from marts.churn_signals)"
    )
    assert warehouse.fetch(query_figures) == duckdb_reference[1].fetch(query_figures) == [(10000, 1820, 5, 10)]
    query_p = "select hypothesis_id, test, p_value, p_value_adjusted from marts.stat_tests order by hypothesis_id, test"
    expected = duckdb_reference[1].fetch(query_p)
    got = warehouse.fetch(query_p)
    assert len(got) == len(expected) == 15
    for (hypothesis, test, p, p_adjusted), row in zip(expected, got, strict=True):
        assert row[:2] == (hypothesis, test)
        assert row[2] == pytest.approx(p, rel=1e-9, abs=1e-300)
        assert (row[3] is None and p_adjusted is None) or row[3] == pytest.approx(p_adjusted, rel=1e-9)


def test_source_row_numbers_follow_the_file_on_every_engine(
    postgres: Built, spark: Built, duckdb_reference: Built
) -> None:
    """Row numbers come from each engine's own physical order (rowid, ctid, file + row index)."""
    query = "select source_row_number, user_id, city from staging.stg_clients where source_row_number in (1, 5000, 10000) order by 1"
    expected = duckdb_reference[1].fetch(query)
    assert expected[0][0] == 1 and len(expected) == 3
    assert postgres[1].fetch(query) == expected
    assert spark[1].fetch(query) == expected


# --- the read-only BI role on PostgreSQL ---


def _as_bi_reader(postgres: Built) -> Any:
    warehouse = postgres[1]
    assert isinstance(warehouse, DbApiWarehouse)
    parameters = warehouse.connection.get_dsn_parameters()
    connection = psycopg2.connect(
        host=parameters["host"], port=parameters["port"], dbname=parameters["dbname"], user="bi_reader"
    )
    connection.autocommit = True  # and no `with connection`: psycopg2 would open a transaction at once
    return connection


def test_bi_reader_reads_marts_including_the_python_step_tables(postgres: Built) -> None:
    with closing(_as_bi_reader(postgres)) as connection, connection.cursor() as cursor:
        cursor.execute("select count(*) from marts.dim_clients")
        assert cursor.fetchone() == (10000,)
        cursor.execute("select count(*) from marts.stat_tests")  # written after dbt: default privileges
        assert cursor.fetchone() == (15,)


@pytest.mark.parametrize("table", ["raw.bank_scrooge", "staging.stg_clients", "intermediate.int_clients_rejected"])
def test_bi_reader_cannot_read_below_marts(postgres: Built, table: str) -> None:
    with closing(_as_bi_reader(postgres)) as connection, connection.cursor() as cursor:
        with pytest.raises(errors.InsufficientPrivilege):
            cursor.execute(f"select count(*) from {table}")


@pytest.mark.parametrize(
    "statement",
    [
        "insert into marts.rejected_rows (source_row_number, reason) values (1, 'x')",
        "delete from marts.dim_clients",
        "update marts.churn_segments set priority = 0",
        "create table marts.bi_scratch (x integer)",
        "drop table marts.dim_clients",
    ],
)
def test_bi_reader_cannot_write(postgres: Built, statement: str) -> None:
    """Refused by privileges, not only by the role's read-only default (which a session could turn off)."""
    with closing(_as_bi_reader(postgres)) as connection, connection.cursor() as cursor:
        cursor.execute("set default_transaction_read_only = off")
        with pytest.raises((errors.InsufficientPrivilege, errors.WrongObjectType)):
            cursor.execute(statement)
    with postgres[1].connection.cursor() as owner:
        owner.execute("select count(*) from marts.dim_clients")
        assert owner.fetchone() == (10000,)


def test_write_the_engines_report(
    duckdb_reference: Built, postgres: Built, spark: Built, mart_tables: list[str]
) -> None:
    """Last: times per engine and every comparison go to reports/engines.md."""
    report = EnginesReport([duckdb_reference[0], postgres[0], spark[0]], mart_tables)
    path = REPO_ROOT / "reports" / "engines.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.render(), encoding="utf-8")
    assert "| postgres |" in path.read_text(encoding="utf-8")
