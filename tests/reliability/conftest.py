"""Fixtures for the reliability tests, and the report they fill in: ``docs/reliability.md``.

Each test calls ``observe(area, case, expected, observed)`` with what it saw (no timings, no temporary paths,
so the file is the same from run to run); the outcome of the test is added to the row. When the session
ends and every reliability test was run (no ``-k``, no single file), the rows are written as a Markdown table.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "docs" / "reliability.md"
HERE = Path(__file__).resolve().parent
AREAS = ("bad questions", "parsing (property-based)", "bad files", "faults", "load", "security")

_rows: dict[str, list[dict[str, str]]] = {}  # nodeid -> rows it observed
_outcomes: dict[str, str] = {}  # nodeid -> passed | FAILED
_notes: dict[str, str] = {}  # one-line figures (the soak's p95)
_selected: list[str] = []


def clean(text: object, *paths: Path) -> str:
    """One table cell: temporary paths replaced by their file names, whitespace folded, pipes escaped."""
    out = str(text)
    for path in paths:
        out = out.replace(str(path) + "/", "").replace(str(path), "<tmp>")
    out = re.sub(r"/tmp/\S*/([^/\s:]+)", r"\1", out)
    out = re.sub(r"\s+", " ", out).strip()
    return out.replace("|", "\\|")[:300]


@pytest.fixture
def observe(request) -> Callable[..., None]:
    rows = _rows.setdefault(request.node.nodeid, [])

    def record(area: str, case: str, expected: str, observed: object, *paths: Path) -> None:
        assert area in AREAS, area
        rows.append({"area": area, "case": clean(case), "expected": clean(expected),
                     "observed": clean(observed, *paths)})

    return record


@pytest.fixture(scope="session")
def note():
    def record(key: str, text: str) -> None:
        _notes[key] = text

    return record


def pytest_collection_modifyitems(session, config, items):
    _selected[:] = [item.nodeid for item in items if Path(str(item.fspath)).resolve().is_relative_to(HERE)]


def pytest_runtest_logreport(report):
    if report.nodeid in _rows or report.nodeid in _selected:
        if report.failed:
            _outcomes[report.nodeid] = "FAILED"
        elif report.when == "call" and report.nodeid not in _outcomes:
            _outcomes[report.nodeid] = "passed"


def _whole_suite_ran(config) -> bool:
    if config.option.keyword or config.option.markexpr or not _selected:
        return False
    for arg in config.args:  # a single file or test of this folder: a partial run
        path = Path(arg.split("::")[0]).resolve()
        if "::" in arg or (path.is_relative_to(HERE) and path != HERE):
            return False
    return all(nodeid in _outcomes for nodeid in _selected)


def pytest_sessionfinish(session, exitstatus):
    if not _whole_suite_ran(session.config):
        return
    rows = []
    for nodeid in _selected:
        for row in _rows.get(nodeid, []):
            rows.append({**row, "test": nodeid.split("::")[-1], "outcome": _outcomes.get(nodeid, "not run")})
    rows.sort(key=lambda r: (AREAS.index(r["area"]), r["test"], r["case"]))
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(render_report(rows, _notes), encoding="utf-8")


def render_report(rows: list[dict[str, str]], notes: dict[str, str]) -> str:
    failed = sum(r["outcome"] != "passed" for r in rows)
    lines = [
        "# Reliability and security: what kqa does with bad input, bad files, faults and load",
        "",
        "Written by `make test` from `tests/reliability/` (each row is what a test saw; `outcome` is whether "
        "that test passed). Do not edit by hand: run `.venv/bin/python -m pytest tests/reliability` to refresh it.",
        "",
        f"{len(rows)} cases, {failed} in failing tests.",
        "",
    ]
    for key in sorted(notes):
        lines.append(f"- {notes[key]}")
    if notes:
        lines.append("")
    lines += ["How kqa keeps to it:", "",
              "- every question reaches a backend as data: the graph backend's SPARQL is one of a few fixed "
              "templates whose values are graph terms bound as parameters, so no question can change a "
              "query's shape;",
              "- a user's SPARQL (`kqa sparql`, the Explore tab) goes through `kqa.kb.sparql_guard`: rdflib parses "
              "it, only SELECT, ASK, CONSTRUCT and DESCRIBE run, SERVICE and FROM are refused, and a query is "
              "stopped after 10 s;",
              "- every pack, cache and index is written to a temporary name and renamed into place; caches carry "
              "the hash of what they were built from, and a damaged one is rebuilt;",
              "- a pack is data only: caches in formats that can run code or were not made for hostile input "
              "(the graph's pickle, FAISS and BM25 indexes) live in the user's own `$KQA_HOME/cache` (mode 0700, "
              "refused if others can write it), never in a pack, so a pack from someone else rebuilds them; "
              "graph, question and corpus files are refused when they reach outside themselves (XML entities, "
              "remote JSON-LD contexts) or are built to exhaust memory (nesting, huge terms or lines);",
              "- the app waits for each backend at most `--timeout` seconds (300 by default, loading included) "
              "and `kqa eval` records an error for a question a backend has not answered in `--timeout` "
              "seconds (120 by default); a backend that raises shows its error, the others still answer;",
              "- the server binds 127.0.0.1 unless `--host` says otherwise and serves files from the runs folder "
              "only.", "",
              "A `kill -9` during `kqa eval` is tested in `tests/apps/test_evaluate.py` (the rerun gives the same "
              "results); the rest is below.", "",
              "| area | case | expected | observed | test | outcome |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['area']} | {r['case']} | {r['expected']} | {r['observed']} | `{r['test']}` | "
                     f"{r['outcome']} |")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------ backends


@pytest.fixture(scope="session")
def pool(factbook_pack, model_cache):
    """A BackendPool over the session's Factbook pack: the real backends, whatever is wired."""
    from kqa.apps.wiring import BackendPool, Options

    return BackendPool(Options(pack=factbook_pack.path, model_cache=model_cache))


@pytest.fixture(scope="session")
def small_pool(small_pack, model_cache):
    """A BackendPool over a small copy of the pack (the passages of six countries), sharing the session's
    converted model."""
    from kqa.apps.wiring import BackendPool, Options

    return BackendPool(Options(pack=small_pack, model_cache=model_cache))


@pytest.fixture(scope="session")
def graph_backend(pool):
    return pool.get("graph")


def lm_backend_names() -> list[str]:
    """The wired backends other than the graph (the ones a language model reads for)."""
    from kqa.apps.wiring import FACTORIES

    return [name for name in FACTORIES if name != "graph"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def served_app(pool, tmp_path_factory):
    """The real app (graph backend) served on a free loopback port for the session: (url, runs_dir)."""
    from kqa.apps.web import serve

    runs = tmp_path_factory.mktemp("runs")
    port = free_port()
    app = serve(pool, ["graph"], host="127.0.0.1", port=port, runs_dir=runs, block=False, timeout_s=60)
    try:
        yield f"http://127.0.0.1:{port}/", runs
    finally:
        app.close()
