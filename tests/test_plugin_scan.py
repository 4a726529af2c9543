"""Reading a plugin file's registrations with ``ast``, and handing every file it cannot read to an import."""

from __future__ import annotations

from pathlib import Path

import pytest

from ltbench.cli.listing import read_catalog
from ltbench.plugin_scan import Registration, scan

REPO_ROOT = Path(__file__).resolve().parent.parent
DOC = '    """Help line."""\n'


def test_the_repositorys_plugin_is_read_as_importing_it_registers_it() -> None:
    assert scan(REPO_ROOT / "methods" / "poly1.py") == [
        Registration("losses", "poly1_bce", "Poly-1 BCE (Leng et al., ICLR 2022): BCE + epsilon * (1 - p_t) per "
                                            "entry, mean over all entries."),
        Registration("methods", "poly1", "Example plugin (methods/): the baseline model trained with Poly-1 BCE."),
    ]


@pytest.mark.parametrize("call", ["register_method()", "register_method(None, loss='bce')", "register_method('')"])
def test_a_registration_without_a_name_takes_the_factorys(tmp_path: Path, call: str) -> None:
    plugin = tmp_path / "plugin.py"
    plugin.write_text(f"from ltbench import register_method\n@{call}\ndef my_method(ctx):\n{DOC}")
    assert scan(plugin) == [Registration("methods", "my_method", "Help line.")]


@pytest.mark.parametrize("body", [
    'for name in ("a", "b"):\n    loss_method(name, "bce", "Help.")\n',  # a loop
    f'NAME = "a"\n@register_method(NAME)\ndef a(ctx):\n{DOC}',  # a computed name
    f'@register_method("a")\ndef a(ctx):\n    return None\n',  # no docstring
    f'@register_method\ndef a(ctx):\n{DOC}',  # the decorator not called
    f'@functools.cache\n@register_method("a")\ndef a(ctx):\n{DOC}',  # another decorator wraps the factory
    f'@register_loss("a")\nclass A(torch.nn.BCEWithLogitsLoss):\n{DOC}',  # the signature is inherited
    f'@register_loss("a")\ndef a(gamma: float = 2.0):\n{DOC}',  # no engine argument: registration refuses it
    f'def setup():\n    METHODS.register("a")(setup)\n',  # a registry used another way
    f'register = METHODS.register\n@register("a")\ndef a(ctx):\n{DOC}',
    'loss_method("a", "bce", DOC)\nDOC = "Help."\n',  # not a literal
    'loss_method("a", "bce", "Help.", name="b")\n',  # an argument twice: a TypeError on import
    f'@register_method("a", "bce")\ndef a(ctx):\n{DOC}',  # a second positional argument: a TypeError too
    'torch.manual_seed(0)\nloss_method("a", "bce", "Help.")\n',  # a call at import time
    'raise ImportError("needs a package that is not here")\n',
    'try:\n    import timm\nexcept ImportError:\n    pass\nloss_method("a", "bce", "Help.")\n',
    'import my_helpers  # may register on import\nloss_method("a", "bce", "Help.")\n',
    'from .helpers import x\nloss_method("a", "bce", "Help.")\n',
    'def load():\n    importlib.import_module("x")\nloss_method("a", "bce", "Help.")\n',
    'x = 1\n',  # registers nothing that can be seen
    'loss_method("a", "bce", "Help."\n',  # a syntax error: importing says so
], ids=lambda body: body.splitlines()[0][:40])
def test_a_file_not_read_statically_is_left_to_an_import(tmp_path: Path, body: str) -> None:
    header = ("import functools\nimport importlib\nimport torch\n"
              "from ltbench import loss_method, register_loss, register_method\nfrom ltbench.registry import METHODS\n")
    plugin = tmp_path / "plugin.py"
    plugin.write_text(header + body)
    assert scan(plugin) is None
    plugin.write_text(header + 'loss_method("a", "bce", "Help.")\n')
    assert scan(plugin) == [Registration("methods", "a", "Help.")]


@pytest.mark.parametrize("body", [
    'loss_method("b", "bce", "Help again.")\n',  # another plugin's name
    'loss_method("erm", "bce", "My own ERM.")\n',  # a built-in's name
])
def test_listing_imports_everything_when_a_plugin_read_with_ast_clashes(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch,
                                                                        body: str) -> None:
    """Registration answers a clash (an error, or a replaced entry), so listing leaves it to ``load_plugins``."""
    (tmp_path / "first.py").write_text('from ltbench import loss_method\nloss_method("b", "bce", "Help.")\n')
    monkeypatch.setenv("LTBENCH_PLUGINS", str(tmp_path))
    assert read_catalog()[0]["methods"]["b"] == "Help."
    (tmp_path / "second.py").write_text("from ltbench import loss_method\n" + body)
    assert read_catalog() is None
