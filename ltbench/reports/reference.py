"""Published numbers (CSV with its source) and the row labels that match our runs to them.

The CSVs in ``ltbench/reference/`` (linked from ``results/reference/``) are the data; this module only reads them.
``ROW_LABELS`` is the one place that says which registered method is which
published row, so a run without an explicit ``label`` still lands on its row.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ltbench.data.groups import GROUP_NAMES
from ltbench.errors import LtbenchError
from ltbench.paths import PACKAGE_DIR

REFERENCE_DIR = PACKAGE_DIR / "reference"  # shipped in the wheel; the repo's results/reference links here
METRICS = ("total", *GROUP_NAMES)  # the four mAP columns of every table
REFERENCE_DATASETS = ("voc_lt", "coco_lt")  # column order of the paper's tables

# (method name, text encoder or None for "any") -> row label of CPRFL's Table 1.
# Order here is the paper's row order; tables list known labels in this order.
# Tables 2 and 3 rows (CPRFL with another loss, ablations) cannot be told apart
# by method name: their suites set ``label`` to the reference row name.
ROW_LABELS: dict[tuple[str, str | None], str] = {
    ("erm", None): "ERM",
    ("rw", None): "RW",
    ("focal", None): "Focal",  # not in the published Table 1
    ("ml_gcn", None): "ML-GCN",
    ("ldam_drw", None): "LDAM",  # the published row is named LDAM
    ("cb_focal", None): "CB Focal",
    ("bbn", None): "BBN",
    ("db_focal", None): "DB Focal",
    ("asl", None): "ASL",
    ("crt", None): "cRT",  # cRT, tau-norm and LA are not in the published Table 1
    ("tau_norm", None): "tau-norm",
    ("logit_adjusted", None): "LA",
    ("cprfl", "glove"): "CPRFL-GloVe",
    ("cprfl", "clip-rn50"): "CPRFL-CLIP",  # CPRFL's "CLIP" is CLIP RN50 (its Figure 3)
    # the sota suite (HP-DVAL's Table I rows); zsclip's lmpt_compat preset is labelled by the suite
    ("zsclip", None): "Zero-shot CLIP",
    ("coop", None): "CoOp",
    ("lmpt", None): "LMPT",
    ("hp_dval", None): "HP-DVAL",
    ("capnet", None): "CAPNet (reconstructed from the abstract)",
    ("lmclip", None): "LM-CLIP",
    # the newest ImageNet-backbone rows (sota suite; MLC-NC's Table 1), and the two-way loss on the baseline
    ("mlcnc", None): "MLC-NC",
    ("mfm", None): "MFM",
    ("two_way", None): "Two-way",
}

_COLUMNS = ("table", "row", "dataset", *METRICS, "source")


def default_label(config: dict[str, Any]) -> str:
    """Row label of a run that sets no ``label``: its published name, else its method name."""
    method = str((config.get("method") or {}).get("name"))
    encoder = (config.get("text") or {}).get("encoder")
    return ROW_LABELS.get((method, encoder)) or ROW_LABELS.get((method, None)) or method


def label_rank(label: str) -> tuple[int, str]:
    """Sort key putting labels in the paper's row order, unknown labels after, alphabetically."""
    known = list(ROW_LABELS.values())
    return (known.index(label), "") if label in known else (len(known), label)


def dataset_rank(dataset: str) -> tuple[int, str]:
    """Sort key putting datasets in the paper's column order, others after, alphabetically."""
    known = REFERENCE_DATASETS
    return (known.index(dataset), "") if dataset in known else (len(known), dataset)


@dataclass(frozen=True)
class PublishedRow:
    """One published row on one dataset: mAP (%) per metric and where it was published."""

    row: str
    dataset: str
    values: dict[str, float]
    source: str


@dataclass(frozen=True)
class Reference:
    """The published rows of one paper table, looked up by (row label, dataset)."""

    table: str
    rows: tuple[PublishedRow, ...]

    def lookup(self, label: str, dataset: str) -> PublishedRow | None:
        return next((r for r in self.rows if r.row == label and r.dataset == dataset), None)


def load_reference(table: str | Path = "table1") -> Reference:
    """Read a reference CSV: a name in ``REFERENCE_DIR`` (``"table1"``) or a path."""
    path = Path(table)
    if not path.suffix:
        path = REFERENCE_DIR / f"{table}.csv"
    if not path.is_file():
        raise LtbenchError(f"Reference file {path} does not exist.")
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise LtbenchError(f"Reference file {path} lacks columns: {', '.join(missing)}.")
        records = list(reader)
    try:
        rows = tuple(
            PublishedRow(r["row"], r["dataset"], {m: float(r[m]) for m in METRICS}, r["source"]) for r in records
        )
    except ValueError as exc:
        raise LtbenchError(f"Reference file {path} has a non-numeric mAP: {exc}.") from None
    return Reference(path.stem, rows)
