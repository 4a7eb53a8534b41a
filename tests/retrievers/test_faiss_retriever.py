from __future__ import annotations

import json

import numpy as np
import pytest

from kqa.kb.errors import KqaError
from kqa.kb.types import Passage
from kqa.models.embedder import HashingEncoder, passage_text
from kqa.retrievers.faiss_retriever import VECTORS_FILE, FaissRetriever, build_index, rerank_exact


def numpy_top_k(vectors: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The brute-force path: every inner product, sorted."""
    scores = queries @ vectors.T  # (q, n)
    rows = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, rows, axis=1), rows


def test_flat_index_equals_numpy_on_random_vectors(random_vectors):
    queries = random_vectors[:50] + 0.1 * np.random.default_rng(1).standard_normal((50, 64)).astype(np.float32)
    index = build_index(random_vectors, kind="flat")
    scores, rows = index.search(queries, 10)
    want_scores, want_rows = numpy_top_k(random_vectors, queries, 10)
    np.testing.assert_array_equal(rows, want_rows)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-5, atol=1e-5)


def test_hnsw_recall_against_flat_is_high(random_vectors):
    queries = np.random.default_rng(2).standard_normal((200, 64)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    _, exact = build_index(random_vectors, kind="flat").search(queries, 10)
    _, approx = build_index(random_vectors, kind="hnsw", ef_search=128).search(queries, 10)
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact)])
    assert recall >= 0.95


def test_ivfpq_finds_near_duplicates(random_vectors):
    # PQ is lossy, so the check is the job it is for: a slightly moved copy of a stored vector finds it.
    rng = np.random.default_rng(3)
    queries = random_vectors[:100] + 0.05 * rng.standard_normal((100, 64)).astype(np.float32)
    index = build_index(random_vectors, kind="ivfpq", pq_m=16, nprobe=8)
    _, rows = index.search(queries, 10)
    assert np.mean([i in row for i, row in enumerate(rows)]) >= 0.9


def test_rerank_with_the_float_vectors_raises_ivfpq_recall(random_vectors):
    # 4-byte codes for 64-d vectors order neighbours badly; re-scoring 200 candidates exactly repairs most of it.
    queries = np.random.default_rng(6).standard_normal((200, 64)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    want_scores, exact = numpy_top_k(random_vectors, queries, 10)
    index = build_index(random_vectors, kind="ivfpq", pq_m=4, nprobe=64)
    _, approx = index.search(queries, 10)
    _, candidates = index.search(queries, 200)
    scores, reranked = rerank_exact(random_vectors, queries, candidates, 10)

    def recall(rows):
        return np.mean([len(set(a) & set(e)) / 10 for a, e in zip(rows, exact)])

    assert recall(approx) < 0.4 and recall(reranked) >= 0.8  # measured: 0.26 and 0.85
    np.testing.assert_allclose(scores, np.take_along_axis(queries @ random_vectors.T, reranked, 1), rtol=1e-5)
    assert (np.diff(scores, axis=1) <= 0).all()  # best first, as FAISS returns them


def test_rerank_pads_missing_candidates():
    vectors = np.eye(4, dtype=np.float32)
    scores, rows = rerank_exact(vectors, np.ones((2, 4), np.float32), np.array([[2, -1, -1], [-1, -1, -1]]), 2)
    assert rows.tolist() == [[2, -1], [-1, -1]] and scores[0, 0] == 1.0 and np.isneginf(scores[0, 1])


def test_unknown_kind_is_a_clear_error(random_vectors):
    with pytest.raises(KqaError, match="flat"):
        build_index(random_vectors, kind="annoy")


def test_retriever_matches_numpy_over_hashing_vectors(small_passages, hashing_encoder):
    retriever = FaissRetriever.build(small_passages, hashing_encoder)
    questions = ["What is the capital of Peru?", "highest point volcano", "official language Portuguese"]
    vectors = hashing_encoder.encode([passage_text(p) for p in small_passages])
    all_scores = hashing_encoder.encode(questions) @ vectors.T  # (q, n); bags of words tie, so compare scores
    row_of = {"passage:" + p.id: row for row, p in enumerate(small_passages)}
    for got, scores in zip(retriever.retrieve_many(questions, k=4), all_scores):
        np.testing.assert_allclose([e.score for e in got], np.sort(scores)[::-1][:4], atol=1e-5)
        np.testing.assert_allclose([scores[row_of[e.id]] for e in got], [e.score for e in got], atol=1e-5)
        assert all(e.source == "corpus" and e.text.endswith(small_passages[row_of[e.id]].text) for e in got)


def test_k_beyond_the_corpus_and_bad_k(small_passages, hashing_encoder):
    retriever = FaissRetriever.build(small_passages, hashing_encoder)
    assert len(retriever.retrieve("capital", k=100)) == len(small_passages)
    assert retriever.retrieve_many([], k=3) == []
    with pytest.raises(ValueError):
        retriever.retrieve("capital", k=0)


class CountingEncoder(HashingEncoder):
    """A hashing encoder that counts the texts it embeds, so a test can see whether passages were embedded."""

    def __init__(self):
        super().__init__(dim=256, model_id="counting")
        self.texts_encoded = 0

    def encode(self, texts, *, batch_size=64, show_progress=False):
        self.texts_encoded += len(texts)
        return super().encode(texts)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_second_build_or_load_reads_the_cache(small_passages, tmp_path, kind):
    encoder = CountingEncoder()
    first = FaissRetriever.build_or_load(small_passages, encoder, tmp_path, kind=kind)
    assert not first.cache_hit and encoder.texts_encoded == len(small_passages)
    assert first.cache_path.name.startswith(f"faiss-counting-{kind}-")
    meta = json.loads((first.cache_path / "meta.json").read_text())
    assert meta["model_id"] == "counting" and meta["passages"] == len(small_passages)
    assert meta["files"]["index.faiss"]["size_bytes"] == (first.cache_path / "index.faiss").stat().st_size

    second = FaissRetriever.build_or_load(small_passages, encoder, tmp_path, kind=kind)
    assert second.cache_hit and second.cache_path == first.cache_path
    assert encoder.texts_encoded == len(small_passages)  # no passage was embedded again
    question = "What is the capital of Peru?"
    assert second.retrieve(question, k=5) == first.retrieve(question, k=5)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folders left behind


@pytest.fixture
def ivfpq_passages() -> list[Passage]:
    """400 short passages of random letters: enough to train a small IVF-PQ index."""
    rng = np.random.default_rng(4)
    return [Passage(id=f"p/{i}", title="", section="", text=" ".join(rng.choice(list("abcdefghijklmnop"), 8)))
            for i in range(400)]


def test_ivfpq_round_trips_through_the_cache(tmp_path, ivfpq_passages):
    passages, encoder = ivfpq_passages, HashingEncoder(dim=64)
    first = FaissRetriever.build_or_load(passages, encoder, tmp_path, kind="ivfpq", pq_m=8, nprobe=4)
    second = FaissRetriever.build_or_load(passages, encoder, tmp_path, kind="ivfpq", pq_m=8, nprobe=4)
    assert not first.cache_hit and second.cache_hit
    assert first.retrieve_many(["a b c", "d e f"], k=5) == second.retrieve_many(["a b c", "d e f"], k=5)
    other = FaissRetriever.build_or_load(passages, encoder, tmp_path, kind="ivfpq", pq_m=4)
    assert not other.cache_hit and other.cache_path != first.cache_path  # build parameters are in the key


@pytest.mark.slow  # four small IVF-PQ trainings: about 12 s on two busy cores
def test_ivfpq_keeps_its_vectors_memory_mapped_and_reranks(tmp_path, ivfpq_passages):
    passages, encoder = ivfpq_passages, HashingEncoder(dim=64)
    first = FaissRetriever.build_or_load(passages, encoder, tmp_path, kind="ivfpq", pq_m=8, nprobe=4)
    assert first.rerank == 400 and (first.cache_path / VECTORS_FILE).is_file()
    second = FaissRetriever.build_or_load(passages, encoder, tmp_path, kind="ivfpq", pq_m=8, nprobe=4)
    assert second.cache_hit and isinstance(second.vectors, np.memmap)
    questions = ["a b c", "d e f g"]
    assert second.retrieve_many(questions, k=5) == first.retrieve_many(questions, k=5)
    # the scores are exact inner products, and with every candidate re-scored the order is flat search's
    whole = FaissRetriever.build_or_load(passages, encoder, tmp_path, kind="ivfpq", pq_m=8, nprobe=64, rerank=400)
    flat = FaissRetriever.build(passages, encoder, kind="flat")
    for got, want in zip(whole.retrieve_many(questions, k=5), flat.retrieve_many(questions, k=5)):
        np.testing.assert_allclose([e.score for e in got], [e.score for e in want], atol=1e-5)
    codes_only = FaissRetriever.build_or_load(passages, encoder, tmp_path, kind="ivfpq", pq_m=8, rerank=0)
    assert codes_only.rerank == 0 and not (codes_only.cache_path / VECTORS_FILE).exists()
    assert codes_only.cache_path != first.cache_path
    (first.cache_path / VECTORS_FILE).write_bytes(b"\0" * (first.cache_path / VECTORS_FILE).stat().st_size)
    again = FaissRetriever.build_or_load(passages, encoder, tmp_path, kind="ivfpq", pq_m=8, nprobe=4,
                                         verify_checksums=False)  # a broken vectors file that passes the size check
    assert not again.cache_hit and again.retrieve_many(questions, k=5) == first.retrieve_many(questions, k=5)
    with pytest.raises(KqaError, match="ivfpq"):
        FaissRetriever.build_or_load(passages, encoder, tmp_path, kind="flat", rerank=50)


def test_a_changed_corpus_or_model_rebuilds(small_passages, tmp_path):
    encoder = CountingEncoder()
    first = FaissRetriever.build_or_load(small_passages, encoder, tmp_path)
    edited = [*small_passages[:-1], Passage(id=small_passages[-1].id, title="Canada", section="People",
                                            text="French and English are the official languages.")]
    changed = FaissRetriever.build_or_load(edited, encoder, tmp_path)
    assert not changed.cache_hit and changed.cache_path != first.cache_path
    assert changed.retrieve("official languages French English", k=1)[0].text == "Canada\nFrench and English are the official languages."
    other_model = FaissRetriever.build_or_load(small_passages, HashingEncoder(dim=256), tmp_path)
    assert not other_model.cache_hit and other_model.cache_path != first.cache_path
    assert FaissRetriever.build_or_load(small_passages, encoder, tmp_path).cache_hit  # the first entry is intact


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage_same_size", "drop_meta"])
def test_a_damaged_cache_entry_is_rebuilt(small_passages, tmp_path, damage):
    encoder = CountingEncoder()
    first = FaissRetriever.build_or_load(small_passages, encoder, tmp_path)
    index_file = first.cache_path / "index.faiss"
    data = index_file.read_bytes()
    if damage == "truncate":
        index_file.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        index_file.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    elif damage == "garbage_same_size":
        index_file.write_bytes(b"\0" * len(data))
    else:
        (first.cache_path / "meta.json").unlink()
    rebuilt = FaissRetriever.build_or_load(small_passages, encoder, tmp_path)
    assert not rebuilt.cache_hit and encoder.texts_encoded == 2 * len(small_passages)
    assert index_file.read_bytes() == data  # the entry on disk is whole again
    assert FaissRetriever.build_or_load(small_passages, encoder, tmp_path).cache_hit


def test_unreadable_index_with_matching_meta_is_rebuilt(small_passages, tmp_path):
    # Same size and a checksum that matches, but not a FAISS file: read_index fails, and we rebuild.
    encoder = CountingEncoder()
    first = FaissRetriever.build_or_load(small_passages, encoder, tmp_path)
    index_file = first.cache_path / "index.faiss"
    index_file.write_bytes(b"\0" * index_file.stat().st_size)
    FaissRetriever.build_or_load(small_passages, encoder, tmp_path, verify_checksums=False)
    assert encoder.texts_encoded == 2 * len(small_passages)


@pytest.mark.real_model
def test_flat_index_equals_numpy_on_minilm_vectors(small_passages, minilm):
    vectors = minilm.encode([passage_text(p) for p in small_passages])
    queries = minilm.encode(["What is the capital of Peru?", "Which river flows to the Mediterranean?",
                             "Where do kangaroos live?", "Who grows the most coffee?"])
    scores, rows = build_index(vectors, kind="flat").search(queries, 5)
    want_scores, want_rows = numpy_top_k(vectors, queries, 5)
    np.testing.assert_array_equal(rows, want_rows)
    np.testing.assert_allclose(scores, want_scores, atol=1e-5)


def test_windows_cover_long_passages_with_the_title_in_front():
    from kqa.retrievers.faiss_retriever import passage_windows

    long = Passage(id="pe/economy/1", title="Peru", section="Economy", text=" ".join(f"w{i}" for i in range(250)))
    short = Passage(id="pe/economy/2", title="Peru", section="Economy", text="Fishing and mining.")
    keys, texts, owner = passage_windows([long, short], window_words=120, window_stride=90)
    assert keys == ["pe/economy/1#0", "pe/economy/1#1", "pe/economy/1#2", "pe/economy/2#0"]
    assert owner.tolist() == [0, 0, 0, 1]
    assert texts[0] == "Peru\n" + " ".join(f"w{i}" for i in range(120))
    assert texts[2].endswith("w249") and texts[2].startswith("Peru\nw180 ")
    assert texts[3] == "Peru\nFishing and mining."
    assert passage_windows([long], window_words=None)[1] == ["Peru\n" + long.text]


def test_a_passage_scores_its_best_window(hashing_encoder):
    # The oracle: embed every window, score them all with numpy, take each passage's maximum.
    from kqa.retrievers.faiss_retriever import passage_windows

    rng = np.random.default_rng(5)
    vocabulary = [f"v{i}" for i in range(300)]
    passages = [Passage(id=f"p/{i}", title=f"T{i % 7}", section="", text=" ".join(rng.choice(vocabulary, 60 + 7 * i)))
                for i in range(30)]
    retriever = FaissRetriever.build(passages, hashing_encoder, window_words=40, window_stride=25)
    assert len(retriever.owner) > len(passages)
    _, texts, owner = passage_windows(passages, window_words=40, window_stride=25)
    questions = [" ".join(rng.choice(vocabulary, 6)) for _ in range(10)]
    window_scores = hashing_encoder.encode(questions) @ hashing_encoder.encode(texts).T  # (q, windows)
    for got, row_scores in zip(retriever.retrieve_many(questions, k=8), window_scores):
        best = np.full(len(passages), -np.inf)
        np.maximum.at(best, owner, row_scores)
        assert len(got) == 8 and len({e.id for e in got}) == 8
        np.testing.assert_allclose([e.score for e in got], np.sort(best)[::-1][:8], atol=1e-5)
        np.testing.assert_allclose([best[int(e.id.split("/")[1])] for e in got], [e.score for e in got], atol=1e-5)
    assert len(retriever.retrieve(questions[0], k=100)) == len(passages)


class PaddingModel:
    """A stand-in for a sentence-transformers model whose vectors depend on the batch, as padding makes real
    ones differ in the last bits: each text's vector is shifted by the length of the longest text beside it."""

    def __init__(self, dim: int = 32):
        self.hashing = HashingEncoder(dim=dim)
        self.dim = dim
        self.calls = 0

    def get_sentence_embedding_dimension(self) -> int:
        return self.dim

    def encode(self, texts, **kwargs):
        self.calls += 1
        return self.hashing.encode(texts) + max(len(t) for t in texts) / 1000


def _texts(n: int) -> list[str]:
    rng = np.random.default_rng(7)
    return [" ".join(rng.choice(list("abcdefgh"), int(rng.integers(1, 30)))) for _ in range(n)]


@pytest.mark.parametrize("chunk", [16, 40, 1000])
def test_resumable_encoding_equals_one_encode_call(tmp_path, chunk):
    from kqa.models.embedder import SentenceEncoder
    from kqa.retrievers.faiss_retriever import encode_resumable

    texts = _texts(300)
    encoder = SentenceEncoder(PaddingModel(), model_id="padding", batch_size=8)
    whole = encoder.encode(texts, batch_size=8)
    chunked = encode_resumable(encoder, texts, tmp_path / ".partial", key={"k": 1}, batch_size=8, chunk=chunk)
    assert np.array_equal(chunked, whole)  # the same batches, so the same bits
    # 40 is rounded down to 40 (5 batches of 8): 8 chunks saved; 1000 holds every text: one call, nothing saved
    parts = sorted(p.name for p in (tmp_path / ".partial").glob("part-*.npy")) if chunk < 300 else []
    assert len(parts) == {16: 19, 40: 8, 1000: 0}[chunk]


class StoppingEncoder(HashingEncoder):
    """Embeds ``stop_after`` calls' worth of texts, then fails, as a build killed by a time limit would."""

    def __init__(self, stop_after: int | None = None):
        super().__init__(dim=64, model_id="stopping")
        self.stop_after, self.calls, self.texts_encoded = stop_after, 0, 0

    def encode(self, texts, *, batch_size=16, show_progress=False):
        if self.stop_after is not None and self.calls >= self.stop_after:
            raise KeyboardInterrupt
        self.calls += 1
        self.texts_encoded += len(texts)
        return super().encode(texts)


def test_a_stopped_build_resumes_where_it_left_off(tmp_path, monkeypatch):
    from kqa.retrievers import faiss_retriever

    monkeypatch.setattr(faiss_retriever, "RESUME_CHUNK", 64)
    passages = [Passage(id=f"p/{i}", title="", section="", text=t) for i, t in enumerate(_texts(300))]
    with pytest.raises(KeyboardInterrupt):
        FaissRetriever.build_or_load(passages, StoppingEncoder(stop_after=3), tmp_path, batch_size=16)
    (partial,) = [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
    assert len(list(partial.glob("part-*.npy"))) == 3

    resumed_encoder = StoppingEncoder()
    resumed = FaissRetriever.build_or_load(passages, resumed_encoder, tmp_path, batch_size=16)
    assert resumed_encoder.texts_encoded == 300 - 3 * 64  # only the chunks not saved
    assert not partial.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]

    fresh = FaissRetriever.build_or_load(passages, StoppingEncoder(), tmp_path / "fresh", batch_size=16)
    vectors = lambda r: r.index.reconstruct_n(0, r.index.ntotal)  # noqa: E731
    assert np.array_equal(vectors(resumed), vectors(fresh))


def test_saved_chunks_of_another_corpus_are_not_reused(tmp_path):
    from kqa.retrievers.faiss_retriever import encode_resumable

    texts = _texts(100)
    partial = tmp_path / ".partial"
    encode_resumable(StoppingEncoder(), texts, partial, key={"corpus": "a"}, batch_size=10, chunk=20)
    again = StoppingEncoder()
    encode_resumable(again, texts, partial, key={"corpus": "a"}, batch_size=10, chunk=20)
    assert again.texts_encoded == 0  # every chunk was read back
    other = StoppingEncoder()
    other_texts = [t + " z" for t in texts]
    out = encode_resumable(other, other_texts, partial, key={"corpus": "b"}, batch_size=10, chunk=20)
    assert other.texts_encoded == 100 and np.array_equal(out, HashingEncoder(dim=64).encode(other_texts))
