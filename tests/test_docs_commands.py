"""Every command the README and docs/ show is executed here, so the documentation cannot drift from the code.

A ```bash block's commands run in order, in a folder of their own that sees the repository's files and
committed runs, with ``ltbench`` called in-process. ``ltbench run`` gets a small mnist_lt draw appended
(``SMALL``), ``table`` and ``plot`` a temporary ``--out``. A block whose first line is
``# not run by the tests: <reason>`` is checked instead: ``ltbench run`` resolves with ``--print-config``,
``ltbench suite`` with ``--dry-run``, other ``ltbench`` commands parse and scripts exist. The install
and test commands are the ones CI runs (.ci/run). A ```python block is executed (first line
``# executed by tests/test_docs_commands.py``), copied from the file its first line names, or marked as
not run and only compiled.
"""

from __future__ import annotations

import glob
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from ltbench import plugins
from ltbench.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NOT_RUN = "# not run by the tests:"
SMALL = ["--dataset.max_count", "60", "--dataset.num_test", "100", "--input.size", "32", "--train.epochs", "1"]
INSTALLS = {  # the pip commands the docs may show; CI (.ci/run) runs the test extra's
    "pip install -c constraints.txt -e .", "pip install -c constraints.txt -e .[test]",
    "pip install -c constraints.txt -e .[slurm]", "pip install --no-deps -e .",
    "pip install -c constraints.txt -e .[tensorboard]",  # tensorboard is in the test extra too
}


@dataclass
class Command:
    source: str  # the line as the docs show it
    env: dict[str, str]
    argv: list[str]
    run: bool  # False: in a "not run by the tests" block


def fenced(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.S | re.M)


def commands(path: Path) -> list[Command]:
    found, exported = [], {}
    for block in fenced(path.read_text(), "bash"):
        run = not block.startswith(NOT_RUN)
        for line in block.replace("\\\n", " ").splitlines():
            for part in _split_and(shlex.split(line, comments=True)):
                env = dict(exported)
                while part and re.fullmatch(r"[A-Z_]+=.*", part[0]):
                    key, _, value = part.pop(0).partition("=")
                    env[key] = value
                if part[:1] == ["export"]:
                    exported.update(env)
                    exported.update(dict(item.split("=", 1) for item in part[1:]))
                elif part:
                    found.append(Command(line.strip(), env, part, run))
    return found


def _split_and(tokens: list[str]) -> list[list[str]]:
    parts: list[list[str]] = [[]]
    for token in tokens:
        if token == "&&":
            parts.append([])
        else:
            parts[-1].append(token)
    return parts


@pytest.fixture()
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder that sees the repository (methods/, configs/, committed runs) and writes only to itself."""
    for entry in ROOT.iterdir():
        if entry.name not in {"results", ".git"}:
            (tmp_path / entry.name).symlink_to(entry)
    (tmp_path / "results").mkdir()
    for kept in ("mnist_lt", "reference"):
        (tmp_path / "results" / kept).symlink_to(ROOT / "results" / kept)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LTBENCH_RESULTS", raising=False)
    monkeypatch.delenv("LTBENCH_PLUGINS", raising=False)
    return tmp_path


def run_ltbench(command: Command, sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:
        for key, value in command.env.items():
            patch.setenv(key, value)
            if key == "LTBENCH_PLUGINS":
                patch.setattr(plugins, "_loaded", False)  # load the named folder's plugins too
        _run_ltbench(command, sandbox)


def _run_ltbench(command: Command, sandbox: Path) -> None:
    argv = [arg for pattern in command.argv[1:] for arg in (sorted(glob.glob(pattern)) or [pattern])]
    sub = argv[0]
    if not command.run:
        if sub == "run":  # resolved on one process: --nproc would start torchrun
            argv = [a for i, a in enumerate(argv) if "--nproc" not in (a, argv[i - 1])]
        if sub in ("run", "suite"):
            assert main([*argv, "--print-config" if sub == "run" else "--dry-run"]) in (0, 1), command.source
        else:
            build_parser().parse_known_args(argv)
        return
    assert sub != "suite", f"{command.source}: a suite takes minutes; mark its block '{NOT_RUN} <reason>'"
    extra = {"run": [] if "--print-config" in argv else SMALL, "table": ["--out", str(sandbox / "out")], "plot": ["--out", str(sandbox / "out")]}
    assert main([*argv, *([] if "--out" in argv else extra.get(sub, []))]) == 0, command.source


def check_other(command: Command) -> None:
    program, *args = command.argv
    if program == "pip":
        assert " ".join(command.argv) in INSTALLS, f"{command.source}: an install CI does not run"
    elif program in ("pytest", "python") and "pytest" in command.argv[:3]:
        assert all((ROOT / a).exists() for a in args if a.startswith("tests/")), command.source
    elif program == "python":
        assert not command.run and (ROOT / args[0]).is_file(), command.source
    elif program == "torchrun":
        assert not command.run and args[args.index("-m") + 1] == "ltbench", command.source
        assert main([*args[args.index("-m") + 2:], "--print-config"]) == 0, command.source
    elif command.run:  # in a block "not run by the tests", other programs (git, tensorboard) are only shown
        pytest.fail(f"{command.source}: the tests do not know how to run {program!r}")


@pytest.mark.slow
@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shown_command_runs(doc: Path, sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shown = commands(doc)
    for command in shown:
        if command.argv[0] == "ltbench":
            run_ltbench(command, sandbox, monkeypatch)
        else:
            check_other(command)


@pytest.mark.slow
@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_python_block_is_executed_or_copied_from_its_file(doc: Path, sandbox: Path) -> None:
    for block in fenced(doc.read_text(), "python"):
        first, _, body = block.partition("\n")
        if first == "# ltbench API example (executed by tests/test_saved_model.py)":
            continue
        if first == "# executed by tests/test_docs_commands.py":
            exec(compile(block, str(doc), "exec"), {})
        elif first.startswith(NOT_RUN):
            compile(block, str(doc), "exec")  # shown only, for the reason given; it must still be Python
        else:
            source = ROOT / first.removeprefix("# ")
            assert source.is_file() and body in source.read_text(), f"{doc.name}: a block not copied from {source}"


def test_the_readme_is_short_and_shows_the_command_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme) <= 12_000
    assert '```bash\npip install -c constraints.txt -e ".[test]" && pytest -q\n```' in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'pip install -q -c constraints.txt -e ".[test]"' in ci and "python3 -m pytest -q" in ci


def test_docs_link_only_to_files_that_exist() -> None:
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", doc.read_text()):
            assert (doc.parent / target).exists(), f"{doc.name} links to {target}, which does not exist"


def test_a_block_of_unknown_commands_is_refused(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("```bash\nLTBENCH_PLUGINS=x ltbench list && make all   # two\n```\n")
    (listing, make) = commands(doc)
    assert listing.argv == ["ltbench", "list"] and listing.env == {"LTBENCH_PLUGINS": "x"} and listing.run
    with pytest.raises(pytest.fail.Exception, match="do not know how to run 'make'"):
        check_other(make)
    check_other(Command(make.source, {}, make.argv, run=False))  # shown only, under a reason
