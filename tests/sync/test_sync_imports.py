"""The sync package's imports, read from the source: no import cycle, generic code knows no specific
flow, and no import hides inside a function (docs/sync-engine.md "Phases").

Imports under ``if TYPE_CHECKING:`` are for the type checker only and do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import qbosync_desktop.sync

SYNC = Path(qbosync_desktop.sync.__file__).parent
PACKAGE = "qbosync_desktop.sync"

#: Modules every flow builds on; they must not import a specific flow (or the pipeline that lists them).
GENERIC = ("engine", "outbox", "context", "plan", "flows.base", "flows.outbound")
#: Specific flows: the modules that plan one entity, and the two-way customer modules.
SPECIFIC = ("flows.bills", "flows.invoices", "flows.items", "flows.payments", "flows.sites", "flows.vendors",
            "clients.inbound", "clients.outbound", "clients.merge", "clients.stale", "clients.fields")


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in SYNC.rglob("*.py"):
        rel = path.relative_to(SYNC).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__").removesuffix("__init__")
        out[f"{PACKAGE}.{name}".rstrip(".")] = ast.parse(path.read_text(encoding="utf-8"))
    return out


def _imports(tree: ast.Module) -> tuple[set[str], list[str]]:
    """(modules imported at run time, imports found inside functions)."""
    runtime: set[str] = set()
    inner: list[str] = []

    def walk(node: ast.AST, in_func: bool, typing_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            func = in_func or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            tc = typing_only or (isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test))
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                if in_func:
                    inner.append(f"line {child.lineno}: {ast.unparse(child)}")
                if not tc:
                    if isinstance(child, ast.ImportFrom) and child.module:
                        runtime.add(child.module)
                        runtime.update(f"{child.module}.{a.name}" for a in child.names)
                    elif isinstance(child, ast.Import):
                        runtime.update(a.name for a in child.names)
            walk(child, func, tc)

    walk(tree, False, False)
    return runtime, inner


def _graph() -> tuple[dict[str, set[str]], dict[str, list[str]]]:
    mods = _modules()
    graph: dict[str, set[str]] = {}
    inner: dict[str, list[str]] = {}
    for name, tree in mods.items():
        runtime, found = _imports(tree)
        graph[name] = {m for m in runtime if m in mods and m != name}
        if found:
            inner[name] = found
    return graph, inner


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(v: str) -> list[str] | None:
        state[v] = 1
        stack.append(v)
        for w in sorted(graph[v]):
            if state.get(w) == 1:
                return stack[stack.index(w):] + [w]
            if w not in state:
                found = visit(w)
                if found:
                    return found
        stack.pop()
        state[v] = 2
        return None

    for v in sorted(graph):
        if v not in state:
            found = visit(v)
            if found:
                return found
    return None


def test_there_is_no_import_cycle_inside_sync():
    graph, _ = _graph()
    assert len(graph) > 30  # the whole package was read
    assert _cycle(graph) is None


def test_generic_sync_code_imports_no_specific_flow():
    graph, _ = _graph()
    specific = {f"{PACKAGE}.{m}" for m in SPECIFIC} | {f"{PACKAGE}.pipeline"}
    wrong = {g: sorted(graph[f"{PACKAGE}.{g}"] & specific) for g in GENERIC}
    # The engine builds its phases through the pipeline (the one place that lists the flows).
    wrong["engine"] = [m for m in wrong["engine"] if m != f"{PACKAGE}.pipeline"]
    assert {g: w for g, w in wrong.items() if w} == {}


def test_no_import_hides_inside_a_function():
    _, inner = _graph()
    assert inner == {}
