"""Imports go one way: kb <- retrievers <- readers <- apps. Checked on the source with ast."""

from __future__ import annotations

import ast
from pathlib import Path

import kqa

ORDER = ["kb", "models", "retrievers", "readers", "eval", "apps"]
ROOT = Path(kqa.__file__).parent


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def test_imports_go_one_way():
    bad = []
    for layer in ORDER:
        allowed = set(ORDER[: ORDER.index(layer) + 1])
        for path in (ROOT / layer).rglob("*.py"):
            for module in _imports(path):
                parts = module.split(".")
                if parts[0] == "kqa" and len(parts) > 1 and parts[1] in ORDER and parts[1] not in allowed:
                    bad.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not bad, bad


def test_kb_knows_nothing_of_models():
    heavy = {"torch", "transformers", "sentence_transformers", "faiss"}
    for path in (ROOT / "kb").rglob("*.py"):
        assert not heavy & {m.split(".")[0] for m in _imports(path)}, path


def test_only_readers_make_answers():
    for layer in ("kb", "retrievers", "apps"):
        for path in (ROOT / layer).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "Answer"]
            assert not calls, f"{path} builds an Answer"


def test_nothing_outside_the_packs_imports_a_pack():
    """A pack's knowledge reaches the engine as data in the pack folder; only the build command runs its code."""
    allowed = {ROOT / "apps" / "cli.py"}
    bad = []
    for path in ROOT.rglob("*.py"):
        if (ROOT / "packs") in path.parents or path in allowed:
            continue
        bad += [f"{path.relative_to(ROOT)} imports {m}" for m in _imports(path) if m.startswith("kqa.packs")]
    assert not bad, bad
