"""The prose of the README and docs/ against the repository: links, paths and quoted numbers.

``test_docs_commands.py`` runs every command the docs show; this file checks what
they state. Links and their section anchors resolve, every docs page is linked
from somewhere, repository paths named in the text exist, and the numbers the
docs quote are the committed runs' (``results/mnist_lt``) or the committed
benchmark JSON's (``results/benchmarks``), so a re-run that changes a number
fails here until the docs say the new one.
"""

from __future__ import annotations

import glob
import json
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from ltbench.evaluation import chance_map
from ltbench.experiment import format_map
from ltbench.reports import collect_runs
from ltbench.reports.table import _oracle, summarize

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RESULTS = ROOT / "results" / "mnist_lt"
BENCHMARKS = ROOT / "results" / "benchmarks"
GENERATED_FROM_UPSTREAM = {"recipes.md"}  # its paths are the authors' repositories', cited with their commits
WRITTEN_BY_COMMANDS = ("results/runs", "results/submissions", "datasets/splits", "datasets/voc_lt/downloads",
                       "datasets/coco_lt/downloads")
REPO_PATH = re.compile(r"(?<![\w/.$<>{-])((?:ltbench|tests|results|benchmarks|configs|datasets|docs|methods|\.ci)/"
                       r"[\w./*@-]*)")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
MEAN_STD = re.compile(r"(?<![\d.])(\d+\.\d\d) ± (\d+\.\d\d)(?![\d])")


def prose(text: str) -> str:
    """``text`` without its fenced code blocks (a ``# comment`` there is not a heading)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def without_old_names(text: str) -> str:
    """``text`` without the first column of an ``| old | new |`` table: the names things had before a move."""
    kept, old_table = [], False
    for line in text.splitlines():
        old_table = line.startswith("| old | new |") or (old_table and line.startswith("|"))
        kept.append(line.split("|", 2)[2] if old_table and line.count("|") > 2 else line)
    return "\n".join(kept)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation other than ``-`` and ``_`` dropped, spaces as ``-``."""
    text = re.sub(r"[`*]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6} (.+)$", prose(path.read_text()), re.M):
        base = slug(heading)
        found[base] = found.get(base, -1) + 1
    return {base if n == 0 else f"{base}-{n}" for base, count in found.items() for n in range(count + 1)}


def links(doc: Path) -> list[tuple[Path, str]]:
    """Every local link of ``doc`` as (target file, anchor or "")."""
    found = []
    for target in LINK.findall(prose(doc.read_text())):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        found.append(((doc.parent / path).resolve() if path else doc.resolve(), anchor))
    return found


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_links_and_their_section_anchors_resolve(doc: Path) -> None:
    for target, anchor in links(doc):
        assert target.exists(), f"{doc.name} links to {target}, which does not exist"
        if anchor and target.suffix == ".md":
            assert anchor in anchors(target), f"{doc.name} links to {target.name}#{anchor}, a section it lacks"


def test_every_docs_page_is_linked_from_the_readme_or_another_page() -> None:
    linked = {(target, doc) for doc in DOCS for target, _ in links(doc)}
    for page in DOCS[1:]:
        assert any(target == page.resolve() and doc != page for target, doc in linked), f"nothing links {page.name}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_repository_paths_named_in_the_docs_exist(doc: Path) -> None:
    if doc.name in GENERATED_FROM_UPSTREAM:
        return
    text = without_old_names(prose(doc.read_text()))  # a block's output paths are checked by running it
    for match in REPO_PATH.finditer(text):
        path = match.group(1).rstrip(".,:;)")
        after = text[match.end():match.end() + 2]
        if after[:1] in "<{$" or path.startswith(WRITTEN_BY_COMMANDS):
            continue  # a placeholder, or what a command writes
        if re.fullmatch(r":\d", after) and not path.startswith(("ltbench/", "tests/")):
            continue  # file:line cites an upstream repository's code (its configs/, src/, ...)
        found = glob.glob(str(ROOT / path)) if "*" in path else (ROOT / path).exists()
        assert found, f"{doc.name} names {path}, which is not in the repository"


@lru_cache(maxsize=1)
def committed_rows() -> dict[tuple[str, str], list]:
    """(suite, row label) -> its committed runs, for every suite manifest under results/mnist_lt."""
    rows = {}
    for manifest in sorted((RESULTS / "suites").glob("*.json")):
        suite = json.loads(manifest.read_text())["suite"]
        collection = collect_runs(manifests=[manifest])
        rows |= {(suite, label): runs for (_, label), runs in collection.rows.items()}
    return rows


def test_every_mean_and_std_the_docs_quote_is_a_committed_rows() -> None:
    shown = set()
    for runs in committed_rows().values():
        shown |= {f"{mean:.2f} ± {std:.2f}" for mean, std in summarize(runs).values()}
        shown.add("{:.2f} ± {:.2f}".format(*_oracle(runs)))
    for doc in DOCS:
        for mean, std in MEAN_STD.findall(doc.read_text()):
            assert f"{mean} ± {std}" in shown, f"{doc.name} quotes {mean} ± {std}, which no committed row gives"


def test_the_results_table_is_in_one_page_and_is_the_committed_table() -> None:
    table = [line for line in (ROOT / "results" / "tables" / "table1.md").read_text().splitlines()
             if line.startswith("|")]
    holders = [doc for doc in DOCS if table[0] in doc.read_text()]
    assert [doc.name for doc in holders] == ["results-mnist-lt.md"]
    assert "\n".join(table) in holders[0].read_text()


def test_the_readme_quotes_the_committed_first_run_and_chance() -> None:
    readme = (ROOT / "README.md").read_text()
    (erm,) = [run for run in committed_rows()[("table1", "ERM")] if run.metrics["seed"] == 1]
    assert f"erm on mnist_lt (seed 1): {format_map(erm.metrics)}" in readme
    with np.load(erm.path / "scores.npz") as scores:
        assert f"**{chance_map(scores['targets']):.2f} mAP**" in readme


LEADERBOARD = "leaderboard-1000runs-pt213-cpu2c.json"
BENCHMARK_QUOTES = [  # (page, the words it quotes, benchmark JSON, how the JSON gives them)
    ("benchmarks.md", "{:.1f} s for the 7 rows", "suite_table1_mnist_lt.json", lambda d: d["wall_seconds"]),
    ("scaling-out.md", "`local` {:.0f} s", "suite_table1_mnist_lt_shared2cpu_rerun.json", lambda d: d["wall_seconds"]),
    ("scaling-out.md", "took {:.0f} s", "suite_table1_mnist_lt_shared2cpu.json", lambda d: d["wall_seconds"]),
    ("scaling-out.md", "`pool --jobs 2` {:.0f} s", "suite_table1_mnist_lt_pool2_shared2cpu.json",
     lambda d: d["wall_seconds"]),
    ("reports.md", "{:.1f} s wall", "reports_table1_mnist_lt.json",
     lambda d: d["table1_mnist_lt"]["cold"]["wall_seconds_median"]),
    ("reports.md", "warm (replicates cached) {:.1f} s wall", "reports_table1_mnist_lt.json",
     lambda d: d["table1_mnist_lt"]["warm"]["wall_seconds_median"]),
    ("paper-tables.md", "ERM on `mnist_lt`,\nseed 1, gives {:.2f} total mAP", "suite_table1_mnist_lt.json",
     lambda d: d["map"]["ERM"]["total"]),
    ("leaderboard.md", "{:.1f} s wall from an empty cache", LEADERBOARD, lambda d: d["cold"]["wall_seconds"]),
    ("leaderboard.md", "{:.1f} s CPU over its processes", LEADERBOARD, lambda d: d["cold"]["cpu_seconds"]),
    ("leaderboard.md", "in one process {:.1f} s", LEADERBOARD, lambda d: d["cold_one_process"]["wall_seconds"]),
    ("leaderboard.md", "{:.1f} s when an earlier build's cache", LEADERBOARD, lambda d: d["warm"]["wall_seconds"]),
    ("leaderboard.md", "alone take {:.1f} s cold", LEADERBOARD, lambda d: d["committed_runs_cold"]["wall_seconds"]),
    ("benchmarks.md", "cold (empty cache) {:.1f} s wall", LEADERBOARD, lambda d: d["cold"]["wall_seconds"]),
    ("benchmarks.md", "{:.1f} s CPU over all processes", LEADERBOARD, lambda d: d["cold"]["cpu_seconds"]),
]


@pytest.mark.parametrize("page, words, source, value", BENCHMARK_QUOTES, ids=lambda x: str(x)[:30])
def test_benchmark_numbers_the_docs_quote_are_the_committed_json(page, words, source, value) -> None:
    data = json.loads((BENCHMARKS / source).read_text())
    assert words.format(value(data)) in (ROOT / "docs" / page).read_text()


def test_citation_names_every_paper_the_recipe_cards_cite_and_the_license_is_pyprojects() -> None:
    import tomllib

    import yaml

    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert "version" not in citation  # ltbench.__version__ is the one source
    assert citation["license"] == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]["text"]
    assert (ROOT / "LICENSE").read_text().startswith(f"{citation['license']} License")
    references = citation["references"]
    cited = {(author.get("family-names"), ref.get("year")) for ref in references for author in ref["authors"]}
    notes = " ".join(ref.get("notes", "") for ref in references)
    cards = " ".join(path.read_text() for path in (ROOT / "ltbench" / "recipes").rglob("*.yaml"))
    for author, year in set(re.findall(r"([A-Z][\w-]+) et al\.?,? [^;)\n]*?\b((?:19|20)\d\d)\b", cards)):
        assert (author, int(year)) in cited, f"the recipe cards cite {author} et al. {year}; CITATION.cff does not"
    for paper in set(re.findall(r"paper_source: ([A-Z][\w-]+) ", cards)) - {author for author, _ in cited}:
        assert paper in notes, f"the recipe cards cite {paper}; CITATION.cff does not"


UPSTREAM_ISSUES = re.compile(r"(DB|DistributionBalancedLoss|LMPT|its) issues? #?\d")  # another project's tracker
PROJECT_ISSUE = re.compile(r"\b[Ii]ssues? #?\d+")


def test_no_text_cites_the_projects_own_issue_numbers() -> None:
    """A reader cannot look up this project's internal issues: docs, code and comments say what instead."""
    files = [*DOCS, *(ROOT / "ltbench").rglob("*.*"), *(ROOT / "tests").glob("*.py"),
             *(ROOT / "benchmarks").rglob("*.py"), *(ROOT / "methods").rglob("*.py")]
    for path in files:
        if path.suffix not in (".py", ".md", ".yaml", ".csv") or path == Path(__file__):
            continue
        for line in path.read_text().splitlines():
            cited = PROJECT_ISSUE.findall(UPSTREAM_ISSUES.sub("", line))
            assert not cited, f"{path.relative_to(ROOT)} cites {cited[0]}: say what it found instead"
