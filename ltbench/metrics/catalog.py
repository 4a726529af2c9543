"""The catalog of metrics, by name: mAP (the default), CP/CR/CF1/OP/OR/OF1 under two definitions, per-image
mAP and AUROC. Each is reported over all classes and per head/medium/tail group, in percent.

``METRICS`` is the catalog (name -> ``Metric``: formula, decision rule, source);
``metric_values`` computes one metric for any image weights (the test set, or
bootstrap resamples); ``evaluate_metrics`` is what a run's metrics.json records
under ``"metrics"``. Definitions and sources: docs/metrics.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ltbench.errors import LtbenchError
from ltbench.metrics.confusion import DEFINITIONS, F1, PRECISION, RECALL, class_counts
from ltbench.metrics.decisions import DECISIONS
from ltbench.metrics.ranking import class_auroc, weighted_image_map
from ltbench.metrics.scored import REPORTED, NotApplicable, Scored, unit_weights

DEFAULT = "map"
MLGCN_SOURCE = "megvii-research/ML-GCN@5517d6f util.py:258-289 (AveragePrecisionMeter.overall_topk, evaluation)"
MMPRETRAIN_SOURCE = ("open-mmlab/mmpretrain@ee7f2e8 mmpretrain/evaluation/metrics/multi_label.py:357-368 and "
                     "single_label.py:25-60 (MultiLabelMetric.calculate, _precision_recall_f1_support)")
FORMULAS = {
    ("mlgcn", True): "{P}: mean over classes with a test positive of TP_c / max(P_c, 1); CR likewise with TP_c / G_c; "
                     "CF1 = 2 CP CR / (CP + CR)",
    ("mlgcn", False): "OP = sum TP / sum max(P_c, 1); OR = sum TP / sum G; OF1 = 2 OP OR / (OP + OR)",
    ("mmpretrain", True): "mean over all classes of P_c = TP_c / max(P_c, 1), R_c = TP_c / max(G_c, 1) and "
                          "F1_c = 2 P_c R_c / (P_c + R_c) (0 when both are 0)",
    ("mmpretrain", False): "OP = sum TP / max(sum P, 1); OR = sum TP / max(sum G, 1); OF1 = 2 OP OR / (OP + OR)",
}


@dataclass(frozen=True)
class Metric:
    """A named metric: what it computes, which labels it calls predicted, and where the definition comes from."""

    name: str
    title: str  # the column title: "CF1", "OF1 top-3", ...
    definition: str
    decision: str  # the rule that calls a label predicted; "ranking" for threshold-free metrics
    source: str
    values: Callable[[Scored, np.ndarray], np.ndarray]  # (scored, N x B weights) -> len(REPORTED) x B, in %

    def describe(self, score: str) -> str:
        """The decision as applied to a run's stored scores (docs/scores.md)."""
        if self.decision == "ranking":
            return f"ranking of the stored {score} scores, no threshold"
        if "logit >= 0" in self.decision and score == "sigmoid":
            return self.decision.replace("logit >= 0", "stored sigmoid >= 0.5")
        return self.decision + f" (on the stored {score} scores)"


def _per_set(per_class: np.ndarray, scored: Scored) -> np.ndarray:
    """len(REPORTED) x B means of C x B per-class values over each class set, NaN classes left out."""
    rows = []
    for classes in scored.class_sets():
        values = per_class[classes]
        valid = ~np.isnan(values)
        count = valid.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            rows.append(np.where(count > 0, np.where(valid, values, 0.0).sum(axis=0) / np.maximum(count, 1), np.nan))
    return np.stack(rows) * 100.0


def _confusion_metric(decision: str, definition: str, per_class: bool, stat: str) -> Callable:
    decide, statistic = DECISIONS[decision][0], DEFINITIONS[definition]

    def values(scored: Scored, weights: np.ndarray) -> np.ndarray:
        pred = decide(scored)
        if definition == "mmpretrain":  # an ignored label is neither predicted nor true (single_label.py:35-37)
            pred = pred & scored.known  # ML-GCN reads it as a negative (util.py:255, targets == -1 -> 0)
        tp, predicted, truth = class_counts(pred, scored.positive, weights)
        return np.stack([statistic(tp[c], predicted[c], truth[c], per_class, stat)
                         for c in scored.class_sets()]) * 100.0
    return values


def _image_map(scored: Scored, weights: np.ndarray) -> np.ndarray:
    """Total only: a group's value would rank 3 or 4 classes per image, not comparable to the total."""
    values = np.full((len(REPORTED), weights.shape[1]), np.nan)
    values[0] = weighted_image_map(scored, scored.class_sets()[0], weights) * 100.0
    return values


def _auroc(scored: Scored, weights: np.ndarray) -> np.ndarray:
    return _per_set(class_auroc(scored, weights), scored)


def _map(scored: Scored, weights: np.ndarray) -> np.ndarray:
    from ltbench.reports.bootstrap import ResampledAP  # AP under draw counts lives with the bootstrap

    return _per_set(ResampledAP(np.asarray(scored.scores), scored.targets)(np.asarray(weights, np.float32)), scored)


def _catalog() -> dict[str, Metric]:
    metrics = {
        "map": Metric("map", "mAP", "mean over classes with a test positive of AP_c, scikit-learn's "
                      "average_precision_score (ties one threshold)", "ranking", "ltbench.evaluation", _map),
        "image_map": Metric("image_map", "per-image mAP",
                            "mean over images with a positive of the AP of the image's ranking of its classes "
                            "(ties one threshold); no group values", "ranking",
                            "MLC-NC (t1neo666/AAAI25_MLC-NC) reports it; the formula is AP with images and classes "
                            "exchanged", _image_map),
        "auroc": Metric("auroc", "AUROC", "mean over classes with both label values of the class's ROC AUC "
                        "(scikit-learn's roc_auc_score, ties 1/2)", "ranking", "CXR-LT challenges", _auroc),
    }
    letters = {PRECISION: "P", RECALL: "R", F1: "F1"}
    for definition, decisions, source in (("mlgcn", ("threshold", "top3_thresholded"), MLGCN_SOURCE),
                                          ("mmpretrain", ("threshold", "top3"), MMPRETRAIN_SOURCE)):
        for decision in decisions:
            top = decision != "threshold"
            for prefix, per_class in (("c", True), ("o", False)):
                for stat in (PRECISION, RECALL, F1):
                    name = f"{prefix}{letters[stat].lower()}{'_top3' if top else ''}" + \
                           ("" if definition == "mlgcn" else f"_{definition}")
                    title = f"{prefix.upper()}{letters[stat]}{' top-3' if top else ''}" + \
                            ("" if definition == "mlgcn" else f" ({definition})")
                    formula = FORMULAS[(definition, per_class)].replace("{P}", "CP")
                    metrics[name] = Metric(name, title, f"{definition}: {formula}", DECISIONS[decision][1], source,
                                           _confusion_metric(decision, definition, per_class, stat))
    return metrics


METRICS: dict[str, Metric] = _catalog()


def get_metric(name: str) -> Metric:
    """The metric called ``name``; an unknown name fails with one sentence listing the known ones."""
    try:
        return METRICS[name]
    except KeyError:
        raise LtbenchError(f"Unknown metric {name!r}; one of: {', '.join(METRICS)} "
                           "(`ltbench list metrics` describes them).") from None


def metric_values(name: str, scored: Scored, weights: np.ndarray | None = None) -> np.ndarray:
    """len(REPORTED) x B values in % (total, head, medium, tail); all NaN where the metric does not apply."""
    weights = unit_weights(scored) if weights is None else weights
    try:
        return get_metric(name).values(scored, weights)
    except NotApplicable:
        return np.full((len(REPORTED), weights.shape[1]), np.nan)


def evaluate_metrics(scored: Scored) -> dict[str, dict[str, Any]]:
    """metrics.json's ``"metrics"``: per metric except mAP (recorded under ``"map"``), its four values, its
    definition and the decision rule as applied to the run's stored scores, or why it does not apply."""
    out: dict[str, dict[str, Any]] = {}
    for name, metric in METRICS.items():
        if name == DEFAULT:
            continue
        entry: dict[str, Any] = {}
        try:
            values = metric.values(scored, unit_weights(scored))[:, 0]
            entry |= {group: float(v) for group, v in zip(REPORTED, values)}
            entry["decision"] = metric.describe(scored.score)
        except NotApplicable as exc:
            entry |= {group: None for group in REPORTED}
            entry["not_applicable"] = str(exc)
        out[name] = entry | {"definition": metric.definition}
    return out
