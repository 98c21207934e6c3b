"""The package's layers: every import inside scratchgan goes down this list, never up."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "scratchgan"
LAYERS = {
    "arrays": ("backend",),
    "engine": ("tensor", "functional", "nn", "optim", "gradcheck", "compat", "autograd"),
    "GANs": ("models", "losses", "trainer"),
    "runs": ("data", "metrics", "viz", "run", "utils", "edit"),
    "commands": ("cli", "__main__", "mnist", "images"),
}
RANK = {name: rank for rank, names in enumerate(LAYERS.values()) for name in names}
LAYER_OF = {name: layer for layer, names in LAYERS.items() for name in names}
# The package's __init__ re-exports the engine for ``import scratchgan as sg``; no module
# inside the package imports it for anything else.
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py")


def top_name(path):
    """The first component under scratchgan/: "run" for scratchgan/run/loop.py."""
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def imported_names(path):
    """(line, first component under scratchgan) of every scratchgan import in the file, lazy
    imports inside functions included."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [(alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [(node.module, [alias.name for alias in node.names])]
        else:
            continue
        for module, names in modules:
            parts = module.split(".")
            if parts[0] != "scratchgan":
                continue
            if len(parts) > 1:
                yield node.lineno, parts[1]
            else:  # from scratchgan import backend, nn
                yield from ((node.lineno, name) for name in names if name in RANK)


def test_every_module_belongs_to_a_layer():
    unknown = sorted({top_name(p) for p in MODULES} - set(RANK))
    assert not unknown, f"put these in a layer of tests/test_layering.py: {unknown}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_only_go_down(path):
    own = top_name(path)
    upward = [f"line {line}: scratchgan.{name} ({LAYER_OF[name]})"
              for line, name in imported_names(path) if RANK.get(name, -1) > RANK.get(own, -1)]
    assert not upward, f"{path.name} ({LAYER_OF.get(own)}) imports from a layer above: {upward}"


ENGINE = [PACKAGE / "tensor.py", *sorted((PACKAGE / "functional").glob("*.py")),
          *sorted((PACKAGE / "nn").glob("*.py"))]
ENGINE_BUDGET = 1500  # lines that are not blank, comments and docstrings counted


def test_the_engine_stays_within_its_line_budget():
    counts = {p.relative_to(PACKAGE): sum(1 for line in p.read_text().splitlines() if line.strip())
              for p in ENGINE}
    total = sum(counts.values())
    assert total <= ENGINE_BUDGET, (f"the engine has {total} lines, over its budget of "
                                    f"{ENGINE_BUDGET}: {counts}")


def test_only_the_gpu_backend_imports_cupy():
    importers = set()
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[0] in ("cupy", "cupyx") for n in names):
                importers.add(str(path.relative_to(PACKAGE)))
    assert importers == {"backend/gpu.py"}
