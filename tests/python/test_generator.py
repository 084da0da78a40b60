"""The synthetic extract generator follows the shipped extract's statistics."""

from __future__ import annotations

import hashlib
import importlib.util

import duckdb
import pytest
from conftest import REPO_ROOT, SHIPPED

from metanprom.extract import read_header

spec = importlib.util.spec_from_file_location("generate_extract", REPO_ROOT / "scripts" / "generate_extract.py")
generator = importlib.util.module_from_spec(spec)
spec.loader.exec_module(generator)
N = 200_000


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    path = tmp_path_factory.mktemp("generated") / "extract.csv"
    generator.generate(N, 7, path)
    return path


def _stats(path):
    con = duckdb.connect()
    con.execute(f"create table t as select * from read_csv('{path}', header = true, all_varchar = true)")
    rates = {}
    for column in ("products", "city", "gender", "last_activity", "credit_card", "equity"):
        for value, clients, rate in con.execute(
            f"select {column}, count(*), avg(cast(churn as int)) from t group by 1"
        ).fetchall():
            rates[(column, value)] = (clients, rate)
    figures = con.execute(
        """
        select count(*), avg(cast(churn as int)),
               avg(case when balance is null then 1.0 else 0.0 end),
               avg(case when age is null then 1.0 else 0.0 end),
               avg(case when balance is null then (cast(equity as int) <= 1)::int end)
        from t
        """
    ).fetchone()
    repeated = con.execute(
        "select count(*), count(distinct list_sort(cities)::varchar) from ("
        "select userid, list(city) as cities from t group by userid having count(*) > 1)"
    ).fetchone()
    key_repeats = con.execute(
        "select count(*) from (select userid, city from t group by all having count(*) > 1)"
    ).fetchone()
    return rates, figures, repeated, key_repeats[0]


def test_same_layout(generated):
    assert read_header(generated).columns == read_header(SHIPPED).columns


def test_statistics_follow_the_shipped_extract(generated):
    shipped_rates, shipped, shipped_repeated, _ = _stats(SHIPPED)
    rates, figures, repeated, key_repeats = _stats(generated)
    assert figures[0] == N
    assert figures[1] == pytest.approx(shipped[1], abs=0.01)  # overall churn within 1 pp
    for key, (clients, rate) in shipped_rates.items():
        if clients >= 400:  # groups big enough to be estimated within a point at this N
            assert rates[key][1] == pytest.approx(rate, abs=0.01), key
    assert figures[2] == pytest.approx(shipped[2], abs=0.01)  # missing balances ~23 %
    assert figures[3] == pytest.approx(shipped[3], abs=0.002)  # missing ages ~0.3 %
    assert figures[4] > 0.99  # missing balances sit at equity 0-1
    assert repeated[0] == round(N * 73 / 10_000) and repeated[1] == 1  # ids repeated, always Рыбинск + Ярославль
    assert shipped_repeated[1] == 1 and key_repeats == 0


def test_deterministic_for_a_seed(tmp_path):
    first, second, other = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    generator.generate(5_000, 3, first)
    generator.generate(5_000, 3, second)
    generator.generate(5_000, 4, other)
    digest = [hashlib.sha256(path.read_bytes()).hexdigest() for path in (first, second, other)]
    assert digest[0] == digest[1] != digest[2]


def test_a_generated_extract_builds_without_rejections(generated, tmp_path):
    from conftest import run_build

    small = tmp_path / "small.csv"
    generator.generate(20_000, 11, small)
    run = run_build(tmp_path, small)
    assert run.returncode == 0, run.output[-2000:]
    assert run.scalar("select count(*) from marts.rejected_rows") == 0
    assert run.scalar("select count(*) from marts.dim_clients") == 20_000
    assert "clients accepted  20,000" in run.output


def test_chunks_do_not_change_the_file(tmp_path, monkeypatch):
    """Written chunk by chunk (pairs across chunks included), the file equals the one-chunk file."""
    whole, chunked = tmp_path / "whole.csv", tmp_path / "chunked.csv"
    generator.generate(30_000, 5, whole)
    monkeypatch.setattr(generator, "CHUNK_ROWS", 7_000)
    generator.generate(30_000, 5, chunked)
    assert whole.read_bytes() == chunked.read_bytes()
    con = duckdb.connect()
    shared = con.execute(
        f"select count(*) from (select \"USERID\" from read_csv('{chunked}', all_varchar = true) "
        "group by 1 having count(*) > 1)"
    ).fetchone()[0]
    assert shared == round(30_000 * generator.PAIRS_PER_ROW)  # every pair survived the chunking
