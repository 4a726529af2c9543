"""A results root for leaderboard tests: the committed mnist_lt runs and suites, plus one recorded submission."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from ltbench.cli import main
from ltbench.submissions.format import read_submission, write_submission

COMMITTED = Path(__file__).resolve().parent.parent / "results" / "mnist_lt"
SUBMITTED = {"method": "Outside method", "checkpoint": "validation", "paper": "Doe et al., 2026",
             "code": "https://example.org/outside-method", "seed": 1, "score": "logit"}


def manifest_labels(suite: str = "table1", dataset: str = "mnist_lt") -> list[str]:
    return [row["label"] for row in json.loads((COMMITTED / "suites" / f"{suite}_{dataset}.json").read_text())["rows"]
            if row["run_dirs"]]


def results_with_submission(folder: Path) -> Path:
    """``folder/results``: links to the committed runs and suites, and a submission recorded by ``ltbench eval``."""
    root = folder / "results"
    root.mkdir()
    for name in ("runs", "suites"):
        (root / name).symlink_to(COMMITTED / name)
    manifest = json.loads((COMMITTED / "suites" / "table1_mnist_lt.json").read_text())
    exported = folder / "erm.npz"
    assert main(["export", str(COMMITTED / manifest["rows"][0]["run_dirs"][0]), "--out", str(exported)]) == 0
    outside = folder / "outside.npz"
    write_submission(outside, replace(read_submission(exported), metadata=SUBMITTED))
    assert main(["eval", "--scores", str(outside), "--dataset", "mnist_lt"]) == 0
    return root
