"""Reading and writing batch by batch gives the same rows as whole-table reads and writes."""

from __future__ import annotations

import numpy as np

from metanprom.warehouse import DbApiWarehouse, Warehouse, batch_bools, batch_floats, open_duckdb

COLUMNS = {"row_id": "bigint", "amount": "double precision", "flag": "boolean"}
SQL = (
    "select range as row_id, case when range % 7 = 0 then null else range * 0.5 end as amount, "
    "case when range % 5 = 0 then null else range % 2 = 0 end as flag from range(10000)"
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
        differ = warehouse.fetch(
            "select count(*) from (select * from main.streamed except all select * from main.whole)"
        )[0][0]
        assert differ == 0
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
