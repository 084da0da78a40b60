"""Churn propensity per client, its validation, and the retention call list.

What the score means: the extract is a one-month snapshot, so a probability here says how much a
client **resembles the clients who left** in that month, not when a client will leave. It ranks
the still-active clients for the retention team; it is not a dated forecast.

Three scores, side by side in the validation tables:

* ``best``: gradient boosting (``HistGradientBoostingClassifier``) on every cleaned attribute of
  ``marts.dim_clients``, missing-value indicators, city and gender one-hot, calibrated with
  isotonic regression inside each training fold (``CalibratedClassifierCV``, ``ensemble=False``:
  one booster scores, the isotonic map comes from 3 inner folds);
* ``transparent``: a logistic regression on the warehouse's own churn signs (``marts.churn_signals``);
  its coefficients (``marts.churn_model_coefficients``) read as odds ratios;
* ``segment_rule``: a client's score is the highest churn rate among the selected segments
  holding it, else the overall rate (fixed by the full data, so it is not out-of-fold: it is the
  baseline the team has today).

Every published probability is out-of-fold: stratified k-fold (``risk_folds``, fixed seed); a
client is scored only by models that never saw its label. Above ``risk_train_sample`` clients the
models train on a seeded stratified sample (out-of-fold there) and score every other client with
the model fitted on the sample (those clients' labels were never seen either).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metanprom.i18n import queue_title, sign_in_words
from metanprom.paths import settings_from_vars
from metanprom.warehouse import Ranking, Warehouse, batch_bools, batch_floats

NUMERIC = ("age", "score", "equity", "balance", "products", "est_salary")
FLAGS = ("has_credit_card", "is_active", "is_age_missing", "is_balance_missing")
CATEGORIES = ("city", "gender")
#: Feature of a churn sign -> how to read it on dim_clients.
SIGN_COLUMNS = {
    "credit_card": ("has_credit_card", {"yes": True, "no": False}),
    "last_activity": ("is_active", {"yes": True, "no": False}),
}
QUEUE_COLUMNS = (
    "queue_rank",
    "client_key",
    "user_id",
    "city",
    "gender",
    "age",
    "products",
    "balance",
    "is_balance_missing",
    "churn_probability",
    "expected_loss",
    "top_reasons",
    "recommended_action",
    "recommended_action_ru",
    "segment_ids",
)


@dataclass(frozen=True)
class RiskConfig:
    """Settings of the step (dbt vars ``risk_*``, ``stat_seed``, ``small_extract_max_clients``)."""

    folds: int = 5
    seed: int = 20261124
    train_sample: int = 200_000
    top_shares: tuple[float, ...] = (0.05, 0.10, 0.20)
    importance_repeats: int = 2
    importance_folds: int = 2
    importance_max_rows: int = 50_000
    export_max_rows: int = 20_000
    single_thread_max_clients: int = 200_000

    @classmethod
    def from_dbt_project(cls) -> RiskConfig:
        """Read the vars of dbt_project.yml (defaults for any not set)."""
        return settings_from_vars(
            cls,
            {
                "folds": "risk_folds",
                "seed": "stat_seed",
                "train_sample": "risk_train_sample",
                "top_shares": "risk_top_shares",
                "importance_repeats": "risk_importance_repeats",
                "importance_folds": "risk_importance_folds",
                "importance_max_rows": "risk_importance_max_rows",
                "export_max_rows": "retention_export_max_rows",
                "single_thread_max_clients": "small_extract_max_clients",
            },
        )


@dataclass
class RiskResult:
    """What the step computed and wrote (the per-client scores go straight to the warehouse)."""

    trained: bool
    reason: str
    clients: int = 0
    churners: int = 0
    metrics: list[dict[str, Any]] = field(default_factory=list)
    calibration: list[dict[str, Any]] = field(default_factory=list)
    capture: list[dict[str, Any]] = field(default_factory=list)
    importance: list[dict[str, Any]] = field(default_factory=list)
    coefficients: list[dict[str, Any]] = field(default_factory=list)
    reason_texts: dict[int, str | None] = field(default_factory=dict)
    segment_texts: dict[int, str | None] = field(default_factory=dict)
    action_texts: list[tuple[int, str, str | None]] = field(default_factory=list)


# --- reading --------------------------------------------------------------------------------


@dataclass
class RiskInputs:
    """What the step reads, without a string per client.

    ``clients``: one row per client in file order (``source_row_number``), city and gender as
    pandas categoricals, ``segment_mask``: bit i set when the client is in ``segments`` row i.
    The step itself reads the clients batch by batch (:func:`run_risk`); this whole-table form is
    for checks on small extracts.
    """

    clients: pd.DataFrame
    signs: pd.DataFrame
    segments: pd.DataFrame
    actions: pd.DataFrame


@dataclass
class Reference:
    """The small tables the step reads whole: churn signs, selected segments, actions, category lists."""

    signs: pd.DataFrame
    segments: pd.DataFrame
    actions: pd.DataFrame
    categories: dict[str, list[str]]


def _categories(warehouse: Warehouse, column: str) -> list[str]:
    return [str(row[0]) for row in warehouse.fetch(f"select distinct {column} from marts.dim_clients order by 1")]


def read_reference(warehouse: Warehouse) -> Reference:
    """Read churn signs, selected segments, retention actions and the city and gender lists."""
    signs = pd.DataFrame(
        warehouse.fetch(
            "select signal_id, feature, label, definition, lower_bound, upper_bound "
            "from marts.churn_signals order by feature_order, first_bucket_order"
        ),
        columns=["signal_id", "feature", "label", "definition", "lower_bound", "upper_bound"],
    )
    segments = pd.DataFrame(
        warehouse.fetch("select segment_id, churn_rate, recommendation from marts.churn_segments order by segment_id"),
        columns=["segment_id", "churn_rate", "recommendation"],
    )
    actions = pd.DataFrame(
        warehouse.fetch("select sign_feature, sign_value, action_rank, action, action_ru from raw.retention_actions"),
        columns=["sign_feature", "sign_value", "action_rank", "action", "action_ru"],
    )
    return Reference(signs, segments, actions, {name: _categories(warehouse, name) for name in CATEGORIES})


#: Columns of clients_sql's result (before the sample's out-of-fold columns).
CLIENT_COLUMNS = [
    "source_row_number",
    *(f"{name}_code" for name in CATEGORIES),
    *NUMERIC,
    *FLAGS,
    "is_churned",
    "segment_mask",
]
#: dim_clients columns only the scored stream reads (for the marts, not the models).
MART_ONLY_COLUMNS = ("client_key", "user_id")
#: dim_clients columns the scored stream passes into intermediate.risk_scores as fetched (city and
#: gender go back from their codes), so that no risk mart joins the scores back to dim_clients.
CARRIED_COLUMNS = (*MART_ONLY_COLUMNS, "age", "products", "balance", "is_balance_missing", "is_churned")
#: Columns of the scratch table intermediate.risk_sample once the sample is scored out of fold.
SAMPLE_COLUMNS = {
    "source_row_number": "bigint",
    "cv_fold": "integer",
    "best_probability": "double precision",
    "transparent_probability": "double precision",
}


def clients_sql(segments: pd.DataFrame, sample: str = "") -> str:
    """One row per client: row number, city and gender codes, numbers, flags, label, segment bit mask.

    ``sample``: ``""`` every client in file order; ``"members"`` the clients listed in
    intermediate.risk_sample, in file order; ``"scored"`` every client (in any order) with its
    out-of-fold fold and scores from intermediate.risk_sample when it is in the sample, and the
    columns only the risk marts need (MART_ONLY_COLUMNS).
    """
    ctes = [
        f"{name}_codes as (select {name}, row_number() over (order by {name}) - 1 as {name}_code "
        f"from (select distinct {name} from marts.dim_clients) as distinct_{name})"
        for name in CATEGORIES
    ]
    joins = [f"inner join {name}_codes on clients.{name} = {name}_codes.{name}" for name in CATEGORIES]
    columns = [
        "clients.source_row_number",
        *(f"{name}_codes.{name}_code" for name in CATEGORIES),
        *(f"clients.{name}" for name in (*NUMERIC, *FLAGS, "is_churned")),
    ]
    if segments.empty:
        columns.append("cast(0 as bigint) as segment_mask")
    else:
        bits = " ".join(
            f"when {_quote(segment_id)} then {1 << index}" for index, segment_id in enumerate(segments["segment_id"])
        )
        # by the row number, not the text client_key: at 100 M clients the members' groups and the
        # join to every client spilled several GB with text keys (none with numbers at 10 M)
        ctes.append(
            f"segment_masks as (select members.source_row_number, cast(sum(case members.segment_id {bits} else 0 "
            "end) as bigint) as segment_mask from marts.churn_segment_members as members "
            "group by members.source_row_number)"
        )
        joins.append("left join segment_masks on clients.source_row_number = segment_masks.source_row_number")
        columns.append("coalesce(segment_masks.segment_mask, 0) as segment_mask")
    order = " order by clients.source_row_number"
    if sample == "members":
        joins.append(
            "inner join intermediate.risk_sample as sampled on clients.source_row_number = sampled.source_row_number"
        )
    elif sample == "scored":
        joins.append(
            "left join intermediate.risk_sample as sampled on clients.source_row_number = sampled.source_row_number"
        )
        columns += [f"sampled.{name}" for name in SAMPLE_COLUMNS if name != "source_row_number"]
        columns += [f"clients.{name}" for name in MART_ONLY_COLUMNS]
        order = ""  # scored batch by batch; every row carries its own key
    return (
        f"with {', '.join(ctes)} select {', '.join(columns)} from marts.dim_clients as clients {' '.join(joins)}{order}"
    )


def client_frame(batch: pd.DataFrame, categories: dict[str, list[str]]) -> pd.DataFrame:
    """Return the clients of one fetched batch: numbers as float64 with NaN, flags as bool, city and gender as categoricals."""
    clients = pd.DataFrame({"source_row_number": batch["source_row_number"].to_numpy(dtype=np.int64)})
    for name in CATEGORIES:
        codes = batch[f"{name}_code"].to_numpy(dtype=np.int64)
        clients[name] = pd.Categorical.from_codes(codes, categories[name])
    for name in NUMERIC:  # float64 with NaN for null, without a Python object per value
        clients[name] = batch_floats(batch[name])
    for name in (*FLAGS, "is_churned"):
        clients[name] = batch_bools(batch[name])
    clients["segment_mask"] = batch["segment_mask"].to_numpy(dtype=np.int64)
    return clients


def _read_clients(warehouse: Warehouse, reference: Reference, sample: str = "") -> pd.DataFrame:
    """Every client (or the sample's members), in file order, as one frame."""
    frames = [
        client_frame(batch, reference.categories)
        for batch in warehouse.fetch_batches(clients_sql(reference.segments, sample))
    ]
    if not frames:  # DuckDB yields no batch for an empty result
        return client_frame(pd.DataFrame(columns=CLIENT_COLUMNS), reference.categories)
    return pd.concat(frames, ignore_index=True)


def read_inputs(warehouse: Warehouse) -> RiskInputs:
    """Read every client (numbers, flags, category codes, segment mask), churn signs, segments, actions."""
    reference = read_reference(warehouse)
    return RiskInputs(_read_clients(warehouse, reference), reference.signs, reference.segments, reference.actions)


def read_labels(warehouse: Warehouse) -> tuple[np.ndarray, np.ndarray]:
    """Every client's source_row_number (int64) and is_churned (bool), in file order (9 bytes per client)."""
    rows, labels = [np.empty(0, dtype=np.int64)], [np.empty(0, dtype=bool)]
    for batch in warehouse.fetch_batches(
        "select source_row_number, is_churned from marts.dim_clients order by source_row_number"
    ):
        rows.append(batch["source_row_number"].to_numpy(dtype=np.int64))
        labels.append(batch_bools(batch["is_churned"]))
    return np.concatenate(rows), np.concatenate(labels)


def _quote(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def sign_matrix(clients: pd.DataFrame, signs: pd.DataFrame) -> np.ndarray:
    """Client x sign indicators (bool): does the client hold each churn sign."""
    held = np.zeros((len(clients), len(signs)), dtype=bool)
    for index, sign in enumerate(signs.itertuples(index=False)):
        if sign.feature in SIGN_COLUMNS:
            column, values = SIGN_COLUMNS[sign.feature]
            held[:, index] = clients[column].to_numpy() == values.get(sign.label, None)
            continue
        values = clients[sign.feature]
        if sign.label == "missing":
            held[:, index] = values.isna().to_numpy()
        elif sign.feature in CATEGORIES:
            held[:, index] = (values == sign.label).to_numpy(dtype=bool)
        else:
            numbers = values.to_numpy(dtype=np.float64)
            inside = ~np.isnan(numbers)
            if sign.lower_bound is not None and not pd.isna(sign.lower_bound):
                inside &= numbers >= float(sign.lower_bound)
            if sign.upper_bound is not None and not pd.isna(sign.upper_bound):
                inside &= numbers < float(sign.upper_bound)
            held[:, index] = inside
    return held


def feature_frame(clients: pd.DataFrame) -> tuple[np.ndarray, dict[str, list[int]]]:
    """Build the best model's inputs (float32): numbers (NaN kept), flags, one-hot city and gender.

    Returns the matrix and, per feature, its column indices (for permutation importance).
    """
    groups: dict[str, list[int]] = {}
    width = len(NUMERIC) + len(FLAGS) + sum(len(clients[name].cat.categories) for name in CATEGORIES)
    matrix = np.empty((len(clients), width), dtype=np.float32)
    column = 0
    for name in (*NUMERIC, *FLAGS):
        groups[name] = [column]
        matrix[:, column] = clients[name].to_numpy(dtype=np.float32)
        column += 1
    for name in CATEGORIES:
        codes = clients[name].cat.codes.to_numpy()
        groups[name] = []
        for code in range(len(clients[name].cat.categories)):
            groups[name].append(column)
            matrix[:, column] = codes == code
            column += 1
    return matrix, groups


# --- models ---------------------------------------------------------------------------------


def best_model(seed: int) -> Any:
    """Return the best model, unfitted: gradient boosting calibrated with isotonic regression (3 inner folds)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier

    booster = HistGradientBoostingClassifier(
        max_iter=120,
        learning_rate=0.08,
        max_leaf_nodes=15,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=seed,
    )
    # ensemble=False: the isotonic map is fitted on the 3 inner folds' out-of-fold predictions and
    # applied to one booster refitted on the whole training fold, so scoring runs one booster, not
    # three (at 10 M clients scoring is most of the step; AUC 0.898 either way on the shipped extract)
    return CalibratedClassifierCV(booster, method="isotonic", cv=3, ensemble=False)


def _transparent_model() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=1.0, max_iter=2000)


def untrainable_reason(labels: np.ndarray, folds: int) -> str | None:
    """Why no model can be trained on these labels (None when one can)."""
    churners = int(labels.sum())
    retained = int(labels.size - churners)
    if labels.size == 0:
        return "no clients"
    if churners < folds or retained < folds:
        return (
            f"too few clients of one class to train and validate a model ({churners} churned, {retained} retained; "
            f"each class needs at least {folds}, one per fold)"
        )
    return None


def fold_assignment(labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Stratified k-fold: the fold (1..k) in which each client is scored."""
    from sklearn.model_selection import StratifiedKFold

    assignment = np.zeros(labels.size, dtype=np.int64)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (_, test) in enumerate(splitter.split(np.zeros(labels.size), labels), start=1):
        assignment[test] = fold
    return assignment


def training_sample(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Return the indices of a seeded stratified sample (all clients when there are at most ``size``)."""
    if labels.size <= size:
        return np.arange(labels.size)
    rng = np.random.default_rng(seed)
    picked = []
    for value in (False, True):
        members = np.flatnonzero(labels == value)
        take = max(1, round(size * members.size / labels.size))
        picked.append(rng.choice(members, size=min(take, members.size), replace=False))
    return np.sort(np.concatenate(picked))


def _metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    return {
        "roc_auc": float(roc_auc_score(labels, scores)),
        "average_precision": float(average_precision_score(labels, scores)),
        "brier": float(brier_score_loss(labels, scores)),
    }


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def cross_validate(
    features: np.ndarray,
    signs: np.ndarray,
    labels: np.ndarray,
    folds: np.ndarray,
    groups: dict[str, list[int]],
    config: RiskConfig,
) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """Out-of-fold probabilities of the best and the transparent model; permutation importance per fold."""
    best = np.full(labels.size, np.nan)
    transparent = np.full(labels.size, np.nan)
    rng = np.random.default_rng(config.seed)
    drops: dict[str, list[float]] = {name: [] for name in groups}
    for fold in range(1, int(folds.max()) + 1):
        train, test = folds != fold, folds == fold
        model = best_model(config.seed).fit(features[train], labels[train])
        best[test] = model.predict_proba(features[test])[:, 1]
        if signs.shape[1]:
            linear = _transparent_model().fit(signs[train], labels[train])
            transparent[test] = linear.predict_proba(signs[test])[:, 1]
        else:
            transparent[test] = labels[train].mean()
        # permutation importance on the held-out fold: the drop in AUC when one feature is shuffled
        rows = np.flatnonzero(test)
        if rows.size > config.importance_max_rows:
            rows = np.sort(rng.choice(rows, size=config.importance_max_rows, replace=False))
        held_out, held_labels = features[rows], labels[rows]
        if fold > config.importance_folds or held_labels.min() == held_labels.max():
            continue
        base = _auc(held_labels, model.predict_proba(held_out)[:, 1])
        for name, columns in groups.items():
            for _ in range(config.importance_repeats):
                shuffled = held_out.copy()
                shuffled[:, columns] = held_out[rng.permutation(rows.size)][:, columns]
                drops[name].append(base - _auc(held_labels, model.predict_proba(shuffled)[:, 1]))
    importance = [
        {"feature": name, "auc_drop_mean": float(np.mean(values)), "auc_drop_std": float(np.std(values, ddof=1))}
        for name, values in drops.items()
        if values
    ]
    importance.sort(key=lambda row: (-row["auc_drop_mean"], row["feature"]))
    for rank, row in enumerate(importance, start=1):
        row["importance_rank"] = rank
    return best, transparent, importance


# --- validation tables ----------------------------------------------------------------------


def validation_tables(
    labels: np.ndarray, scores: dict[str, np.ndarray], folds: np.ndarray, config: RiskConfig
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Metrics with fold spread, calibration by decile and capture at the top shares, per score."""
    metrics, calibration, capture = [], [], []
    scored = folds > 0
    overall = float(labels[scored].mean())
    for name, values in scores.items():
        pooled = _metrics(labels[scored], values[scored])
        per_fold = [
            _metrics(labels[folds == fold], values[folds == fold])
            for fold in range(1, int(folds.max()) + 1)
            if labels[folds == fold].min() != labels[folds == fold].max()
        ]
        for metric, value in pooled.items():
            spread = np.array([fold[metric] for fold in per_fold])
            metrics.append(
                {
                    "score_name": name,
                    "metric": metric,
                    "value": value,
                    "fold_mean": float(spread.mean()),
                    "fold_std": float(spread.std(ddof=1)) if spread.size > 1 else None,
                    "fold_min": float(spread.min()),
                    "fold_max": float(spread.max()),
                    "folds": int(spread.size),
                    "clients": int(scored.sum()),
                }
            )
        order = np.argsort(-values[scored], kind="stable")
        ranked_labels = labels[scored][order]
        ranked_scores = values[scored][order]
        deciles = np.minimum(np.arange(order.size) * 10 // order.size + 1, 10)
        for decile in range(1, 11):
            inside = deciles == decile
            if inside.any():
                calibration.append(
                    {
                        "score_name": name,
                        "risk_decile": decile,
                        "clients": int(inside.sum()),
                        "churners": int(ranked_labels[inside].sum()),
                        "mean_predicted": float(ranked_scores[inside].mean()),
                        "observed_rate": float(ranked_labels[inside].mean()),
                    }
                )
        total_churners = int(ranked_labels.sum())
        for share in config.top_shares:
            top = max(1, int(round(share * order.size)))
            caught = int(ranked_labels[:top].sum())
            capture.append(
                {
                    "score_name": name,
                    "top_share": share,
                    "clients": top,
                    "churners_captured": caught,
                    "churner_capture_share": caught / total_churners if total_churners else None,
                    "precision": caught / top,
                    "lift": (caught / top) / overall if overall else None,
                }
            )
    return metrics, calibration, capture


# --- the whole step -------------------------------------------------------------------------


def _bitmask(matrix: np.ndarray) -> np.ndarray:
    bits = np.zeros(matrix.shape[0], dtype=np.int64)
    for column in range(matrix.shape[1]):  # one column at a time: no clients x signs int64 copy (1.6 GB at 10 M)
        bits |= matrix[:, column].astype(np.int64) << column
    return bits


def _actions(signs: pd.DataFrame, actions: pd.DataFrame) -> list[str | None]:
    """Return the retention action of each sign (seed retention_actions: feature, optional value, best rank)."""
    found: list[str | None] = []
    for sign in signs.itertuples(index=False):
        matches = actions[
            (actions["sign_feature"] == sign.feature)
            & (actions["sign_value"].isna() | (actions["sign_value"] == sign.label))
        ].sort_values("action_rank")
        found.append(None if matches.empty else str(matches.iloc[0]["action"]))
    return found


@dataclass
class Models:
    """What the step fitted on the training sample and scores the other clients with."""

    booster: Any | None = None
    linear: Any | None = None
    coefficient: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sample_rate: float = float("nan")


def _segment_rule(mask: np.ndarray, rates: np.ndarray, overall: float) -> np.ndarray:
    """Return the highest churn rate among the client's selected segments, else the overall rate."""
    rule = np.full(mask.size, overall)
    for index in np.argsort(rates, kind="stable"):  # the highest rate among the client's segments wins
        rule = np.where(mask >> index & 1 == 1, rates[index], rule)
    return rule


def fit(
    warehouse: Warehouse,
    reference: Reference,
    rows: np.ndarray,
    labels: np.ndarray,
    config: RiskConfig,
    result: RiskResult,
) -> Models:
    """Draw the training sample, score it out of fold, validate, and fit the models that score everyone else.

    Writes intermediate.risk_sample (the sample's fold and out-of-fold scores; empty when no model
    can be trained) and fills the validation tables of ``result``.
    """
    signs, segments = reference.signs, reference.segments
    models = Models(coefficient=np.zeros(len(signs)))
    if not result.trained:
        warehouse.replace_frame("intermediate.risk_sample", SAMPLE_COLUMNS, pd.DataFrame(columns=list(SAMPLE_COLUMNS)))
        return models
    sample = training_sample(labels, config.train_sample, config.seed)
    folds = fold_assignment(labels[sample], config.folds, config.seed)
    warehouse.replace_frame(
        "intermediate.risk_sample", {"source_row_number": "bigint"}, pd.DataFrame({"source_row_number": rows[sample]})
    )
    clients = _read_clients(warehouse, reference, "members")
    if not np.array_equal(clients["source_row_number"].to_numpy(), rows[sample]):
        raise RuntimeError("marts.dim_clients changed while the churn-risk step read it: run the build again")
    sample_labels = clients["is_churned"].to_numpy(dtype=bool)
    held = sign_matrix(clients, signs).astype(np.float64)
    features, groups = feature_frame(clients)
    best, transparent, result.importance = cross_validate(features, held, sample_labels, folds, groups, config)
    rates = segments["churn_rate"].to_numpy(dtype=np.float64)
    segment_rule = _segment_rule(clients["segment_mask"].to_numpy(dtype=np.int64), rates, float(labels.mean()))
    scores = {"best": best, "transparent": transparent, "segment_rule": segment_rule}
    result.metrics, result.calibration, result.capture = validation_tables(sample_labels, scores, folds, config)
    if sample.size < labels.size:  # the clients outside the sample: scored by the model fitted on the sample
        models.booster = best_model(config.seed).fit(features, sample_labels)
    if len(signs):
        models.linear = _transparent_model().fit(held, sample_labels)
        models.coefficient = models.linear.coef_[0]
    models.sample_rate = float(sample_labels.mean())
    oof = pd.DataFrame(
        {
            "source_row_number": rows[sample],
            "cv_fold": folds,
            "best_probability": best,
            "transparent_probability": transparent,
        }
    )
    warehouse.replace_frame("intermediate.risk_sample", SAMPLE_COLUMNS, oof)
    return models


@dataclass
class Tally:
    """What scoring batch by batch gathers for the texts per pattern and the coefficients' client counts."""

    sign_counts: np.ndarray
    sign_patterns: set[int] = field(default_factory=set)
    segment_masks: set[int] = field(default_factory=set)
    action_ids: dict[int, int] = field(default_factory=dict)
    action_texts: dict[str, int] = field(default_factory=dict)


class Scorer:
    """Scores clients batch by batch: probabilities, sign and segment patterns, the action.

    A client of the training sample keeps its out-of-fold scores; every other client is scored by
    the models fitted on the sample. Nothing per client is kept between batches.
    """

    def __init__(self, reference: Reference, models: Models, result: RiskResult, overall: float) -> None:
        signs, segments, actions = reference.signs, reference.segments, reference.actions
        self.reference, self.models, self.trained, self.overall = reference, models, result.trained, overall
        self.rates = segments["churn_rate"].to_numpy(dtype=np.float64)
        self.tally = Tally(sign_counts=np.zeros(len(signs), dtype=np.int64))
        # reasons: the client's signs, strongest (largest coefficient; else the sign's order) first
        self.order = sorted(range(len(signs)), key=lambda i: (-models.coefficient[i], i))
        self.sign_actions = _actions(signs, actions)
        self.by_rate = [int(i) for i in np.argsort(-self.rates, kind="stable")]
        default = actions.loc[actions["sign_feature"] == "any", "action"]
        self.fallback = str(default.iloc[0]) if not default.empty else None

    def _action(self, sign_bits: int, segment_bits: int) -> str | None:
        """Return the recommendation of the highest-churn segment, else the strongest sign's action, else the default."""
        recommendations = self.reference.segments["recommendation"]
        from_segment = next((recommendations.iloc[i] for i in self.by_rate if segment_bits >> i & 1), None)
        from_sign = next(
            (self.sign_actions[i] for i in self.order if sign_bits >> i & 1 and self.sign_actions[i]), None
        )
        return from_segment or from_sign or self.fallback

    def score(self, batch: pd.DataFrame) -> pd.DataFrame:
        """Return one fetched batch's rows of intermediate.risk_scores (SCORE_COLUMNS)."""
        clients = client_frame(batch, self.reference.categories)
        held = sign_matrix(clients, self.reference.signs)
        mask = clients["segment_mask"].to_numpy(dtype=np.int64)
        fold = batch_floats(batch["cv_fold"])
        best, transparent = batch_floats(batch["best_probability"]), batch_floats(batch["transparent_probability"])
        outside = np.flatnonzero(np.isnan(fold))
        if self.trained and outside.size:
            if self.models.booster is not None:
                features, _ = feature_frame(clients.iloc[outside])
                best[outside] = self.models.booster.predict_proba(features)[:, 1]
                del features
            if self.models.linear is not None:
                transparent[outside] = self.models.linear.predict_proba(held[outside].astype(np.float64))[:, 1]
            else:
                transparent[outside] = self.models.sample_rate
        bits = _bitmask(held)
        tally = self.tally
        tally.sign_counts += held.sum(axis=0)
        tally.sign_patterns.update(int(value) for value in np.unique(bits))
        tally.segment_masks.update(int(value) for value in np.unique(mask))
        width = len(self.rates)
        pairs, inverse = np.unique(bits * (1 << width) + mask, return_inverse=True)
        pair_action = np.empty(pairs.size, dtype=np.int64)
        for index, pair in enumerate(int(value) for value in pairs):
            if pair not in tally.action_ids:
                text = self._action(pair >> width, pair & ((1 << width) - 1))
                tally.action_ids[pair] = tally.action_texts.setdefault(str(text), len(tally.action_texts))
            pair_action[index] = tally.action_ids[pair]
        return pd.DataFrame(
            {
                "source_row_number": clients["source_row_number"].to_numpy(),
                "city": clients["city"].array,
                "gender": clients["gender"].array,
                **{name: batch[name].array for name in CARRIED_COLUMNS},
                "churn_probability": best,
                "transparent_probability": transparent,
                "segment_rule_probability": _segment_rule(mask, self.rates, self.overall),
                "cv_fold": np.where(np.isnan(fold), 0, fold).astype(np.int64) if self.trained else -1,
                "sign_pattern": bits,
                "segment_mask": mask,
                "action_id": pair_action[inverse.reshape(-1)],
            }
        )

    def texts(self, result: RiskResult) -> None:
        """Fill the texts per pattern and action, and the coefficients with their client counts."""
        signs, segments, actions = self.reference.signs, self.reference.segments, self.reference.actions
        tally = self.tally
        result.reason_texts = _pattern_texts(
            np.array(sorted(tally.sign_patterns), dtype=np.int64), signs["definition"].tolist(), self.order, 3, "; "
        )
        segment_ids = segments["segment_id"].tolist()
        result.segment_texts = _pattern_texts(
            np.array(sorted(tally.segment_masks), dtype=np.int64), segment_ids, list(range(len(segment_ids))), 99, ","
        )
        russian = dict(zip(actions["action"], actions["action_ru"], strict=True))
        result.action_texts = [
            (index, text, translate_action(text, russian)) for text, index in tally.action_texts.items()
        ]
        linear = self.models.linear
        if linear is None:
            return
        result.coefficients = [
            {
                "term": "intercept",
                "definition": "no churn sign",
                "coefficient": float(linear.intercept_[0]),
                "clients": result.clients,
            }
        ] + [
            {"term": sign.signal_id, "definition": sign.definition, "coefficient": float(value), "clients": int(n)}
            for sign, value, n in zip(
                signs.itertuples(index=False), self.models.coefficient, tally.sign_counts, strict=True
            )
        ]
        for row in result.coefficients:
            row["odds_ratio"] = float(np.exp(row["coefficient"]))


def _pattern_texts(patterns: np.ndarray, texts: list[str], order: list[int], limit: int, separator: str) -> dict:
    """For each bit pattern, the texts of its set bits in ``order`` (at most ``limit``), or None."""
    out = {}
    for pattern in patterns:
        chosen = [texts[i] for i in order if int(pattern) >> i & 1][:limit]
        out[int(pattern)] = separator.join(chosen) if chosen else None
    return out


def translate_action(text: str | None, russian: dict[str, str]) -> str | None:
    """Return an action (or a segment's "A. Also: B" recommendation) in Russian, from seed retention_actions."""
    if text is None:
        return None
    return ". Также: ".join(russian.get(part, part) for part in str(text).split(". Also: "))


# --- writing --------------------------------------------------------------------------------

METRIC_COLUMNS = {
    "score_name": "varchar",
    "metric": "varchar",
    "value": "double precision",
    "fold_mean": "double precision",
    "fold_std": "double precision",
    "fold_min": "double precision",
    "fold_max": "double precision",
    "folds": "integer",
    "clients": "bigint",
}
CALIBRATION_COLUMNS = {
    "score_name": "varchar",
    "risk_decile": "integer",
    "clients": "bigint",
    "churners": "bigint",
    "mean_predicted": "double precision",
    "observed_rate": "double precision",
}
CAPTURE_COLUMNS = {
    "score_name": "varchar",
    "top_share": "double precision",
    "clients": "bigint",
    "churners_captured": "bigint",
    "churner_capture_share": "double precision",
    "precision": "double precision",
    "lift": "double precision",
}
IMPORTANCE_COLUMNS = {
    "feature": "varchar",
    "auc_drop_mean": "double precision",
    "auc_drop_std": "double precision",
    "importance_rank": "integer",
}
COEFFICIENT_COLUMNS = {
    "term": "varchar",
    "definition": "varchar",
    "coefficient": "double precision",
    "odds_ratio": "double precision",
    "clients": "bigint",
}
STATUS_COLUMNS = {
    "trained": "boolean",
    "not_trained_reason": "varchar",
    "clients": "bigint",
    "churners": "bigint",
    "folds": "integer",
    "train_sample_clients": "bigint",
    "seed": "bigint",
    "best_model": "varchar",
    "transparent_model": "varchar",
}
SUMMARY_COLUMNS = {
    "active_clients": "bigint",
    "queue_expected_loss": "double precision",
    "queue_balance_total": "double precision",
    "segment_active_clients": "bigint",
    "segment_active_balance": "double precision",
    "segment_active_expected_loss": "double precision",
    "segment_churned_clients": "bigint",
    "top_decile_active_clients": "bigint",
    "top_decile_expected_loss": "double precision",
}


SCORE_COLUMNS = {
    "source_row_number": "bigint",
    "client_key": "varchar",
    "user_id": "bigint",
    "city": "varchar",
    "gender": "varchar",
    "age": "integer",
    "products": "integer",
    "balance": "double precision",
    "is_balance_missing": "boolean",
    "is_churned": "boolean",
    "churn_probability": "double precision",
    "transparent_probability": "double precision",
    "segment_rule_probability": "double precision",
    "cv_fold": "integer",
    "sign_pattern": "bigint",
    "segment_mask": "bigint",
    "action_id": "bigint",
}


#: A client's expected loss (alias ``scores``): probability x balance, a missing balance counts 0.
EXPECTED_LOSS = "scores.churn_probability * coalesce(scores.balance, 0)"


def _segment_texts_join(alias: str) -> str:
    """Return the join to the segment ids text (alias ``segment_texts``) of the bit mask of ``alias``."""
    return f"""
        left join intermediate.risk_segment_texts as segment_texts
            on {alias}.segment_mask = segment_texts.segment_mask"""


#: The texts per pattern (reasons, segments, action) of each client's scores (alias ``scores``).
TEXT_JOINS = f"""
        left join intermediate.risk_reason_texts as reasons
            on scores.sign_pattern = reasons.sign_pattern{_segment_texts_join("scores")}
        left join intermediate.risk_action_texts as action_texts
            on scores.action_id = action_texts.action_id
"""


def _client_risk_sql(scores: str) -> str:
    """marts.client_churn_risk from the scores (table ``scores``), the decile spans and the texts per pattern."""
    return f"""
        select
            scores.client_key,
            scores.churn_probability,
            deciles.risk_decile,
            scores.transparent_probability,
            scores.segment_rule_probability,
            reasons.top_reasons,
            segment_texts.segment_ids,
            action_texts.recommended_action,
            action_texts.recommended_action_ru,
            case when scores.cv_fold >= 0 then cast(scores.cv_fold as integer) end as cv_fold
        from {scores} as scores
        {DECILE_JOIN}
        {TEXT_JOINS}
    """


def scores_table(schema: str) -> str:
    """Return the scratch table of per-client scores (SCORE_COLUMNS) in ``schema``.

    The scored stream writes it; the risk marts read it.
    """
    return f"{schema}.risk_scores"


def _queue_ranking(scratch_schema: str) -> Ranking:
    """marts.retention_queue's rank: active clients by expected loss; ties by probability, balance, file order.

    The scores and the ranks' scratch table are in ``scratch_schema``.
    """
    return Ranking(
        source=scores_table(scratch_schema),
        alias="scores",
        where="not scores.is_churned",
        order_by=(
            f"{EXPECTED_LOSS} desc nulls last, scores.churn_probability desc nulls last, "
            "scores.balance desc nulls last, scores.source_row_number"
        ),
        rank="queue_rank",
        scratch=f"{scratch_schema}.risk_queue_ranks",
    )


def _queue_sql() -> str:
    """marts.retention_queue from its ranked rows (``ranked``, _queue_ranking), joined to the texts per pattern.

    Every column is in the scores (the scored stream carries the client's columns), so the only
    joins are to the small texts per pattern.
    """
    return f"""
        select
            scores.queue_rank,
            scores.client_key,
            scores.user_id,
            scores.city,
            scores.gender,
            scores.age,
            scores.products,
            scores.balance,
            scores.is_balance_missing,
            scores.churn_probability,
            {EXPECTED_LOSS} as expected_loss,
            reasons.top_reasons,
            action_texts.recommended_action,
            action_texts.recommended_action_ru,
            segment_texts.segment_ids
        from ranked as scores
        {TEXT_JOINS}
    """


def _decile(rank: str) -> str:
    """Return the SQL of the risk decile of overall rank ``rank`` (1 = highest probability) among ``total``."""
    return f"least(cast(floor(({rank} - 1) * 10.0 / total) as integer) + 1, 10)"


# risk deciles: 1 = the tenth of clients with the highest probability, ties in file order; null when
# no model was trained. A decile is (rank - 1) * 10 / clients, floored. Ranking every client would sort
# them all; instead each distinct probability (a few hundred: the isotonic map's steps) is counted,
# which gives the ranks its clients take. A probability whose clients all fall in one decile is one
# span; only the clients of a probability that straddles a decile boundary are ranked (in file order,
# within the probability) and split into spans of row numbers. Each client then finds its decile by
# one join to these few rows (0.6 + 0.4 s at 10 M against 3.1 s for the window over every client).
def _decile_spans_sql(scores: str) -> str:
    """intermediate.risk_decile_spans from the scores (table ``scores``), as described above."""
    return f"""
    with

    probabilities as (
        select
            churn_probability,
            count(*) as clients,
            min(source_row_number) as first_row,
            max(source_row_number) as last_row
        from {scores}
        where churn_probability is not null
        group by churn_probability
    ),

    positions as (
        select
            churn_probability,
            clients,
            first_row,
            last_row,
            cast(
                sum(clients) over (order by churn_probability desc rows between unbounded preceding and current row)
                as bigint
            ) - clients as ahead,
            cast(sum(clients) over () as bigint) as total
        from probabilities
    ),

    spans as (
        select
            positions.*,
            {_decile("ahead + 1")} as first_decile,
            {_decile("ahead + clients")} as last_decile
        from positions
    ),

    split_ranks as (
        select
            scores.source_row_number,
            spans.churn_probability,
            spans.total,
            spans.ahead + row_number() over (
                partition by scores.churn_probability order by scores.source_row_number
            ) as client_rank
        from {scores} as scores
        inner join spans
            on scores.churn_probability = spans.churn_probability
        where spans.first_decile < spans.last_decile
    ),

    split_spans as (
        select
            churn_probability,
            min(source_row_number) as first_row,
            max(source_row_number) as last_row,
            {_decile("client_rank")} as risk_decile
        from split_ranks
        group by churn_probability, {_decile("client_rank")}
    ),

    final as (
        select
            churn_probability,
            first_row,
            last_row,
            first_decile as risk_decile
        from spans
        where first_decile = last_decile
        union all
        select
            churn_probability,
            first_row,
            last_row,
            risk_decile
        from split_spans
    )

    select * from final
"""


#: Each client's decile (alias ``deciles``) for its scores (alias ``scores``): one of a few spans.
DECILE_JOIN = """
        left join intermediate.risk_decile_spans as deciles
            on scores.churn_probability = deciles.churn_probability
            and scores.source_row_number between deciles.first_row and deciles.last_row
"""


# marts.retention_summary from the scores, before they are dropped: the queue is the active clients
def _summary_sql(scores: str) -> str:
    """marts.retention_summary's figures from the scores (table ``scores``)."""
    return f"""
    with

    scored as (
        select
            scores.is_churned,
            scores.balance,
            deciles.risk_decile,
            {EXPECTED_LOSS} as expected_loss,
            segment_texts.segment_ids
        from {scores} as scores
        {DECILE_JOIN}{_segment_texts_join("scores")}
    )

    select
        count(case when not is_churned then 1 end) as active_clients,
        sum(case when not is_churned then expected_loss end) as queue_expected_loss,
        sum(case when not is_churned then coalesce(balance, 0) end) as queue_balance_total,
        sum(case when not is_churned then case when segment_ids is not null then 1 else 0 end end)
            as segment_active_clients,
        sum(case when not is_churned then case when segment_ids is not null then coalesce(balance, 0) else 0 end end)
            as segment_active_balance,
        sum(case when not is_churned and segment_ids is not null then expected_loss end)
            as segment_active_expected_loss,
        count(case when is_churned and segment_ids is not null then 1 end) as segment_churned_clients,
        sum(case when not is_churned then case when risk_decile = 1 then 1 else 0 end end)
            as top_decile_active_clients,
        sum(case when not is_churned and risk_decile = 1 then expected_loss end) as top_decile_expected_loss
    from scored
"""


# marts.retention_segment_cells: the clients of each combination of selected segments by city and
# gender, from the scores (which carry city, gender, balance and churn). The dashboard's segment
# figures read it; they used to join client_churn_risk to dim_clients, two tables of every client.
def _segment_cells_sql(scores: str) -> str:
    """marts.retention_segment_cells from the scores (table ``scores``)."""
    return f"""
    with

    cells as (
        select
            scores.segment_mask,
            scores.city,
            scores.gender,
            cast(count(*) as bigint) as clients,
            cast(sum(case when scores.is_churned then 1 else 0 end) as bigint) as churners,
            sum(case when scores.is_churned then 0 else coalesce(scores.balance, 0) end) as active_balance
        from {scores} as scores
        group by scores.segment_mask, scores.city, scores.gender
    ),

    final as (
        select
            segment_texts.segment_ids,
            cells.city,
            cells.gender,
            cells.clients,
            cells.churners,
            cells.active_balance
        from cells{_segment_texts_join("cells")}
    )

    select * from final
"""


def write_tables(
    warehouse: Warehouse, result: RiskResult, config: RiskConfig, scores_schema: str = "intermediate"
) -> None:
    """Write the risk marts and validation tables from the scores and the texts per pattern.

    The per-client scores, with the client's columns the marts carry, are in the scratch table
    ``<scores_schema>.risk_scores``. client_churn_risk, retention_queue, retention_segment_cells (the
    segments' reach by city and gender) and retention_summary are made in SQL from it, joined only
    to small tables (the decile spans, the texts per pattern): no query joins two tables of every
    client, which at 100 M clients ran DuckDB out of memory. The queue's rank is the one sort of
    every (active) client (on DuckDB of their positions and keys only, see
    ``Warehouse.create_ranked_table``); its rows are stored in no particular order (readers order
    by queue_rank). The scratch tables are then dropped. ``scores_schema`` also holds the queue's
    ranks while the queue is made.
    """
    scores = scores_table(scores_schema)
    scratch = [
        (
            "intermediate.risk_reason_texts",
            {"sign_pattern": "bigint", "top_reasons": "varchar"},
            pd.DataFrame(list(result.reason_texts.items()), columns=["sign_pattern", "top_reasons"]),
        ),
        (
            "intermediate.risk_segment_texts",
            {"segment_mask": "bigint", "segment_ids": "varchar"},
            pd.DataFrame(list(result.segment_texts.items()), columns=["segment_mask", "segment_ids"]),
        ),
        (
            "intermediate.risk_action_texts",
            {"action_id": "bigint", "recommended_action": "varchar", "recommended_action_ru": "varchar"},
            pd.DataFrame(result.action_texts, columns=["action_id", "recommended_action", "recommended_action_ru"]),
        ),
    ]
    for table, columns, frame in scratch:
        warehouse.replace_frame(table, columns, frame)
    warehouse.create_table_as("intermediate.risk_decile_spans", _decile_spans_sql(scores))
    warehouse.create_table_as("marts.client_churn_risk", _client_risk_sql(scores))
    warehouse.create_ranked_table("marts.retention_queue", _queue_ranking(scores_schema), _queue_sql())
    warehouse.create_table_as("marts.retention_segment_cells", _segment_cells_sql(scores))
    names, rows = warehouse.fetch_named(_summary_sql(scores))
    for table in ("intermediate.risk_sample", scores, "intermediate.risk_decile_spans"):
        warehouse.drop_table(table)
    for table, _, _ in scratch:
        warehouse.drop_table(table)
    summary = {name: value for name, value in zip(names, rows[0], strict=True)}
    if not result.trained:
        for name in ("queue_expected_loss", "segment_active_expected_loss", "top_decile_expected_loss"):
            summary[name] = None
    tables = [
        ("marts.churn_model_metrics", METRIC_COLUMNS, result.metrics),
        ("marts.churn_model_calibration", CALIBRATION_COLUMNS, result.calibration),
        ("marts.churn_model_capture", CAPTURE_COLUMNS, result.capture),
        ("marts.churn_model_importance", IMPORTANCE_COLUMNS, result.importance),
        ("marts.churn_model_coefficients", COEFFICIENT_COLUMNS, result.coefficients),
        (
            "marts.churn_model_status",
            STATUS_COLUMNS,
            [
                {
                    "trained": result.trained,
                    "not_trained_reason": result.reason or None,
                    "clients": result.clients,
                    "churners": result.churners,
                    "folds": config.folds,
                    "train_sample_clients": min(config.train_sample, result.clients),
                    "seed": config.seed,
                    "best_model": "HistGradientBoostingClassifier, isotonic calibration inside each training fold",
                    "transparent_model": "LogisticRegression on the churn signs (marts.churn_signals)",
                }
            ],
        ),
        ("marts.retention_summary", SUMMARY_COLUMNS, [summary]),
    ]
    for table, columns, rows in tables:
        warehouse.replace_frame(table, columns, pd.DataFrame(rows, columns=list(columns)))


def read_queue(warehouse: Warehouse, limit: int) -> pd.DataFrame:
    """Read the top ``limit`` rows of marts.retention_queue, in queue order."""
    names, rows = warehouse.fetch_named(
        f"select {', '.join(QUEUE_COLUMNS)} from marts.retention_queue where queue_rank <= {int(limit)} "
        "order by queue_rank"
    )
    return pd.DataFrame(rows, columns=names)


def export_columns(language: str = "ru") -> list[str]:
    """Return the call list's columns as exported: no internal key, the action in the export's language."""
    dropped = {"client_key", "recommended_action" if language == "ru" else "recommended_action_ru"}
    return [name for name in QUEUE_COLUMNS if name not in dropped]


def export_frame(queue: pd.DataFrame, language: str = "ru") -> pd.DataFrame:
    """Return the call list as the team reads it (the export's columns).

    Yes/no in words, whole ages, churn signs in words, money to the kopeck, probabilities to four digits.
    """
    frame = queue[export_columns(language)].copy()
    yes_no = ("да", "нет") if language == "ru" else ("yes", "no")
    frame["is_balance_missing"] = frame["is_balance_missing"].map({True: yes_no[0], False: yes_no[1]})
    frame["age"] = pd.to_numeric(frame["age"]).astype("Int64")
    frame["top_reasons"] = frame["top_reasons"].map(
        lambda text: (
            "; ".join(sign_in_words(part, language) for part in text.split("; ")) if isinstance(text, str) else None
        )
    )
    frame["balance"] = pd.to_numeric(frame["balance"]).round(2)
    frame["expected_loss"] = pd.to_numeric(frame["expected_loss"]).round(2)
    frame["churn_probability"] = pd.to_numeric(frame["churn_probability"]).round(4)
    return frame


def write_exports(
    queue: pd.DataFrame, reports: Path, config: RiskConfig, language: str = "ru", warehouse: Warehouse | None = None
) -> list[Path]:
    """Write the call list for the team: CSV (UTF-8 with BOM, ';', decimal comma) and XLSX (frozen header, filters)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    reports.mkdir(parents=True, exist_ok=True)
    columns = export_columns(language)
    rows = queue.head(config.export_max_rows)
    titles = [queue_title(name, language) for name in columns]
    csv_path = reports / "retention_queue.csv"
    shown = export_frame(rows, language)
    frame = shown.copy()
    frame.columns = titles
    frame.to_csv(csv_path, sep=";", decimal=",", index=False, encoding="utf-8-sig", quoting=csv.QUOTE_MINIMAL)
    xlsx_path = reports / "retention_queue.xlsx"
    book = Workbook(write_only=True)  # streams rows: fast and small in memory
    sheet = book.create_sheet("Очередь обзвона" if language == "ru" else "Call list")
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"
    for index, name in enumerate(columns, start=1):
        wide = name in ("top_reasons", "recommended_action", "recommended_action_ru")
        sheet.column_dimensions[get_column_letter(index)].width = 60 if wide else 16
    formats = {"balance": "# ##0", "expected_loss": "# ##0", "churn_probability": "0.0%"}
    sheet.append(titles)
    for record in shown.itertuples(index=False):
        cells = []
        for name, value in zip(columns, record, strict=True):
            value = _cell(value)
            if name in formats and value is not None:
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = formats[name]
                value = cell
            cells.append(value)
        sheet.append(cells)
    book.save(xlsx_path)
    members = write_segment_members(warehouse, reports, language, config.export_max_rows) if warehouse else []
    return [csv_path, xlsx_path, *members]


def write_segment_members(
    warehouse: Warehouse, reports: Path, language: str = "ru", max_rows: int | None = None
) -> list[Path]:
    """Write each selected segment's active members, in queue order, as ``segments/<id>_active.csv``.

    At most ``max_rows`` per file (the top of the queue); the marts hold every member.
    """
    folder = reports / "segments"
    folder.mkdir(parents=True, exist_ok=True)
    columns = export_columns(language)
    limit = f" limit {int(max_rows)}" if max_rows else ""
    written = []
    for (segment_id,) in warehouse.fetch("select segment_id from marts.churn_segments order by segment_id"):
        names, rows = warehouse.fetch_named(
            f"select {', '.join(columns)} from marts.retention_queue "
            f"where ',' || segment_ids || ',' like {_quote('%,' + str(segment_id) + ',%')} order by queue_rank{limit}"
        )
        frame = export_frame(pd.DataFrame(rows, columns=names), language)
        frame.columns = [queue_title(name, language) for name in columns]
        path = folder / f"{segment_id}_active.csv"
        frame.to_csv(path, sep=";", decimal=",", index=False, encoding="utf-8-sig")
        written.append(path)
    return written


def _cell(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def run_risk(warehouse: Warehouse, reports: Path | None, config: RiskConfig | None = None) -> RiskResult:
    """Read the marts, score, validate, write the tables and (when ``reports`` is given) the exports.

    Memory does not grow with the clients beyond 9 bytes each (row number and label, to draw the
    sample): the training sample is read whole, every client is then scored batch by batch from
    a streamed query and written to the scores' scratch table as it goes (on DuckDB in a scratch file
    beside the warehouse, deleted when the step ends).
    """
    # scikit-learn first: its OpenMP runtime must be loaded for threadpool_limits to reach it (a
    # limit set before the library loads does nothing: 21 s instead of 6 s on a busy machine)
    import sklearn.ensemble  # noqa: F401
    from threadpoolctl import threadpool_limits

    config = config or RiskConfig.from_dbt_project()
    reference = read_reference(warehouse)
    rows, labels = read_labels(warehouse)
    reason = untrainable_reason(labels, config.folds)
    result = RiskResult(trained=reason is None, reason=reason or "", clients=labels.size, churners=int(labels.sum()))
    overall = float(labels.mean()) if labels.size else float("nan")
    # small extracts: one thread (OpenMP start-up and spinning cost more than they save on a few
    # thousand rows, and builds running side by side would fight over the cores)
    with (
        warehouse.scratch_schema("risk_scratch", "intermediate") as scratch,
        threadpool_limits(limits=1 if labels.size <= config.single_thread_max_clients else None),
    ):
        models = fit(warehouse, reference, rows, labels, config, result)
        del rows, labels
        scorer = Scorer(reference, models, result, overall)
        batches = warehouse.fetch_batches(clients_sql(reference.segments, "scored"))
        scores = (scorer.score(batch) for batch in batches)
        warehouse.write_frames(scores_table(scratch), SCORE_COLUMNS, scores)
        scorer.texts(result)
        write_tables(warehouse, result, config, scratch)
    if reports is not None:
        write_exports(read_queue(warehouse, config.export_max_rows), reports, config, warehouse=warehouse)
    return result
