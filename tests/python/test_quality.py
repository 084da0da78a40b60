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


def test_a_broken_statistics_table_is_an_error_naming_the_expectation(shipped_build, tmp_path):
    db = _copy(shipped_build, tmp_path)
    with duckdb.connect(str(db)) as con:
        con.execute("update marts.stat_tests set p_value = 1.5 where hypothesis_id = 'activity_churn'")
        con.execute("delete from marts.stat_tests where hypothesis_id = 'credit_card_churn'")
    report = run_quality(db, tmp_path / "dq")
    failed = {(o.suite, o.expectation, o.column) for o in report.errors}
    assert failed == {
        ("marts.stat_tests", "expect_column_values_to_be_between", "p_value"),
        ("marts.stat_tests", "expect_column_distinct_values_to_contain_set", "hypothesis_id"),
    }
    between = next(o for o in report.errors if o.column == "p_value")
    assert "1.5" in between.observed  # the failing value is named


def test_keys_and_ranges_are_left_to_dbt(shipped_build, tmp_path):
    """A duplicate key is dbt's to catch (primary_key test): great-expectations does not re-check it."""
    db = _copy(shipped_build, tmp_path)
    with duckdb.connect(str(db)) as con:
        con.execute("update marts.dim_clients set client_key = 'same' where source_row_number <= 2")
    assert not run_quality(db, tmp_path / "dq").errors


def test_drift_only_warns(shipped_build, tmp_path):
    db = _copy(shipped_build, tmp_path)
    with duckdb.connect(str(db)) as con:
        con.execute("update staging.stg_clients set balance = null where source_row_number <= 3000")
    report = run_quality(db, tmp_path / "dq")
    assert not report.errors
    assert any(o.suite == "staging.stg_clients" and o.column == "balance" for o in report.warnings)


def test_drift_thresholds_are_vars(shipped_build, tmp_path, monkeypatch):
    """The churn-rate window comes from var dq_churn_rate: narrowed below 18.2 % it warns."""
    from metanprom import quality

    variables = {**quality.dbt_vars(), "dq_churn_rate": [0.05, 0.10]}
    monkeypatch.setattr(quality, "dbt_vars", lambda: variables)
    report = run_quality(_copy(shipped_build, tmp_path), tmp_path / "dq")
    churn = next(o for o in report.warnings if o.column == "churned_as_number")
    assert "0.182" in churn.observed
