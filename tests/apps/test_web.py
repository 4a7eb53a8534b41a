"""The Gradio app: columns fill as their backends finish, errors stay in their column, answers render from
whatever an Answer carries, and the page works in a real (headless) browser without reaching the network."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from kqa.apps import web
from kqa.apps import web_render as render
from kqa.kb.types import Evidence
from kqa.readers.types import Answer, abstain
from tests.apps.conftest import LIMA, PERU, SCREENSHOT, SLOW_S

QUESTION = "What is the capital of Peru?"


# ------------------------------------------------------------------------------------------------ streaming


def test_fast_column_fills_before_the_slow_one_and_errors_stay_in_their_column(fake_pool):
    start = time.perf_counter()
    snapshots = [(time.perf_counter() - start, cols)
                 for cols in web.stream_answers(fake_pool, ["graph", "closed_book", "bm25"], QUESTION)]
    first_t, first = snapshots[0]
    # the first update carries what answers at once (one update fewer to send) and waits for nothing slow
    assert first_t < web.FIRST_UPDATE_S + 0.3 and first["closed_book"].state == "waiting"
    graph_t, graph_snapshot = next((t, s) for t, s in snapshots if s["graph"].state == "done")
    # the graph's answer goes out in the first update, or (when bm25's instant error beat it by a hair and went
    # first) in the next one, still inside the first update's window: never after the slow model
    assert graph_snapshot is snapshots[0][1] or graph_snapshot is snapshots[1][1]
    assert graph_t < web.FIRST_UPDATE_S + 0.3, "the graph answer must not wait for the slow model"
    assert graph_snapshot["closed_book"].state == "waiting"
    assert graph_snapshot["graph"].text == "Lima" and "Lima" in graph_snapshot["graph"].card
    last_t, last = snapshots[-1]
    assert last_t >= SLOW_S - 0.1 and last["closed_book"].text == "Lima"
    assert last["bm25"].state == "error" and "the index file is missing" in last["bm25"].card
    for name in ("graph", "closed_book"):
        assert "index file" not in last[name].card + last[name].details and last[name].state == "done"
    # at most one per backend (those that finish together share one), one for the picture
    assert len(snapshots) <= 4 and last["graph"].image is not None


def test_a_backend_that_cannot_be_loaded_shows_its_error_only(fake_pool):
    last = list(web.stream_answers(fake_pool, ["graph", "no_such_backend"], QUESTION))[-1]
    assert last["graph"].text == "Lima"
    assert last["no_such_backend"].state == "error" and "unknown backend" in last["no_such_backend"].card


def test_options_reach_the_pool_only_when_they_change(fake_pool):
    assert web.changed_options(fake_pool, k=fake_pool.options.k, mode="direct", model=fake_pool.options.model) == {}
    assert web.changed_options(fake_pool, k=9, mode="cot", model="smollm2-135m") == {
        "k": 9, "mode": "cot", "model": "smollm2-135m"}


def test_agreement_line(fake_pool):
    last = list(web.stream_answers(fake_pool, ["graph", "dense", "bm25"], QUESTION))[-1]
    line = web.agreement(last)
    assert "all answers agree" in line and "Lima" in line and "bm25 failed" in line
    disagree = render.agreement_html({"graph": "Lima", "closed_book": "Cusco", "dense": "lima."}, pending=["x"])
    assert "disagree" in disagree and "graph, dense → <b>Lima</b>" in disagree and "waiting for x" in disagree
    assert "No answers" in render.agreement_html({"graph": None}, pending=[])
    named = render.agreement_html({"graph": "federal republic (federation)", "dense": "Federal republic"}, pending=[])
    assert "all answers agree" in named and "<b>federal republic (federation)</b>" in named


def test_parse_choices():
    assert web.parse_choices("Paris; Lima ;Quito\nBogota") == ("Paris", "Lima", "Quito", "Bogota")
    assert web.parse_choices("  ") is None and web.parse_choices(None) is None


# ------------------------------------------------------------------------------------------------ rendering


def test_graph_answer_renders_entities_relation_sparql_triples_and_a_picture(fake_pool):
    from tests.apps.conftest import graph_answer

    column = web.render_column(graph_answer(QUESTION, None, 3.0))
    assert "SELECT ?o" in column.details and "Peru <span class=\"kqa-p\">capital</span> → Lima" in column.details
    assert '<span class="kqa-chip">Peru</span>' in column.details and "(pattern)" in column.details
    assert column.details.count("SELECT ?o") == 1  # the rationale is the SPARQL: shown once
    assert 'src="data:image/png;base64,' in column.details
    assert column.image is not None and column.image.size[0] > 200
    assert "asked as" not in column.details


def test_a_rewritten_question_shows_how_it_was_asked():
    from kqa.readers.combine import RewritingReader
    from tests.apps.conftest import FakeBackend, graph_answer

    answer = RewritingReader(FakeBackend("graph", graph_answer), lambda q: q.replace("Peru's", "Peru")).answer(
        "What is Peru's capital?")
    html = render.details_html(answer)
    assert "<b>asked as</b> What is Peru capital?" in html and answer.question == "What is Peru's capital?"


def test_passages_show_scores_and_highlight_the_answer():
    from tests.apps.conftest import dense_answer

    html = render.details_html(dense_answer(QUESTION, None, 5.0))
    assert "0.712" in html and "<mark>Lima</mark>" in html and "pe/government/0" in html
    assert "lines read (2)" in html and "fake-reader" in html and "dense, top 3" in html
    assert "<mark>" not in render.highlight("Santiago <b>", "Lima") and "&lt;b&gt;" in render.highlight("<b>", "x")
    assert render.highlight("Austria borders Germany and Italy", "Germany, Italy").count("<mark>") == 2
    assert "<mark>" not in render.highlight("tempered by climate risks", "Lima")  # whole words only


def test_closed_book_shows_mode_votes_rationale_and_abstention_reason():
    from tests.apps.conftest import closed_book_answer

    html = render.details_html(closed_book_answer(QUESTION, None, 9.0))
    assert "self_consistency" in html and "Cusco" in html and "Its capital is Lima" in html and "width:80%" in html
    assert "votes (5 samples)" in html
    card = render.answer_card(abstain(QUESTION, "closed_book", "no vote reached a majority"))
    assert "abstained" in card and "no vote reached a majority" in card


def test_router_and_vote_show_their_choice_then_the_chosen_readers_trace():
    from dataclasses import replace

    from kqa.readers.types import CombineTrace
    from tests.apps.conftest import dense_answer, graph_answer

    graph = graph_answer(QUESTION, None, 3.0)
    routed = replace(graph, backend="router",
                     trace=CombineTrace("router", tried=("graph",), routed_to="graph", chosen=graph.trace))
    column = web.render_column(routed)
    assert '<b>routed to</b> <span class="kqa-chip">graph</span>' in column.details and "(tried graph)" in column.details
    assert "SELECT ?o" in column.details and column.image is not None  # the graph's own trace, picture included
    dense = dense_answer(QUESTION, None, 5.0)
    voted = replace(dense, backend="vote", trace=CombineTrace(
        "vote", votes={"graph": None, "dense": "Lima", "closed_book": "Lima"}, winner="dense", agreeing=2,
        chosen=dense.trace))
    html = render.details_html(voted)
    assert "votes · 2 agree" in html and "abstained" in html and "dense</span>Lima ✔" in html
    assert "lines read (2)" in html and "pe/government/0" in html


def test_an_answer_without_a_trace_shows_its_evidence_and_plain_meta_escaped():
    answer = Answer(question="q", text="<script>x</script>", backend="router", confidence=None,
                    evidence=(Evidence(id="weird", text="a <b>bold</b> claim", source="corpus"),), latency_ms=1234.0,
                    meta={"path": [{"s": "A", "p": "r", "o": "B"}], "note": "<i>odd</i>", "extra": [1, 2]})
    column = web.render_column(answer)
    assert "<script>" not in column.card + column.details and "1.2 s" in column.card
    assert "a &lt;b&gt;bold&lt;/b&gt; claim" in column.details and "note: &lt;i&gt;odd&lt;/i&gt;" in column.details
    assert column.image is None and "kqa-triple" not in column.details  # meta is never read as triples


def test_metrics_rows_and_latest_run(tmp_path):
    results = {"backends": ["graph", "dense"],
               "metrics": {"graph": {"n": 10, "accuracy": 0.9}, "dense": {"n": 10, "accuracy": 0.6}},
               "timing": {"graph": {"latency_p50_ms": 3.0}},
               "construction": {"graph": {"build_seconds": 4.2}, "dense": {"build_seconds": 30.0}}}
    headers, rows = web.metrics_rows(results)
    assert headers[0] == "backend" and headers[-1] == "build_seconds"
    assert rows[0][:3] == ["graph", 10, 0.9] and rows[1][-1] == 30.0 and rows[1][-2] is None
    assert web.latest_run(tmp_path) is None
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(json.dumps(results))
        time.sleep(0.02)
    assert web.latest_run(tmp_path).name == "b"


def test_importing_the_app_module_imports_no_gradio():
    code = "import sys, kqa.apps.web, kqa.apps.cli; print('gradio' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.split()
    assert out == ["False", "False"]


def test_serve_command_checks_the_pack_before_starting(tmp_path):
    kqa = [sys.executable, "-m", "kqa.apps.cli", "serve"]
    help_text = subprocess.run([*kqa, "--help"], capture_output=True, text=True, timeout=60).stdout
    assert "--host" in help_text and "127.0.0.1" in help_text and "graph,dense,closed_book" in help_text
    result = subprocess.run([*kqa, "--pack", str(tmp_path / "none")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "kqa build" in result.stderr and "Traceback" not in result.stderr


# ------------------------------------------------------------------------------------------------ tabs


def test_batch_tab_handler_runs_the_scorer(fake_backends, factbook_pack, tmp_path):
    """Drives the scorer the Batch tab calls, with the same config it builds (the tab's handler itself is
    driven in the browser test)."""
    from kqa.eval.runner import run_eval
    from kqa.apps.wiring import BackendPool, Options
    from kqa.kb.questions import load_questions

    pool = BackendPool(Options(pack=factbook_pack.path, model_cache=tmp_path / "models"))
    questions = load_questions(factbook_pack.questions_path, split="dev")[:6]
    result = run_eval({"graph": pool.get("graph")}, questions, tmp_path / "runs" / "r1", config={}, plots=False)
    headers, rows = web.metrics_rows(result.results)
    assert rows[0][0] == "graph" and rows[0][headers.index("n")] == 6
    assert web.latest_run(tmp_path / "runs") == tmp_path / "runs" / "r1"


def test_explore_lookups_use_the_pack(fake_backends, factbook_pack, tmp_path):
    from kqa.apps.wiring import BackendPool, Options

    pool = BackendPool(Options(pack=factbook_pack.path, model_cache=tmp_path / "models"))
    label, code, rows, sparql = web.entity_facts(pool, "peru")
    assert (label, code) == ("Peru", "pe") and ("capital", "Lima") in rows and "country/pe" in sparql
    passages = web.entity_passages(pool, code)
    assert passages and all(p.id.startswith("pe/") for p in passages)


# ------------------------------------------------------------------------------------------------ browser


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser():
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    # `make test` installs Debian's chromium; without it this test must fail, not pass by skipping
    assert Path("/usr/bin/chromium").exists(), "Debian's chromium is missing: apt-get install chromium"
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def _serve(pool, backends, port, runs_dir):
    return web.serve(pool, backends, port=port, runs_dir=runs_dir, block=False)


@pytest.fixture
def screenshot_pool(monkeypatch, small_pack, model_cache):
    """The real backends where they exist (a factory the lead wired, or the graph reader itself), the fakes
    for the rest; says which are fake, since only a fake closed_book is known to be slow."""
    from kqa.apps import wiring
    from tests.apps.conftest import FAKES, FakeBackend

    real = {name: wiring.FACTORIES[name] for name in ("graph", "dense", "closed_book") if name in wiring.FACTORIES}
    if "graph" not in real:
        try:
            from kqa.readers.graph_reader import load_graph_reader

            real["graph"] = lambda pool, options: load_graph_reader(options.pack, embed=False)
        except ImportError:
            pass
    fakes = []
    for name in ("graph", "dense", "closed_book"):
        if name in real:
            monkeypatch.setitem(wiring.FACTORIES, name, real[name])
        else:
            respond, delay = FAKES[name]
            monkeypatch.setitem(wiring.FACTORIES, name, lambda pool, options, r=respond, d=delay, n=name:
                                FakeBackend(n, r, d))
            fakes.append(name)
    pool = wiring.BackendPool(wiring.Options(pack=small_pack, model_cache=model_cache))
    for name in ("dense", "closed_book"):
        if name not in fakes:
            pool.get(name)  # build the index and convert the model before the browser starts waiting
    return pool, fakes


@pytest.mark.browser
def test_browser_asks_and_columns_fill_in_order(browser, screenshot_pool, free_port, tmp_path):
    pool, fakes = screenshot_pool
    app = _serve(pool, ["graph", "dense", "closed_book"], free_port, tmp_path / "runs")
    try:
        page = browser.new_page(viewport={"width": 1440, "height": 1000}, device_scale_factor=1)
        outside = []
        page.on("request", lambda r: outside.append(r.url) if "127.0.0.1" not in r.url
                and not r.url.startswith(("data:", "blob:")) else None)
        page.goto(f"http://127.0.0.1:{free_port}/", wait_until="networkidle")
        page.locator("#kqa-question textarea").fill(QUESTION)
        page.locator("#kqa-ask").click()
        page.locator("#kqa-card-graph .kqa-answer", has_text="Lima").wait_for(timeout=60_000)
        if "closed_book" in fakes:
            assert "thinking" in page.locator("#kqa-card-closed_book").inner_text(), \
                "the graph column must fill while the slow model is still thinking"
        page.locator("#kqa-card-dense .kqa-answer", has_text="Lima").wait_for(timeout=300_000)
        page.locator("#kqa-card-closed_book .kqa-card:not(.kqa-waiting)").wait_for(timeout=300_000)
        if "closed_book" in fakes:
            assert "all answers agree" in page.locator("#kqa-agreement").inner_text()
        graph_details = page.locator("#kqa-details-graph").inner_text()
        assert "Peru" in graph_details and "capital" in graph_details and "SPARQL" in graph_details
        assert page.locator("#kqa-details-dense mark").first.inner_text() == "Lima"
        page.locator("#kqa-details-graph img.kqa-subgraph").wait_for(timeout=10_000)
        page.wait_for_timeout(300)
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        assert outside == [], f"the page reached outside the server: {outside[:5]}"
    finally:
        app.close()


@pytest.mark.browser
def test_browser_error_stays_in_its_column(browser, fake_backends, free_port, tmp_path):
    """As ``kqa serve`` runs it: bm25 fails in the model process (``ModelPool``), the graph answers here."""
    from kqa.apps.model_process import ModelPool
    from kqa.apps.wiring import Options
    from tests.apps import model_child

    pool = ModelPool(Options(pack=tmp_path / "no-pack", model_cache=tmp_path / "models"),
                     make_pool=model_child.fake_pool)
    app = _serve(pool, ["graph", "bm25"], free_port, tmp_path / "runs")
    try:
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{free_port}/")
        page.locator("#kqa-ask").click()
        page.locator("#kqa-card-bm25 .kqa-reason", has_text="the index file is missing").wait_for(timeout=20_000)
        page.locator("#kqa-card-graph .kqa-answer", has_text="Lima").wait_for(timeout=20_000)
        assert "missing" not in page.locator("#kqa-col-graph").inner_text()
        assert "bm25 failed" in page.locator("#kqa-agreement").inner_text()
        assert pool.models.alive()
    finally:
        app.close()
        pool.close()


@pytest.mark.browser
def test_browser_batch_tradeoff_and_explore_tabs(browser, fake_backends, factbook_pack, free_port, tmp_path):
    """The other tabs' handlers, through the page: a small Batch run with the fast fakes, the Tradeoff tab
    reading it back, and Explore looking up Peru in the pack."""
    from kqa.apps.wiring import BackendPool, Options

    pool = BackendPool(Options(pack=factbook_pack.path, model_cache=tmp_path / "models"))
    runs = tmp_path / "runs"
    app = _serve(pool, ["graph", "dense"], free_port, runs)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"http://127.0.0.1:{free_port}/")
        page.get_by_role("tab", name="Batch").click()
        page.get_by_label("sample size (0 = all)").fill("4")
        page.get_by_role("button", name="Run", exact=True).click()
        page.get_by_text("4 questions × 2 backends").wait_for(timeout=60_000)
        (run,) = [p.parent for p in runs.glob("*/results.json")]
        results = json.loads((run / "results.json").read_text())
        assert results["metrics"]["graph"]["n"] == 4 and (run / "answers.csv").exists()
        # the tab records what each backend cost to construct, from the pack, and writes the report
        assert results["construction"]["graph"]["triples"] == factbook_pack.manifest["counts"]["triples"]
        assert "## Cost to construct vs accuracy" in (run / "report.md").read_text()
        page.get_by_role("tab", name="Tradeoff").click()
        page.get_by_role("button", name="Load the latest run").click()
        page.get_by_text(f"Run `{run.name}`".replace("`", "")).wait_for(timeout=20_000)
        page.get_by_role("tab", name="Explore").click()
        page.get_by_role("button", name="Look up").click()
        page.get_by_text("passages about Peru").wait_for(timeout=30_000)
        assert "Lima" in page.locator("body").inner_text()
    finally:
        app.close()
