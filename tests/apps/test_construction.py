"""What each backend cost to construct, read from the files: the pack's manifest, its index caches, the model cache."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from kqa.eval.construction import PRETRAINED, construction_costs
from kqa.kb.jsonl import read_jsonl
from kqa.kb.types import Passage

STAGES = {"parse": 0.5, "corpus": 0.25, "graph": 1.25, "questions": 7.0, "write": 2.0}
COVERAGE = [{"relation": "capital", "field": "Government/Capital/name", "present": 10, "parsed": 9, "raw": 1,
             "parsed_share": 0.9, "raw_reasons": {}},
            {"relation": "currency", "field": "Economy/Exchange rates/Currency", "present": 10, "parsed": 10, "raw": 0,
             "parsed_share": 1.0, "raw_reasons": {}}]
PASSAGES = [Passage(id="pe/government/0", title="Peru", section="Government", text="The capital is Lima."),
            Passage(id="fr/government/0", title="France", section="Government", text="Paris is the capital."),
            Passage(id="jp/people/0", title="Japan", section="People", text="The official language is Japanese.")]


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


@pytest.fixture
def pack(tmp_path) -> Path:
    """A pack folder with a manifest, a graph and a corpus; beside it the user's cache folder with the graph's
    pickled copy and real FAISS and BM25 entries."""
    from kqa.retrievers.bm25_retriever import BM25Retriever
    from kqa.models.embedder import HashingEncoder
    from kqa.retrievers.faiss_retriever import FaissRetriever

    pack = tmp_path / "pack"
    pack.mkdir()
    (tmp_path / "cache").mkdir(mode=0o700)
    manifest = {"stage_seconds": STAGES, "counts": {"triples": 1234, "passages": 3}, "coverage": COVERAGE}
    (pack / "manifest.json").write_text(json.dumps(manifest))
    (pack / "graph.ttl").write_text("<a> <b> <c> .\n" * 100)
    sha = hashlib.sha256((pack / "graph.ttl").read_bytes()).hexdigest()
    (pack.parent / "cache" / f"graph-{sha}-v1.pickle").write_bytes(b"x" * 5000)
    (pack.parent / "cache" / f"graph-{'0' * 64}-v1.pickle").write_bytes(b"x" * 7000)  # an older graph's
    (pack / "corpus.jsonl").write_text("".join(json.dumps(p.to_json()) + "\n" for p in PASSAGES))
    FaissRetriever.build_or_load(PASSAGES, HashingEncoder(dim=32), pack.parent / "cache", kind="flat")
    BM25Retriever.build_or_load(PASSAGES, pack.parent / "cache")
    return pack


def test_graph_cost_is_its_build_stages_files_and_parse_coverage(pack):
    graph = construction_costs(["graph"], pack=pack, cache_dir=pack.parent / "cache")["graph"]
    assert graph["build_seconds"] == 0.5 + 1.25  # parse and graph; not the corpus or questions stages
    assert graph["size_bytes"] == 1400 + 5000  # graph.ttl and the pickled copy of it, not of an older graph
    assert graph["triples"] == 1234
    assert graph["parse_coverage"] == 0.95  # 19 of 20 (country, field) pairs parsed
    assert (graph["fields_parsed"], graph["fields"]) == (1, 2)
    assert "graph.ttl" in graph["reads"] and graph["builds"] == "knowledge graph"


def test_corpus_backends_read_the_corpus_and_their_index_entries(pack):
    costs = construction_costs(["dense", "bm25", "hybrid"], pack=pack, cache_dir=pack.parent / "cache")
    corpus = (pack / "corpus.jsonl").stat().st_size
    faiss = next((pack.parent / "cache").glob("faiss-*"))
    bm25 = next((pack.parent / "cache").glob("bm25-*"))
    assert costs["dense"]["size_bytes"] == corpus + _size(faiss)
    assert costs["bm25"]["size_bytes"] == corpus + _size(bm25)
    assert costs["hybrid"]["size_bytes"] == corpus + _size(faiss) + _size(bm25)
    dense = costs["dense"]
    assert dense["passages"] == 3 and dense["vectors"] == 3 and dense["index_model"] == "hashing-32"
    index_seconds = json.loads((faiss / "meta.json").read_text())["build_seconds"]  # the index records it
    assert dense["build_seconds"] == pytest.approx(0.5 + 0.25 + index_seconds)
    assert dense["builds"] == "corpus + faiss index" and "not recorded" not in dense["build_seconds_cover"]
    assert "faiss index build" in dense["build_seconds_cover"]


def test_an_index_entry_without_its_build_time_is_said_not_recorded(pack):
    meta_path = next((pack.parent / "cache").glob("faiss-*/meta.json"))
    meta = json.loads(meta_path.read_text())
    meta.pop("build_seconds")
    meta_path.write_text(json.dumps(meta))
    dense = construction_costs(["dense"], pack=pack, cache_dir=pack.parent / "cache")["dense"]
    assert dense["build_seconds"] == 0.5 + 0.25
    assert "index build not recorded" in dense["build_seconds_cover"] and meta_path.parent.name in dense["build_seconds_cover"]


def test_an_index_entry_records_build_seconds_when_it_has_them(pack):
    meta_path = next((pack.parent / "cache").glob("faiss-*/meta.json"))
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "build_seconds": 4.0}))
    dense = construction_costs(["dense"], pack=pack, cache_dir=pack.parent / "cache")["dense"]
    assert dense["build_seconds"] == 0.5 + 0.25 + 4.0 and "not recorded" not in dense["build_seconds_cover"]


def test_entries_of_another_corpus_or_index_kind_are_not_counted(pack):
    stale = pack.parent / "cache" / "faiss-hashing-32-hnsw-000000000000"
    stale.mkdir()
    (stale / "meta.json").write_text(json.dumps({"kind": "hnsw", "passages": 3, "files": {}}))
    old = pack.parent / "cache" / "bm25-stem-111111111111"
    old.mkdir()
    (old / "meta.json").write_text(json.dumps({"passages": 99, "files": {}}))
    (old / "big").write_bytes(b"x" * 10**6)
    costs = construction_costs(["dense", "bm25"], pack=pack, cache_dir=pack.parent / "cache")
    assert stale.name not in costs["dense"]["reads"] and old.name not in costs["bm25"]["reads"]
    assert costs["bm25"]["size_bytes"] < 10**6
    hnsw = construction_costs(["dense"], pack=pack, cache_dir=pack.parent / "cache", index_kind="hnsw")["dense"]
    assert stale.name in hnsw["reads"]


def test_a_missing_index_is_said_not_built(tmp_path):
    (tmp_path / "corpus.jsonl").write_text(json.dumps(PASSAGES[0].to_json()) + "\n")
    bm25 = construction_costs(["bm25"], pack=tmp_path)["bm25"]
    assert bm25["builds"] == "corpus + bm25 index (not built yet)"
    assert bm25["size_bytes"] == (tmp_path / "corpus.jsonl").stat().st_size and "build_seconds" not in bm25


@pytest.fixture
def model(tmp_path) -> tuple[Path, Path]:
    """A GGUF file and its converted folder in a model cache, as ``TransformersLM`` leaves them."""
    gguf = tmp_path / "tiny-model.Q4.gguf"
    gguf.write_bytes(b"g" * 3000)
    cache = tmp_path / "models"
    folder = cache / "tiny-model.Q4-0123456789abcdef"
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"w" * 12000)
    (folder / "kqa-cache.json").write_text(json.dumps({"gguf": str(gguf), "sha256": "0123456789abcdef" * 4,
                                                       "convert_s": 12.5}))
    return gguf, cache


def test_closed_book_constructs_nothing_and_weighs_its_weights(model, tmp_path):
    gguf, cache = model
    book = construction_costs(["closed_book"], pack=tmp_path / "no-pack", model=str(gguf), model_cache=cache)
    folder = cache / "tiny-model.Q4-0123456789abcdef"
    assert book["closed_book"] == {"builds": PRETRAINED, "size_bytes": _size(folder), "reads": folder.name,
                                   "model": str(gguf), "weights": folder.name, "gguf_size_bytes": 3000,
                                   "convert_seconds": 12.5}
    # not converted yet: the GGUF file itself is what it reads
    bare = construction_costs(["closed_book"], pack=tmp_path, model=str(gguf), model_cache=tmp_path / "empty")
    assert bare["closed_book"]["size_bytes"] == 3000
    # a hub id with nothing on disk here: no size rather than a guess
    hub = construction_costs(["closed_book"], pack=tmp_path, model="org/some-model", model_cache=cache)
    assert hub["closed_book"] == {"builds": PRETRAINED, "model": "org/some-model"}


def test_router_and_vote_are_the_union_of_their_parts(pack, model):
    gguf, cache = model
    costs = construction_costs(["graph", "dense", "closed_book", "router", "vote", "echo"], pack=pack,
                               cache_dir=pack.parent / "cache",
                               model=str(gguf), model_cache=cache)
    assert "echo" not in costs  # a backend it does not know gets no entry
    router = costs["router"]
    assert router == costs["vote"]
    # the parse stage both the graph and the corpus come from counts once
    assert router["build_seconds"] == 0.5 + 1.25 + 0.25
    assert router["size_bytes"] == sum(costs[p]["size_bytes"] for p in ("graph", "dense", "closed_book"))
    assert router["triples"] == 1234 and router["passages"] == 3 and router["gguf_size_bytes"] == 3000
    assert router["builds"] == "knowledge graph + corpus + faiss index + a pre-trained model"
    assert router["parts"] == "graph+dense+closed_book"


def test_on_a_real_pack_the_figures_match_its_manifest(small_pack):
    manifest = json.loads((small_pack / "manifest.json").read_text())
    costs = construction_costs(["graph", "dense"], pack=small_pack)
    coverage = manifest["coverage"]
    assert costs["graph"]["triples"] == manifest["counts"]["triples"]
    expected = sum(r["parsed"] for r in coverage) / sum(r["present"] for r in coverage)
    assert costs["graph"]["parse_coverage"] == round(expected, 4) and 0.5 < expected <= 1
    assert costs["graph"]["build_seconds"] == round(manifest["stage_seconds"]["parse"]
                                                    + manifest["stage_seconds"]["graph"], 3)
    # the six-country corpus, counted from the file rather than taken from the copied manifest
    assert costs["dense"]["passages"] == sum(1 for _ in read_jsonl(small_pack / "corpus.jsonl"))
    assert costs["dense"]["builds"].startswith("corpus + faiss index")  # built or not, by the tests run before
