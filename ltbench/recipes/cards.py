"""Recipe cards: how each published VOC-LT / COCO-LT number was produced, setting by setting, with sources.

A card is ``ltbench/recipes/<dataset>/<method>[@<preset>].yaml`` (shipped in the
package). It inherits in one of two ways: ``base: FILE`` (relative to the card)
takes another file's fields, and a setting the card names replaces the base's
whole entry, never merges into it; ``_base_: [FILES]`` (read by ``load_yaml``, as
configs are) deep-merges the files in order, so a setting named again merges
field by field into the earlier entry. Files under ``recipes/_base/`` are not
cards. It names the published rows it stands for (or, in
``unpublished``, why none could be quoted) and, for every setting of
``REQUIRED_SETTINGS`` (and any others), what the paper says and what the code
behind the number does, each with its source (``path:line`` in the card's
``repository``, or a paper section), and the resolved-config keys the setting
maps to with the recipe's value. A setting that is not a config key (the AP
function, an initialisation) says in ``ltbench`` how ltbench does it. ``differs``
gives the reason when ltbench departs from the recipe on purpose. ``quote`` is the
verbatim text of the cited code lines that shows the authors' value: a code
setting whose ``config`` values are ltbench's own (defaults.yaml's, or inherited
by the preset without its own file setting them) needs one (the card must show
the value came from the code, not from ltbench), and
``ltbench.recipes.citations`` checks quotes and line numbers against a checkout. A row that is
a suite row rather than a preset (CPRFL's Table 2 losses) names it in
``suite_row`` (``table2: BCE``); the card is then checked against that row's config.
``ltbench.recipes.check`` compares a card with ``resolve_config``'s output.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ltbench.config.layering import load_yaml
from ltbench.errors import LtbenchError

RECIPES_DIR = Path(__file__).parent
BASE_FOLDER = "_base"

# every card covers these, so a card cannot silently skip one (a setting that does not apply says so)
REQUIRED_SETTINGS = (
    "backbone", "weights", "input", "augmentation", "normalisation", "class_names", "prompt", "sampler",
    "optimizer", "lr", "momentum", "weight_decay", "schedule", "warmup", "epochs", "batch", "drop_last", "loss",
    "text_encoder", "score", "ap", "checkpoint",
)
SETTING_FIELDS = ("paper", "paper_source", "code", "code_source", "quote", "config", "ltbench", "differs")
CARD_FIELDS = ("base", "rows", "implemented", "basis", "repository", "no_source", "note", "settings", "suite_row",
               "unpublished")
BASES = ("code", "paper", "none")  # which column the ``config`` values encode


@dataclass(frozen=True)
class Setting:
    """One setting of a published recipe: paper text, official code, and the resolved-config keys it maps to."""

    name: str
    paper: str | None
    paper_source: str | None
    code: str | None
    code_source: str | None
    config: dict[str, Any]  # resolved-config dotted key -> the recipe's value
    ltbench: str | None     # for a setting that is no config key: how ltbench does it
    differs: str | None     # why ltbench differs from the recipe on purpose
    quote: str | None = None  # verbatim text of the cited code lines that shows the authors' value


@dataclass(frozen=True)
class Card:
    """The recipe behind published rows of one (method, dataset[, preset])."""

    method: str
    dataset: str
    preset: str | None
    rows: tuple[tuple[str, str], ...]  # (reference table, row label)
    implemented: bool                  # False: published only, ltbench has no such method
    basis: str                         # "code", "paper" or "none" (no released recipe: see no_source)
    repository: str | None             # "owner/name@commit" that the code sources' paths are in
    no_source: str | None              # why no released recipe exists and what ltbench follows instead
    note: str | None
    settings: tuple[Setting, ...]
    path: Path
    suite_row: tuple[str, str] | None = None  # (suite, row label) whose config the card is checked against
    unpublished: str | None = None  # instead of rows: why no published number could be quoted

    @property
    def name(self) -> str:
        return f"{self.dataset}/{self.method}" + (f"@{self.preset}" if self.preset else "")


def card_files(root: Path = RECIPES_DIR) -> list[Path]:
    """Every card file under ``root`` (not the ``_base`` folder), sorted."""
    return sorted(p for p in root.glob("*/*.yaml") if p.parent.name != BASE_FOLDER)


def load_card(path: Path) -> Card:
    """Read and check one card; its dataset, method and preset come from its path."""
    data = _read(path)
    method, _, preset = path.stem.partition("@")
    where = f"Recipe card {path}"
    basis = data.get("basis", "code")
    if basis not in BASES:
        raise LtbenchError(f"{where}: basis must be one of {', '.join(BASES)}, not {basis!r}.")
    if basis == "none" and not data.get("no_source"):
        raise LtbenchError(f"{where}: basis none needs no_source (why no recipe was released, what ltbench follows).")
    if basis == "code" and not data.get("repository"):
        raise LtbenchError(f"{where}: basis code needs repository (owner/name@commit).")
    rows = tuple(_row(item, where) for item in data.get("rows") or ())
    if not rows and not data.get("unpublished"):
        raise LtbenchError(f"{where}: rows must list the published rows it stands for (table: row label), or "
                           "unpublished say why no number could be quoted.")
    settings = tuple(_setting(name, entry or {}, f"{where}, setting {name}")
                     for name, entry in (data.get("settings") or {}).items())
    missing = [name for name in REQUIRED_SETTINGS if name not in {s.name for s in settings}]
    if missing:
        raise LtbenchError(f"{where} lacks settings: {', '.join(missing)}.")
    suite_row = _row(data["suite_row"], where) if data.get("suite_row") else None
    return Card(method, path.parent.name, preset or None, rows, bool(data.get("implemented", True)), basis,
                data.get("repository"), data.get("no_source"), data.get("note"), settings, path, suite_row,
                data.get("unpublished"))


def _read(path: Path) -> dict[str, Any]:
    """A card file's fields over its ``base`` chain's; settings replace the base's entries of the same name."""
    data = load_yaml(path)
    _only(data, CARD_FIELDS, f"Recipe card {path}")
    base = data.pop("base", None)
    if base is None:
        return data
    merged = _read((path.parent / base).resolve())
    settings = {**(merged.get("settings") or {}), **(data.pop("settings", None) or {})}
    return {**merged, **data, "settings": settings}


def _only(data: Any, fields: tuple[str, ...], where: str) -> None:
    if not isinstance(data, dict):
        raise LtbenchError(f"{where} must be a mapping.")
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise LtbenchError(f"{where} has unknown fields {', '.join(unknown)}; known: {', '.join(fields)}.")


def _row(item: Any, where: str) -> tuple[str, str]:
    table, sep, label = str(item).partition(":")
    if not sep or not label.strip():
        raise LtbenchError(f"{where}: a row is 'table: row label' (for example 'table1: DB Focal'), not {item!r}.")
    return table.strip(), label.strip()


def _setting(name: str, entry: Any, where: str) -> Setting:
    _only(entry, SETTING_FIELDS, where)
    if not (entry.get("paper") or entry.get("code")):
        raise LtbenchError(f"{where}: give what the paper says (paper) or the code does (code).")
    for column in ("paper", "code"):
        if entry.get(column) and not entry.get(f"{column}_source"):
            raise LtbenchError(f"{where}: {column} needs {column}_source (path:line or paper section).")
    config = entry.get("config") or {}
    if not isinstance(config, dict):
        raise LtbenchError(f"{where}: config maps resolved-config keys (train.optimizer.lr) to the recipe's values.")
    if not config and not entry.get("ltbench"):
        raise LtbenchError(f"{where}: a setting without config keys says how ltbench does it (ltbench).")
    if entry.get("quote") and not entry.get("code_source"):
        raise LtbenchError(f"{where}: quote needs code_source (the lines it is quoted from).")
    return Setting(name, entry.get("paper"), entry.get("paper_source"), entry.get("code"),
                   entry.get("code_source"), dict(config), entry.get("ltbench"), entry.get("differs"),
                   entry.get("quote"))


def load_cards(root: Path = RECIPES_DIR) -> list[Card]:
    """Every shipped card, checked."""
    return [load_card(path) for path in card_files(root)]


def find_card(method: str, dataset: str, preset: str | None = None, root: Path = RECIPES_DIR) -> Card:
    """The card of ``method`` on ``dataset`` (with ``preset``, the card of that preset)."""
    stem = method + (f"@{preset}" if preset else "")
    path = root / dataset / f"{stem}.yaml"
    if path.is_file():
        return load_card(path)
    known = [f"{p.stem.replace('@', ' --config ')}" for p in card_files(root) if p.parent.name == dataset]
    hint = f"cards for {dataset}: {', '.join(known)}" if known else f"there are no cards for {dataset!r}"
    preset_text = f" with --config {preset}" if preset else ""
    raise LtbenchError(f"No recipe card for {method} on {dataset}{preset_text}; {hint}.")
