"""Run SPARQL that a person typed (``kqa sparql``, the app's Explore tab) read-only, local and time-limited.

``check_readonly`` parses the text with rdflib's own SPARQL parser and refuses anything but a query form
(SELECT, ASK, CONSTRUCT, DESCRIBE): an update (INSERT, DELETE, LOAD, DROP, CLEAR ...) does not parse as a
query at all. It then walks the query's algebra and refuses ``SERVICE`` (a federated call to another server,
anywhere in the query, subqueries included) and a dataset clause (``FROM`` / ``FROM NAMED``), which rdflib
would fetch from the web (``SPARQL_LOAD_GRAPHS``). Text is never matched with regular expressions here: a
"SERVICE" inside a string literal or a comment is harmless, and a lower-case ``service`` is still caught.

``run_readonly`` runs a checked query on a graph under a time limit. rdflib evaluates SPARQL in pure Python,
so a query past its limit is stopped by raising an exception inside the thread that runs it (CPython's
``PyThreadState_SetAsyncExc``): the thread ends at its next bytecode instead of running on unseen.

This file does not decide what to show: it returns column names and rows of rdflib terms.

>>> check_readonly("SELECT ?s WHERE { ?s ?p ?o } LIMIT 1")
'SELECT'
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kqa.kb.errors import KqaError
from kqa.kb.graph import SPARQL_PARSE_LOCK

FORMS = {"SelectQuery": "SELECT", "AskQuery": "ASK", "ConstructQuery": "CONSTRUCT", "DescribeQuery": "DESCRIBE"}
MAX_QUERY_CHARS = 20_000


class UnsafeQueryError(KqaError):
    """A query that kqa will not run: not parseable, not read-only, or reaching outside the pack."""


class QueryTimeoutError(KqaError):
    """A query that ran past its time limit and was stopped."""


@dataclass(frozen=True)
class SparqlResult:
    form: str  # SELECT | ASK | CONSTRUCT | DESCRIBE
    columns: tuple[str, ...]  # variable names; ("subject", "predicate", "object") for a graph; ("answer",) for ASK
    rows: tuple[tuple[Any, ...], ...]  # rdflib terms (a bool for ASK)
    truncated: bool  # more rows than ``max_rows``


def check_readonly(text: str, *, prefixes: Mapping[str, str] | None = None) -> str:
    """The query form ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE") if ``text`` is safe to run; else
    UnsafeQueryError saying why."""
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery

    if not isinstance(text, str) or not text.strip():
        raise UnsafeQueryError("the query is empty: type a SELECT, ASK, CONSTRUCT or DESCRIBE query")
    if len(text) > MAX_QUERY_CHARS:
        raise UnsafeQueryError(f"the query is {len(text):,} characters long; at most {MAX_QUERY_CHARS:,} are run")
    try:
        with SPARQL_PARSE_LOCK:
            parsed = parseQuery(text)
    except Exception as err:  # pyparsing's ParseException and friends
        first = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
        raise UnsafeQueryError("not a read-only SPARQL query (only SELECT, ASK, CONSTRUCT and DESCRIBE are run; "
                               f"updates such as INSERT, DELETE, LOAD and DROP are refused): {first}") from None
    form = FORMS.get(getattr(parsed[1], "name", ""))
    if form is None:  # pragma: no cover - parseQuery only returns the four forms
        raise UnsafeQueryError("only SELECT, ASK, CONSTRUCT and DESCRIBE queries are run")
    if parsed[1].datasetClause:  # CompValue.get returns the key itself when it is missing
        raise UnsafeQueryError("FROM and FROM NAMED are refused: queries run on the pack's graph only, and rdflib "
                               "would load the named graphs from the web")
    try:
        with SPARQL_PARSE_LOCK:
            algebra = translateQuery(parsed, initNs=dict(prefixes or {})).algebra
    except Exception as err:  # an undeclared prefix, a variable used twice in a SELECT expression ...
        raise UnsafeQueryError(f"the query does not compile: {str(err).splitlines()[0][:200]}") from None
    if _finds(algebra, "ServiceGraphPattern"):
        raise UnsafeQueryError("SERVICE is refused: a query may not call other SPARQL endpoints")
    return form


def _finds(node: Any, name: str, _seen: set[int] | None = None) -> bool:
    """True when an algebra node called ``name`` is anywhere under ``node`` (CompValues, lists, dicts)."""
    seen = _seen if _seen is not None else set()
    if id(node) in seen:
        return False
    seen.add(id(node))
    if getattr(node, "name", None) == name:
        return True
    if isinstance(node, Mapping):
        return any(_finds(v, name, seen) for v in node.values())
    if isinstance(node, (list, tuple, set, frozenset)):
        return any(_finds(v, name, seen) for v in node)
    return False


def run_readonly(graph, text: str, *, prefixes: Mapping[str, str] | None = None, timeout_s: float = 10.0,
                 max_rows: int = 1000) -> SparqlResult:
    """Check ``text``, then run it on an rdflib ``graph`` for at most ``timeout_s`` seconds."""
    form = check_readonly(text, prefixes=prefixes)
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            from rdflib.plugins.sparql import prepareQuery

            # a SPARQL endpoint or an Oxigraph store (kqa.kb.stores) parses the text itself
            if getattr(graph.store, "query_endpoint", None) or getattr(graph.store, "parses_text", False):
                result = graph.query(text, initNs=dict(prefixes or {}))
            else:
                with SPARQL_PARSE_LOCK:
                    prepared = prepareQuery(text, initNs=dict(prefixes or {}))
                result = graph.query(prepared)
            if result.type == "ASK":
                box["value"] = (("answer",), ((bool(result.askAnswer),),), False)
                return
            if result.type in ("CONSTRUCT", "DESCRIBE"):
                columns: tuple[str, ...] = ("subject", "predicate", "object")
                source = iter(result.graph)
            else:
                columns = tuple(str(v) for v in result.vars or ())
                source = iter(result)
            rows = []
            for row in source:
                if len(rows) == max_rows:
                    box["value"] = (columns, tuple(rows), True)
                    return
                rows.append(tuple(row))
            box["value"] = (columns, tuple(rows), False)
        except _Stop:
            box["stopped"] = True
        except BaseException as err:  # noqa: BLE001 - handed to the caller's thread below
            box["error"] = err

    worker = threading.Thread(target=work, name="kqa-sparql", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        _raise_in(worker, _Stop)
        worker.join(2.0)
        raise QueryTimeoutError(f"the query ran past its time limit of {timeout_s:g} s and was stopped; "
                                "add a LIMIT or bind a subject")
    if "error" in box:
        err = box["error"]
        raise KqaError(f"the query failed: {type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}")
    columns, rows, truncated = box["value"]
    return SparqlResult(form=form, columns=columns, rows=rows, truncated=truncated)


class _Stop(Exception):
    """Raised inside a query's thread when its time is up."""


def _raise_in(thread: threading.Thread, exc: type[BaseException]) -> None:
    if thread.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(exc))


__all__ = ["check_readonly", "run_readonly", "SparqlResult", "UnsafeQueryError", "QueryTimeoutError"]
