"""The package layering, checked on the source: ``models`` ← ``probes`` ← ``steering`` ← ``experiments``.

* ``import models`` loads neither the trainer (`models.train`), nor the debate data (`models.debate`),
  nor trl / peft / datasets: measured in a fresh interpreter.
* Across packages, an import may only point down the layers: `models` imports none of probes /
  steering / experiments, `probes` none of steering / experiments, `steering` no experiments, and
  probes and steering nothing from `models.train` (the trainer is an application of the library, not
  part of it). Here every import counts, module-level or inside a function: a lazy import is still a
  dependency, it only moves the failure to run time.
* No import cycle anywhere: over all four packages together, counting imports inside functions too. A
  lazy import still makes the two modules depend on each other (probes.directions and probes.linear once
  imported each other that way, with the value types defined beside the builders); the cure is a leaf
  module for the shared types (`probes.vectors`), not a deferred import. Imports under
  ``if TYPE_CHECKING:`` never run and are left out. Importing ``models.a.b`` also runs
  ``models/__init__``; that implicit edge is Python's package semantics, not a dependency of the
  importing module, so it is not drawn (an explicit ``from models import X`` is).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("models", "probes", "steering", "experiments")
LIBRARIES = ("models", "probes", "steering")
HEAVY = ("models.train", "models.debate", "trl", "peft", "datasets")

# Edges that break the layering and are being moved in files other sessions own, as (importer, imported).
# The test fails when a violation outside this set appears; delete an entry once its edge is gone (a stale
# entry only warns). steering.capability -> models.train.data was the last one (moved to models.debate).
KNOWN_VIOLATIONS: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))
            if ".ipynb_checkpoints" not in p.parts}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(body: list[ast.stmt], top: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Import statements with whether they run at module level (inside if/try/with at top level counts)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, top
        elif isinstance(node, ast.If) and _is_type_checking(node):
            yield from _imports(node.orelse, top)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield from _imports(list(ast.iter_child_nodes(node)), False)  # type: ignore[arg-type]
        elif isinstance(node, ast.ClassDef):
            yield from _imports(node.body, top)
        else:
            yield from _imports([n for n in ast.iter_child_nodes(node) if isinstance(n, ast.stmt)], top)


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: set[str]) -> list[str]:
    """The project modules an import statement loads (``from pkg import sub`` resolves to ``pkg.sub``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    return [f"{source}.{a.name}" if f"{source}.{a.name}" in known else source for a in node.names]


def import_edges() -> list[tuple[str, str, bool]]:
    """(importer, imported project module, module-level?) for every import in the four packages."""
    modules = all_modules()
    known = set(modules)
    edges = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, top in _imports(tree.body, True):
            for target in _targets(node, module, path.name == "__init__.py", known):
                if target.split(".")[0] in PACKAGES:
                    edges.append((module, target, top))
    return edges


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def layering_violations(edges: list[tuple[str, str, bool]]) -> set[tuple[str, str]]:
    forbidden = {
        "models": ("probes", "steering", "experiments"),
        "probes": ("steering", "experiments", "models.train"),
        "steering": ("experiments", "models.train"),
    }
    return {(src, dst) for src, dst, _ in edges for pkg, bad in forbidden.items()
            if _in(src, pkg) and any(_in(dst, b) for b in bad)}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as a list of nodes (first == last), or None."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


# --------------------------------------------------------------------------- tests

def test_import_models_loads_no_trainer_debate_or_training_libraries():
    code = f"import models, sys; print(sorted(m for m in sys.modules if m.startswith({HEAVY!r})))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]", f"import models loaded {out.stdout.strip()}"


def test_every_module_parses_and_the_graph_sees_project_imports():
    edges = import_edges()
    assert ("models.load", "models.registry", True) in edges  # the resolver sees a plain from-import
    assert any(src.startswith("experiments.") for src, _, _ in edges)


def test_layers_import_only_downwards():
    found = layering_violations(import_edges())
    new = found - KNOWN_VIOLATIONS
    assert not new, "imports against the layering (models <- probes <- steering <- experiments): " + ", ".join(
        f"{a} -> {b}" for a, b in sorted(new))
    stale = KNOWN_VIOLATIONS - found
    if stale:
        warnings.warn(f"KNOWN_VIOLATIONS entries no longer occur; delete them: {sorted(stale)}", stacklevel=1)


def test_no_library_imports_experiments():
    edges = import_edges()
    bad = {(a, b) for a, b, _ in edges if a.split(".")[0] in LIBRARIES and _in(b, "experiments")}
    assert not bad, f"library modules import experiments: {sorted(bad)}"


def import_graph(edges: list[tuple[str, str, bool]]) -> dict[str, set[str]]:
    """Importer -> imported modules, module-level and deferred imports alike."""
    graph: dict[str, set[str]] = {}
    for src, dst, _ in edges:
        if src != dst:
            graph.setdefault(src, set()).add(dst)
    return graph


def test_no_import_cycle_in_any_package_or_across_them():
    edges = import_edges()
    for package in PACKAGES:  # each package alone first, so the message names the package
        inside = [(a, b, t) for a, b, t in edges if _in(a, package) and _in(b, package)]
        cycle = find_cycle(import_graph(inside))
        assert cycle is None, f"import cycle in {package}: " + " -> ".join(cycle or [])
    cycle = find_cycle(import_graph(edges))
    assert cycle is None, "import cycle across packages: " + " -> ".join(cycle or [])


def test_a_deferred_import_still_closes_a_cycle():
    """The probes loop was a function-level import one way and a module-level one back: it must be seen."""
    planted = [("probes.a", "probes.b", True), ("probes.b", "probes.a", False)]
    assert find_cycle(import_graph(planted)) == ["probes.a", "probes.b", "probes.a"]


def test_the_checks_can_fail():
    """The detectors themselves: a planted cycle and a planted upward import are found."""
    assert find_cycle({"models.a": {"models.b"}, "models.b": {"models.a"}}) == ["models.a", "models.b", "models.a"]
    assert find_cycle({"models.a": {"models.b"}, "models.b": set()}) is None
    planted = [("probes.x", "steering.y", False), ("steering.z", "models.train.sft", False),
               ("models.q", "experiments.r", True), ("steering.ok", "models.load", True)]
    assert layering_violations(planted) == {("probes.x", "steering.y"), ("steering.z", "models.train.sft"),
                                            ("models.q", "experiments.r")}
