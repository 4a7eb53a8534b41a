"""Weight-only int8 (``kqa.models.int8_linear``, ``--dtype int8-head`` / ``int8``): an int8 linear layer against
the layer it replaces, which layers each variant replaces in a small random Gemma 3, the error where torch lacks
the kernel, and the real model generating with it."""

from __future__ import annotations

import pytest
import torch

from kqa.kb.errors import KqaError
from kqa.models import int8_linear
from kqa.models.int8_linear import Int8Linear, quantize_linears, quantize_rows, top_indices


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_an_int8_linear_computes_what_its_linear_computes_within_half_a_step_a_weight(dtype):
    torch.manual_seed(0)
    linear = torch.nn.Linear(96, 40, bias=True).to(dtype)
    x = torch.randn(3, 5, 96, dtype=dtype)
    int8 = Int8Linear(linear)
    assert int8.weight_int8.dtype == torch.int8 and int8.scales.shape == (40,)
    with torch.no_grad():
        got, want = int8(x).float(), linear(x).float()
    assert got.shape == want.shape == (3, 5, 40) and int8(x).dtype == dtype
    # each weight moved by at most half its row's step; bfloat16 adds its own rounding of the sum (2^-8 relative)
    bound = (int8.scales.float() / 2) * x.float().abs().sum(-1, keepdim=True)
    slack = 2 ** -7 * want.abs() + (0.05 if dtype == torch.bfloat16 else 1e-4)
    assert ((got - want).abs() <= bound + slack).all()
    assert not torch.equal(got, want)  # it is int8 arithmetic, not the linear layer itself


def test_the_output_layer_recomputes_its_best_outputs_exactly():
    """With ``rescore``, each row's highest int8 outputs are replaced by the linear layer's own, so the argmax
    (greedy decoding's token) is the unquantized layer's; the other outputs stay int8's."""
    torch.manual_seed(1)
    linear = torch.nn.Linear(64, 500, bias=False).to(torch.bfloat16)
    x = torch.randn(4, 3, 64, dtype=torch.bfloat16)
    with torch.no_grad():
        want = linear(x).float()
        plain, exact = Int8Linear(linear)(x).float(), Int8Linear(linear, rescore=8)(x).float()
    top = plain.topk(8, dim=-1).indices  # int8's shortlist, recomputed
    assert torch.allclose(exact.gather(-1, top), want.gather(-1, top), rtol=2 ** -7, atol=1e-3)
    assert torch.equal(exact.argmax(-1), want.argmax(-1))
    rest = torch.ones_like(exact, dtype=torch.bool).scatter_(-1, top, False)
    assert torch.equal(exact[rest], plain[rest]) and not torch.equal(plain, want)
    assert Int8Linear(linear, rescore=8).exact.data_ptr() == linear.weight.data_ptr()  # shared, not copied


@pytest.mark.parametrize("width, block", [(8192, 256), (4096, 64), (1000, 256), (512, 256)])
def test_the_blockwise_top_k_finds_the_same_best_outputs_as_a_full_top_k(width, block):
    """Blocks that divide the row (and are at least k of them) or a plain top-k otherwise: the same sets, including
    rows whose best values crowd into one block."""
    torch.manual_seed(2)
    y = torch.randn(6, width)
    y[1, 7:23] += 10  # row 1: its 16 best in the first block
    y[2, -16:] += 10  # row 2: in the last
    want = y.topk(16, dim=-1).indices.sort(dim=-1).values
    got = top_indices(y, 16, block=block).sort(dim=-1).values
    assert torch.equal(got, want)
    assert torch.equal(got[1], torch.arange(7, 23))


def test_quantized_rows_use_the_whole_int8_range_and_survive_a_zero_row():
    weight = torch.tensor([[0.5, -1.0, 0.25], [0.0, 0.0, 0.0]])
    q, scales = quantize_rows(weight, torch.float32, rows=1)  # a row at a time: the chunks must not matter
    assert q[0].tolist() == [64, -127, 32] and q[1].tolist() == [0, 0, 0]
    assert torch.allclose(q.float() * scales[:, None], weight, atol=1 / 254)


def _tiny_gemma():
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    config = Gemma3TextConfig(vocab_size=300, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                              num_attention_heads=2, num_key_value_heads=1, head_dim=32, sliding_window=16,
                              tie_word_embeddings=True)
    return Gemma3ForCausalLM(config).to(torch.bfloat16).eval()


@pytest.mark.parametrize("scope, linears", [("head", 0), ("mlp", 2 * 3), ("all", 2 * 7)])
def test_head_quantizes_the_output_layer_only_mlp_the_feed_forward_layers_too_and_all_every_linear_layer(scope,
                                                                                                     linears):
    model = _tiny_gemma()
    embedding = model.get_input_embeddings().weight.clone()
    ids = torch.tensor([[2, 17, 45, 99, 7]])
    with torch.no_grad():
        before = model(input_ids=ids).logits.float()
    assert quantize_linears(model, scope) == 1 + linears
    assert isinstance(model.lm_head, Int8Linear)
    assert torch.equal(model.get_input_embeddings().weight, embedding)  # the tied lookup keeps its weights
    left = {name.rsplit(".", 1)[-1] for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    attention, feed_forward = {"q_proj", "k_proj", "v_proj", "o_proj"}, {"gate_proj", "up_proj", "down_proj"}
    assert left == {"head": attention | feed_forward, "mlp": attention, "all": set()}[scope]
    with torch.no_grad():
        after = model(input_ids=ids).logits.float()
    assert (after - before).abs().max() < 0.1 * before.abs().max()
    if scope == "head":  # the output layer's best logits are recomputed exactly: the same greedy tokens
        assert torch.equal(after.argmax(-1), before.argmax(-1))
    else:
        assert (after.argmax(-1) == before.argmax(-1)).float().mean() >= 0.8


def test_a_torch_without_the_kernel_is_a_clear_error(monkeypatch):
    model = _tiny_gemma()
    monkeypatch.delattr(torch, "_weight_int8pack_mm")
    with pytest.raises(KqaError, match=r"no weight-only int8 kernel.*--dtype bfloat16 or float32"):
        quantize_linears(model, "head")


def test_a_kernel_that_fails_on_this_cpu_is_a_clear_error(monkeypatch):
    def broken(*args):
        raise RuntimeError("no kernel for this CPU")

    monkeypatch.setattr(torch, "_weight_int8pack_mm", broken)
    assert "no kernel for this CPU" in int8_linear.int8_kernel_error(torch.bfloat16)
    with pytest.raises(KqaError, match="fails on this machine"):
        quantize_linears(_tiny_gemma(), "all")


@pytest.mark.real_model
@pytest.mark.parametrize("dtype", ["int8-head", "int8-mlp", "int8"])
def test_the_real_model_generates_greedily_with_int8_weights(dtype, gemma_lm, model_cache):
    """The int8 variants load from the same converted cache and answer as the model does: the reading prompt's
    answer, and a continuation's log-probability near the unquantized model's."""
    from kqa.models.transformers_lm import TransformersLM
    from kqa.readers.prompts import reading_prompt

    lm = TransformersLM("gemma-3-270m", cache_dir=model_cache, dtype=dtype)
    assert lm.dtype == dtype and lm.loaded_from == "cache" and isinstance(lm.model.lm_head, Int8Linear)
    assert lm.activation_dtype == gemma_lm.activation_dtype
    prompt = reading_prompt(lm, "What is the capital of Peru?", ["Peru - Capital: name: Lima"])
    [one] = lm.generate([prompt], max_new_tokens=8, stop=["\n"])
    assert one.text.strip() == "Lima" and len(one.token_logprobs) >= 1
    batch = lm.generate([prompt, prompt], max_new_tokens=8, stop=["\n"])
    assert [g.text for g in batch] == [one.text] * 2
    context = "The three primary colours are red, yellow and"
    assert lm.loglikelihood(context, [" blue"])[0] == pytest.approx(gemma_lm.loglikelihood(context, [" blue"])[0],
                                                                     abs=0.5)


@pytest.mark.real_model
def test_int8_generation_does_not_depend_on_the_batch(model_cache):
    """In bfloat16 a batch and its prompts one at a time write the same text with the same log-probabilities
    (fixed passes, TransformersLM.chunk_tokens); the int8 kernel must keep that: rows of one length in a batch."""
    from kqa.models.transformers_lm import TransformersLM

    lm = TransformersLM("gemma-3-270m", cache_dir=model_cache, dtype="int8")
    prompts = [f"Count on: {a}, {a + 1}, {a + 2}," for a in (11, 23, 47)]
    assert len({len(lm.tokenizer(p).input_ids) for p in prompts}) == 1  # one batch of three rows
    batch = lm.generate(prompts, max_new_tokens=6, stop=())
    alone = [lm.generate([p], max_new_tokens=6, stop=())[0] for p in prompts]
    assert [g.text for g in batch] == [g.text for g in alone]
    assert [g.token_logprobs for g in batch] == [g.token_logprobs for g in alone]
