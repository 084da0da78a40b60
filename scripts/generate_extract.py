"""Write a synthetic client extract with the layout and statistics of the shipped one.

    python scripts/generate_extract.py --clients N --seed S --out PATH

Method (all in DuckDB, written in chunks of rows, memory and temporary disk flat at any size):
* every synthetic client is a whole row of the shipped extract drawn with replacement, so the
  joint structure (churn by products, city, gender, activity, card, equity; missing balances at
  equity 0-1; missing ages) is the shipped one up to sampling error;
* continuous values are jittered so rows are not copies: age +-2 years (clamped to 18..100),
  score +-5 (clamped to the shipped range), balance and income x (1 +- 5 %);
* ids are new and unique (1,000,000 + row number); then, as in the shipped extract, a share of
  Ярославль rows (73 pairs per 10,000 rows) reuse the id of a Рыбинск row: one id, two people;
* "random" numbers are hashes of (row, seed, purpose): the same seed gives the same bytes;
* the rows are written in chunks of ``CHUNK_ROWS`` in row order, each chunk sorted on its own: the
  paired ids are found first (the lowest pair hashes of each city: a top-N, not a sort of every row), so
  no step sorts or holds all rows (100 M clients: about 3 GB of memory, no spill).
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "seeds" / "bank_scrooge.csv"
PAIRS_PER_ROW = 73 / 10_000
CHUNK_ROWS = 4_000_000


def _uniform(purpose: str, seed: int) -> str:
    """SQL for a deterministic pseudo-random number in [0, 1) per generated row."""
    return f"((hash(row_id, {seed}, '{purpose}') % 1000000007) / 1000000007.0)"


def _draws(seed: int, base_rows: int, rows: str) -> str:
    """SQL: each generated row (``rows``: a range) with its drawn shipped row and its random numbers."""
    return f"""
        select
            draws.*,
            base.*
        from (
            select
                row_id,
                cast(hash(row_id, {seed}, 'row') % {base_rows} as bigint) as base_id,
                {_uniform("age", seed)} as u_age,
                {_uniform("score", seed)} as u_score,
                {_uniform("balance", seed)} as u_balance,
                {_uniform("salary", seed)} as u_salary
            from {rows} as rows(row_id)
        ) as draws
        inner join base using (base_id)
    """


def generate(clients: int, seed: int, out: Path, threads: int | None = None) -> float:
    """Write ``clients`` rows to ``out``; return the seconds it took."""
    started = time.perf_counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"memory_limit": "3GB"})
    if threads:
        con.execute(f"set threads = {threads}")
    con.execute("set preserve_insertion_order = true")
    con.execute(
        f"""
        create table base as
        select row_number() over () - 1 as base_id, *
        from read_csv('{SHIPPED}', header = true, all_varchar = true)
        """
    )
    base_rows = con.execute("select count(*) from base").fetchone()[0]  # type: ignore[index]
    pairs = round(clients * PAIRS_PER_ROW)
    # the k-th Ярославль row by pair hash takes the id of the k-th Рыбинск row by pair hash (k <= pairs)
    for city, name in (("Ярославль", "yaroslavl"), ("Рыбинск", "rybinsk")):
        con.execute(
            f"""
            create table {name}_pairs as
            select row_id, row_number() over (order by pair_hash, row_id) as pair_rank
            from (
                select row_id, hash(row_id, {seed}, 'pair') as pair_hash
                from ({_draws(seed, base_rows, f"range({clients})")}) as drawn
                where city = '{city}'
                order by pair_hash, row_id
                limit {pairs}
            ) as lowest
            """
        )
    con.execute(
        """
        create table shared_ids as
        select yaroslavl_pairs.row_id, 1000000 + rybinsk_pairs.row_id as shared_id
        from yaroslavl_pairs
        inner join rybinsk_pairs using (pair_rank)
        """
    )
    with out.open("wb") as target:
        for first in range(0, max(clients, 1), CHUNK_ROWS):
            last = min(first + CHUNK_ROWS, clients)
            part = out.with_name(out.name + ".part")
            header = "true" if first == 0 else "false"
            con.execute(
                f"""
                copy (
                    select
                        cast(coalesce(shared_ids.shared_id, 1000000 + drawn.row_id) as varchar) as "USERID",
                        cast(least(1000, greatest(642, cast(cast(score as double) as integer)
                            + cast(floor(u_score * 11) as integer) - 5)) as varchar) || '.0' as score,
                        city,
                        gender,
                        case when age is not null then cast(least(100, greatest(18, cast(cast(age as double) as integer)
                            + cast(floor(u_age * 5) as integer) - 2)) as varchar) || '.0' end as age,
                        equity,
                        case when balance is not null then cast(round(cast(balance as double)
                            * (0.95 + 0.1 * u_balance), 2) as varchar) end as balance,
                        products,
                        credit_card,
                        last_activity,
                        cast(round(cast("EST_SALARY" as double) * (0.95 + 0.1 * u_salary), 2) as varchar)
                            as "EST_SALARY",
                        churn
                    from ({_draws(seed, base_rows, f"range({first}, {last})")}) as drawn
                    left join shared_ids on drawn.row_id = shared_ids.row_id
                    order by drawn.row_id
                ) to '{part}' (format csv, header {header})
                """
            )
            with part.open("rb") as source:
                shutil.copyfileobj(source, target, 16 << 20)
            part.unlink()
    con.close()
    return time.perf_counter() - started


def main() -> None:
    """Parse the command line and write the extract."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, required=True, help="number of rows to write")
    parser.add_argument("--seed", type=int, default=1, help="seed: the same seed gives the same file")
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
    args = parser.parse_args()
    seconds = generate(args.clients, args.seed, args.out)
    print(f"wrote {args.clients:,} clients to {args.out} in {seconds:.1f} s")


if __name__ == "__main__":
    main()
