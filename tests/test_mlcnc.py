"""MLC-NC's parts, the two-way loss and MFM against references written here from their papers' formulas.

Each reference loops over images, classes or pairs with float64 scalars, from
the formula (not calling ltbench's losses), on random inputs; ltbench's
vectorised float32 code must agree to 1e-6.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from run_dirs import make_run

import ltbench
from ltbench.data.base import ClassStats, cooccurrence_counts
from ltbench.errors import LtbenchError
from ltbench.losses import build_loss
from ltbench.losses.neural_collapse import feature_label_alignment, prototype_contrastive
from ltbench.methods.mlcnc import PrototypeMemory
from ltbench.models.etf import ETFClassifier, simplex_etf
from ltbench.models.mlcnc import MLCNCHead


def random_batch(images: int, classes: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and targets with an image without labels and a class that is positive in every image."""
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(images, classes, generator=generator, dtype=torch.float64) * 3
    targets = (torch.rand(images, classes, generator=generator) < 0.3).to(torch.uint8)
    targets[0] = 0  # an image without labels
    targets[1:, 1] = 1  # class 1: positive in every labelled image
    targets[:, 2] = 0  # class 2: no positive in the batch
    return logits, targets


def softplus(value: float) -> float:
    return math.log1p(math.exp(value)) if value < 30 else value + math.log1p(math.exp(-value))


def two_way_reference(logits: torch.Tensor, targets: torch.Tensor, tp: float, tn: float) -> float:
    """Kobayashi (CVPR 2023), eq. of the two-way loss: per class and per image with a positive,
    softplus(Tn log sum_neg exp(x/Tn) + Tp log sum_pos exp(-x/Tp)); the two means added.
    A set without negatives has log sum = -inf, so its term is softplus(-inf) = 0."""
    x, y = logits.tolist(), targets.tolist()

    def term(values: list[float], labels: list[int]) -> float | None:
        positives = [v for v, t in zip(values, labels) if t]
        negatives = [v for v, t in zip(values, labels) if not t]
        if not positives:
            return None
        if not negatives:
            return 0.0
        hardest_negative = tn * math.log(sum(math.exp(v / tn) for v in negatives))
        hardest_positive = tp * math.log(sum(math.exp(-v / tp) for v in positives))
        return softplus(hardest_negative + hardest_positive)

    per_class = [term([row[c] for row in x], [row[c] for row in y]) for c in range(len(x[0]))]
    per_image = [term(row, labels) for row, labels in zip(x, y)]
    per_class = [t for t in per_class if t is not None]
    per_image = [t for t in per_image if t is not None]
    return sum(per_class) / len(per_class) + sum(per_image) / len(per_image)


@pytest.mark.parametrize("tp, tn", [(4.0, 1.0), (2.0, 0.5)])
def test_two_way_loss_matches_the_papers_formula(tp, tn):
    logits, targets = random_batch(12, 7, seed=3)
    ours = build_loss({"name": "two_way", "tp": tp, "tn": tn}, ClassStats(np.ones(7), 12))(logits.float(), targets)
    assert ours.item() == pytest.approx(two_way_reference(logits, targets, tp, tn), rel=1e-6, abs=1e-6)


def mfm_reference(logits: torch.Tensor, targets: torch.Tensor, freq: list[int], counts: np.ndarray,
                  gamma_neg: float, gamma_pos: float, clip: float, scale: float) -> float:
    """COMIC's multi-focal modifier loss written out entry by entry (mean over the B x C entries):
    w_c = (1 - log(n_c / n_max))^(1/3); M = co-occurrence counts with each column divided by its sum;
    a = mean of M's rows of the image's positives, divided by its sum (0 without positives);
    p+ = p (1 - a_c); p- = min(1 - p + clip, 1), times scale capped at 1 where a_c > 0;
    entry = -w_c (1 - p_t)^gamma_t log p_t, gamma = gamma_pos for positives, gamma_neg + w_c for negatives."""
    classes = len(freq)
    weights = [(1 - math.log(n / max(freq))) ** (1 / 3) for n in freq]
    column_sums = [sum(counts[i][j] for i in range(classes)) for j in range(classes)]
    normalised = [[counts[i][j] / column_sums[j] if column_sums[j] else 0.0 for j in range(classes)]
                  for i in range(classes)]
    total = 0.0
    for row, labels in zip(logits.tolist(), targets.tolist()):
        positives = [i for i in range(classes) if labels[i]]
        attention = [sum(normalised[i][j] for i in positives) / len(positives) if positives else 0.0
                     for j in range(classes)]
        norm = sum(attention)
        attention = [a / norm if norm > 0 else 0.0 for a in attention]
        for c in range(classes):
            p = 1 / (1 + math.exp(-row[c]))
            if labels[c]:
                prob, gamma = p * (1 - attention[c]), gamma_pos
            else:
                prob = min(1 - p + clip, 1.0)
                prob = min(prob * scale, 1.0) if attention[c] > 0 else prob
                gamma = gamma_neg + weights[c]
            total += -weights[c] * (1 - prob) ** gamma * math.log(max(prob, 1e-8))
    return total / logits.numel()


def test_mfm_loss_matches_comics_formula_with_training_split_statistics():
    logits, targets = random_batch(10, 6, seed=5)
    train = (torch.rand(40, 6, generator=torch.Generator().manual_seed(9)) < 0.35).numpy().astype(np.uint8)
    train[:, 5] = 0
    train[0, 5] = 1  # class 5: one image, alone, so it co-occurs with nothing
    train[0, :5] = 0
    freq = train.sum(axis=0).tolist()
    counts = cooccurrence_counts(train)
    stats = ClassStats(np.array(freq), len(train), counts)
    for params in ({"gamma_neg": 3.0, "gamma_pos": 0.0, "clip": 0.05, "negative_scale": 1.2},
                   {"gamma_neg": 2.0, "gamma_pos": 1.0, "clip": 0.0, "negative_scale": 1.5}):
        ours = build_loss({"name": "mfm", **params}, stats)(logits.float(), targets).item()
        reference = mfm_reference(logits, targets, freq, counts, params["gamma_neg"], params["gamma_pos"],
                                  params["clip"], params["negative_scale"])
        assert ours == pytest.approx(reference, rel=1e-6, abs=1e-6)


def test_cooccurrence_counts_by_hand_and_mfm_without_them_fails_in_one_sentence():
    targets = np.array([[1, 1, 0], [1, 1, 1], [0, 0, 1], [0, 0, 0]])
    assert cooccurrence_counts(targets).tolist() == [[0, 2, 1], [2, 0, 1], [1, 1, 0]]
    with pytest.raises(LtbenchError, match="co-occurrence"):
        build_loss({"name": "mfm"}, ClassStats(np.array([2, 2, 2]), 4))


def test_feature_label_alignment_matches_its_formula():
    generator = torch.Generator().manual_seed(1)
    attended = torch.randn(5, 4, 8, generator=generator, dtype=torch.float64)
    queries = torch.randn(4, 8, generator=generator, dtype=torch.float64)
    targets = (torch.rand(5, 4, generator=generator) < 0.4).float()
    total = 0.0
    for b in range(5):
        for c in range(4):
            s = float(attended[b, c] @ queries[c] / (attended[b, c].norm() * queries[c].norm()))
            if targets[b, c]:
                total += math.log((1 + s) / 2 + 1e-6)
            else:
                total += math.log(1 - 3 / 4 * abs(1 / 3 + s) + 1e-6)
    ours = feature_label_alignment(attended.float(), queries.float(), targets)
    assert ours.item() == pytest.approx(-total / 20, rel=1e-6, abs=1e-6)


def test_prototype_contrastive_matches_its_formula_and_is_zero_without_positives():
    generator = torch.Generator().manual_seed(2)
    projected = torch.randn(6, 5, 3, generator=generator, dtype=torch.float64)
    prototypes = torch.randn(5, 3, generator=generator, dtype=torch.float64)
    targets = (torch.rand(6, 5, generator=generator) < 0.4).float()
    losses = []
    unit = lambda v: v / v.norm()  # noqa: E731
    for b in range(6):
        for c in range(5):
            if targets[b, c]:
                scores = [float(unit(projected[b, c]) @ unit(prototypes[k])) / 0.5 for k in range(5)]
                losses.append(-(scores[c] - math.log(sum(math.exp(s) for s in scores))))
    ours = prototype_contrastive(projected.float(), prototypes.float(), targets, temperature=0.5)
    assert ours.item() == pytest.approx(sum(losses) / len(losses), rel=1e-6, abs=1e-6)
    assert prototype_contrastive(projected.float(), prototypes.float(), torch.zeros(6, 5)).item() == 0.0


@pytest.mark.parametrize("dim, classes", [(20, 20), (768, 80), (200, 10)])
def test_simplex_etf_has_unit_columns_at_equal_angles(dim, classes):
    torch.manual_seed(0)
    etf = simplex_etf(dim, classes).double()
    assert etf.shape == (dim, classes)
    assert torch.allclose(etf.norm(dim=0), torch.ones(classes, dtype=torch.float64), atol=1e-6)
    cosines = etf.T @ etf
    off_diagonal = cosines[~torch.eye(classes, dtype=torch.bool)]
    assert torch.allclose(off_diagonal, torch.full_like(off_diagonal, -1 / (classes - 1)), atol=1e-6)
    with pytest.raises(LtbenchError, match="dim >= classes"):
        simplex_etf(5, 10)


def test_mlcnc_head_shapes_and_its_fixed_etfs_do_not_train():
    torch.manual_seed(0)
    head = MLCNCHead(in_channels=32, num_classes=6, embed_dim=24, heads=4, proj_dim=5)
    out = head.outputs(torch.randn(3, 32, 2, 2))
    assert out.logits.shape == (3, 6) and out.attended.shape == (3, 6, 24) and out.projected.shape == (3, 6, 5)
    assert torch.allclose(out.projected.norm(dim=-1), torch.ones(3, 6), atol=1e-5)
    for etf in (head.queries.T, head.classifier.weight):  # label queries (E x C) and classifier (C*d x C)
        cosines = etf.T @ etf
        assert torch.allclose(cosines.diagonal(), torch.ones(6), atol=1e-5)
        assert torch.allclose(cosines[~torch.eye(6, dtype=torch.bool)], torch.tensor(-1 / 5), atol=1e-5)
    names = dict(head.named_parameters())
    assert "classifier.scale" in names and "classifier.weight" not in names and "queries" not in names
    queries, classifier = head.queries.clone(), head.classifier.weight.clone()
    optimizer = torch.optim.SGD(head.parameters(), lr=0.5)
    head(torch.randn(3, 32, 2, 2)).sum().backward()
    optimizer.step()
    assert torch.equal(head.queries, queries) and torch.equal(head.classifier.weight, classifier)
    assert "weight" in dict(ETFClassifier(10, 4, trainable=True).named_parameters())


def test_prototypes_are_the_running_mean_of_positive_pairs():
    head = MLCNCHead(in_channels=8, num_classes=3, embed_dim=6, heads=2, proj_dim=2)
    memory = PrototypeMemory(head, 3, 2)
    projected = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]], [[0.0, 1.0], [1.0, 1.0], [9.0, 9.0]]])
    memory.add(projected, torch.tensor([[1, 1, 0], [1, 0, 0]]))
    memory.refresh()
    assert head.prototypes.tolist() == [[0.5, 0.5], [0.0, 1.0], [0.0, 0.0]]  # class 2 never seen: zeros


def test_real_scale_80_classes_under_bf16_autocast_give_finite_losses():
    torch.manual_seed(0)
    classes = 80
    targets = (torch.rand(4, classes) < 0.05).to(torch.uint8)
    targets[0, 3] = 1
    train = (torch.rand(200, classes) < 0.05).numpy().astype(np.uint8)
    stats = ClassStats(train.sum(axis=0), 200, cooccurrence_counts(train))
    head = MLCNCHead(in_channels=64, num_classes=classes, embed_dim=96, heads=8, proj_dim=20)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = head.outputs(torch.randn(4, 64, 7, 7))
        losses = [build_loss({"name": name}, stats)(out.logits, targets) for name in ("two_way", "mfm")]
        losses += [feature_label_alignment(out.attended, head.queries, targets),
                   prototype_contrastive(out.projected, torch.randn(classes, 20), targets)]
    total = sum(losses)
    total.backward()
    assert all(torch.isfinite(loss) for loss in losses)
    assert all(torch.isfinite(p.grad).all() for p in head.parameters() if p.grad is not None)


def test_an_mlcnc_run_on_voc_lt_sits_beside_mlcncs_published_row(tmp_path):
    make_run(tmp_path, "voc_lt/mlcnc_s1", "voc_lt", "mlcnc", 1, (80.0, 70.0, 85.0, 86.0))
    frame = ltbench.table(runs=str(tmp_path), reference="sota")
    row = frame[frame["label"] == "MLC-NC"].iloc[0]
    assert (row["total_published"], row["head_published"], row["medium_published"], row["tail_published"]) == (
        84.37, 72.75, 88.15, 90.31)
    assert row["total_diff"] == pytest.approx(80.0 - 84.37)
    assert "AAAI 2025" in row["published_source"]
