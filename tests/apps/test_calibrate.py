"""Thresholds picked on dev answers: truthfulness-maximising, dev half only, a clear error for a bad file."""

from __future__ import annotations

import pytest

from kqa.eval.calibrate import best_threshold, calibrate, in_dev_half, load_thresholds, write_thresholds
from kqa.kb.errors import KqaError


def test_best_threshold_maximises_right_minus_wrong():
    rows = [(0.9, True, False), (0.8, True, False), (0.6, False, False), (0.5, False, False), (0.4, True, False)]
    assert best_threshold(rows) == 0.8  # 2 right, 0 wrong beats 3 right, 2 wrong
    assert best_threshold([(0.3, True, False), (0.2, True, False)]) == 0.0  # all right: answer everything
    assert best_threshold([(0.9, False, False), (0.5, True, False)]) == 0.0  # 1 - 1 = 0 either way: lowest wins
    assert best_threshold([]) == 0.0


def test_all_wrong_answers_put_the_threshold_above_them():
    assert best_threshold([(0.9, False, False), (0.4, False, False), (None, True, False), (None, False, True)]) \
        == 0.9001


def test_calibrate_uses_only_the_dev_half_and_never_perturbed_copies():
    ids = [f"q{i}" for i in range(60)]
    dev = [i for i in ids if in_dev_half(i)]
    assert 15 < len(dev) < 45
    sure, unsure = dev[: len(dev) // 2], dev[len(dev) // 2:]
    records = [{"question_id": i, "backend": "dense", "confidence": 0.9 if i in sure else 0.3,
                "correct": i not in unsure, "abstained": False} for i in ids]
    records.append({"question_id": f"{unsure[0]}~typo", "backend": "dense", "confidence": 0.3, "correct": True,
                    "abstained": False})
    # dev half: right at 0.9, wrong at 0.3, so 0.9; the other half, right at 0.3, would pull it to 0
    assert calibrate(records, dev_half=True) == {"dense": 0.9}
    assert calibrate(records) == {"dense": 0.0}


def test_thresholds_round_trip_and_bad_files(tmp_path):
    path = write_thresholds(tmp_path / "calibration.json", {"dense": 0.42}, source="run", questions=10)
    assert load_thresholds(path) == {"dense": 0.42}
    (tmp_path / "bad.json").write_text('{"dense": 0.4}')
    with pytest.raises(KqaError, match="not a calibration file"):
        load_thresholds(tmp_path / "bad.json")
    with pytest.raises(KqaError, match="kqa calibrate"):
        load_thresholds(tmp_path / "missing.json")


def test_replay_gives_recorded_answers_under_a_threshold_and_feeds_the_real_router(tmp_path):
    import json

    from kqa.apps.wiring import Options, replayed_backends
    from kqa.kb.types import Question

    rows = [("graph", "a", "Lima", 0.9), ("graph", "b", None, None), ("dense", "a", "Cusco", 0.2),
            ("dense", "b", "Quito", 0.7), ("closed_book", "a", "Paris", 0.1), ("closed_book", "b", "Oslo", 0.1)]
    with (tmp_path / "answers.jsonl").open("w") as sink:
        for backend, qid, text, conf in rows:
            sink.write(json.dumps({"question_id": qid, "backend": backend, "question": f"question {qid}",
                                   "prediction": text, "confidence": conf, "latency_ms": 3.0, "evidence": ["x"],
                                   "meta": {} if text else {"reason": "no entity"}}) + "\n")
    options = Options(pack=tmp_path, model_cache=tmp_path, thresholds=(("closed_book", 0.5), ("dense", 0.5)))
    backends = replayed_backends(["dense", "router", "vote"], tmp_path, options)
    questions = [Question(id=q, question=f"question {q}", answers=("x",)) for q in ("a", "b", "c")]
    dense = backends["dense"].answer_many(questions)
    assert [a.text for a in dense] == [None, "Quito", None]  # 0.2 is below dense's 0.5; "c" was never asked
    assert dense[0].meta["candidate"] == "Cusco" and dense[1].evidence[0].id == "x"
    routed = backends["router"].answer_many(questions)
    assert [a.text for a in routed] == ["Lima", "Quito", None]
    assert [a.meta.get("routed_to") for a in routed[:2]] == ["graph", "dense"]
    assert backends["vote"].answer("question b").text == "Quito"  # closed_book's Oslo is below its threshold
    with pytest.raises(KqaError, match="holds no answers of 'bm25'"):
        replayed_backends(["bm25"], tmp_path, options)


def test_by_relation_thresholds_follow_the_graphs_relation_and_need_enough_answers():
    # the graph is always sure; right on capitals, wrong on three government questions of four
    records = []
    for i in range(24):
        relation = "capital" if i < 12 else "government" if i < 20 else "anthem"
        records.append({"question_id": f"q{i}", "backend": "graph", "confidence": 1.0, "abstained": False,
                        "correct": relation == "capital" or (relation == "government" and i % 4 == 0),
                        "meta": {"relation": relation}})
        records.append({"question_id": f"q{i}", "backend": "dense", "confidence": 0.5, "abstained": False,
                        "correct": relation != "capital", "meta": {"relation": "not the graph's"}})
    thresholds = calibrate(records, by_relation=True, min_answers=5)
    assert thresholds["graph"] == 0.0  # 14 right, 10 wrong over all: answer everything
    assert thresholds["graph@capital"] == 0.0 and thresholds["graph@government"] == 1.0001
    assert thresholds["dense@capital"] == 0.5001 and thresholds["dense@government"] == 0.0
    assert "graph@anthem" not in thresholds  # 4 answers: the backend's own threshold serves it
    assert not any("not the graph's" in key for key in thresholds)  # only the graph's reading counts
    assert calibrate(records) == {"dense": 0.0, "graph": 0.0}
