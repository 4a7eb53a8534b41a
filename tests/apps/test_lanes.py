"""The app under several questions at once: each backend's lane (``web.Lanes``) keeps the graph from waiting
behind the model, a backend that is still loading says so in its column while the others answer, and the
progress of a long step reaches a log file as lines every few seconds."""

from __future__ import annotations

import io
import threading
import time

from kqa.apps import web
from kqa.kb.progress import active, progress_task
from tests.apps.conftest import SLOW_S, FakeBackend, dense_answer, graph_answer, until



def test_the_graph_answers_a_second_question_while_the_first_waits_for_the_model(fake_pool):
    list(web.stream_answers(fake_pool, ["graph"], "What is the capital of Peru?"))  # warm: drawing imports matplotlib
    first = web.stream_answers(fake_pool, ["graph", "closed_book"], "What is the capital of Peru?")
    next(first)
    started = threading.Event()
    threading.Thread(target=lambda: (started.set(), list(first)), daemon=True).start()  # the slow column runs
    started.wait()
    time.sleep(0.3)
    second = web.stream_answers(fake_pool, ["graph", "closed_book"], "Peru's capital?")
    columns, took = until(second, lambda c: c["graph"].state == "done")
    second.close()
    assert took < 1.0 < SLOW_S and columns["graph"].text == "Lima"
    assert columns["closed_book"].state == "waiting"


def test_a_loading_backend_says_what_it_waits_for_and_the_others_answer(fake_pool, monkeypatch):
    from kqa.apps import wiring

    release = threading.Event()

    def slow_factory(pool, options):
        with progress_task("embedding passages", total=6098, show=False) as task:
            task.update(done=2100)
            release.wait(10)
        return FakeBackend("dense", dense_answer)

    monkeypatch.setitem(wiring.FACTORIES, "dense", slow_factory)
    stream = web.stream_answers(fake_pool, ["graph", "dense"], "What is the capital of Peru?")
    try:
        columns, _ = until(stream, lambda c: c["graph"].state == "done" and "2,100 of 6,098" in c["dense"].card)
        assert columns["dense"].state == "waiting" and "loading" in columns["dense"].card
    finally:
        release.set()
    columns, _ = until(stream, lambda c: c["dense"].state == "done")
    assert columns["dense"].text == "Lima" and not fake_pool.is_loaded("bm25")


def test_progress_on_a_pipe_is_a_line_every_few_seconds_and_listed_while_it_runs():
    out = io.StringIO()
    with progress_task("embedding passages", total=300, stream=out, every_s=0.05) as task:
        for _ in range(3):
            task.advance(100)
            assert active()[-1].startswith(f"embedding passages: {task.done:,} of 300")
            time.sleep(0.06)
    lines = out.getvalue().splitlines()
    # none at the start (nothing to say yet), then one per advance that comes 0.05 s after the last line
    assert [line.split(",")[0] for line in lines[:-1]] == ["kqa: embedding passages: 200 of 300 (67%)",
                                                          "kqa: embedding passages: 300 of 300 (100%)"]
    assert lines[-1].startswith("kqa: embedding passages: done in") and not any("embedding" in a for a in active())


def test_an_uncounted_step_still_prints_while_it_runs():
    out = io.StringIO()
    with progress_task("de-quantizing model.gguf", stream=out, every_s=0.05):
        time.sleep(0.18)
    lines = out.getvalue().splitlines()
    assert len(lines) >= 3 and all(line.startswith("kqa: de-quantizing model.gguf") for line in lines)


def test_prepare_loads_and_warms_every_backend_and_reports_one_that_fails(fake_pool, monkeypatch):
    import gc

    drawn = []
    monkeypatch.setattr(web, "add_picture", lambda column, answer: drawn.append(answer.backend) or column)
    said = []
    took = web.prepare(fake_pool, ["graph", "bm25", "dense"], say=said.append)
    assert "graph" in drawn and gc.get_freeze_count() > 0  # its picture drawn; what was loaded, frozen
    assert set(took) == {"graph", "dense"} and took["dense"] >= 0.2  # the fake reader's delay: it answered
    assert fake_pool.is_loaded("graph") and fake_pool.is_loaded("dense")
    assert len(said) == 1 and "bm25" in said[0] and "the index file is missing" in said[0]


def test_prepare_loads_the_model_backends_beside_the_others(fake_pool, monkeypatch):
    """Under ``kqa serve`` the model's backends load in their own process: waiting for the graph to load
    first would add its seconds to the time before the page opens."""
    from kqa.apps import wiring

    for name, respond in (("graph", graph_answer), ("dense", dense_answer)):
        monkeypatch.setitem(wiring.FACTORIES, name,
                            lambda pool, options, n=name, r=respond: FakeBackend(n, r, delay_s=1.0))
    start = time.perf_counter()
    took = web.prepare(fake_pool, ["dense", "graph"], say=print)
    assert list(took) == ["dense", "graph"] and min(took.values()) >= 1.0
    assert time.perf_counter() - start < 1.8  # one after the other would be 2 s


def test_progress_on_a_terminal_nests_one_step_inside_another():
    """``kqa serve`` prepares a backend (one step) whose index build is another: rich allows one live display,
    so both share one."""

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    out = Terminal()
    with progress_task("preparing dense", stream=out) as outer:
        with progress_task("embedding passages", total=10, stream=out) as inner:
            inner.advance(10)
            now = active()[-2:]
            assert now[0].startswith("preparing dense, ") and now[1].startswith("embedding passages: 10 of 10")
        outer.update(label="preparing dense, warm")
    assert "done in" in out.getvalue() and not active()


def test_a_column_shows_its_answer_before_its_picture_is_drawn(fake_pool, monkeypatch):
    drawing = web.add_picture
    release = threading.Event()
    monkeypatch.setattr(web, "add_picture", lambda column, answer: (release.wait(10), drawing(column, answer))[1])
    stream = web.stream_answers(fake_pool, ["graph"], "What is the capital of Peru?")
    columns, _ = until(stream, lambda c: c["graph"].state == "done")
    assert columns["graph"].text == "Lima" and columns["graph"].image is None
    assert "SELECT ?o" in columns["graph"].details and "kqa-subgraph" not in columns["graph"].details
    release.set()
    last = list(stream)[-1]["graph"]
    assert last.image is not None and "kqa-subgraph" in last.details and last.card == columns["graph"].card

    def broken(column, answer):
        raise RuntimeError("no fonts")

    monkeypatch.setattr(web, "add_picture", broken)
    last = list(web.stream_answers(fake_pool, ["graph"], "What is the capital of Peru?"))[-1]["graph"]
    assert last.state == "done" and last.text == "Lima" and last.image is None  # the answer stays, no picture
