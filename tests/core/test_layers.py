"""The layer diagram of docs/architecture.md, checked from the source.

Every module under ``qbosync_desktop`` is parsed (``ast``, nothing is imported) and mapped to its
layer, the package it sits in: core, store, connectors, sync, runtime, desktop, cli or sandbox
(``qbosync_desktop/__init__.py`` holds only the name and version and belongs to none; ``__main__``
starts the desktop app and belongs to desktop). Counted: every import of a ``qbosync_desktop``
module, at module level and inside functions. Imports under ``if TYPE_CHECKING:`` count for the
direction rules (an annotation is a dependency too) but not for cycles (they never run).

The rules:

* an import goes down the diagram (:data:`MAY_IMPORT`);
* Qt is imported only under ``desktop/``; the ``keyring`` package only by the secrets module;
* inside ``desktop/``, only the session and snapshot modules reach the store and the connectors;
* no module imports another by name (``importlib``, ``pkgutil``, ``__import__``);
* no import cycle: none among module-level imports, and none when imports inside functions are
  counted too, except the one of the store's migrations (:data:`CYCLE_EDGES_ALLOWED`).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import qbosync_desktop

ROOT = Path(qbosync_desktop.__file__).parent
PACKAGE = "qbosync_desktop"

#: Each layer and the layers it may import (a layer may always import itself and the package root).
#: Lowest first: core → store → connectors → sync → runtime → desktop | cli; sandbox stands beside
#: them on core alone (its own storage, no connector, store or engine) and only runtime (practice
#: mode) and cli (``qbosync sandbox``) start it. desktop and cli are both top and never import each other.
MAY_IMPORT: dict[str, frozenset[str]] = {
    "core": frozenset(),
    "sandbox": frozenset({"core"}),
    "store": frozenset({"core"}),
    "connectors": frozenset({"core"}),
    "sync": frozenset({"core", "store", "connectors"}),
    "runtime": frozenset({"core", "store", "connectors", "sync", "sandbox"}),
    "desktop": frozenset({"core", "store", "connectors", "sync", "runtime"}),
    "cli": frozenset({"core", "store", "connectors", "sync", "runtime", "sandbox"}),
}

QT = ("PySide6", "shiboken6", "qasync")
#: ``qbosync doctor`` loads Qt only to report the version it really runs (a broken Qt is what it is
#: asked to find); the CLI uses no Qt otherwise.
QT_OUTSIDE_DESKTOP = frozenset({"qbosync_desktop.cli.commands.doctor"})

#: The secrets module is the keyring's only user; keyring_memory is the in-memory backend it installs.
KEYRING_USERS = frozenset({"qbosync_desktop.core.secrets", "qbosync_desktop.core.keyring_memory"})

#: The UI's seam to the data: the session (workspace, service, blocking helpers) and the snapshot.
UI_DATA_SEAM = frozenset({"qbosync_desktop.desktop.ui.session", "qbosync_desktop.desktop.ui.snapshot"})

#: The migration runner loads the steps when it runs (``migrate`` imports ``store.schema``), and the
#: schema registers its steps with ``migrations.step``: the one cycle, broken by that deferred import.
CYCLE_EDGES_ALLOWED = frozenset({("qbosync_desktop.store.migrations", "qbosync_desktop.store.schema")})


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # what it imports: a qbosync_desktop module, or a third-party top-level name
    line: int
    in_function: bool
    typing_only: bool  # under ``if TYPE_CHECKING:``

    def __str__(self) -> str:
        where = "in a function" if self.in_function else "at module level"
        return f"{self.source}:{self.line} imports {self.target} ({where})"


def read_sources(root: Path = ROOT) -> dict[str, str]:
    """Every module of the package by dotted name → its source."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path.read_text(encoding="utf-8")
    return out


def find_imports(sources: dict[str, str]) -> tuple[list[Import], list[str]]:
    """(every import, every import-by-name) of ``sources``. An internal import resolves to the
    module it loads: ``from a.b import c`` is ``a.b.c`` when that is a module, else ``a.b``."""
    modules = set(sources)
    imports: list[Import] = []
    by_name: list[str] = []

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    for module, text in sources.items():
        tree = ast.parse(text)
        is_package = any(m.startswith(module + ".") for m in modules)

        def add(node: ast.AST, in_function: bool, typing_only: bool, module: str = module,
                is_package: bool = is_package) -> None:
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
                loaded = names
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = module.split(".") if is_package else module.split(".")[:-1]
                    parts = parts[: len(parts) - (node.level - 1)]
                    base = ".".join(parts + ([node.module] if node.module else []))
                names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
                loaded = [f"{base}.{alias.name}" for alias in node.names]
            else:
                return
            # importlib.metadata reads installed distributions' metadata (doctor's versions): it loads no module.
            if any(n.split(".")[0] in ("importlib", "pkgutil") and not n.startswith("importlib.metadata")
                   for n in loaded):
                by_name.append(f"{module}:{node.lineno}: {ast.unparse(node)}")
            for name in names:
                target = resolve(name) if name.split(".")[0] == PACKAGE else name.split(".")[0]
                if target and target != module:
                    imports.append(Import(module, target, node.lineno, in_function, typing_only))

        def walk(node: ast.AST, in_function: bool, typing_only: bool, module: str = module) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.Call) and isinstance(child.func, ast.Name) and child.func.id == "__import__":
                    by_name.append(f"{module}:{child.lineno}: {ast.unparse(child)}")
                if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                    for stmt in child.body:
                        add(stmt, in_function, True)
                        walk(stmt, in_function, True)
                    for stmt in child.orelse:
                        add(stmt, in_function, typing_only)
                        walk(stmt, in_function, typing_only)
                    continue
                add(child, in_function, typing_only)
                walk(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)), typing_only)

        walk(tree, False, False)
    return imports, by_name


def layer_of(module: str) -> str | None:
    if module == f"{PACKAGE}.__main__":
        return "desktop"
    parts = module.split(".")
    return parts[1] if parts[0] == PACKAGE and len(parts) > 1 else None


def against_the_diagram(imports: list[Import]) -> list[str]:
    wrong = []
    for imp in imports:
        src, dst = layer_of(imp.source), layer_of(imp.target)
        if not imp.target.startswith(PACKAGE) or dst is None or src == dst:
            continue
        if src is None or dst not in MAY_IMPORT[src]:
            wrong.append(f"{imp} ({src} may not import {dst})")
    return wrong


def cycles(imports: list[Import], *, with_functions: bool, allowed: frozenset = CYCLE_EDGES_ALLOWED) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), over run-time imports."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        if not imp.target.startswith(PACKAGE) or imp.typing_only or (imp.in_function and not with_functions):
            continue
        if (imp.source, imp.target) in allowed:
            continue
        graph.setdefault(imp.source, set()).add(imp.target)
        graph.setdefault(imp.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


# ------------------------------------------------------------------------------------------------
# The package as it is

SOURCES = read_sources()
IMPORTS, BY_NAME = find_imports(SOURCES)


def test_every_module_was_read_and_sits_in_a_layer():
    assert len(SOURCES) > 150
    assert {layer_of(m) for m in SOURCES} == set(MAY_IMPORT) | {None}
    assert [m for m in SOURCES if layer_of(m) is None] == [PACKAGE]
    assert len([i for i in IMPORTS if i.target.startswith(PACKAGE)]) > 400


def test_every_import_goes_down_the_diagram():
    assert against_the_diagram(IMPORTS) == []


def test_qt_is_imported_only_under_desktop():
    wrong = [str(i) for i in IMPORTS if i.target in QT and layer_of(i.source) != "desktop"
             and i.source not in QT_OUTSIDE_DESKTOP]
    assert wrong == []
    assert any(i.target == "PySide6" for i in IMPORTS if layer_of(i.source) == "desktop")


def test_only_the_secrets_module_uses_the_keyring_package():
    users = {i.source for i in IMPORTS if i.target == "keyring"}
    assert users - KEYRING_USERS == set()
    assert "qbosync_desktop.core.secrets" in users


def test_the_ui_reaches_the_store_and_the_connectors_only_through_session_and_snapshot():
    wrong = [str(i) for i in IMPORTS if layer_of(i.source) == "desktop" and i.source not in UI_DATA_SEAM
             and layer_of(i.target) in ("store", "connectors")]
    assert wrong == []


def test_no_module_imports_another_by_name():
    assert BY_NAME == []


def test_no_import_cycle_among_module_level_imports():
    assert cycles(IMPORTS, with_functions=False, allowed=frozenset()) == []


def test_no_import_cycle_counting_imports_inside_functions_except_the_migrations():
    assert cycles(IMPORTS, with_functions=True) == []
    # The allowed edge is still needed (else it should leave the list): without it, the store cycles.
    (migrations, schema), = CYCLE_EDGES_ALLOWED
    assert [c for c in cycles(IMPORTS, with_functions=True, allowed=frozenset()) if migrations in c and schema in c]


# ------------------------------------------------------------------------------------------------
# The checks themselves catch what they are for

FAKE = {
    "qbosync_desktop": "",
    "qbosync_desktop.core": "",
    "qbosync_desktop.core.a": "from qbosync_desktop.sync import b\n",
    "qbosync_desktop.sync": "",
    "qbosync_desktop.sync.b": "def f():\n    from . import c\n",
    "qbosync_desktop.sync.c": "import importlib\nfrom qbosync_desktop.sync.b import f\n",
    "qbosync_desktop.desktop": "",
    "qbosync_desktop.desktop.w": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                  "    from qbosync_desktop.store import m\nimport PySide6\n"),
    "qbosync_desktop.store": "",
    "qbosync_desktop.store.m": "x = __import__('json')\n",
}


def test_the_checks_find_a_wrong_direction_a_cycle_and_an_import_by_name():
    imports, by_name = find_imports(FAKE)
    assert against_the_diagram(imports) == [
        "qbosync_desktop.core.a:1 imports qbosync_desktop.sync.b (at module level) (core may not import sync)"]
    assert cycles(imports, with_functions=False) == []
    assert cycles(imports, with_functions=True) == [["qbosync_desktop.sync.b", "qbosync_desktop.sync.c"]]
    assert [b.split(":")[0] for b in by_name] == ["qbosync_desktop.sync.c", "qbosync_desktop.store.m"]
    typed = [i for i in imports if i.source == "qbosync_desktop.desktop.w" and i.target.startswith(PACKAGE)]
    assert [(i.target, i.typing_only) for i in typed] == [("qbosync_desktop.store.m", True)]
