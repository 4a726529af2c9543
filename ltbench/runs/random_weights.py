"""Smoke runs: runs on random weights where the method's published form loads pretrained ones.

Such a run (random CLIP towers on mnist_lt, ``model.pretrained=false``, the
``random`` text encoder standing in for GloVe or CLIP) says only that the
pipeline runs; its mAP is not the method's. It is told from the weights'
provenance that every run records (``MethodContext.provenance``): a part built
from ``random init`` or ``randn(...)``. The one exception is a row whose
published setting IS random: CPRFL's Figure 3 "Randn" prompt initialisation.
"""

from __future__ import annotations

from typing import Any, Mapping

RANDOM_SOURCES = ("random init", "randn(")  # what a randomly initialised part records as its source
PUBLISHED_RANDOM_ROWS = frozenset({"Randn"})  # row labels whose published setting uses random text embeddings
DAGGER = "†"


def random_parts(provenance: Mapping[str, str]) -> list[str]:
    """The parts (``backbone``, ``text_encoder``, ...) whose recorded weights are random."""
    return [part for part, source in provenance.items()
            if any(marker in str(source) for marker in RANDOM_SOURCES)]


def is_smoke(provenance: Mapping[str, str], label: str | None) -> bool:
    """Random weights stand in for pretrained ones (a random text encoder counts unless the row is "Randn")."""
    parts = random_parts(provenance)
    if label in PUBLISHED_RANDOM_ROWS:
        parts = [part for part in parts if part != "text_encoder"]
    return bool(parts)


def run_is_smoke(metrics: Mapping[str, Any]) -> bool:
    """A run's recorded ``smoke`` flag; runs written before it existed are judged from their provenance."""
    if "smoke" in metrics:
        return bool(metrics["smoke"])
    return is_smoke(metrics.get("provenance") or {}, metrics.get("label"))


def smoke_note(method: str) -> str:
    return f"random weights: a smoke run, not {method}'s published setting"
