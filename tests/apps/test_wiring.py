"""Wiring: the record of options a run keeps."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

from kqa.apps.wiring import Options, options_record


def test_options_record_holds_every_option_as_json():
    options = Options(pack=Path("/p"), model_cache=Path("/m"), n_samples=7, index_kind="hnsw",
                      thresholds=(("dense", 0.4),))
    record = options_record(options)
    assert set(record) == {f.name for f in fields(Options)}
    assert record["n_samples"] == 7 and record["index_kind"] == "hnsw" and record["pack"] == "/p"
    assert record["thresholds"] == {"dense": 0.4}
    assert json.loads(json.dumps(record)) == record


def test_without_a_pack_a_corpus_reader_gets_no_graph_reading(tmp_path):
    from kqa.apps import wiring

    pool = wiring.BackendPool(Options(pack=tmp_path / "none", model_cache=tmp_path))
    assert wiring._reading(pool) is None
