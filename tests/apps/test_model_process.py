"""``kqa serve``'s pool (``kqa.apps.model_process.ModelPool``): the backends that use the language model answer
in a niced child process, the graph in the app's own; the child's answers, errors, death and loading progress
reach their columns; settings chosen in the app reach the child."""

from __future__ import annotations

import os
import pickle

import pytest

from kqa.apps import web
from kqa.apps.model_process import MODEL_NICE, ModelPool, uses_model
from kqa.apps.wiring import Options
from kqa.kb.types import Question
from tests.apps import model_child
from tests.apps.conftest import SLOW_S, until

QUESTION = "What is the capital of Peru?"



@pytest.fixture
def model_pool(fake_backends, tmp_path):
    pool = ModelPool(Options(pack=tmp_path / "no-pack", model_cache=tmp_path / "models"),
                     make_pool=model_child.fake_pool)
    yield pool
    pool.close()


def test_only_the_backends_that_use_the_model_go_to_the_model_process():
    assert not uses_model("graph") and not uses_model("no-such-backend")
    assert all(uses_model(name) for name in ("dense", "bm25", "hybrid", "closed_book", "router", "vote"))


def test_model_backends_answer_in_a_niced_child_with_the_settings_chosen_in_the_app(model_pool):
    assert model_pool.get("graph").answer(QUESTION).text == "Lima" and not model_pool.models.alive()
    text = model_pool.get("router", mode="cot").answer(QUESTION).text
    pid, nice, mode = text.split()[1::2]
    assert int(pid) != os.getpid() and int(nice) == os.nice(0) + MODEL_NICE and mode == "cot"
    assert model_pool.is_loaded("router", mode="cot") and not model_pool.is_loaded("router")
    many = model_pool.get("dense").answer_many([Question(id=f"q{i}", question=QUESTION, answers=("Lima",))
                                                for i in range(3)])
    assert [a.text for a in many] == ["Lima"] * 3  # the Batch tab's calls


def test_pictures_are_drawn_in_the_model_process(model_pool):
    assert model_pool.offload(os.getpid) != os.getpid()
    last = list(web.stream_answers(model_pool, ["graph"], QUESTION))[-1]["graph"]
    assert last.text == "Lima" and last.image is not None and "kqa-subgraph" in last.details
    assert model_pool.offload(_imported, "matplotlib.pyplot")  # drawn there


def _imported(module: str) -> bool:
    import sys

    return module in sys.modules


def test_the_graph_column_fills_while_the_model_process_answers(model_pool):
    list(web.stream_answers(model_pool, ["graph"], QUESTION))  # warm: drawing imports matplotlib
    model_pool.get("closed_book")
    stream = web.stream_answers(model_pool, ["graph", "closed_book"], QUESTION)
    columns, took = until(stream, lambda c: c["graph"].state == "done")
    assert took < 1.0 < SLOW_S and columns["closed_book"].state == "waiting"
    columns, took = until(stream, lambda c: c["closed_book"].state == "done")
    assert columns["closed_book"].text == "Lima" and took >= SLOW_S - 1.0


def test_errors_and_the_death_of_the_model_process_stay_in_their_columns(model_pool):
    said = []
    took = web.prepare(model_pool, ["graph", "bm25", "dense"], say=said.append)
    assert set(took) == {"graph", "dense"} and len(said) == 1 and "the index file is missing" in said[0]
    columns = list(web.stream_answers(model_pool, ["graph", "bm25"], QUESTION))[-1]
    assert columns["graph"].text == "Lima"
    assert columns["bm25"].state == "error" and "RuntimeError: the index file is missing" in columns["bm25"].card
    # asked apart: in one question, hybrid could kill the process before bm25's error came back
    columns = list(web.stream_answers(model_pool, ["graph", "hybrid"], QUESTION))[-1]
    assert columns["graph"].text == "Lima"
    assert columns["hybrid"].state == "error" and "ModelProcessError" in columns["hybrid"].card
    assert "exit code 3" in columns["hybrid"].card
    assert not model_pool.is_loaded("dense")  # it was loaded in the process that died
    columns = list(web.stream_answers(model_pool, ["graph", "dense"], QUESTION))[-1]
    assert columns["dense"].text == "Lima" and model_pool.models.starts == 2


def test_a_call_that_cannot_be_read_in_the_model_process_fails_alone(model_pool):
    with pytest.raises(RuntimeError, match="cannot be rebuilt"):
        model_pool.offload(len, model_child.Unpicklable())
    with pytest.raises((pickle.PicklingError, AttributeError)):
        model_pool.offload(lambda: 1)  # does not pickle here: the caller's error, nothing sent
    assert model_pool.get("dense").answer(QUESTION).text == "Lima" and model_pool.models.starts == 1


def test_a_column_loading_in_the_model_process_says_how_far_it_got(fake_backends, tmp_path):
    pool = ModelPool(Options(pack=tmp_path / "no-pack", model_cache=tmp_path / "models"),
                     make_pool=model_child.slow_loading_pool)
    try:
        stream = web.stream_answers(pool, ["graph", "dense"], QUESTION)
        columns, _ = until(stream, lambda c: c["graph"].state == "done" and "2,100 of 6,098" in c["dense"].card)
        assert columns["dense"].state == "waiting"
        columns, _ = until(stream, lambda c: c["dense"].state == "done")
        assert columns["dense"].text == "Lima" and pool.is_loaded("dense")
    finally:
        pool.close()
