"""A recipe card's code citations checked against a checkout of the authors' repository at the card's commit.

Every ``code_source`` entry of the form ``path:lines`` (``train.py:107-109``,
``a.py:1,3-5``; ``configs/{voc,coco}/x.py:85/87`` is line 85 of the VOC file and
87 of the COCO one) must name a file of the checkout and lines it has; a
setting's ``quote`` must appear, whitespace aside, within the lines its entries
cite. Other entries (an issue thread, a paper section) are not checked. ltbench
never holds the authors' code: the checkout is the user's clone (or the
lockstep recorders' one), and ``python -m ltbench.recipes.citations`` runs this.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ltbench.recipes.cards import Card, Setting, card_files, load_card

CITATION = re.compile(r"^(?P<path>[\w./{},+@-]+):(?P<lines>[\d,/ -]+)$")
BRACES = re.compile(r"\{([^}]*)\}")


@dataclass(frozen=True)
class Citation:
    path: str
    lines: tuple[int, ...]


def citations(source: str | None) -> list[Citation]:
    """The ``path:lines`` entries of a ``code_source`` (``;``-separated), braces and ``/`` alternatives expanded."""
    found = []
    for entry in (source or "").split(";"):
        match = CITATION.match(" ".join(entry.split()))
        if match is None:
            continue
        path, lines = match["path"], match["lines"].replace(" ", "")
        braces = BRACES.search(path)
        options = braces.group(1).split(",") if braces else [None]
        alternatives = lines.split("/") if "/" in lines else [lines] * len(options)
        for option, numbers in zip(options, alternatives, strict=True):
            expanded = path if option is None else path[:braces.start()] + option + path[braces.end():]
            found.append(Citation(expanded, tuple(_numbers(numbers))))
    return found


def _numbers(text: str) -> list[int]:
    out: list[int] = []
    for part in filter(None, text.split(",")):
        first, _, last = part.partition("-")
        out.extend(range(int(first), int(last or first) + 1))
    return out


def check_setting(setting: Setting, checkout: Path) -> list[str]:
    """Problems of one setting's code citations and quote in ``checkout`` (empty when all hold)."""
    problems, cited = [], []
    for citation in citations(setting.code_source):
        file = checkout / citation.path
        if not file.is_file():
            problems.append(f"{setting.name}: {citation.path} is not in the repository")
            continue
        text = file.read_text(errors="replace").splitlines()
        beyond = [n for n in citation.lines if n > len(text)]
        if beyond:
            problems.append(f"{setting.name}: {citation.path} has {len(text)} lines, the card cites {beyond[0]}")
        cited.extend(text[n - 1] for n in citation.lines if n <= len(text))
    if setting.quote and _squash(setting.quote) not in _squash(" ".join(cited)):
        problems.append(f"{setting.name}: the quote {setting.quote!r} is not in the cited lines")
    return problems


def _squash(text: str) -> str:
    return "".join(text.split())


def check_card(card: Card, checkout: Path) -> list[str]:
    """Problems of every setting of ``card``; a checkout at another commit than the card's is one problem."""
    if card.repository is None or card.basis != "code":
        return []
    commit = card.repository.rpartition("@")[2]
    head = checkout_head(checkout)
    if head is not None and not head.startswith(commit):
        return [f"the checkout is at {head[:10]}, the card cites {commit}"]
    return [problem for setting in card.settings for problem in check_setting(setting, checkout)]


def checkout_head(checkout: Path) -> str | None:
    """The checkout's commit: its ``COMMIT`` file (a ``git archive``), else git's HEAD; None if neither says."""
    marker = checkout / "COMMIT"
    if marker.is_file():
        return marker.read_text().strip()
    result = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkout", type=Path, required=True, help="the authors' repository at the card's commit")
    parser.add_argument("--repository", required=True, help="owner/name: check every card citing it")
    args = parser.parse_args(argv)
    checked, problems = citation_problems(args.repository, args.checkout)
    print("\n".join(problems) or f"{checked} cards: every citation and quote holds")
    return 1 if problems else 0


def citation_problems(repository: str, checkout: Path) -> tuple[int, list[str]]:
    """How many cards cite ``repository`` (owner/name), and every problem of theirs in ``checkout``."""
    cards = [load_card(path) for path in card_files()]
    chosen = [c for c in cards if c.repository and c.repository.partition("@")[0] == repository]
    return len(chosen), [f"{card.name}: {p}" for card in chosen for p in check_card(card, checkout)]


if __name__ == "__main__":
    sys.exit(main())
