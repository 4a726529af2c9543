"""``ltbench.testing.check_method`` over every registered method, as scikit-learn's ``parametrize_with_checks``
does for estimators: a new method, built-in or a plugin in methods/, gets the contract tests without a line here.
"""

from __future__ import annotations

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


def registered_methods() -> list[str]:
    """Every method: built-in, entry points, plugin folders, and the worked examples of docs/adding-a-method.md."""
    load_plugins()
    for example in sorted(EXAMPLES.glob("*.py")):
        import_plugin_file(example)
    return METHODS.list()


@pytest.mark.parametrize("method", registered_methods())
def test_every_registered_method_keeps_the_method_contracts(method: str, tmp_path) -> None:
    result = check_method(method, overrides=CHEAPER.get(method, ()), workdir=tmp_path)
    assert result.passed == ["builds", "above_chance", "resumes", "deterministic", "saved_model", "frozen_unchanged"]
    assert result.map_total > result.chance


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
