"""The benchmark's pandas baseline: the pipeline's work, done the course notebooks' way.

The notebooks read the CSV with pandas, cleaned it, broke churn down by feature with groupby,
picked churn signs and combined them with ``itertools.combinations``, filtering the frame once
per combination. This module does that same work on a whole extract, vectorised where pandas
allows (boolean numpy masks, no row loops), with the warehouse's rules and thresholds (the vars
of ``dbt_project.yml``, read by ``metanprom.paths.dbt_vars``; the repository root must be importable), so that it produces what the dbt models and tests produce:

- cleaning: typed columns, hard rules with a reason per row, repeated (user_id, city) rejected;
- the client table with its key and flags; churn by every feature (quantile bins as
  ``percentile_disc``, money cuts rounded to significant digits, Wilson intervals, lift);
  churn by feature x city x gender; product segments and their profile; churned vs retained;
- churn signals (adjacent churn-prone buckets merged), the signs, every 2- and 3-sign candidate,
  the greedy selection with the overlap rule, the members and the pairwise overlaps;
- the data tests' checks (keys unique and present, ranges, every row accounted for, segments
  reproduced from their members).

- the statistical step's work: every hypothesis of the plan with both tests, effect sizes, bootstrap
  intervals, post-hoc pairs and Holm (scipy, statsmodels); the segment chain re-derived on Poisson
  resamples of the same subsample (stability);
- the risk step's work: the same models on pandas features, the same folds and training sample,
  permutation importance, every client scored, the call list as CSV and XLSX.

``run`` times load / marts / checks / tests / stability / risk separately and returns the figures
the benchmark prints; ``summary`` holds the results that tests compare with the warehouse's marts.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint, proportions_ztest

from metanprom.paths import REPO_ROOT, dbt_vars
from metanprom.risk import best_model, training_sample  # the same model and sample rule; the data path is pandas

MISSING = "missing"
NUMERIC_RULES = {
    # column: (kind, min var, max var, required)
    "user_id": ("integer", None, None, True),
    "score": ("integer", "score_min", "score_max", True),
    "age": ("integer", "age_min", "age_max", False),
    "equity": ("integer", "equity_min", "equity_max", True),
    "balance": ("number", "balance_min", "balance_max", False),
    "products": ("integer", "products_min", "products_max", True),
    "credit_card": ("flag", None, None, True),
    "last_activity": ("flag", None, None, True),
    "est_salary": ("number", "est_salary_min", "est_salary_max", True),
    "churn": ("flag", None, None, True),
}
_CHURN_FEATURES = dbt_vars()["churn_features"]  # var churn_features, as the dbt models read it
FEATURES = [(feature["name"], feature["column"], feature["kind"]) for feature in _CHURN_FEATURES]
WHOLE = {feature["name"] for feature in _CHURN_FEATURES if feature.get("whole")}


def wilson(k: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of k successes in n trials (statsmodels), at the var's z."""
    alpha = 2 * stats.norm.sf(z)
    low, high = proportion_confint(np.asarray(k), np.asarray(n), alpha=alpha, method="wilson")
    return np.asarray(low), np.asarray(high)


def accepted_genders() -> list[str]:
    """The accepted gender codes: seed ref_genders, the list dbt's rule reads."""
    return pd.read_csv(REPO_ROOT / "seeds" / "ref_genders.csv", dtype=str)["gender"].tolist()


def round_significant(value: float, digits: int) -> float:
    """Round half away from zero to ``digits`` significant digits (as macro round_significant)."""
    if value == 0:
        return 0.0
    places = digits - 1 - int(np.floor(np.log10(abs(value))))
    scaled = abs(value) * 10.0**places
    return float(np.sign(value) * np.floor(scaled + 0.5) / 10.0**places)


@dataclass
class Baseline:
    """What the baseline computed: its frames and the figures tests compare with the marts."""

    seconds: dict[str, float] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


def clean(frame: pd.DataFrame, v: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Type the columns, apply the hard rules; return (clients, rejected rows with reasons)."""
    frame.columns = [name.lower() for name in frame.columns]
    frame = frame.rename(columns={"userid": "user_id"})
    frame.insert(0, "source_row_number", np.arange(1, len(frame) + 1))
    violations = {}
    typed = {}
    for column, (kind, low, high, required) in NUMERIC_RULES.items():
        present = frame[column].notna()
        number = pd.to_numeric(frame[column], errors="coerce")
        if kind == "integer":
            number = number.where(number == np.floor(number))
        elif kind == "flag":
            number = number.where(number.isin([0, 1]))
        typed[column] = number
        if required:
            violations[f"{column}: missing"] = ~present
        violations[f"{column}: not a valid value"] = present & number.isna()
        if low is not None:
            violations[f"{column}: outside the plausible range"] = (number < v[low]) | (number > v[high])
    for column in ("city", "gender"):
        violations[f"{column}: missing"] = frame[column].isna()
    violations["gender: not an accepted value"] = frame["gender"].notna() & ~frame["gender"].isin(accepted_genders())
    broken = pd.DataFrame(violations)
    value_rejected = broken.any(axis=1).to_numpy()
    repeated = np.zeros(len(frame), dtype=bool)
    valid = ~value_rejected
    repeated[valid] = frame.loc[valid].duplicated(["user_id", "city"], keep="first").to_numpy()
    rejected_mask = value_rejected | repeated
    rejected = frame.loc[rejected_mask].copy()
    names = np.array(broken.columns)
    rejected["reason"] = ["; ".join(names[row]) for row in broken.to_numpy()[rejected_mask]]  # rejected rows only
    rejected.loc[repeated[rejected_mask], "reason"] = "user_id, city: repeats an earlier row"

    clients = pd.DataFrame(
        {
            "source_row_number": frame["source_row_number"],
            "user_id": typed["user_id"].astype("Int64"),
            "city": frame["city"],
            "gender": frame["gender"],
            "age": typed["age"].astype("Int64"),
            "score": typed["score"].astype("Int64"),
            "equity": typed["equity"].astype("Int64"),
            "balance": typed["balance"],
            "products": typed["products"].astype("Int64"),
            "has_credit_card": typed["credit_card"] == 1,
            "is_active": typed["last_activity"] == 1,
            "is_churned": typed["churn"] == 1,
            "est_salary": typed["est_salary"],
            "is_age_missing": frame["age"].isna(),
            "is_balance_missing": frame["balance"].isna(),
            "is_duplicate_user_id": typed["user_id"].duplicated(keep=False) & typed["user_id"].notna(),
        }
    ).loc[~rejected_mask]
    clients.insert(0, "client_key", clients["user_id"].astype(str) + "-" + clients["city"])
    top = v["products_top_segment"]
    clients["product_segment"] = np.where(clients["products"] >= top, f"{top}+", clients["products"].astype(str))
    clients["is_balance_outlier"] = (clients["balance"] > v["balance_outlier_threshold"]).fillna(False)
    return clients.reset_index(drop=True), rejected


def feature_buckets(clients: pd.DataFrame, v: dict[str, Any]) -> dict[str, tuple[np.ndarray, pd.DataFrame]]:
    """Each feature's bucket of every client (an order number) and its bucket table."""
    result = {}
    n_bins = v["quantile_bins"]
    for name, column, kind in FEATURES:
        values = clients[column]
        missing = values.isna().to_numpy()
        if kind == "continuous":
            known = values.dropna().astype(float).to_numpy()
            cuts = np.quantile(known, [k / n_bins for k in range(1, n_bins)], method="inverted_cdf")
            if name not in WHOLE:
                cuts = np.array([round_significant(cut, v["cut_significant_digits"]) for cut in cuts])
            cuts = np.unique(cuts[cuts > known.min()])
            order = np.searchsorted(cuts, values.astype(float).fillna(0).to_numpy(), side="right") + 1
            lower = np.concatenate([[np.nan], cuts])
            upper = np.concatenate([cuts, [np.nan]])
            table = pd.DataFrame({"bucket_order": np.arange(1, len(cuts) + 2), "lower": lower, "upper": upper})
        else:
            as_number = values.astype(float) if kind != "nominal" else None
            categories = (
                np.sort(values.dropna().unique()) if kind == "nominal" else np.sort(as_number.dropna().unique())
            )
            lookup = {value: position + 1 for position, value in enumerate(categories)}
            order = (values if kind == "nominal" else as_number).map(lookup).fillna(0).to_numpy().astype(int)
            table = pd.DataFrame({"bucket_order": np.arange(1, len(categories) + 1), "value": categories})
            table["lower"] = table["value"] if kind == "ordinal" else np.nan
            table["upper"] = table["value"] + 1 if kind == "ordinal" else np.nan
        order = np.where(missing, v["missing_bucket_order"], order)
        result[name] = (order, table)
    return result


def churn_by_feature(
    clients: pd.DataFrame, buckets: dict[str, tuple[np.ndarray, pd.DataFrame]], v: dict[str, Any]
) -> pd.DataFrame:
    """Churn by each bucket of each feature: counts, rate, Wilson interval, lift; the rate test on test groups with Holm."""
    churned = clients["is_churned"].to_numpy()
    overall = churned.mean()
    tables = []
    for name, _, kind in FEATURES:
        order, _ = buckets[name]
        grouped = (
            pd.DataFrame({"bucket_order": order, "churn": churned, "balance": clients["balance"].to_numpy()})
            .groupby("bucket_order")
            .agg(clients=("churn", "size"), churners=("churn", "sum"), balance_total=("balance", "sum"))
            .reset_index()
        )
        grouped.insert(0, "feature", name)
        grouped["kind"] = kind
        tables.append(grouped)
    table = pd.concat(tables, ignore_index=True)
    table["churn_rate"] = table["churners"] / table["clients"]
    table["ci_low"], table["ci_high"] = wilson(table["churners"], table["clients"], v["wilson_z"])
    table["lift"] = table["churn_rate"] / overall
    table["test_group"] = table["bucket_order"]
    minimum, missing = v["min_sample_clients"], v["missing_bucket_order"]
    for name, _, kind in FEATURES:  # a small tail of an ordinal feature is tested with its neighbour
        rows = (table["feature"] == name) & (table["bucket_order"] != missing)
        if kind != "ordinal" or not rows.any():
            continue
        values = table[rows].sort_values("bucket_order")
        from_top = values["clients"][::-1].cumsum()[::-1]
        from_bottom = values["clients"].cumsum()
        upper = values.loc[from_top >= minimum, "bucket_order"].max()
        lower = values.loc[from_bottom >= minimum, "bucket_order"].min()
        group = values["bucket_order"].copy()
        if not np.isnan(upper):
            group[values["bucket_order"] > upper] = upper
        if not np.isnan(lower):
            group[values["bucket_order"] < lower] = lower
        table.loc[values.index, "test_group"] = group
    groups = table.groupby(["feature", "test_group"]).agg(n=("clients", "sum"), k=("churners", "sum")).reset_index()
    z = (groups["k"] / groups["n"] - overall) / np.sqrt(overall * (1 - overall) / groups["n"])
    p_values = stats.norm.sf(z)
    groups["p_adjusted"] = multipletests(p_values, method=v["sign_multiplicity"].replace("bh", "fdr_bh"))[1]
    groups["passes"] = (
        (groups["p_adjusted"] < v["sign_alpha"])
        & (groups["n"] >= minimum)
        & (groups["k"] / groups["n"] >= v["signal_min_lift"] * overall)
    )
    table = table.merge(groups[["feature", "test_group", "passes"]], on=["feature", "test_group"], how="left")
    return table


def churn_signals(table: pd.DataFrame, all_clients: int, v: dict[str, Any]) -> list[dict[str, Any]]:
    """Churn-prone buckets, adjacent ones of an ordered feature merged; kept when large enough."""
    signals = []
    for name, _, kind in FEATURES:
        rows = table[table["feature"] == name].sort_values("bucket_order").reset_index(drop=True)
        mergeable = kind in ("ordinal", "continuous")
        run: list[int] = []
        for position, row in rows.iterrows():
            is_real = row["bucket_order"] != v["missing_bucket_order"]
            if row["passes"] and mergeable and is_real:
                run.append(position)
                continues = position + 1 < len(rows) and rows.loc[position + 1, "passes"]
                continues = continues and rows.loc[position + 1, "bucket_order"] != v["missing_bucket_order"]
                if not continues:
                    signals.append({"feature": name, "orders": list(rows.loc[run, "bucket_order"])})
                    run = []
            elif row["passes"]:
                signals.append({"feature": name, "orders": [row["bucket_order"]]})
    clients_of = table.set_index(["feature", "bucket_order"])["clients"]
    return [
        signal
        for signal in signals
        if sum(clients_of[(signal["feature"], order)] for order in signal["orders"])
        >= v["signal_min_client_share"] * all_clients
    ]


def signs(
    clients: pd.DataFrame, buckets: dict[str, tuple[np.ndarray, pd.DataFrame]], signals: list[dict[str, Any]]
) -> list[tuple[str, str, np.ndarray]]:
    """(sign id, family, member mask): the signals, the categorical values, the product segments."""
    result = []
    for signal in signals:
        order, _ = buckets[signal["feature"]]
        result.append((f"{signal['feature']}: {signal['orders']}", signal["feature"], np.isin(order, signal["orders"])))
    signal_keys = {(signal["feature"], tuple(signal["orders"])) for signal in signals}
    for name in ("gender", "last_activity", "credit_card", "city"):
        order, table = buckets[name]
        for bucket_order in table["bucket_order"]:
            if (name, (bucket_order,)) not in signal_keys:
                result.append((f"{name}: {bucket_order}", name, order == bucket_order))
    segment = clients["product_segment"].to_numpy()
    for value in np.unique(segment):
        result.append((f"product_segment: {value}", "products", segment == value))
    return result


def candidates(sign_list: list[tuple[str, str, np.ndarray]], clients: pd.DataFrame, v: dict[str, Any]) -> pd.DataFrame:
    """Every combination of 2 or 3 signs of different families, filtered the notebooks' way."""
    churned = clients["is_churned"].to_numpy()
    retained_balance = np.where(churned, 0.0, clients["balance"].fillna(0).to_numpy())
    overall = churned.mean()
    rows = []
    for size in (2, 3):
        for combination in itertools.combinations(sign_list, size):
            if len({family for _, family, _ in combination}) < size:
                continue
            mask = combination[0][2] & combination[1][2]
            if size == 3:
                mask &= combination[2][2]
            members = int(np.count_nonzero(mask))
            if members == 0:
                continue
            rows.append(
                {
                    "candidate_id": " & ".join(sorted(sign_id for sign_id, _, _ in combination)),
                    "signs": [sign_id for sign_id, _, _ in combination],
                    "clients": members,
                    "churners": int(np.count_nonzero(mask & churned)),
                    "balance_at_risk": float(retained_balance[mask].sum()),
                }
            )
    table = pd.DataFrame(rows)
    table["churn_rate"] = table["churners"] / table["clients"]
    table["ci_low"], table["ci_high"] = wilson(table["churners"], table["clients"], v["wilson_z"])
    table["lift"] = table["churn_rate"] / overall
    table["is_eligible"] = (
        (table["clients"] >= v["segment_min_client_share"] * len(clients))
        & (table["clients"] >= v["min_sample_clients"])
        & (table["lift"] >= v["segment_min_lift"])
    )
    return table


def select_segments(
    table: pd.DataFrame, sign_list: list[tuple[str, str, np.ndarray]], clients: pd.DataFrame, v: dict[str, Any]
) -> list[tuple[str, np.ndarray]]:
    """Greedy: the most churners not yet reached, skipping near-duplicates (Jaccard overlap)."""
    masks = {sign_id: mask for sign_id, _, mask in sign_list}
    churned = clients["is_churned"].to_numpy()
    eligible = table[table["is_eligible"]]
    member_masks = {
        row.candidate_id: np.logical_and.reduce([masks[sign] for sign in row.signs]) for row in eligible.itertuples()
    }
    reached = np.zeros(len(clients), dtype=bool)
    picks: list[tuple[str, np.ndarray]] = []
    for _ in range(v["segment_max_count"]):
        best = None
        for row in eligible.itertuples():
            if any(row.candidate_id == pick for pick, _ in picks):
                continue
            mask = member_masks[row.candidate_id]
            overlaps = [np.count_nonzero(mask & picked) / np.count_nonzero(mask | picked) for _, picked in picks]
            if any(overlap > v["segment_max_overlap"] for overlap in overlaps):
                continue
            gain = int(np.count_nonzero(mask & churned & ~reached))
            key = (gain, row.lift, [-ord(char) for char in row.candidate_id])
            if gain > 0 and (best is None or key > best[0]):
                best = (key, row.candidate_id, mask)
        if best is None:
            break
        picks.append((best[1], best[2]))
        reached |= best[2]
    return picks


def other_marts(clients: pd.DataFrame, buckets: dict[str, tuple[np.ndarray, pd.DataFrame]]) -> None:
    """The remaining churn marts: feature x city x gender, product segments, churn profile."""
    for name, _, _ in FEATURES:
        order, _ = buckets[name]
        clients.groupby([order, clients["city"], clients["gender"]])["is_churned"].agg(["size", "sum"])
    clients.groupby("product_segment").agg(
        clients=("is_churned", "size"),
        churners=("is_churned", "sum"),
        median_age=("age", "median"),
        median_score=("score", "median"),
        median_balance=("balance", "median"),
        median_salary=("est_salary", "median"),
        share_women=("gender", lambda s: (s == "Ж").mean()),
        share_active=("is_active", "mean"),
        share_card=("has_credit_card", "mean"),
    )
    clients.groupby(["product_segment", "city", "gender"])["is_churned"].agg(["size", "sum"])
    clients.groupby("is_churned")[["age", "score", "equity", "balance", "products", "est_salary"]].agg(
        ["mean", "median"]
    )
    clients.groupby(["city", "is_churned"])["balance"].sum()


def checks(
    frame_rows: int,
    clients: pd.DataFrame,
    rejected: pd.DataFrame,
    picks: list[tuple[str, np.ndarray]],
    table: pd.DataFrame,
    v: dict[str, Any],
) -> None:
    """The data tests' checks; raises AssertionError when one fails (as a failing dbt test)."""
    assert clients["client_key"].notna().all() and clients["client_key"].is_unique
    assert clients["source_row_number"].is_unique
    assert len(clients) + len(rejected) == frame_rows
    assert clients["age"].dropna().between(v["age_min"], v["age_max"]).all()
    assert clients["balance"].dropna().ge(v["balance_min"]).all()
    assert clients["is_age_missing"].eq(clients["age"].isna()).all()
    for candidate_id, mask in picks:
        members = clients.loc[mask, ["client_key", "is_churned"]]
        assert members["client_key"].is_unique
        row = table.loc[table["candidate_id"] == candidate_id].iloc[0]
        assert len(members) == row["clients"] and members["is_churned"].sum() == row["churners"]


def _bootstrap_sample(values: np.ndarray, rng: np.random.Generator, max_size: int) -> np.ndarray:
    """At most ``max_size`` values (seeded, without replacement): the step's documented subsample."""
    return rng.choice(values, size=max_size, replace=False) if values.size > max_size else values


def hypothesis_tests(clients: pd.DataFrame, v: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """The statistical step's work with scipy and statsmodels on the clients frame, the notebooks' way.

    Every hypothesis of the pre-declared plan (seeds/analysis_plan.csv) with both of its tests, the
    effect sizes and their intervals (bootstrap on at most ``stat_max_resample_size`` values per
    group, as the step documents), the post-hoc pairs after Kruskal-Wallis, Holm over the primary
    tests. Returns {(hypothesis, test): {"p": p-value, "effect": effect size, ...}}: the p-value and
    effect are cross-checked with the marts; the intervals (their own resamples) are kept beside them.
    """
    n_boot, max_size = v["stat_bootstrap_resamples"], v["stat_max_resample_size"]
    rng = np.random.default_rng(v["stat_seed"])
    churned = clients["is_churned"].to_numpy()
    found: dict[tuple[str, str], dict[str, Any]] = {}

    def two_groups(hypothesis: str, a: pd.Series, b: pd.Series, boot: int = n_boot) -> None:
        a, b = a.dropna().to_numpy(dtype=float), b.dropna().to_numpy(dtype=float)
        mann_whitney = stats.mannwhitneyu(a, b, alternative="two-sided")
        welch = stats.ttest_ind(a, b, equal_var=False)
        skews = (float(stats.skew(a, bias=False)), float(stats.skew(b, bias=False)))
        pooled = np.sqrt(((a.size - 1) * a.var(ddof=1) + (b.size - 1) * b.var(ddof=1)) / (a.size + b.size - 2))
        hedges = (1 - 3 / (4 * (a.size + b.size) - 9)) * (a.mean() - b.mean()) / pooled
        small_a, small_b = _bootstrap_sample(a, rng, max_size), _bootstrap_sample(b, rng, max_size)
        medians = [
            np.median(rng.choice(small_a, small_a.size)) - np.median(rng.choice(small_b, small_b.size))
            for _ in range(boot)
        ]
        found[(hypothesis, "mann_whitney_u")] = {
            "p": float(mann_whitney.pvalue),
            "effect": float(2 * mann_whitney.statistic / (a.size * b.size) - 1),
            "difference_interval": tuple(np.percentile(medians, [2.5, 97.5])),
            "skews": skews,
        }
        found[(hypothesis, "welch_t")] = {
            "p": float(welch.pvalue),
            "effect": float(hedges),
            "difference_interval": tuple(welch.confidence_interval(0.95)),
        }

    two_groups("income_churned_vs_retained", clients.loc[churned, "est_salary"], clients.loc[~churned, "est_salary"])
    two_groups(
        "income_1_vs_2_products",
        clients.loc[clients["products"] == 1, "est_salary"],
        clients.loc[clients["products"] == 2, "est_salary"],
    )
    two_groups("balance_churned_vs_retained", clients.loc[churned, "balance"], clients.loc[~churned, "balance"])
    two_groups("age_churned_vs_retained", clients.loc[churned, "age"], clients.loc[~churned, "age"])
    two_groups("score_churned_vs_retained", clients.loc[churned, "score"], clients.loc[~churned, "score"])

    groups = {
        name: group["score"].astype(float).to_numpy()
        for name, group in clients.groupby("product_segment")
        if len(group) >= 2
    }
    kruskal = stats.kruskal(*groups.values())
    n = sum(values.size for values in groups.values())
    small = [_bootstrap_sample(values, rng, max_size) for values in groups.values()]
    m = sum(values.size for values in small)
    boots = [
        stats.kruskal(*[rng.choice(values, values.size) for values in small]).statistic / (m - 1)
        for _ in range(v["stat_kruskal_bootstrap_resamples"])
    ]
    found[("score_by_products", "kruskal_wallis")] = {
        "interval": tuple(np.percentile(boots, [2.5, 97.5])),
        "p": float(kruskal.pvalue),
        "effect": float(kruskal.statistic / (n - 1)),
    }
    names = list(groups)
    pairs = [
        stats.mannwhitneyu(groups[a], groups[b], alternative="two-sided").pvalue
        for index, a in enumerate(names)
        for b in names[index + 1 :]
    ]
    found[("score_by_products", "kruskal_wallis")]["posthoc_p_holm"] = multipletests(pairs, method="holm")[1].tolist()

    for hypothesis, flag in (("activity_churn", "is_active"), ("credit_card_churn", "has_credit_card")):
        held = clients[flag].to_numpy()
        counts = [int((churned & held).sum()), int((churned & ~held).sum())]
        sizes = [int(held.sum()), int((~held).sum())]
        _, p_z = proportions_ztest(counts, sizes)
        intervals = {
            f"risk_{compare}_interval": confint_proportions_2indep(
                counts[0], sizes[0], counts[1], sizes[1], compare=compare, method=method
            )
            for compare, method in (("diff", "newcomb"), ("ratio", "log"))
        }
        table = pd.crosstab(held, churned)
        chi2 = stats.chi2_contingency(table, correction=False)
        difference = counts[0] / sizes[0] - counts[1] / sizes[1]
        found[(hypothesis, "two_proportion_z")] = {"p": float(p_z), "effect": float(difference), **intervals}
        found[(hypothesis, "chi_square")] = {"p": float(chi2.pvalue), "effect": float(difference)}

    plan = pd.read_csv(REPO_ROOT / "seeds" / "analysis_plan.csv")
    primary = [(row.hypothesis_id, row.primary_test) for row in plan.itertuples()]
    adjusted = multipletests([found[key]["p"] for key in primary], method="holm")[1]
    for key, p_holm in zip(primary, adjusted, strict=True):
        found[key]["p_adjusted"] = float(p_holm)
    return found


def stability_subsample(clients: pd.DataFrame, v: dict[str, Any]) -> np.ndarray:
    """Positions of the clients the re-derivation runs on: every k-th by file order above stability_max_clients."""
    step = max(1, -(-len(clients) // v["stability_max_clients"]))
    if step == 1:
        return np.arange(len(clients))
    return np.flatnonzero(clients["source_row_number"].to_numpy() % step == 0)


def chain_picks(clients: pd.DataFrame, weights: np.ndarray, v: dict[str, Any]) -> list[np.ndarray]:
    """The whole chain on one Poisson resample (rows repeated by weight); pick members over ``clients``."""
    rows = np.repeat(np.arange(len(clients)), weights)
    expanded = clients.iloc[rows].reset_index(drop=True)
    buckets = feature_buckets(expanded, v)
    table = churn_by_feature(expanded, buckets, v)
    signals = churn_signals(table, len(expanded), v)
    sign_list = signs(expanded, buckets, signals)
    candidate_table = candidates(sign_list, expanded, v)
    members = []
    for _, mask in select_segments(candidate_table, sign_list, expanded, v):
        member = np.zeros(len(clients), dtype=bool)
        member[rows[mask]] = True
        members.append(member)
    return members


def stability(
    clients: pd.DataFrame, picks: list[tuple[str, np.ndarray]], v: dict[str, Any], resamples: int | None = None
) -> list[float]:
    """Re-derived stability the notebooks' way: the chain rebuilt on each Poisson resample of the subsample.

    Returns, per selected segment, the share of resamples whose picks overlap it (Jaccard >=
    stability_match_jaccard, on the clients present in the resample).
    """
    positions = stability_subsample(clients, v)
    subsample = clients.iloc[positions].reset_index(drop=True)
    resamples = resamples or v["stability_rederive_resamples"]
    weights = np.random.default_rng(v["stat_seed"]).poisson(1.0, size=(resamples, len(subsample)))
    segments = [mask[positions] for _, mask in picks]
    found = np.zeros(len(segments))
    for row in weights:
        present = row > 0
        resample_picks = chain_picks(subsample, row, v)
        for index, segment in enumerate(segments):
            inside = segment & present
            overlaps = [
                np.count_nonzero(inside & pick) / max(1, np.count_nonzero(inside | pick)) for pick in resample_picks
            ]
            found[index] += any(overlap >= v["stability_match_jaccard"] for overlap in overlaps)
    return (found / resamples).tolist()


def _risk_features(clients: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Numbers, flags and one-hot city and gender (float32); the columns of each feature."""
    numbers = ["age", "score", "equity", "balance", "products", "est_salary"]
    flags = ["has_credit_card", "is_active", "is_age_missing", "is_balance_missing"]
    dummies = pd.get_dummies(clients[["city", "gender"]], dtype="float32")
    features = pd.concat([clients[numbers + flags].astype("float32"), dummies], axis=1)
    groups = {name: [name] for name in numbers + flags}
    for name in ("city", "gender"):
        groups[name] = [column for column in dummies.columns if column.startswith(f"{name}_")]
    return features, groups


def _importance(
    model: Any, x: pd.DataFrame, y: np.ndarray, groups: dict[str, list[str]], repeats: int, rng: Any
) -> None:
    """Permutation importance on a held-out fold: the drop in AUC when one feature's columns are shuffled."""
    from sklearn.metrics import roc_auc_score

    base = roc_auc_score(y, model.predict_proba(x)[:, 1])
    for columns in groups.values():
        for _ in range(repeats):
            shuffled = x.copy()
            shuffled[columns] = x[columns].iloc[rng.permutation(len(x))].to_numpy()
            _ = base - roc_auc_score(y, model.predict_proba(shuffled)[:, 1])


def _call_list(clients: pd.DataFrame, best: np.ndarray, v: dict[str, Any], out: Path | None) -> None:
    """Deciles, the queue of active clients by expected loss, its top as CSV and XLSX."""
    frame = clients.assign(churn_probability=best, expected_loss=best * clients["balance"].fillna(0))
    rank = frame["churn_probability"].rank(ascending=False, method="first")
    frame["risk_decile"] = np.minimum((rank - 1) * 10 // len(frame) + 1, 10)
    queue = frame.loc[~frame["is_churned"]].sort_values(
        ["expected_loss", "churn_probability", "balance", "source_row_number"],
        ascending=[False, False, False, True],
        na_position="last",
        kind="stable",
    )
    columns = ["user_id", "city", "gender", "age", "products", "balance", "churn_probability", "expected_loss"]
    top = queue.head(v["retention_export_max_rows"])[columns]
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        top.to_csv(out / "retention_queue.csv", sep=";", decimal=",", index=False, encoding="utf-8-sig")
        top.to_excel(out / "retention_queue.xlsx", index=False)


def risk_model(
    clients: pd.DataFrame,
    sign_list: list[tuple[str, str, np.ndarray]],
    n_signals: int,
    v: dict[str, Any],
    out: Path | None = None,
) -> dict[str, float]:
    """The churn-risk step the notebooks' way: pandas features, the same models, folds and exports.

    Gradient boosting (isotonic calibration inside each training fold) on the cleaned attributes
    with one-hot city and gender, and a logistic regression on the churn signals; out-of-fold on a
    seeded stratified sample, the rest scored by the model fitted on the sample; permutation
    importance on held-out folds; the queue of active clients by expected loss, its top written
    as CSV and XLSX into ``out``. Returns the pooled out-of-fold ROC AUC of both models.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    seed = v["stat_seed"]
    features, groups = _risk_features(clients)
    held = pd.DataFrame({sign_id: mask for sign_id, _, mask in sign_list[:n_signals]}).astype(float)
    labels = clients["is_churned"].to_numpy()
    sample = training_sample(labels, v["risk_train_sample"], seed)
    x, signs_x, y = features.iloc[sample], held.iloc[sample], labels[sample]
    best, transparent = np.full(len(clients), np.nan), np.full(len(clients), np.nan)
    rng = np.random.default_rng(seed)
    splitter = StratifiedKFold(n_splits=v["risk_folds"], shuffle=True, random_state=seed)
    for fold, (train, test) in enumerate(splitter.split(x, y), start=1):
        model = best_model(seed).fit(x.iloc[train], y[train])
        best[sample[test]] = model.predict_proba(x.iloc[test])[:, 1]
        linear = LogisticRegression(C=1.0, max_iter=2000).fit(signs_x.iloc[train], y[train])
        transparent[sample[test]] = linear.predict_proba(signs_x.iloc[test])[:, 1]
        if fold <= v["risk_importance_folds"]:
            rows = test
            if rows.size > v["risk_importance_max_rows"]:
                rows = np.sort(rng.choice(test, v["risk_importance_max_rows"], replace=False))
            _importance(model, x.iloc[rows], y[rows], groups, v["risk_importance_repeats"], rng)
    auc = {}
    for name, values in (("best", best[sample]), ("transparent", transparent[sample])):
        auc[name] = float(roc_auc_score(y, values))
        average_precision_score(y, values), brier_score_loss(y, values)
    rest = np.setdiff1d(np.arange(len(clients)), sample)
    if rest.size:
        fitted = best_model(seed).fit(x, y)
        linear = LogisticRegression(C=1.0, max_iter=2000).fit(signs_x, y)
        for start in range(0, rest.size, 1_000_000):
            batch = rest[start : start + 1_000_000]
            best[batch] = fitted.predict_proba(features.iloc[batch])[:, 1]
            transparent[batch] = linear.predict_proba(held.iloc[batch])[:, 1]
    _call_list(clients, best, v, out)
    return auc


PARTS = ("tests", "stability", "risk")


def run(
    path: str | Path, parts: tuple[str, ...] = PARTS, resamples: int | None = None, out: Path | None = None
) -> Baseline:
    """Run the baseline on the extract at ``path``; time each part.

    Always: load, marts (the dbt models' work) and checks (the data tests'). ``parts`` adds the
    statistical step's work: ``tests`` (hypotheses), ``stability`` (the chain re-derived on
    ``resamples`` Poisson resamples, default var stability_rederive_resamples) and ``risk`` (the
    churn-risk models and the call list, written into ``out`` when given).
    """
    v = dbt_vars()
    result = Baseline()
    started = time.perf_counter()
    frame = pd.read_csv(path)
    result.seconds["load"] = time.perf_counter() - started

    started = time.perf_counter()
    frame_rows = len(frame)
    clients, rejected = clean(frame, v)
    buckets = feature_buckets(clients, v)
    table = churn_by_feature(clients, buckets, v)
    signals = churn_signals(table, len(clients), v)
    sign_list = signs(clients, buckets, signals)
    candidate_table = candidates(sign_list, clients, v)
    picks = select_segments(candidate_table, sign_list, clients, v)
    members = pd.concat(
        [
            pd.DataFrame({"segment_id": n, "client_key": clients.loc[mask, "client_key"]})
            for n, (_, mask) in enumerate(picks, 1)
        ]
    )
    overlaps = {
        (a, b): int(np.count_nonzero(picks[a][1] & picks[b][1]))
        for a, b in itertools.combinations(range(len(picks)), 2)
    }
    other_marts(clients, buckets)
    result.seconds["marts"] = time.perf_counter() - started

    started = time.perf_counter()
    checks(frame_rows, clients, rejected, picks, candidate_table, v)
    result.seconds["checks"] = time.perf_counter() - started

    if "tests" in parts:
        started = time.perf_counter()
        result.summary["hypotheses"] = hypothesis_tests(clients, v)
        result.seconds["tests"] = time.perf_counter() - started
    if "stability" in parts:
        started = time.perf_counter()
        result.summary["reselected_share"] = stability(clients, picks, v, resamples)
        result.seconds["stability"] = time.perf_counter() - started
    if "risk" in parts:
        started = time.perf_counter()
        result.summary["risk_auc"] = risk_model(clients, sign_list, len(signals), v, out)
        result.seconds["risk"] = time.perf_counter() - started

    selected = candidate_table.set_index("candidate_id")
    result.summary |= {
        "clients": len(clients),
        "rejected": len(rejected),
        "churners": int(clients["is_churned"].sum()),
        "buckets": len(table),
        "signals": sorted((s["feature"], len(s["orders"])) for s in signals),
        "candidates": len(candidate_table),
        "eligible": int(candidate_table["is_eligible"].sum()),
        "segments": [
            (int(selected.loc[candidate, "clients"]), int(selected.loc[candidate, "churners"]))
            for candidate, _ in picks
        ],
        "members": len(members),
        "overlaps": overlaps,
    }
    return result
