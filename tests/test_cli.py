"""The command line as a user meets it: one-sentence errors, no tracebacks."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ltbench.cli import main
from ltbench.plugin_scan import scan


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


def test_list_imports_neither_torch_nor_torchvision():
    """``ltbench list`` reads the built-in index and the repository's methods/ plugins without importing them."""
    code = ("import sys; from ltbench.cli import main\n"
            "assert main(['list']) == 0\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "poly1" in result.stdout
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


def test_list_kind_name_shows_parameters_of_a_built_in_and_of_a_plugin(capsys):
    """A built-in's come from the index; the repository's methods/poly1.py is imported for its own."""
    assert main(["list", "losses", "asl"]) == 0
    assert "│ gamma_neg │ 4.0 │ float │" in " ".join(capsys.readouterr().out.split())
    assert main(["list", "losses", "poly1_bce"]) == 0
    assert "│ epsilon │ 1.0 │ float │" in " ".join(capsys.readouterr().out.split())


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


def with_site(site: Path) -> str:
    """``$PYTHONPATH`` with ``site`` first, so a subprocess finds the test's packages and this checkout's ltbench."""
    return os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)


@pytest.mark.slow
def test_entry_point_plugin_is_loaded_and_a_broken_one_is_one_sentence(tmp_path):
    installed_plugin(tmp_path, "ltbench_demo_plugin",
                     "from ltbench.methods.baseline import loss_method\n"
                     "loss_method('demo_focal', 'focal', 'Installed demo method.')\n")
    env = {"PYTHONPATH": with_site(tmp_path), "LTBENCH_PLUGINS": str(tmp_path / "no-plugin-folder")}
    result = run_cli("list", "methods", "demo_*", env=env)
    assert result.returncode == 0, result.stderr
    assert "demo_focal" in result.stdout and "Installed demo method." in result.stdout

    installed_plugin(tmp_path, "ltbench_broken_plugin", "raise ImportError('needs a package that is not here')\n")
    result = run_cli("list", "methods", env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == ("ltbench: error: Plugin entry point 'ltbench_broken_plugin' (ltbench_broken_plugin) "
                                     "failed to load: ImportError: needs a package that is not here")


USER_PLUGIN = """\"\"\"A plugin as a user writes one: a loss, a method by decorator, a loss method.\"\"\"
from dataclasses import dataclass

import torch

import ltbench
from ltbench import ClassStats, MethodContext, build_baseline, loss_method, register_method
from ltbench.registry import LOSSES

SCALE = 2.0


@dataclass
class Settings:
    scale: float = SCALE


@LOSSES.register()
class UserScaledBCE(torch.nn.Module):
    \"\"\"
    BCE times a scale (the name is the class's).

    A second paragraph.
    \"\"\"

    def __init__(self, stats: ClassStats, scale: float = SCALE) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, logits, targets):
        return self.scale * torch.nn.functional.binary_cross_entropy_with_logits(logits, targets)


@register_method("user_method", loss="user_scaled_bce")
@ltbench.register_method(name="user_method_twin")
def user_method(ctx: MethodContext, neck_dim: int = 64, note: str | None = None):
    \"\"\"A user method on the baseline model.\"\"\"
    return build_baseline(ctx, "db_neck", neck_dim, 0.0)


loss_method("user_loss_method", "user_scaled_bce", \"\"\"
    The baseline model with the user's scaled BCE.\"\"\")
"""

LOOP_PLUGIN = """from ltbench import loss_method

for name, loss in (("user_focal", "focal"), ("user_asl", "asl")):
    loss_method(name, loss, f"The baseline model with {loss}.")
"""


def test_the_committed_component_index_is_current():
    """Fast tier: a built-in whose help or parameters changed without ``python -m ltbench.component_index``."""
    repo = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-m", "ltbench.component_index", "--check"], cwd=repo,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(repo)})
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_listing_without_import_equals_the_imported_registries(tmp_path):
    """What ``ltbench list`` reads without importing (the committed index of the built-ins, plugins read with
    ``ast``, the one plugin that cannot be read imported alone) equals what importing every plugin registers:
    names, help lines, parameters, defaults and types.

    The plugins: the repository's methods/, methods/examples, two files written here into ``$LTBENCH_PLUGINS``
    and an installed entry point. A stale index fails here; ``python -m ltbench.component_index`` rewrites it.
    """
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "user_plugin.py").write_text(USER_PLUGIN)
    site = tmp_path / "site"
    site.mkdir()
    installed_plugin(site, "ltbench_demo_plugin", "from ltbench.methods.baseline import loss_method\n"
                                                  "loss_method('demo_focal', 'focal', 'Installed demo method.')\n")
    (plugins / "user_loop.py").write_text(LOOP_PLUGIN)
    assert scan(plugins / "user_plugin.py") is not None and scan(plugins / "user_loop.py") is None
    code = ("import json, sys\n"
            "from ltbench import component_index\n"
            "from ltbench.cli.listing import read_catalog\n"
            "from ltbench.plugins import load_plugins\n"
            "from ltbench.registry import KINDS\n"
            "catalog, details = read_catalog()\n"
            "imported_for_listing = sorted(m for m in sys.modules if m.startswith('ltbench_plugins.'))\n"
            "load_plugins()\n"
            "imported = {p: {n: component_index.describe(p, n) for n in k.registry.list()} for p, k in KINDS.items()}\n"
            "static = {p: {n: {'help': h, 'params': details(p, n)['params']} for n, h in c.items()}\n"
            "          for p, c in catalog.items()}\n"
            "print(json.dumps([static, imported, imported_for_listing]))")
    examples = Path(__file__).resolve().parent.parent / "methods" / "examples"
    env = {**os.environ, "PYTHONPATH": with_site(site),
           "LTBENCH_PLUGINS": os.pathsep.join([str(plugins), str(examples)])}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    static, imported, imported_for_listing = json.loads(result.stdout.strip().splitlines()[-1])
    assert static == imported
    assert imported_for_listing == ["ltbench_plugins.user_loop"]  # the one plugin not read with ast
    for name in ("poly1", "my_crt", "my_text_query", "user_method", "user_method_twin", "user_loss_method",
                 "demo_focal", "user_focal", "user_asl"):
        assert name in static["methods"]
    assert imported["losses"]["UserScaledBCE"]["help"] == "BCE times a scale (the name is the class's)."
