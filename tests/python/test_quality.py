"""great-expectations checks: reports after a build, errors stop, drift warns."""

from __future__ import annotations

import shutil

import duckdb

from metanprom.quality import run_quality


def test_reports_exist_after_build(shipped_build):
    reports = shipped_build.db.parent / "reports"
    assert (reports / "data_quality" / "index.html").exists()
    summary = (reports / "data_quality" / "summary.html").read_text(encoding="utf-8")
    assert "expectations passed" in summary and "https://" not in summary  # readable offline
    assert "data quality      " in shipped_build.output and "0 warnings" in shipped_build.output


def _copy(shipped_build, tmp_path):
    db = tmp_path / "copy.duckdb"
    shutil.copy(shipped_build.db, db)
    return db


def test_a_broken_mart_is_an_error_naming_the_expectation(shipped_build, tmp_path):
    db = _copy(shipped_build, tmp_path)
    with duckdb.connect(str(db)) as con:
        con.execute("update marts.churn_by_feature set ci_low = churn_rate + 0.1 where feature = 'city'")
        con.execute("update marts.dim_clients set client_key = 'same' where source_row_number <= 2")
    report = run_quality(db, tmp_path / "dq")
    failed = {(o.suite, o.expectation, o.column) for o in report.errors}
    assert ("marts.churn_by_feature", "expect_column_pair_values_a_to_be_greater_than_b", "churn_rate") in failed
    assert ("marts.dim_clients", "expect_column_values_to_be_unique", "client_key") in failed
    unique = next(o for o in report.errors if o.column == "client_key")
    assert "same" in unique.observed  # the failing values are named


def test_drift_only_warns(shipped_build, tmp_path):
    db = _copy(shipped_build, tmp_path)
    with duckdb.connect(str(db)) as con:
        con.execute("update staging.stg_clients set balance = null where source_row_number <= 3000")
    report = run_quality(db, tmp_path / "dq")
    assert not report.errors
    assert any(o.suite == "staging.stg_clients" and o.column == "balance" for o in report.warnings)
