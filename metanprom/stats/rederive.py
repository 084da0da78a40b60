"""Stability by re-derivation: the whole chain rebuilt on each bootstrap resample.

The chain is bins -> signs -> candidates -> greedy selection, in numpy on bootstrap weights.

The dbt models derive the segments once, on the data. Here a Poisson(1) weight per client stands
for a resample, and every step the models take is taken again with those weights:

1. ventile cut points of the continuous features (weighted ``percentile_disc``, money rounded to
   ``cut_significant_digits``; duplicate cuts and cuts at the minimum dropped);
2. buckets, test groups (a small tail of an ordinal feature with its neighbour), the one-sided test
   against the overall rate with the multiplicity correction, lift and size; adjacent passing buckets
   of an ordered feature merge; a merged sign keeps at least ``signal_min_client_share`` of clients;
3. signs: the signals, every value of gender / last_activity / credit_card / city not already a
   signal, every product segment; candidates: 2 or 3 signs of different families, evaluated on sign
   patterns; eligible by size, ``min_sample_clients`` and lift;
4. greedy selection: most new churners first (ties: higher lift), near-duplicates (Jaccard above
   ``segment_max_overlap``) skipped, at most ``segment_max_count`` picks.

A segment of the full data is *selected again* in a resample when a pick there has Jaccard at
least ``stability_match_jaccard`` with it on the clients (all clients, by their attributes).
With every weight 1 the chain reproduces the marts' selection (a test checks it). Ties between
candidates with equal new churners and lift are broken by a fixed order of the signs, which can
differ from the SQL's tie-break on candidate_id text; with integer weights such ties are rare.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from metanprom.paths import dbt_vars

#: The ten features (var churn_features, as macro churn_features reads them): (name, kind), and the
#: continuous ones with whole-number values (their cut points are not rounded like money).
_CHURN_FEATURES: list[dict[str, Any]] = dbt_vars()["churn_features"]
FEATURES = tuple((feature["name"], feature["kind"]) for feature in _CHURN_FEATURES)
WHOLE = {feature["name"] for feature in _CHURN_FEATURES if feature.get("whole")}
COLUMNS = {feature["name"]: feature["column"] for feature in _CHURN_FEATURES}
CATEGORY_SIGN_FEATURES = ("gender", "last_activity", "credit_card", "city")
MISSING = -1


@dataclass(frozen=True)
class ChainSettings:
    """The vars the chain reads (dbt_project.yml)."""

    quantile_bins: int
    cut_significant_digits: int
    signal_min_lift: float
    signal_min_client_share: float
    sign_alpha: float
    sign_multiplicity: str
    min_sample_clients: int
    segment_min_client_share: float
    segment_min_lift: float
    segment_max_count: int
    segment_max_overlap: float

    @classmethod
    def from_vars(cls, variables: dict[str, Any]) -> ChainSettings:
        """Read the settings from dbt's vars."""
        return cls(**{name: variables[name] for name in cls.__dataclass_fields__})


@dataclass
class Clients:
    """Per-client arrays, in a fixed order: the chain's input.

    ``values[name]``: float values of continuous features (nan = missing); integer codes of the
    others (-1 = missing), codes ordered as the buckets are. ``product_segment``: codes of the
    segments in ``segment_labels`` order.
    """

    churned: np.ndarray
    values: dict[str, np.ndarray]
    product_segment: np.ndarray
    segment_labels: list[str]
    category_labels: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Selection:
    """One run of the chain: the signs found and the picked segments (member masks over all clients)."""

    signs: list[str]
    picks: list[np.ndarray]
    pick_signs: list[tuple[str, ...]]


def _round_significant(values: np.ndarray, digits: int) -> np.ndarray:
    """Round half away from zero to ``digits`` significant digits (macro round_significant)."""
    result = np.zeros_like(values)
    nonzero = values != 0
    places = digits - 1 - np.floor(np.log10(np.abs(values[nonzero])))
    scaled = np.abs(values[nonzero]) * 10.0**places
    result[nonzero] = np.sign(values[nonzero]) * np.floor(scaled + 0.5) / 10.0**places
    return result


def _buckets(clients: Clients, weights: np.ndarray, settings: ChainSettings) -> dict[str, tuple[np.ndarray, list[str]]]:
    """Each feature's bucket code per client (-1 = missing) and readable labels of the codes."""
    result = {}
    for name, kind in FEATURES:
        values = clients.values[name]
        if kind != "continuous":
            result[name] = (values, clients.category_labels.get(name, []))
            continue
        known = ~np.isnan(values)
        order = np.argsort(values[known], kind="stable")
        sorted_values = values[known][order]
        cumulative = np.cumsum(weights[known][order])
        total = cumulative[-1] if cumulative.size else 0
        codes = np.full(values.size, MISSING)
        if total == 0:
            result[name] = (codes, [])
            continue
        quantiles = np.arange(1, settings.quantile_bins) / settings.quantile_bins
        positions = np.searchsorted(cumulative, quantiles * total, side="left")
        cuts = sorted_values[np.minimum(positions, sorted_values.size - 1)]
        if name not in WHOLE:
            cuts = _round_significant(cuts, settings.cut_significant_digits)
        minimum = sorted_values[np.searchsorted(cumulative, 0, side="right")]  # smallest value with weight
        cuts = np.unique(cuts[cuts > minimum])
        codes[known] = np.searchsorted(cuts, values[known], side="right")
        edges = [-np.inf, *cuts.tolist(), np.inf]
        labels = [f"{edges[i]:g}..{edges[i + 1]:g}" for i in range(cuts.size + 1)]
        result[name] = (codes, labels)
    return result


def _bucket_tests(
    buckets: dict[str, tuple[np.ndarray, list[str]]], churned: np.ndarray, weights: np.ndarray, settings: ChainSettings
) -> tuple[dict[str, dict[int, tuple[float, float]]], dict[str, set[int]], float, float]:
    """Weighted counts per bucket, the buckets passing the rate test, total clients and overall rate."""
    total = float(weights.sum())
    overall = float((weights * churned).sum()) / total
    counts: dict[str, dict[int, tuple[float, float]]] = {}
    tests: list[tuple[str, list[int], float, float]] = []  # feature, codes, clients, churners
    for name, kind in FEATURES:
        shifted = buckets[name][0] + 1  # MISSING -> 0
        n = np.bincount(shifted, weights=weights)
        k = np.bincount(shifted, weights=weights * churned)
        counts[name] = {code - 1: (n[code], k[code]) for code in range(n.size) if n[code] > 0}
        real = sorted(code for code in counts[name] if code != MISSING)
        groups = (
            _tail_groups(real, counts[name], settings.min_sample_clients) if kind == "ordinal" else [[c] for c in real]
        )
        if MISSING in counts[name]:
            groups.append([MISSING])
        for group in groups:
            tests.append((name, group, sum(counts[name][c][0] for c in group), sum(counts[name][c][1] for c in group)))
    passing: dict[str, set[int]] = {name: set() for name, _ in FEATURES}
    if not 0 < overall < 1 or not tests:
        return counts, passing, total, overall
    sizes = np.array([test[2] for test in tests])
    rates = np.array([test[3] for test in tests]) / sizes
    p_values = stats.norm.sf((rates - overall) / np.sqrt(overall * (1 - overall) / sizes))
    adjusted = adjust_p_values(p_values, settings.sign_multiplicity)
    passes = (
        (adjusted < settings.sign_alpha)
        & (sizes >= settings.min_sample_clients)
        & (rates >= settings.signal_min_lift * overall)
    )
    for (name, group, _, _), passed in zip(tests, passes, strict=True):
        if passed:
            passing[name].update(group)
    return counts, passing, total, overall


def _passing_buckets(
    buckets: dict[str, tuple[np.ndarray, list[str]]], churned: np.ndarray, weights: np.ndarray, settings: ChainSettings
) -> tuple[dict[str, list[list[int]]], float, float]:
    """Signals per feature: runs of passing bucket codes (merged when the feature is ordered; MISSING alone)."""
    counts, passing, total, overall = _bucket_tests(buckets, churned, weights, settings)
    signals: dict[str, list[list[int]]] = {}
    for name, kind in FEATURES:
        present = sorted(code for code in counts[name] if code != MISSING)
        if kind in ("ordinal", "continuous"):
            runs = [list(run) for passed, run in itertools.groupby(present, key=lambda c: c in passing[name]) if passed]
        else:
            runs = [[code] for code in present if code in passing[name]]
        if MISSING in passing[name]:
            runs.append([MISSING])
        signals[name] = [
            run for run in runs if sum(counts[name][c][0] for c in run) >= settings.signal_min_client_share * total
        ]
    return signals, total, overall


def adjust_p_values(p_values: np.ndarray, method: str) -> np.ndarray:
    """Holm or Benjamini-Hochberg adjusted p-values (as statsmodels' multipletests, which a test checks).

    Written out because ``multipletests`` runs a full garbage collection on every call (0.2 s),
    which a few hundred resamples cannot afford.
    """
    count = p_values.size
    if count == 0:
        return p_values
    order = np.argsort(p_values, kind="stable")
    ranked = p_values[order]
    if method == "holm":
        steps = np.maximum.accumulate((count - np.arange(count)) * ranked)
    elif method == "bh":
        steps = np.minimum.accumulate((count * ranked / np.arange(1, count + 1))[::-1])[::-1]
    else:
        raise ValueError(f"var sign_multiplicity must be holm or bh, not {method!r}")
    adjusted = np.empty(count)
    adjusted[order] = np.minimum(steps, 1.0)
    return adjusted


def _tail_groups(real: list[int], counts: dict[int, tuple[float, float]], minimum: int) -> list[list[int]]:
    """Ordinal values in test groups: a tail with fewer than ``minimum`` clients joins its neighbour."""
    sizes = [counts[code][0] for code in real]
    from_top = np.cumsum(sizes[::-1])[::-1]
    from_bottom = np.cumsum(sizes)
    upper_candidates = [code for code, size in zip(real, from_top, strict=True) if size >= minimum]
    lower_candidates = [code for code, size in zip(real, from_bottom, strict=True) if size >= minimum]
    upper = max(upper_candidates) if upper_candidates else None
    lower = min(lower_candidates) if lower_candidates else None
    group_of = {}
    for code in real:
        anchor = code
        if upper is not None and code > upper:
            anchor = upper
        elif lower is not None and code < lower:
            anchor = lower
        group_of[code] = anchor
    groups: dict[int, list[int]] = {}
    for code in real:
        groups.setdefault(group_of[code], []).append(code)
    return list(groups.values())


def run_chain(clients: Clients, weights: np.ndarray, settings: ChainSettings) -> Selection:
    """Derive signs, candidates and the greedy selection with ``weights`` (all ones = the data itself)."""
    churned = clients.churned.astype(np.float64)
    weights = weights.astype(np.float64)
    buckets = _buckets(clients, weights, settings)
    signals, total, overall = _passing_buckets(buckets, churned, weights, settings)
    # sign slots: one per feature (at most one sign per client and feature) + the product segment
    sign_names: list[str] = []
    sign_family: list[str] = []
    slots = []
    for name, _ in FEATURES:
        codes, labels = buckets[name]
        slot = np.full(codes.size, -1)
        covered: set[int] = set()
        for run in signals[name]:
            index = len(sign_names)
            sign_names.append(f"{name}: {_describe(run, labels)}")
            sign_family.append("products" if name == "products" else name)
            slot[np.isin(codes, run)] = index
            covered.update(run)
        if name in CATEGORY_SIGN_FEATURES:
            weighted = np.bincount(codes + 1, weights=weights, minlength=len(labels) + 1)
            for code in range(len(labels)):
                if code in covered or weighted[code + 1] == 0:
                    continue
                index = len(sign_names)
                sign_names.append(f"{name}: {labels[code]}")
                sign_family.append(name)
                slot[codes == code] = index
        slots.append(slot)
    segment_slot = np.full(clients.product_segment.size, -1)
    weighted_segments = np.bincount(clients.product_segment, weights=weights, minlength=len(clients.segment_labels))
    for code, label in enumerate(clients.segment_labels):
        if weighted_segments[code] > 0:
            segment_slot[clients.product_segment == code] = len(sign_names)
            sign_names.append(f"product_segment: {label}")
            sign_family.append("products")
    slots.append(segment_slot)
    matrix = np.column_stack(slots)  # clients x slots: sign index or -1
    picks = _select(matrix, np.array(sign_family), churned, weights, total, overall, settings)
    return Selection(
        signs=[name for name in sign_names if not name.startswith("product_segment")],
        picks=[mask for mask, _ in picks],
        pick_signs=[tuple(sign_names[s] for s in key) for _, key in picks],
    )


def _describe(run: list[int], labels: list[str]) -> str:
    if run == [MISSING]:
        return "missing"
    if not labels:
        return ",".join(str(code) for code in run)
    return labels[run[0]] if len(run) == 1 else f"{labels[run[0]]}|{labels[run[-1]]}"


def _select(
    matrix: np.ndarray,
    families: np.ndarray,
    churned: np.ndarray,
    weights: np.ndarray,
    total: float,
    overall: float,
    settings: ChainSettings,
) -> list[tuple[np.ndarray, tuple[int, ...]]]:
    """Candidates on sign patterns, eligibility, then the greedy rounds; member masks over all clients."""
    patterns, pattern_of = _unique_rows(matrix)
    pattern_clients = np.bincount(pattern_of, weights=weights, minlength=len(patterns))
    pattern_churners = np.bincount(pattern_of, weights=weights * churned, minlength=len(patterns))
    n_slots = matrix.shape[1]
    keys, key_patterns = [], []
    for size in (2, 3):
        for combination in itertools.combinations(range(n_slots), size):
            signs = patterns[:, combination]
            valid = (signs >= 0).all(axis=1)
            if not valid.any():
                continue
            signs, rows = signs[valid], np.flatnonzero(valid)
            sign_families = families[signs]
            distinct = np.ones(len(rows), dtype=bool)
            for left, right in itertools.combinations(range(size), 2):
                distinct &= sign_families[:, left] != sign_families[:, right]
            signs, rows = signs[distinct], rows[distinct]
            padded = np.full((len(rows), 3), -1)
            padded[:, :size] = np.sort(signs, axis=1)
            keys.append(padded)
            key_patterns.append(rows)
    if not keys:
        return []
    all_keys = np.concatenate(keys)
    all_rows = np.concatenate(key_patterns)
    candidates, candidate_of = _unique_rows(all_keys)
    clients = np.bincount(candidate_of, weights=pattern_clients[all_rows], minlength=len(candidates))
    churners = np.bincount(candidate_of, weights=pattern_churners[all_rows], minlength=len(candidates))
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(clients > 0, churners / clients / overall, 0.0)
    eligible = (
        (clients >= settings.segment_min_client_share * total)
        & (clients >= settings.min_sample_clients)
        & (lift >= settings.segment_min_lift)
    )
    chosen = np.flatnonzero(eligible)
    if chosen.size == 0:
        return []
    membership = np.zeros((chosen.size, len(patterns)), dtype=bool)
    position = np.full(len(candidates), -1)
    position[chosen] = np.arange(chosen.size)
    kept = position[candidate_of] >= 0
    membership[position[candidate_of[kept]], all_rows[kept]] = True
    weights_of = membership.astype(np.float64)  # cast once: `bool @ float` casts the whole matrix on every product
    member_clients = weights_of @ pattern_clients
    reached = np.zeros(len(patterns), dtype=bool)
    picked: list[int] = []
    for _ in range(settings.segment_max_count):
        gain = weights_of @ (pattern_churners * ~reached)
        allowed = gain > 0
        allowed[picked] = False
        for pick in picked:
            shared = weights_of @ (pattern_clients * membership[pick])
            union = member_clients + member_clients[pick] - shared
            allowed &= shared / union <= settings.segment_max_overlap
        if not allowed.any():
            break
        order = np.lexsort((-lift[chosen], -gain))  # most new churners, then higher lift
        best = next(index for index in order if allowed[index])
        picked.append(int(best))
        reached |= membership[best]
    return [
        (membership[index][pattern_of], tuple(int(s) for s in candidates[chosen[index]] if s >= 0)) for index in picked
    ]


def _unique_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a small-integer matrix (values >= -1) and each row's index among them.

    Rows are packed into one int64 when they fit (much faster than ``np.unique(axis=0)``).
    """
    base = int(matrix.max(initial=0)) + 2
    if base ** matrix.shape[1] < 2**62:
        packed = np.zeros(matrix.shape[0], dtype=np.int64)
        for column in range(matrix.shape[1]):
            packed = packed * base + (matrix[:, column] + 1)
        _, first, inverse = np.unique(packed, return_index=True, return_inverse=True)
        return matrix[first], inverse.ravel()
    rows, inverse = np.unique(matrix, axis=0, return_inverse=True)
    return rows, inverse.ravel()


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard overlap of two member masks."""
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 0.0


@dataclass
class Rederived:
    """Per full-data segment: share of resamples selecting it again; what appears only in resamples."""

    reselected_share: list[float]
    resample_signs: dict[str, float]
    resample_segments: dict[str, float]
    resamples: int


def rederive(
    clients: Clients,
    segments: list[np.ndarray],
    full_signs: list[str],
    weights: np.ndarray,
    settings: ChainSettings,
    match_jaccard: float,
) -> Rederived:
    """Rebuild the chain on each row of ``weights`` (resamples x clients) and compare with ``segments``.

    ``resample_signs``: for each sign *family key* (feature, or feature=value for categories) not
    among ``full_signs``' keys, the share of resamples that found it; ``resample_segments``: picks
    matching no full-data segment, by their sign families, with their share of resamples.
    """
    found = np.zeros(len(segments))
    full_keys = {_sign_key(sign) for sign in full_signs}
    new_signs: dict[str, int] = {}
    new_segments: dict[str, int] = {}
    for row in weights:
        selection = run_chain(clients, row, settings)
        for index, segment in enumerate(segments):
            if any(jaccard(segment, pick) >= match_jaccard for pick in selection.picks):
                found[index] += 1
        for key in {_sign_key(sign) for sign in selection.signs} - full_keys:
            new_signs[key] = new_signs.get(key, 0) + 1
        for pick, signs in zip(selection.picks, selection.pick_signs, strict=True):
            if not any(jaccard(segment, pick) >= match_jaccard for segment in segments):
                key = " & ".join(sorted(_sign_key(sign) for sign in signs))
                new_segments[key] = new_segments.get(key, 0) + 1
    count = len(weights)
    return Rederived(
        reselected_share=[float(x / count) for x in found],
        resample_signs={key: value / count for key, value in sorted(new_signs.items())},
        resample_segments={key: value / count for key, value in sorted(new_segments.items())},
        resamples=count,
    )


def _sign_key(sign: str) -> str:
    """Return a sign's identity across resamples: 'feature (interval)' for an interval, else the sign."""
    feature, _, value = sign.partition(": ")
    if feature in {name for name, kind in FEATURES if kind in ("continuous", "ordinal")} and value != "missing":
        return f"{feature} (interval)"
    return sign


CLIENT_COLUMNS = (
    "client_key",
    "is_churned",
    "city",
    "gender",
    "age",
    "score",
    "equity",
    "balance",
    "products",
    "has_credit_card",
    "is_active",
    "est_salary",
    "product_segment",
)


def subsample_filter(warehouse: Any, max_clients: int, alias: str) -> str:
    """Return the ``where`` clause of the systematic 1-in-k subsample (every k-th client by file order), or ''."""
    total = int(warehouse.fetch("select count(*) from marts.dim_clients")[0][0])
    step = max(1, -(-total // max_clients))
    return f"where mod({alias}.source_row_number, {step}) = 0" if step > 1 else ""


def read_clients(warehouse: Any, max_clients: int) -> tuple[Clients, list[str]]:
    """Read dim_clients in file order (a systematic 1-in-k subsample above ``max_clients``); client keys."""
    where = subsample_filter(warehouse, max_clients, "dim_clients")
    rows = warehouse.fetch(
        f"select {', '.join(CLIENT_COLUMNS)} from marts.dim_clients {where} order by source_row_number"
    )
    columns = {name: [row[index] for row in rows] for index, name in enumerate(CLIENT_COLUMNS)}

    def codes(values: list[Any], labels: list[Any]) -> np.ndarray:
        lookup = {value: index for index, value in enumerate(labels)}
        return np.array([lookup.get(value, MISSING) if value is not None else MISSING for value in values])

    category_labels: dict[str, list[str]] = {}
    values: dict[str, np.ndarray] = {}
    for name, kind in FEATURES:
        raw = columns[COLUMNS[name]]
        if kind == "continuous":
            values[name] = np.array([np.nan if value is None else float(value) for value in raw])
        elif kind == "flag":
            values[name] = np.array([MISSING if value is None else int(bool(value)) for value in raw])
            category_labels[name] = ["no", "yes"]
        else:
            labels = sorted({value for value in raw if value is not None})
            values[name] = codes(raw, labels)
            category_labels[name] = [str(label) for label in labels]
    segment_labels = sorted({value for value in columns["product_segment"] if value is not None})
    clients = Clients(
        churned=np.array([bool(value) for value in columns["is_churned"]]),
        values=values,
        product_segment=codes(columns["product_segment"], segment_labels),
        segment_labels=[str(label) for label in segment_labels],
        category_labels=category_labels,
    )
    return clients, [str(key) for key in columns["client_key"]]
