"""The package as a user installs it: a wheel in a fresh environment outside the repository, run from an empty folder.

The heavy dependencies (torch, timm, ...) are reused from the running
interpreter's site-packages, so nothing is downloaded; the wheel is installed
with ``--ignore-installed`` so that an editable install of the repository in
those site-packages is shadowed, and the test checks that it is.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from ltbench.config.resolve import resolve_config

REPO = Path(__file__).resolve().parent.parent
WHEEL_SOURCES = ("pyproject.toml", "README.md", "ltbench")

pytestmark = pytest.mark.wheel


def call(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def build_wheel(tmp_path: Path) -> Path:
    """Build from a copy of the sources, so no build/ or egg-info lands in the repository."""
    source = tmp_path / "source"
    for name in WHEEL_SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy(REPO / name, source / name)
    call(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", tmp_path / "dist", ".", cwd=source)
    (wheel,) = (tmp_path / "dist").glob("ltbench-*.whl")
    return wheel


def make_venv(tmp_path: Path, wheel: Path) -> Path:
    """A venv seeing the running interpreter's packages; a .pth adds them too where that interpreter is itself a
    venv or installed them in the user site, which ``--system-site-packages`` alone would not show."""
    venv = tmp_path / "venv"
    call(sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    purelib = call(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp_path).strip()
    parents = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages") and Path(p).is_dir()]
    Path(purelib, "ltbench_test_parent.pth").write_text("\n".join(parents) + "\n")
    call(python, "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", "-q", wheel, cwd=tmp_path)
    return venv


@pytest.mark.slow
def test_wheel_installs_and_runs_from_an_empty_folder(tmp_path: Path) -> None:
    venv = make_venv(tmp_path, build_wheel(tmp_path))
    work = tmp_path / "work"
    work.mkdir()
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "LTBENCH_CONFIGS", "LTBENCH_PLUGINS", "LTBENCH_DATA")}
    env.update(LTBENCH_RESULTS=str(tmp_path / "results"), LTBENCH_CACHE=str(tmp_path / "cache"), HF_HUB_OFFLINE="1")

    probe = ("import json, ltbench; from ltbench.config.resolve import resolve_config; "
             "print(json.dumps([ltbench.__file__, resolve_config('cprfl', 'voc_lt')]))")
    module_file, config = json.loads(call(venv / "bin" / "python", "-c", probe, cwd=work, env=env))
    assert Path(module_file).resolve().is_relative_to(venv.resolve())  # not the repository's code
    assert config == resolve_config("cprfl", "voc_lt")  # the shipped config, not the package defaults alone
    assert config["input"]["size"] == 448 and config["model"]["backbone"] == "resnet101"

    listed = call(venv / "bin" / "ltbench", "list", "losses", "asl", cwd=work, env=env)  # from the shipped index
    assert "gamma_neg" in listed and "4.0" in listed

    out = call(venv / "bin" / "ltbench", "run", "--method", "erm", "--dataset", "mnist_lt", "--train.epochs", "1",
               cwd=work, env=env)
    assert "erm on mnist_lt (seed 1)" in out
    (run_dir,) = (tmp_path / "results" / "runs" / "mnist_lt").glob("erm_s1_*")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "finished" and metrics["epochs"] == 1
    chance = 100 * np.load(run_dir / "scores.npz")["targets"].mean()  # a random ranking's AP: the positive rate
    assert metrics["map"]["total"] > chance + 2  # 28.35 vs 24.91 measured after one epoch
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["model"]["freeze"] == "all"  # mnist_lt/base.yaml
    assert list(work.iterdir()) == []  # nothing written into the folder it ran from
