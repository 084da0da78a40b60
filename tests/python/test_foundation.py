"""The foundation on the shipped extract: row accounting, flags, keys, the cleaning contract."""

from __future__ import annotations

import hashlib
import re

from conftest import REPO_ROOT, SHIPPED

SHIPPED_SHA256 = "250f5478524acc4ff39c9478932a1910ba53d0110160c42735b720fe983c0940"


def test_seed_is_the_analysts_file_byte_for_byte():
    assert hashlib.sha256(SHIPPED.read_bytes()).hexdigest() == SHIPPED_SHA256


def test_raw_layer_is_all_text(shipped_build):
    types = shipped_build.query(
        "select distinct data_type from information_schema.columns "
        "where table_schema = 'raw' and table_name = 'bank_scrooge'"
    )
    assert types == [("VARCHAR",)]
    assert shipped_build.scalar("select count(*) from raw.bank_scrooge") == 10_000
    # text is kept exactly: the score is written as a float in the file
    assert shipped_build.scalar("select score from raw.bank_scrooge where userid = '183012'") == "850.0"


def test_staging_keeps_every_row_and_flags_anomalies(shipped_build):
    row = shipped_build.query(
        """
        select
            count(*),
            count(*) filter (where is_age_missing),
            count(*) filter (where is_balance_missing),
            count(*) filter (where is_duplicate_user_id),
            count(distinct user_id) filter (where is_duplicate_user_id),
            min(source_row_number), max(source_row_number)
        from staging.stg_clients
        """
    )[0]
    assert row == (10_000, 26, 2_295, 146, 73, 1, 10_000)


def test_source_row_number_follows_file_order(shipped_build):
    lines = SHIPPED.read_text(encoding="utf-8").splitlines()
    first, last = lines[1].split(","), lines[-1].split(",")
    got = shipped_build.query(
        "select user_id, score from staging.stg_clients where source_row_number in (1, 10000) "
        "order by source_row_number"
    )
    assert got == [(int(first[0]), int(float(first[1]))), (int(last[0]), int(float(last[1])))]


def test_typed_columns(shipped_build):
    types = dict(
        shipped_build.query(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'staging' and table_name = 'stg_clients'"
        )
    )
    assert types["user_id"] == "BIGINT"
    assert types["age"] == types["score"] == types["equity"] == types["products"] == "INTEGER"
    assert types["balance"] == types["est_salary"] == "DOUBLE"
    assert types["is_churned"] == types["has_credit_card"] == types["is_active"] == "BOOLEAN"


def test_dim_clients_accounts_for_every_row(shipped_build):
    clients, churners, keys = shipped_build.query(
        "select count(*), count(*) filter (where is_churned), count(distinct client_key) from marts.dim_clients"
    )[0]
    assert (clients, churners, keys) == (10_000, 1_820, 10_000)
    assert shipped_build.scalar("select count(*) from marts.rejected_rows") == 0


def test_repeated_ids_are_different_people_in_two_cities(shipped_build):
    cities = shipped_build.query(
        """
        select list(city order by city)
        from marts.dim_clients where is_duplicate_user_id
        group by user_id
        """
    )
    assert len(cities) == 73
    assert {tuple(row[0]) for row in cities} == {("Рыбинск", "Ярославль")}


def test_product_segments(shipped_build):
    segments = dict(shipped_build.query("select product_segment, count(*) from marts.dim_clients group by 1"))
    assert segments == {"0": 1, "1": 3_341, "2": 5_126, "3": 1_039, "4+": 493}


def test_cleaning_contract_figures_match_the_data(shipped_build):
    """The docs block states the shipped extract's counts; they must be what the data says."""
    counts = dict(shipped_build.query("select anomaly, row_count from marts.cleaning_summary"))
    doc = (REPO_ROOT / "models" / "docs" / "cleaning_contract.md").read_text(encoding="utf-8")

    def documented(label: str) -> int:
        match = re.search(rf"^\| {re.escape(label)} \| ([\d,]+)", doc, flags=re.MULTILINE)
        assert match, f"row '{label}' missing from the cleaning contract"
        return int(match.group(1).replace(",", ""))

    assert documented("missing age") == counts["age_missing"] == 26
    assert documented("missing balance") == counts["balance_missing"] == 2_295
    assert counts["balance_missing_churned"] == 13
    assert documented("user id in two rows") == counts["duplicate_user_id_rows"] == 146
    assert documented("0 products") == counts["zero_products"] == 1
    assert documented("zero balance") == counts["zero_balance"] == 2
    assert documented("balance above 10 M RUB") == counts["balance_outliers"] == 27
    assert documented("unknown city") == counts["unknown_city"] == 0
    assert documented("hard-rule breaks") == counts["rejected_rows"] == 0
    assert shipped_build.scalar("select round(max(balance) / 1e6, 1) from marts.dim_clients") == 119.1


def test_build_summary_reports_rows_and_tests(shipped_build):
    out = shipped_build.output
    assert "rows read         10,000" in out
    assert "clients accepted  10,000 (1,820 churners)" in out
    assert "rows rejected     0" in out
    assert re.search(r"\d+ data tests passed, 0 warned, \d+ unit tests passed", out)


def test_marts_carry_descriptions_for_bi(shipped_build):
    comment = shipped_build.scalar(
        "select comment from duckdb_tables() where schema_name = 'marts' and table_name = 'dim_clients'"
    )
    assert "accepted client" in comment
