"""The command line as a user runs it: a subprocess, its exit code and what it prints."""

from __future__ import annotations

import subprocess
import sys


def kqa(*args, env=None):
    return subprocess.run([sys.executable, "-m", "kqa.apps.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_help_lists_commands():
    result = kqa("--help")
    assert result.returncode == 0
    for command in ("build", "info"):
        assert command in result.stdout


def test_help_imports_no_heavy_library():
    code = "import sys, kqa.apps.cli; print(sorted(m for m in ('torch','transformers','gradio','faiss','rdflib') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "[]"


def test_info_shows_counts_and_coverage(factbook_pack):
    result = kqa("info", "--pack", str(factbook_pack.path))
    assert result.returncode == 0, result.stderr
    assert f"{factbook_pack.manifest['counts']['triples']:,}" in result.stdout
    assert "parse coverage" in result.stdout and "capital" in result.stdout


def test_missing_pack_is_one_clear_line(tmp_path):
    result = kqa("info", "--pack", str(tmp_path / "none"))
    assert result.returncode == 2
    assert "kqa build" in result.stderr and "Traceback" not in result.stderr
