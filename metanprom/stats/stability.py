"""Stability of the selected segments under resampling (Poisson bootstrap, fixed seed).

Two views, both in ``marts.churn_segment_stability``:

* **re-derived** (``reselected_share``, what ``is_stable`` is decided on): on each resample the
  whole chain - bins, signs, candidates, greedy selection - is rebuilt (:mod:`metanprom.stats.rederive`)
  and the segment counts as selected again when a pick overlaps it with Jaccard >= var
  ``stability_match_jaccard``. Signs and segments found in resamples but not on the data go to
  ``marts.churn_segment_resample_findings``. Above var ``stability_max_clients`` clients the chain
  runs on a systematic 1-in-k subsample (documented in docs/scale.md);
* **fixed segments** (``pass_share`` and the intervals): the selected segments kept as they are,
  clients resampled; a segment "holds" when its weighted size share and lift still pass the
  thresholds. Cheap at any size: clients are aggregated in SQL into (churned, membership) patterns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from metanprom.paths import dbt_vars
from metanprom.stats.step import StatConfig
from metanprom.warehouse import Warehouse

COLUMNS = {
    "segment_id": "varchar",
    "resamples": "bigint",
    "pass_share": "double precision",
    "churn_rate_ci_low": "double precision",
    "churn_rate_ci_high": "double precision",
    "lift_ci_low": "double precision",
    "lift_ci_high": "double precision",
    "reselected_share": "double precision",
    "is_stable": "boolean",
}
FINDING_COLUMNS = {
    "finding_kind": "varchar",
    "finding": "varchar",
    "resample_share": "double precision",
    "resamples": "bigint",
}


def _rederived(
    warehouse: Warehouse, segment_ids: list[str], seed: int, variables: dict[str, Any]
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Re-derive the chain on resamples; reselected share per segment and the resample-only findings."""
    from metanprom.stats.rederive import ChainSettings, read_clients, rederive, subsample_filter

    max_clients = int(variables["stability_max_clients"])
    clients, keys = read_clients(warehouse, max_clients)
    position = {key: index for index, key in enumerate(keys)}
    segments = {segment_id: np.zeros(len(keys), dtype=bool) for segment_id in segment_ids}
    # members of the subsample only (at 10 M clients the member list has millions of rows)
    members = warehouse.fetch(
        "select members.segment_id, members.client_key from marts.churn_segment_members as members "
        "inner join marts.dim_clients as dim_clients on members.client_key = dim_clients.client_key "
        + subsample_filter(warehouse, max_clients, "dim_clients")
    )
    for segment_id, client_key in members:
        segments[str(segment_id)][position[str(client_key)]] = True
    full_signs = [str(row[0]) for row in warehouse.fetch("select sign_id from intermediate.int_segment_signs")]
    resamples = int(variables["stability_rederive_resamples"])
    weights = np.random.default_rng(seed).poisson(1.0, size=(resamples, len(keys)))
    result = rederive(
        clients,
        [segments[segment_id] for segment_id in segment_ids],
        [sign for sign in full_signs if not sign.startswith("product_segment")],
        weights,
        ChainSettings.from_vars(variables),
        float(variables["stability_match_jaccard"]),
    )
    findings = [
        {"finding_kind": kind, "finding": finding, "resample_share": share, "resamples": resamples}
        for kind, found in (("sign", result.resample_signs), ("segment", result.resample_segments))
        for finding, share in sorted(found.items(), key=lambda item: -item[1])
    ]
    return dict(zip(segment_ids, result.reselected_share, strict=True)), findings


def _thresholds(variables: dict[str, Any]) -> tuple[float, float, int, float]:
    return (
        float(variables["segment_min_client_share"]),
        float(variables["segment_min_lift"]),
        int(variables["segment_bootstrap_resamples"]),
        float(variables["segment_stable_share"]),
    )


def segment_stability(
    counts: np.ndarray,
    churned: np.ndarray,
    membership: np.ndarray,
    *,
    min_share: float,
    min_lift: float,
    resamples: int,
    seed: int,
    stable_share: float,
) -> list[dict[str, float]]:
    """Bootstrap pass share and 95 % percentile intervals of each segment's churn rate and lift.

    The clients come aggregated into patterns: ``counts[p]`` clients share churn flag
    ``churned[p]`` and segment membership row ``membership[p]`` (patterns x segments). A Poisson
    bootstrap gives each client a Poisson(1) weight; the weights of a pattern's c clients add up
    to a Poisson(c) draw, so drawing once per pattern is the same bootstrap at any size.
    """
    rng = np.random.default_rng(seed)
    member = membership.astype(np.float64)
    churn = churned.astype(np.float64)
    weights = rng.poisson(counts.astype(np.float64), size=(resamples, counts.size)).astype(np.float64)
    totals = weights.sum(axis=1)
    overall = (weights @ churn) / totals
    clients = weights @ member
    churners = (weights * churn) @ member
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = churners / clients
        lifts = rates / overall[:, None]
    passes = (clients >= min_share * totals[:, None]) & (lifts >= min_lift)
    rate_low, rate_high = np.nanpercentile(rates, [2.5, 97.5], axis=0)
    lift_low, lift_high = np.nanpercentile(lifts, [2.5, 97.5], axis=0)
    share = passes.mean(axis=0)
    return [
        {
            "resamples": resamples,
            "pass_share": float(share[k]),
            "churn_rate_ci_low": float(rate_low[k]),
            "churn_rate_ci_high": float(rate_high[k]),
            "lift_ci_low": float(lift_low[k]),
            "lift_ci_high": float(lift_high[k]),
            "is_stable": bool(share[k] >= stable_share),  # replaced by the re-derived view in run_stability
        }
        for k in range(member.shape[1])
    ]


def run_stability(warehouse: Warehouse, config: StatConfig | None = None) -> list[dict[str, Any]]:
    """Aggregate clients into (churn, membership) patterns in SQL, bootstrap them, write the table."""
    config = config or StatConfig.from_dbt_project()
    variables = dbt_vars()
    min_share, min_lift, resamples, stable_share = _thresholds(variables)
    segment_ids = [
        row[0] for row in warehouse.fetch("select distinct segment_id from marts.churn_segments order by segment_id")
    ]
    flags = ", ".join(
        f"max(case when segment_id = ? then 1 else 0 end) as in_segment_{index}" for index in range(len(segment_ids))
    )
    flag_names = ", ".join(f"in_segment_{index}" for index in range(len(segment_ids)))
    group = f"is_churned{', ' + flag_names if flag_names else ''}"
    zeros = "".join(f", 0 as in_segment_{index}" for index in range(len(segment_ids)))
    # the members' patterns from the members table alone; every other client is in no segment, so
    # their counts are the clients by outcome minus the members by outcome (no join of every client
    # with the members: at 100 M clients it did not fit DuckDB's memory)
    patterns = warehouse.fetch(
        f"""
        with

        member_patterns as (
            select source_row_number, is_churned{", " + flags if flags else ""}
            from marts.churn_segment_members
            group by source_row_number, is_churned
        ),

        member_counts as (
            select is_churned, count(*) as members
            from member_patterns
            group by is_churned
        ),

        outside as (
            select totals.is_churned{zeros}, totals.clients - coalesce(member_counts.members, 0) as clients
            from (select is_churned, count(*) as clients from marts.dim_clients group by is_churned) as totals
            left join member_counts on totals.is_churned = member_counts.is_churned
        ),

        patterns as (
            select {group}, count(*) as clients
            from member_patterns
            group by {group}
            union all
            select {group}, clients
            from outside
            where clients > 0
        )

        select {group}, clients from patterns order by {group}
        """,
        segment_ids,
    )
    churned = np.array([bool(row[0]) for row in patterns])
    membership = np.array([[bool(v) for v in row[1:-1]] for row in patterns], dtype=bool).reshape(
        len(patterns), len(segment_ids)
    )
    counts = np.array([row[-1] for row in patterns], dtype=np.int64)
    rows: list[dict[str, Any]] = []
    if segment_ids:  # no segment selected (e.g. no churners): an empty table, not an error
        found = segment_stability(
            counts,
            churned,
            membership,
            min_share=min_share,
            min_lift=min_lift,
            resamples=resamples,
            seed=config.seed,
            stable_share=stable_share,
        )
        reselected, findings = _rederived(warehouse, segment_ids, config.seed, variables)
        rows = [
            {
                "segment_id": segment_id,
                **row,
                "reselected_share": reselected[segment_id],
                "is_stable": reselected[segment_id] >= stable_share,
            }
            for segment_id, row in zip(segment_ids, found, strict=True)
        ]
    else:
        findings = []
    warehouse.replace_table(
        "marts.churn_segment_resample_findings",
        FINDING_COLUMNS,
        findings,
        description="Signs and segments the re-derived chain finds in bootstrap resamples but not on the data.",
    )
    warehouse.replace_table(
        "marts.churn_segment_stability",
        COLUMNS,
        rows,
        description="Bootstrap stability of the selected segments: re-derived reselection share, pass share, intervals.",
    )
    return rows
