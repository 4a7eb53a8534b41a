"""``OpenAICompatibleLM``: a ``LanguageModel`` served over HTTP by an OpenAI-compatible completions server
(vLLM, TGI, llama.cpp's server, llama-cpp-python), for models too big for this machine.

Plain ``urllib`` against ``POST {base_url}/completions``, one request per prompt and sample, sent from a
small thread pool so the server can batch them (``max_concurrency=1`` for llama-cpp-python's server, which runs
one request at a time and whose per-request ``seed`` is reproducible only when requests do not overlap). ``loglikelihood`` asks the server to echo the prompt with
``logprobs`` (vLLM and llama-cpp-python with ``logits_all`` do; llama.cpp's own server does not): a server that cannot raises ``KqaError`` saying so. No chat endpoint: an instruct model's chat
template can be given as ``chat_template`` (Jinja, as in a tokenizer config) and is rendered here.

Example::

    lm = OpenAICompatibleLM(base_url="http://127.0.0.1:8000/v1", model="gemma-3-270m")
    lm.generate(["Question: Capital of Peru?\\nAnswer:"], max_new_tokens=8, stop=["\\n"])[0].text
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kqa.kb.errors import KqaError
from kqa.models.lm import Generation, truncate_at_stop


class OpenAICompatibleLM:
    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        max_concurrency: int = 8,
        chat_template: str | None = None,
        bos_token: str = "",
        eos_token: str = "",
    ):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.model_id = model
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.max_concurrency = max_concurrency
        self.chat_template = chat_template
        self.is_chat = chat_template is not None
        self._special = {"bos_token": bos_token, "eos_token": eos_token}

    def __repr__(self) -> str:
        return f"OpenAICompatibleLM(base_url={self.base_url!r}, model={self.model!r})"

    def _post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(f"{self.base_url}{path}", data=json.dumps(body).encode(), headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:500]
            raise KqaError(f"{self.base_url}{path} answered {error.code}: {detail}") from error
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            raise KqaError(f"cannot reach the model server at {self.base_url} ({error}); is it running?") from error

    def render_chat(self, messages: Sequence[Mapping[str, str]]) -> str:
        if self.chat_template is None:
            raise KqaError(f"{self.model} has no chat template here; pass chat_template= to OpenAICompatibleLM")
        import jinja2

        template = jinja2.Environment(trim_blocks=True, lstrip_blocks=True).from_string(self.chat_template)
        return template.render(messages=[dict(m) for m in messages], add_generation_prompt=True, **self._special)

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
        jobs = [(p, None if seed is None else seed + j) for p in prompts for j in range(num_samples)]
        if not jobs:
            return []

        def one(job: tuple[str, int | None]) -> Generation:
            prompt, job_seed = job
            body: dict[str, Any] = {"model": self.model, "prompt": prompt, "max_tokens": max_new_tokens,
                                    "temperature": temperature, "logprobs": 1}
            if stop:
                body["stop"] = list(stop)
            if job_seed is not None:
                body["seed"] = job_seed
            choice = self._post("/completions", body)["choices"][0]
            # Servers cut at a stop string already; cutting again costs nothing and covers those that don't.
            raw = choice.get("text", "")
            text, stopped = truncate_at_stop(raw, stop)
            logprobs = (choice.get("logprobs") or {}).get("token_logprobs")
            if logprobs is not None:
                tokens = choice["logprobs"].get("tokens")
                cut = text != raw and tokens  # the server left a stop string in: keep the tokens before it
                logprobs = tuple(_covering(tokens, logprobs, len(text)) if cut else (float(v or 0.0) for v in logprobs))
            reason = "stop" if stopped or choice.get("finish_reason") == "stop" else "length"
            return Generation(text=text, token_logprobs=logprobs, finish_reason=reason)

        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(jobs))) as pool:
            return list(pool.map(one, jobs))

    def loglikelihood(self, context: str, continuations: Sequence[str]) -> list[float]:
        def one(continuation: str) -> float:
            # max_tokens=1, not 0: llama-cpp-python reads 0 as "no limit". The one new token is ignored below.
            body = {"model": self.model, "prompt": context + continuation, "max_tokens": 1, "echo": True,
                    "logprobs": 1, "temperature": 0.0}
            choice = self._post("/completions", body)["choices"][0]
            logprobs = choice.get("logprobs") or {}
            offsets, values = logprobs.get("text_offset"), logprobs.get("token_logprobs")
            if not offsets or not values or len(values) < 2:
                raise KqaError(f"the server at {self.base_url} does not return prompt log-probabilities "
                               "(echo + logprobs); use vLLM, or llama-cpp-python's server with --logits_all true")
            # The tokens that start at or after the context's end, and before the echo's end, are the continuation.
            end = len(context) + len(continuation)
            return float(sum(v for off, v in zip(offsets, values) if len(context) <= off < end and v is not None))

        if not continuations:
            return []
        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(continuations))) as pool:
            return list(pool.map(one, continuations))


def _covering(tokens: Sequence[str], logprobs: Sequence[float | None], length: int) -> list[float]:
    """The log-probabilities of the tokens that make up the first ``length`` characters of the text."""
    out, seen = [], 0
    for token, value in zip(tokens, logprobs):
        if seen >= length:
            break
        out.append(float(value) if value is not None else 0.0)
        seen += len(token)
    return out
