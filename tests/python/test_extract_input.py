"""Building from other extracts (METANPROM_EXTRACT): quarantine, harmless variants, file-level errors."""

from __future__ import annotations

import pytest
from conftest import run_build, shipped_rows, write_csv

from metanprom.extract import ExtractError, read_header


def _bad_rows_extract(path):
    header, rows = shipped_rows(30)
    col = {name: index for index, name in enumerate(header)}
    rows[1][col["score"]] = "abc"  # text in a number
    rows[2][col["age"]] = "150.0"  # out of range
    rows[3][col["gender"]] = "X"  # unknown gender
    rows[4][col["churn"]] = "2"  # 0/1 column with another value
    rows[5][col["USERID"]] = ""  # missing user id
    rows[6][col["balance"]] = "-10"  # negative balance
    rows[7] = list(rows[0])  # repeats row 1's (user_id, city)
    rows[8][col["city"]] = "Кострома"  # a new city: accepted with a warning
    rows[9] = rows[9][:5]  # a short row: the missing values are missing
    return write_csv(path, header, rows)


@pytest.fixture(scope="module")
def bad_rows_build(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("bad_rows")
    # 8 of 30 rows break a rule on purpose: above the default budget, so it is raised knowingly
    run = run_build(workdir, _bad_rows_extract(workdir / "extract.csv"), METANPROM_MAX_REJECTED_SHARE="0.5")
    assert run.returncode == 0, run.output
    return run


def test_bad_rows_are_quarantined_with_reasons(bad_rows_build):
    reasons = dict(bad_rows_build.query("select source_row_number, reason from marts.rejected_rows"))
    assert reasons[2] == "score: not a whole number"
    assert reasons[3] == "age: outside the plausible range 18..100"
    assert reasons[4] == "gender: not an accepted value (see seed ref_genders)"
    assert reasons[5] == "churn: not 0 or 1"
    assert reasons[6] == "user_id: missing"
    assert reasons[7] == "balance: outside the plausible range 0..1000000000000"
    assert reasons[8] == "user_id, city: repeats an earlier row (the first is kept)"
    assert reasons[10].startswith("equity: missing")
    assert "products: missing" in reasons[10] and "churn: missing" in reasons[10]
    assert set(reasons) == {2, 3, 4, 5, 6, 7, 8, 10}
    kept = bad_rows_build.scalar("select duplicate_of_row_number from marts.rejected_rows where source_row_number = 8")
    assert kept == 1
    assert bad_rows_build.scalar("select score_raw from marts.rejected_rows where source_row_number = 2") == "abc"


def test_every_row_is_accounted_for(bad_rows_build):
    clients = bad_rows_build.scalar("select count(*) from marts.dim_clients")
    rejected = bad_rows_build.scalar("select count(*) from marts.rejected_rows")
    assert (clients, rejected) == (22, 8)
    assert clients + rejected == bad_rows_build.scalar("select count(*) from raw.bank_scrooge") == 30


def test_new_city_is_accepted_with_a_warning(bad_rows_build):
    assert bad_rows_build.scalar("select count(*) from marts.dim_clients where city = 'Кострома'") == 1
    assert "new city" in bad_rows_build.output and "Кострома" in bad_rows_build.output
    assert "1 warned" in bad_rows_build.output


def test_summary_counts_rejections_by_reason(bad_rows_build):
    out = bad_rows_build.output
    assert "rows rejected     8" in out
    assert "score: not a whole number" in out
    assert "user_id, city: repeats an earlier row" in out


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ExtractError, match="nowhere.csv: file not found"):
        read_header(tmp_path / "nowhere.csv")


def test_header_maps_columns_in_any_order_and_case(tmp_path):
    header, rows = shipped_rows(2)
    path = write_csv(tmp_path / "x.csv", [name.lower() for name in reversed(header)], [r[::-1] for r in rows])
    mapping = read_header(path).mapping
    assert mapping["USERID"] == "userid" and mapping["EST_SALARY"] == "est_salary"
