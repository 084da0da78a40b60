"""Publishing for BI tools and engineers: the BI file, comments, build_info, reports beside the warehouse."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import duckdb
import pytest
from conftest import REPO_ROOT, SHIPPED, run_build, shipped_rows, write_csv

from metanprom.publish import BI_STORAGE_VERSION, bi_path, python_step_descriptions

#: A DuckDB 1.x client, as in DBeaver/Metabase (JDBC 1.x) or the 1.x CLI; installed into a throwaway venv.
DUCKDB_1X = "duckdb==1.4.4"


def _uncommented(db: Path) -> list[tuple[str, str]]:
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts' and coalesce(comment, '') = ''"
        ).fetchall()
        columns = con.execute(
            "select table_name, column_name from duckdb_columns() "
            "where schema_name = 'marts' and coalesce(comment, '') = ''"
        ).fetchall()
    return [(str(t), "") for (t,) in tables] + [(str(t), str(c)) for t, c in columns]


def test_every_marts_table_and_column_has_a_comment(shipped_build):
    assert _uncommented(shipped_build.db) == []
    assert _uncommented(bi_path(shipped_build.db)) == []


def test_python_step_comments_come_from_the_dbt_yaml(shipped_build):
    descriptions = python_step_descriptions()
    assert {"stat_tests", "stat_tests_posthoc", "churn_segment_stability", "build_info"} <= set(descriptions)
    text, columns = descriptions["stat_tests"]
    comment = shipped_build.scalar(
        "select comment from duckdb_columns() where schema_name = 'marts' and table_name = 'stat_tests' "
        "and column_name = 'p_value_adjusted'"
    )
    assert comment == " ".join(columns["p_value_adjusted"].split())


def test_build_info_describes_the_extract(shipped_build):
    rows = shipped_build.query(
        "select extract_file_name, extract_sha256, extract_size_bytes, rows_read, clients_accepted, rows_rejected, "
        "build_finished_at >= build_started_at, vars_json, dbt_version, duckdb_version from marts.build_info"
    )
    assert len(rows) == 1
    name, sha256, size, read, accepted, rejected, ordered, vars_json, dbt_version, duckdb_version = rows[0]
    assert name == "bank_scrooge.csv"
    assert sha256 == hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    assert size == SHIPPED.stat().st_size
    assert (read, accepted, rejected) == (10_000, 10_000, 0)
    assert ordered and '"max_rejected_share"' in vars_json
    assert dbt_version.startswith("1.11") and duckdb_version == duckdb.__version__
    assert "build info        bank_scrooge.csv" in shipped_build.output


def test_bi_file_holds_the_marts_only(shipped_build):
    bi = bi_path(shipped_build.db)
    with duckdb.connect(str(bi), read_only=True) as con:
        schemas = {s for (s,) in con.execute("select distinct schema_name from duckdb_tables()").fetchall()}
        count = con.execute("select count(*) from marts.dim_clients").fetchone()[0]
    assert schemas == {"marts"}
    assert count == 10_000
    marts = set(shipped_build.query("select table_name from duckdb_tables() where schema_name = 'marts'"))
    with duckdb.connect(str(bi), read_only=True) as con:
        assert set(con.execute("select table_name from duckdb_tables()").fetchall()) == marts


def test_bi_file_opens_in_a_duckdb_1x_client(shipped_build, tmp_path):
    """A throwaway venv with a pinned DuckDB 1.x reads every table and the comments of the BI file."""
    env_dir = tmp_path / "duckdb1x"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", DUCKDB_1X],
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    script = (
        "import duckdb, sys\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        "print(duckdb.__version__)\n"
        'tables = [t for (t,) in con.execute("select table_name from duckdb_tables() order by 1").fetchall()]\n'
        "rows = {t: con.execute(f'select count(*) from marts.{t}').fetchone()[0] for t in tables}\n"
        "comments = con.execute(\"select count(*), count(nullif(comment, '')) from duckdb_columns() "
        "where schema_name = 'marts'\").fetchone()\n"
        "print(len(tables), rows['dim_clients'], comments[0], comments[1])\n"
    )
    read = subprocess.run(
        [str(python), "-c", script, str(bi_path(shipped_build.db))], capture_output=True, text=True, check=False
    )
    assert read.returncode == 0, read.stderr[-2000:]
    version, figures = read.stdout.strip().splitlines()
    assert version.startswith("1.")
    tables, clients, columns, commented = (int(x) for x in figures.split())
    assert tables == len(shipped_build.query("select 1 from duckdb_tables() where schema_name = 'marts'"))
    assert clients == 10_000
    assert columns == commented > 250
    # the published warehouse itself is DuckDB 2.0 storage: the reason the BI file exists
    refused = subprocess.run([str(python), "-c", script, str(shipped_build.db)], capture_output=True, text=True)
    assert refused.returncode != 0 and "version" in refused.stderr.lower()


def test_bi_file_through_sqlalchemy_and_duckdb_engine(shipped_build):
    """How Superset reads it: SQLAlchemy + duckdb-engine, read-only."""
    sqlalchemy = pytest.importorskip("sqlalchemy")
    engine = sqlalchemy.create_engine(
        f"duckdb:///{bi_path(shipped_build.db)}", connect_args={"read_only": True}, poolclass=sqlalchemy.pool.NullPool
    )
    with engine.connect() as connection:
        names = sqlalchemy.inspect(connection).get_table_names(schema="marts")
        clients = connection.execute(sqlalchemy.text("select count(*) from marts.dim_clients")).scalar_one()
        churn = connection.execute(
            sqlalchemy.text("select churn_rate from marts.product_segments where product_segment = '1'")
        ).scalar_one()
    assert "dim_clients" in names and "build_info" in names
    assert clients == 10_000
    assert churn == pytest.approx(
        shipped_build.scalar("select churn_rate from marts.product_segments where product_segment = '1'")
    )


def test_storage_version_is_documented():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8") + (REPO_ROOT / "docs" / "bi.md").read_text(
        encoding="utf-8"
    )
    assert BI_STORAGE_VERSION in readme and "METANPROM_BI_STORAGE_VERSION" in readme


def _build_env(db: Path) -> dict[str, str]:
    env = dict(os.environ, METANPROM_DB=str(db), DBT_TARGET_PATH=str(db.parent / "target"))
    for name in ("METANPROM_REPORTS", "METANPROM_EXTRACT"):
        env.pop(name, None)
    return env


def _tree_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    if folder.exists():
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "screenshots" not in path.parts:  # other tests write screenshots meanwhile
                digest.update(str(path.relative_to(folder)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def test_reports_follow_their_warehouse(tmp_path):
    header, rows = shipped_rows(300)
    extract = write_csv(tmp_path / "new_month.csv", header, rows)
    default_reports = REPO_ROOT / "reports"
    before = _tree_hash(default_reports)
    db = tmp_path / "other.duckdb"
    env = _build_env(db) | {"METANPROM_EXTRACT": str(extract)}
    completed = subprocess.run(
        [sys.executable, "-m", "metanprom", "build"], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert (tmp_path / "other_reports" / "dashboard.html").exists()
    assert (tmp_path / "other_bi.duckdb").exists()
    assert _tree_hash(default_reports) == before


def test_a_writer_attached_stops_the_publish(tmp_path, shipped_build):
    published = tmp_path / "warehouse.duckdb"
    shutil.copyfile(shipped_build.db, published)
    wal = published.with_name(published.name + ".wal")
    wal.write_bytes(b"")
    before = hashlib.sha256(published.read_bytes()).hexdigest()
    run = run_build(tmp_path, SHIPPED)
    assert run.returncode == 2
    assert "warehouse.duckdb.wal exists" in run.output and "read-only" in run.output
    assert "Traceback" not in run.output
    assert hashlib.sha256(published.read_bytes()).hexdigest() == before


def _project_copy(target: Path) -> Path:
    """The repository's files as a fresh clone has them (tracked and new files, nothing ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    for name in listed:
        source = REPO_ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def test_plain_dbt_build_and_compile_on_a_fresh_clone(tmp_path):
    project = _project_copy(tmp_path / "clone")
    dbt = Path(sys.executable).with_name("dbt")
    env = dict(os.environ, METANPROM_DB=str(tmp_path / "fresh.duckdb"), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    env.pop("DBT_TARGET_PATH", None)
    compiled = subprocess.run(
        [str(dbt), "compile", "--profiles-dir", "."], cwd=project, env=env, capture_output=True, text=True
    )
    assert compiled.returncode == 0, compiled.stdout[-3000:]
    built = subprocess.run(
        [str(dbt), "build", "--profiles-dir", "."], cwd=project, env=env, capture_output=True, text=True
    )
    assert built.returncode == 0, built.stdout[-3000:]
    summary = next(line for line in built.stdout.splitlines() if "Done. PASS=" in line)
    assert "ERROR=0" in summary
    with duckdb.connect(str(tmp_path / "fresh.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from marts.dim_clients").fetchone()[0] == 10_000
