"""Stability of the selected segments under resampling (Poisson bootstrap, fixed seed).

For each resample every client gets a Poisson(1) weight; a segment "holds" when its weighted
size share and lift still pass the selection thresholds. Writes ``marts.churn_segment_stability``.
Above ``max_resample_size`` clients a seeded subsample is resampled, so the cost stays bounded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml

from metanprom.paths import REPO_ROOT
from metanprom.stat_tests import StatConfig, write_table

COLUMNS = {
    "segment_id": "varchar",
    "resamples": "bigint",
    "pass_share": "double precision",
    "churn_rate_ci_low": "double precision",
    "churn_rate_ci_high": "double precision",
    "lift_ci_low": "double precision",
    "lift_ci_high": "double precision",
    "is_stable": "boolean",
}


def _thresholds(path: Path = REPO_ROOT / "dbt_project.yml") -> tuple[float, float, int]:
    variables = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("vars", {})
    return (
        float(variables.get("segment_min_client_share", 0.05)),
        float(variables.get("segment_min_lift", 2.0)),
        int(variables.get("segment_bootstrap_resamples", 200)),
    )


def segment_stability(
    churned: np.ndarray,
    membership: np.ndarray,
    *,
    min_share: float,
    min_lift: float,
    resamples: int,
    seed: int,
    max_size: int,
) -> list[dict[str, float]]:
    """Bootstrap pass share and 95 % percentile intervals of each segment's churn rate and lift.

    ``churned``: bool per client; ``membership``: bool matrix clients x segments.
    """
    rng = np.random.default_rng(seed)
    if churned.size > max_size:
        keep = rng.choice(churned.size, size=max_size, replace=False)
        churned, membership = churned[keep], membership[keep]
    member = membership.astype(np.float64)
    churn = churned.astype(np.float64)
    rates = np.empty((resamples, member.shape[1]))
    lifts = np.empty_like(rates)
    passes = np.empty_like(rates, dtype=bool)
    for index in range(resamples):  # a loop over resamples; each is vectorised over clients
        weights = rng.poisson(1.0, size=churn.size).astype(np.float64)
        total, total_churn = weights.sum(), weights @ churn
        clients = weights @ member
        churners = (weights * churn) @ member
        with np.errstate(invalid="ignore", divide="ignore"):
            rates[index] = churners / clients
            lifts[index] = rates[index] / (total_churn / total)
        passes[index] = (clients >= min_share * total) & (lifts[index] >= min_lift)
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
            "is_stable": bool(share[k] >= 0.8),
        }
        for k in range(member.shape[1])
    ]


def run_stability(connection: Any, config: StatConfig | None = None) -> list[dict[str, Any]]:
    """Read clients and segment members, write marts.churn_segment_stability, return its rows."""
    config = config or StatConfig.from_dbt_project()
    min_share, min_lift, resamples = _thresholds()
    cursor = connection.cursor()
    cursor.execute("select client_key, is_churned from marts.dim_clients order by client_key")
    clients = cursor.fetchall()
    keys = np.array([row[0] for row in clients], dtype=object)
    churned = np.array([bool(row[1]) for row in clients])
    cursor.execute("select segment_id, client_key from marts.churn_segment_members order by segment_id")
    members = cursor.fetchall()
    segment_ids = sorted({row[0] for row in members})
    membership = np.zeros((keys.size, len(segment_ids)), dtype=bool)
    if members:
        member_keys = np.array([row[1] for row in members], dtype=object)
        member_segments = np.searchsorted(np.array(segment_ids, dtype=object), [row[0] for row in members])
        membership[np.searchsorted(keys, member_keys), member_segments] = True
    rows = segment_stability(
        churned,
        membership,
        min_share=min_share,
        min_lift=min_lift,
        resamples=resamples,
        seed=config.seed,
        max_size=config.max_resample_size,
    )
    rows = [{"segment_id": segment_id, **row} for segment_id, row in zip(segment_ids, rows, strict=True)]
    write_table(
        connection,
        "marts.churn_segment_stability",
        COLUMNS,
        rows,
        description="Bootstrap stability of the selected segments: pass share and 95 % intervals of rate and lift.",
    )
    return rows
