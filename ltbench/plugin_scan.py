"""What a plugin file registers, read with ``ast`` instead of importing it (which loads torch).

``ltbench list`` uses this so that listing stays fast. A file is read statically only when nothing in it
can register more than what is seen: its imports are the standard library, ltbench and
ltbench's own dependencies (none of which registers components); its top level holds only imports,
assignments, definitions and registrations; and every use of a registry is one of

    @register_loss("name", ...) or @LOSSES.register("name", ...) (also ltbench.LOSSES, ...) on a
        top-level def or class with a docstring, every decorator of which registers
    loss_method("name", "loss", "doc"), a top-level statement with literal strings

Anything else (a loop, a computed name, a relative import, a call at import time, another use of a
registry, a factory that cannot take its kind's engine arguments, which registration refuses, or a file
that seems to register nothing) makes :func:`scan` answer None: import the file to know. A file read here
is not run, so one that would fail on import (a misspelt name) is listed from what it declares.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, requires
from pathlib import Path

from ltbench import registry
from ltbench.registry import KINDS, Registry

LOSS_METHOD = ("ltbench.methods.baseline.loss_method", "ltbench.loss_method")  # (name, loss, doc) -> a method
PLAIN = (ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign, ast.Expr, ast.Pass)  # ast.Expr: docstrings
DYNAMIC = ("__import__", "exec", "eval", "importlib", "runpy", "ltbench.plugins", "ltbench.registry")


@dataclass(frozen=True)
class Registration:
    """One component a plugin registers: its kind (``ltbench list``'s plural), name and help line."""

    kind: str
    name: str
    help: str


@cache
def registrars() -> dict[str, str]:
    """Dotted name of each registering callable (``ltbench.registry.LOSSES.register``, ...) -> its kind."""
    kind_of = {id(kind.registry): plural for plural, kind in KINDS.items()}
    found = {}
    for name in registry.PUBLIC:
        value = getattr(registry, name)
        callee = f"{name}.register" if isinstance(value, Registry) else name
        for module in ("ltbench.registry", "ltbench"):
            found[f"{module}.{callee}"] = kind_of[id(value if isinstance(value, Registry) else value.__self__)]
    return found


@cache
def quiet_packages() -> frozenset[str]:
    """Top-level packages whose import registers no component: the standard library, ltbench and its dependencies."""
    try:
        required = requires("ltbench") or []
    except PackageNotFoundError:
        required = []
    names = {re.split(r"[^A-Za-z0-9_.-]", line, maxsplit=1)[0].lower().replace("-", "_") for line in required}
    return frozenset({*sys.stdlib_module_names, "ltbench", *names})


def scan(path: Path) -> list[Registration] | None:
    """The components ``path`` registers when imported, or None when that cannot be read without importing it."""
    try:
        tree = ast.parse(path.read_text(), str(path))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return None
    aliases = imported_names(tree)
    if aliases is None:
        return None
    found: list[Registration] = []
    accepted: set[int] = set()  # ids of the expressions naming a registering callable in a form read here
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.ClassDef)):
            read = decorated(statement, aliases) if statement.decorator_list else []
            if read is None:
                continue  # a decorator that registers nothing is fine; a registering one is caught below
            found += read
            accepted |= {id(d.func) for d in statement.decorator_list if isinstance(d, ast.Call)}
        elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            method = loss_method_call(statement.value, aliases)
            if method is None:
                return None  # a call at import time: only running it tells what it does
            found.append(method)
            accepted.add(id(statement.value.func))
        elif not isinstance(statement, PLAIN):
            return None  # if, for, try, with, raise, ...: import to know
    if not found or any(id(node) not in accepted and registers(dotted(node, aliases))
                        for node in outermost_names(tree)):
        return None  # a plugin that seems to register nothing is imported too: it may fail, as a run would see
    return found


def imported_names(tree: ast.Module) -> dict[str, str] | None:
    """Local name -> the dotted name it stands for, from every import; None if one may register components."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    aliases[top] = top
        elif isinstance(node, ast.ImportFrom):
            if node.level or any(alias.name == "*" for alias in node.names):
                return None
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        else:
            continue
        if any(name.split(".")[0] not in quiet_packages() for name in aliases.values()):
            return None
    return aliases


def dotted(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """``a.b.c`` with ``a`` resolved through the imports, or None for anything but names and attributes."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id, node.id)
    if isinstance(node, ast.Attribute):
        base = dotted(node.value, aliases)
        return f"{base}.{node.attr}" if base else None
    return None


def registers(name: str | None) -> bool:
    """Whether a use of ``name`` may register a component (or reach something that does)."""
    if name is None:
        return False
    sensitive = [*registrars(), *LOSS_METHOD]
    return (name in sensitive or any(s.startswith(name + ".") for s in sensitive)
            or any(name == d or name.startswith(d + ".") for d in DYNAMIC))


def outermost_names(tree: ast.Module) -> list[ast.expr]:
    """Every name and attribute chain that is not itself the start of a longer chain."""
    inner = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    return [node for node in ast.walk(tree) if isinstance(node, (ast.Name, ast.Attribute)) and id(node) not in inner]


def decorated(node: ast.FunctionDef | ast.ClassDef, aliases: dict[str, str]) -> list[Registration] | None:
    """The registrations of a decorated definition, or None unless every decorator is one read here."""
    kinds = [registrars().get(dotted(d.func, aliases) or "") if isinstance(d, ast.Call) else None
             for d in node.decorator_list]
    doc = ast.get_docstring(node)
    if None in kinds or not doc or not doc.strip():
        return None
    found = []
    for decorator, kind in zip(node.decorator_list, kinds):
        bound = literal_arguments(decorator, ("name",), more=True)
        name = bound.get("name") or node.name if bound is not None else None  # register(None): the factory's name
        if not isinstance(name, str) or not takes_engine_args(node, kind):
            return None
        found.append(Registration(kind, name, doc.strip().splitlines()[0]))
    return found


def loss_method_call(call: ast.Call, aliases: dict[str, str]) -> Registration | None:
    """``loss_method("name", "loss", "doc")`` with literal strings, as a method registration."""
    if dotted(call.func, aliases) not in LOSS_METHOD:
        return None
    bound = literal_arguments(call, ("name", "loss", "doc"))
    if bound is None or len(bound) < 3 or not all(isinstance(value, str) for value in bound.values()):
        return None
    name, doc = bound["name"], bound["doc"]
    cleaned = inspect.cleandoc(doc)
    return Registration("methods", name, cleaned.strip().splitlines()[0] if cleaned.strip() else "")


def literal_arguments(call: ast.Call, names: tuple[str, ...], more: bool = False) -> dict[str, object] | None:
    """The call's arguments bound to ``names`` as Python binds them, each a literal (absent: missing).

    None if they do not bind (too many, repeated, ``*args``/``**kwargs``, another keyword unless ``more``:
    the decorator's metadata) or one of ``names`` is not a literal.
    """
    if len(call.args) > len(names) or any(isinstance(a, ast.Starred) for a in call.args):
        return None
    bound = dict(zip(names, call.args))
    for keyword in call.keywords:
        if keyword.arg is None or keyword.arg in bound or (keyword.arg not in names and not more):
            return None
        if keyword.arg in names:
            bound[keyword.arg] = keyword.value
    if not all(isinstance(node, ast.Constant) for node in bound.values()):
        return None
    return {name: node.value for name, node in bound.items()}


def takes_engine_args(node: ast.FunctionDef | ast.ClassDef, kind: str) -> bool:
    """Whether the factory can take its kind's engine arguments by name (registration refuses it otherwise)."""
    if isinstance(node, ast.ClassDef):
        inits = [s for s in node.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"]
        if not inits:
            return False  # the signature comes from a base class: import to know it
        node = inits[0]
    args = node.args
    if args.kwarg:
        return True
    names = {a.arg for a in [*args.args, *args.kwonlyargs]}
    return all(arg in names for arg in KINDS[kind].engine_args)
