"""The package's layering rules, read from the code's own imports (``ast``), so a drawing cannot drift.

    kernels            imports nothing else of minembed
    rng, io, progress  import nothing else of minembed but each other and kernels
    nn                 kernels, rng, io, progress
    space              kernels, rng, io, progress        (it USES vectors; it never makes them)
    text, vision,      nn, space, kernels, rng, io, progress, datasets; never each other
    audio, recsys
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "minembed"
BASE = {"kernels", "rng", "io", "progress"}
ALLOWED = {
    "kernels": set(),
    "rng": set(),
    "io": set(),
    "progress": set(),
    "nn": BASE,
    "space": BASE,
    "text": BASE | {"nn", "space", "datasets"},
    "vision": BASE | {"nn", "space", "datasets"},
    "audio": BASE | {"nn", "space", "datasets"},
    "recsys": BASE | {"nn", "space", "datasets"},
}


def _part(module: str) -> str:
    """``minembed.space.search`` -> ``space``; ``minembed`` itself -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def minembed_imports(path: Path) -> set[str]:
    """Every ``minembed.*`` module a file imports (absolute or relative), as dotted names."""
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    package = list(rel.parts[:-1])  # the package a relative import starts from
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "minembed"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                names = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
                found |= set(names)
            elif node.module and node.module.split(".")[0] == "minembed":
                found.add(node.module)
    return found


def test_relative_imports_are_resolved():
    # an oracle for the reader above: space/search.py imports minembed.kernels.similarity as _k
    assert "minembed.kernels" in minembed_imports(PACKAGE / "space" / "search.py")
    assert "minembed.rng" in minembed_imports(PACKAGE / "space" / "maps.py")


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_what_it_may(layer):
    files = sorted((PACKAGE / layer).rglob("*.py")) if (PACKAGE / layer).is_dir() else [PACKAGE / f"{layer}.py"]
    assert files and all(f.exists() for f in files), f"no files for layer {layer}"
    bad = []
    for f in files:
        for module in minembed_imports(f):
            part = _part(module)
            if part and part != layer and part not in ALLOWED[layer]:
                bad.append(f"{f.relative_to(PACKAGE.parent)} imports {module}")
    assert not bad, f"{layer} may import only {sorted(ALLOWED[layer]) or 'nothing'} of minembed:\n" + "\n".join(bad)
