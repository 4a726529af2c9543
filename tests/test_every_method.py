"""``ltbench.testing.check_method`` over every registered method, as scikit-learn's ``parametrize_with_checks``
does for estimators: a new method, built-in or a plugin in methods/, gets the contract tests without a line here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ltbench.plugins import import_plugin_file, load_plugins
from ltbench.registry import METHODS
from ltbench.testing import CONTRACTS, MethodCheckError, check_method

# Only smaller widths or fewer epochs, to keep the whole file within a few minutes on 2 CPU cores.
CHEAPER = {
    "cprfl": ["method.dim=64", "method.dim_head=16", "method.ffn_dim=128", "method.heads=4"],
    "hp_dval": ["method.align_epochs=1", "method.prompt_epochs=1"],
    "mlcnc": ["method.embed_dim=32", "method.heads=4", "method.warmup_epochs=1"],  # epoch 2 trains every loss
}


EXAMPLES = Path(__file__).resolve().parent.parent / "methods" / "examples"
CONTRACTS_KEPT = ["builds", "above_chance", "resumes", "deterministic", "saved_model", "frozen_unchanged"]


def registered_methods() -> list[str]:
    """Every method a user's ``ltbench`` sees: built-in, entry points and plugin folders (not the examples)."""
    load_plugins()
    return METHODS.list()


def example_methods() -> list[tuple[Path, str]]:
    """(file, method) for each method the worked examples of docs/adding-a-method.md register, read from their
    ``register_method`` / ``loss_method`` calls without importing them."""
    found = []
    for file in sorted(EXAMPLES.glob("*.py")):
        for node in ast.walk(ast.parse(file.read_text())):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("register_method", "loss_method")
                    and node.args and isinstance(node.args[0], ast.Constant)):
                found.append((file, node.args[0].value))
    return found


@pytest.fixture
def example_method(request: pytest.FixtureRequest) -> str:
    """The example's method, its file imported when the test runs: at collection it would change what every
    later-collected test file sees in the registry."""
    file, method = request.param
    import_plugin_file(file)
    return method


def keeps_the_contracts(method: str, workdir: Path) -> None:
    result = check_method(method, overrides=CHEAPER.get(method, ()), workdir=workdir)
    assert result.passed == CONTRACTS_KEPT
    assert result.map_total > result.chance


@pytest.mark.slow
@pytest.mark.parametrize("method", registered_methods())
def test_every_registered_method_keeps_the_method_contracts(method: str, tmp_path: Path) -> None:
    keeps_the_contracts(method, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("example_method", example_methods(), ids=lambda item: item[1], indirect=True)
def test_every_worked_example_keeps_the_method_contracts(example_method: str, tmp_path: Path) -> None:
    keeps_the_contracts(example_method, tmp_path)


UNSEEDED_PLUGIN = '''
import numpy as np
import torch

from ltbench import MethodContext, MethodParts, loss_method, register_method
from ltbench.methods.baseline import build_baseline


@register_method("unseeded_init", loss="bce")
def unseeded_init(ctx: MethodContext) -> MethodParts:
    """The baseline with a classifier initialised from an unseeded generator: a fresh draw every run."""
    parts = build_baseline(ctx)
    weight = parts.model.head.classifier.weight
    with torch.no_grad():
        weight.copy_(torch.from_numpy(np.random.default_rng().normal(0, 0.1, tuple(weight.shape))))
    return parts
'''


@pytest.mark.slow
def test_a_plugin_that_is_not_deterministic_is_named_in_one_sentence(tmp_path) -> None:
    plugin = tmp_path / "plugins" / "unseeded.py"
    plugin.parent.mkdir()
    plugin.write_text(UNSEEDED_PLUGIN)
    import_plugin_file(plugin)
    with pytest.raises(MethodCheckError) as error:
        check_method("unseeded_init", workdir=tmp_path, skip=("above_chance",))
    message = str(error.value)
    assert message.startswith("Method 'unseeded_init' is not deterministic for a seed: two runs with the same config")
    assert "\n" not in message and message.count(". ") == 0


def test_skip_names_only_contracts() -> None:
    with pytest.raises(ValueError, match="skip names no contract: \\['fast'\\]"):
        check_method("erm", skip=("fast",))
    assert "deterministic" in CONTRACTS
