"""The command line as a user meets it: one-sentence errors, no tracebacks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ltbench.cli import main


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "ltbench", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


def test_help_imports_neither_torch_nor_torchvision():
    """``ltbench --help`` and every subcommand's ``--help`` answer without loading torch (over a second to import)."""
    code = ("import sys; from ltbench.cli import build_parser\n"
            "parser = build_parser()\n"
            "for argv in (['--help'], *[[name, '--help'] for name in parser._subparsers._group_actions[0].choices]):\n"
            "    try:\n        parser.parse_args(argv)\n    except SystemExit:\n        pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.slow
def test_missing_voc_data_is_one_sentence_without_traceback(tmp_path):
    result = run_cli("run", "--method", "cprfl", "--dataset", "voc_lt",
                     env={"LTBENCH_DATA": str(tmp_path), "LTBENCH_SPLITS": str(tmp_path / "splits")})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert message.startswith("ltbench: error:") and len(message.splitlines()) == 1
    assert str(tmp_path) in message


def test_list_shows_every_kind_with_help(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("erm", "cprfl", "poly1", "mnist_lt", "voc_lt", "efficientnet_lite0", "glove", "asl"):
        assert name in out


@pytest.mark.slow
def test_example_plugin_is_discovered_and_trains(tmp_path, capsys):
    assert main(["run", "--method", "poly1", "--dataset", "mnist_lt", "--train.epochs", "2",
                 f"--output.root={tmp_path}"]) == 0
    assert "poly1 on mnist_lt" in capsys.readouterr().out


@pytest.mark.slow
def test_plugin_folder_from_environment_is_loaded_and_its_method_builds(tmp_path):
    plugin = tmp_path / "my_method.py"
    plugin.write_text(
        "from ltbench.registry import METHODS\n"
        "from ltbench.methods.baseline import build_baseline\n"
        "@METHODS.register('my_method', loss='focal')\n"
        "def my_method(ctx, neck_dim: int = 32):\n"
        "    '''A user method.'''\n"
        "    return build_baseline(ctx, 'db_neck', neck_dim, 0.0)\n")
    code = ("import ltbench.plugins as p; p.load_plugins(); from ltbench.registry import METHODS; "
            "from ltbench.config.resolve import resolve_config; from ltbench.experiment import build_experiment; "
            f"config = resolve_config('my_method', 'mnist_lt', overrides=['method.neck_dim=16', "
            f"'output.root={tmp_path}']); parts = build_experiment(config).parts; head = parts.model.head; "
            "print(METHODS.entry('my_method').help, type(parts.loss).__name__, head.kind, "
            "head.classifier.in_features, head.classifier.out_features)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "LTBENCH_PLUGINS": str(tmp_path)}, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "A user method. FocalLoss db_neck 16 10"


def installed_plugin(site: Path, module: str, body: str) -> None:
    """A distribution as pip would install it: a module plus a dist-info naming it in group ltbench.methods."""
    (site / f"{module}.py").write_text(body)
    info = site / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[ltbench.methods]\n{module} = {module}\n")


@pytest.mark.slow
def test_entry_point_plugin_is_loaded_and_a_broken_one_is_one_sentence(tmp_path):
    installed_plugin(tmp_path, "ltbench_demo_plugin",
                     "from ltbench.methods.baseline import loss_method\n"
                     "loss_method('demo_focal', 'focal', 'Installed demo method.')\n")
    env = {"PYTHONPATH": str(tmp_path), "LTBENCH_PLUGINS": str(tmp_path / "no-plugin-folder")}
    result = run_cli("list", "methods", "demo_*", env=env)
    assert result.returncode == 0, result.stderr
    assert "demo_focal" in result.stdout and "Installed demo method." in result.stdout

    installed_plugin(tmp_path, "ltbench_broken_plugin", "raise ImportError('needs a package that is not here')\n")
    result = run_cli("list", "methods", env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == ("ltbench: error: Plugin entry point 'ltbench_broken_plugin' (ltbench_broken_plugin) "
                                     "failed to load: ImportError: needs a package that is not here")
