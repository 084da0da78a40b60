"""Reading and writing batch by batch gives the same rows as whole-table reads and writes."""

from __future__ import annotations

import numpy as np

from metanprom.warehouse import DbApiWarehouse, Ranking, Warehouse, batch_bools, batch_floats, open_duckdb

COLUMNS = {"row_id": "bigint", "amount": "double precision", "flag": "boolean"}
SQL = (
    "select range as row_id, case when range % 7 = 0 then null else range * 0.5 end as amount, "
    "case when range % 5 = 0 then null else range % 2 = 0 end as flag from range(10000)"
)


def _rows_differ(warehouse: Warehouse, first: str, second: str) -> int:
    """Rows of either table missing from the other (duplicates counted)."""
    return sum(
        warehouse.fetch(f"select count(*) from (select * from {one} except all select * from {other})")[0][0]
        for one, other in ((first, second), (second, first))
    )


def test_duckdb_streams_batches_with_nulls(tmp_path):
    warehouse = open_duckdb(tmp_path / "w.duckdb")
    try:
        batches = list(warehouse.fetch_batches(SQL + " order by row_id", rows=2048))
        assert len(batches) == 5 and sum(len(batch) for batch in batches) == 10_000
        amounts = np.concatenate([batch_floats(batch["amount"]) for batch in batches])
        flags = np.concatenate([batch_bools(batch["flag"]) for batch in batches])
        assert np.isnan(amounts[::7]).all() and amounts[1] == 0.5
        assert amounts.flags.writeable
        assert not flags[::5].any() and flags[2] and not flags[3]  # null -> False
    finally:
        warehouse.close()


def test_duckdb_writes_frames_as_they_come_like_the_base_writer(tmp_path):
    warehouse = open_duckdb(tmp_path / "w.duckdb")
    try:
        frames = list(warehouse.fetch_batches(SQL, rows=3000))
        warehouse.write_frames("main.streamed", COLUMNS, iter(frames))
        Warehouse.write_frames(warehouse, "main.whole", COLUMNS, frames)  # the other engines' path
        assert _rows_differ(warehouse, "main.streamed", "main.whole") == 0
        assert warehouse.fetch("select count(*), count(amount), count(flag) from main.streamed")[0] == (
            10000,
            8571,
            8000,
        )
        warehouse.write_frames("main.empty", COLUMNS, iter([]))
        assert warehouse.fetch("select count(*) from main.empty")[0][0] == 0
    finally:
        warehouse.close()


def test_other_engines_get_one_frame_with_none_for_null(tmp_path):
    warehouse = open_duckdb(tmp_path / "w.duckdb")
    try:
        plain = DbApiWarehouse(warehouse.connection, "postgres-like")
        (frame,) = list(Warehouse.fetch_batches(plain, SQL + " order by row_id"))
        assert len(frame) == 10_000
        assert np.isnan(batch_floats(frame["amount"])[::7]).all()
        assert batch_bools(frame["flag"]).sum() == 4000
    finally:
        warehouse.close()


def test_duckdb_ranks_by_position_like_the_window_of_the_other_engines(tmp_path):
    """The narrow sort + positional join gives the portable window's table, row for row.

    1.2 M rows written in frames of 300,000 (several row groups, read in parallel), ties on the first
    key, nulls, a filter keeping 90 %: the ranks come back in two fetched batches.
    """
    ranking = Ranking(
        source="main.scores",
        alias="scores",
        where="scores.row_id % 10 <> 3",
        order_by="scores.amount desc nulls last, scores.row_id",
        rank="position_rank",
        scratch="main.scores_ranks",
    )
    select = "select ranked.position_rank, ranked.row_id, ranked.amount, ranked.amount * 2 as doubled from ranked"
    warehouse = open_duckdb(tmp_path / "w.duckdb")
    try:
        frames = warehouse.fetch_batches(
            "select range as row_id, case when range % 11 = 0 then null else (range * 7919) % 1000 end as amount "
            "from range(1200000)",
            rows=300_000,
        )
        warehouse.write_frames("main.scores", {"row_id": "bigint", "amount": "double precision"}, frames)
        warehouse.create_ranked_table("main.by_position", ranking, select)
        Warehouse.create_ranked_table(warehouse, "main.by_window", ranking, select)
        assert _rows_differ(warehouse, "main.by_position", "main.by_window") == 0
        assert warehouse.fetch("select count(*), min(position_rank), max(position_rank) from main.by_position")[0] == (
            1_080_000,
            1,
            1_080_000,
        )
        # the top: amount 999 (ties in row order), the bottom: the nulls, last in row order
        assert (
            warehouse.fetch("select row_id, amount from main.by_position where position_rank = 1")[0]
            == (
                warehouse.fetch("select min(row_id), 999.0 from main.scores where amount = 999 and row_id % 10 <> 3")[0]
            )
        )
        assert warehouse.fetch("select amount from main.by_position where position_rank = 1080000")[0][0] is None
        assert not warehouse.fetch("select * from duckdb_tables() where table_name = 'scores_ranks'")
        # the optimizer setting the positional join needs is global: it is back as it was
        assert warehouse.fetch("select current_setting('disabled_optimizers')")[0][0] == ""
    finally:
        warehouse.close()


def test_duckdb_scratch_tables_live_in_a_file_of_their_own_deleted_afterwards(tmp_path):
    warehouse = open_duckdb(tmp_path / "w.duckdb")
    try:
        warehouse.execute("create schema intermediate")
        with warehouse.scratch_schema("step_scratch", "intermediate") as schema:
            assert schema == "step_scratch.main"
            warehouse.write_frames(f"{schema}.big", COLUMNS, warehouse.fetch_batches(SQL, rows=4000))
            warehouse.execute(f"create table main.kept as select count(*) as n, sum(amount) as total from {schema}.big")
            assert (tmp_path / "w.step_scratch.duckdb").exists()
        assert not list(tmp_path.glob("w.step_scratch.duckdb*"))
        assert warehouse.fetch("select n, total from main.kept")[0] == (
            10_000,
            21_426_429.0,
        )  # 0.5 x (sum of 0..9999 - the multiples of 7)
        assert not warehouse.fetch("select * from duckdb_databases() where database_name = 'step_scratch'")
        # the other engines keep their scratch tables in the schema given
        plain = DbApiWarehouse(warehouse.connection, "postgres-like")
        with Warehouse.scratch_schema(plain, "step_scratch", "intermediate") as schema:
            assert schema == "intermediate"
    finally:
        warehouse.close()
