"""Load: 200 questions from 20 concurrent clients to the running app's HTTP API (loopback only). Security: the
server binds 127.0.0.1, typed SPARQL is read-only, local and time-limited, and the app serves no file outside
its own folders."""

from __future__ import annotations

import inspect
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

CLIENTS, PER_CLIENT = 20, 10
SOAK_LIMIT_S = 150


def test_soak_200_questions_from_20_clients(served_app, pack_questions, observe, note):
    from gradio_client import Client

    url, _ = served_app
    assert url.startswith("http://127.0.0.1:")
    wanted = [q for q in pack_questions if q.type in ("single_hop", "inverse", "boolean", "count")]
    questions = [wanted[i * 7 % len(wanted)] for i in range(CLIENTS * PER_CLIENT)]
    start = time.monotonic()

    def client_run(c: int) -> list[tuple[float, str]]:
        client = Client(url, verbose=False)
        out = []
        for q in questions[c * PER_CLIENT:(c + 1) * PER_CLIENT]:
            t = time.monotonic()
            result = client.predict(q.question, "", 4, "direct", "gemma-3-270m", api_name="/ask")
            out.append((time.monotonic() - t, result[1]))
            assert time.monotonic() - start < SOAK_LIMIT_S, "the soak ran past its time limit"
        return out

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = [r for rs in pool.map(client_run, range(CLIENTS)) for r in rs]
    latencies = sorted(t for t, _ in results)
    p95 = latencies[int(0.95 * len(latencies)) - 1]
    errors = sum("kqa-error" in card for _, card in results)
    answered = sum(bool(card) and "kqa-error" not in card for _, card in results)
    note("soak", f"Soak (last run): {len(results)} questions from {CLIENTS} concurrent clients over loopback to "
                 f"the app's /ask API (graph backend): {answered} answered, {errors} errors, p95 latency "
                 f"{p95 * 1000:.0f} ms.")
    observe("load", f"{CLIENTS} concurrent clients x {PER_CLIENT} questions to /ask over 127.0.0.1",
            "all answered, no errors, within the time limit", f"{answered} of {len(results)} answered, {errors} errors")
    failures = [card[card.find("kqa-reason"):][:300] for _, card in results if "kqa-error" in card]
    assert len(results) == CLIENTS * PER_CLIENT and answered == len(results) and errors == 0, failures


# ------------------------------------------------------------------------------------------------ security


def test_the_server_binds_loopback_unless_told(observe):
    from kqa.apps import web
    from kqa.apps.cli import build_parser

    serve_default = inspect.signature(web.serve).parameters["host"].default
    cli_default = build_parser().parse_args(["serve"]).host
    observe("security", "default address of `kqa serve` and web.serve", "127.0.0.1",
            f"cli {cli_default}, serve() {serve_default}")
    assert serve_default == cli_default == "127.0.0.1"


@pytest.mark.parametrize("path", ["/etc/passwd", "../../../../etc/passwd", "{pack}/graph.ttl", "{root}/pyproject.toml"])
def test_the_app_serves_no_file_outside_its_folders(served_app, factbook_pack, path, observe):
    from tests.reliability.conftest import ROOT

    url, _ = served_app
    target = path.format(pack=factbook_pack.path, root=ROOT)
    try:
        with urllib.request.urlopen(f"{url}gradio_api/file={target}", timeout=10) as response:
            status, body = response.status, response.read(200)
    except urllib.error.HTTPError as err:
        status, body = err.code, b""
    shown = path.replace("{pack}", "<pack>").replace("{root}", "<repo>")
    observe("security", f"GET /gradio_api/file={shown}", "refused (4xx)", f"HTTP {status}")
    assert 400 <= status < 500 and b"root:" not in body


QUERIES = {
    "SELECT": ('SELECT ?capital WHERE { ?c rdfs:label "Peru" ; kqa:capital/rdfs:label ?capital }', 0, "Lima"),
    "ASK": ('ASK { ?c rdfs:label "Peru" }', 0, "True"),
    "SERVICE": ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", 2, "SERVICE is refused"),
    "service in a subquery": ("SELECT * WHERE { { SELECT ?s WHERE { service silent <http://127.0.0.1:9/> "
                              "{ ?s ?p ?o } } } }", 2, "SERVICE is refused"),
    "FROM a remote graph": ("SELECT * FROM <http://127.0.0.1:9/x.ttl> WHERE { ?s ?p ?o }", 2, "FROM"),
    "LOAD": ("LOAD <http://127.0.0.1:9/x.ttl>", 2, "not a read-only SPARQL query"),
    "INSERT DATA": ("INSERT DATA { <http://a> <http://b> <http://c> }", 2, "not a read-only SPARQL query"),
    "DROP": ('" } ; DROP ALL', 2, "not a read-only SPARQL query"),
    "a query that runs too long": ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?p ?b . ?c ?q ?d . ?e ?r ?f }", 2,
                                   "time limit of 1 s"),
}


def test_kqa_sparql_is_read_only_local_and_time_limited(factbook_pack, capsys, observe):
    from kqa.apps.cli import main

    for case, (query, code_wanted, says) in QUERIES.items():
        start = time.monotonic()
        limit = "1" if case == "a query that runs too long" else "20"
        code = main(["sparql", query, "--pack", str(factbook_pack.path), "--timeout", limit])
        took = time.monotonic() - start
        captured = capsys.readouterr()
        text = captured.out if code == 0 else captured.err.strip()
        observe("security", f"kqa sparql: {case}", "rows" if code_wanted == 0 else "refused: exit 2, one line",
                f"exit {code}; " + (says if code == 0 and says in text else text.splitlines()[0] if text else ""))
        assert code == code_wanted and says in text, (case, text)
        assert took < 30


def test_the_explore_tab_runs_typed_sparql_read_only(served_app, observe):
    from gradio_client import Client

    client = Client(served_app[0], verbose=False)
    note, table = client.predict(QUERIES["SELECT"][0], api_name="/sparql")
    rows = (table.get("value") or table).get("data") if isinstance(table, dict) else table
    observe("security", "Explore tab SPARQL box: SELECT", "rows", f"{note}: {rows}")
    assert rows == [["Lima"]]
    with pytest.raises(Exception) as refused:
        client.predict(QUERIES["SERVICE"][0], api_name="/sparql")
    observe("security", "Explore tab SPARQL box: SERVICE", "refused with a message", str(refused.value))
    assert "SERVICE is refused" in str(refused.value)
