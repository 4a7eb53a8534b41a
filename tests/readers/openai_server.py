"""A small OpenAI-compatible completions server for tests: stdlib ``http.server`` in front of a
``TransformersLM``, on 127.0.0.1. It speaks the parts of ``POST /v1/completions`` that ``OpenAICompatibleLM``
uses (prompt, max_tokens, stop, temperature, seed, logprobs, echo), so the client is tested over real HTTP
against a real model without compiling a C++ server.

Run by hand: ``python -m tests.readers.openai_server CACHE_DIR PORT``.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _prompt_logprobs(lm, prompt: str) -> dict[str, list]:
    """Per-token log-probabilities of ``prompt`` itself (the first token has none), with text offsets."""
    import torch

    enc = lm.tokenizer(prompt, return_offsets_mapping=True)
    ids = enc["input_ids"]
    with torch.inference_mode():
        logits = lm.model(input_ids=torch.tensor([ids])).logits[0].float()
    logprobs = torch.log_softmax(logits, dim=-1)
    values: list[float | None] = [None] + [float(logprobs[i - 1, ids[i]]) for i in range(1, len(ids))]
    tokens = [prompt[a:b] for a, b in enc["offset_mapping"]]
    return {"tokens": tokens, "token_logprobs": values, "text_offset": [a for a, _ in enc["offset_mapping"]]}


def make_handler(lm, lock: threading.Lock):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": lm.model_id, "object": "model"}]})
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/v1/completions":
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            prompt = body["prompt"]
            if not isinstance(prompt, str):
                self._send(400, {"error": {"message": "this server takes one prompt per request"}})
                return
            max_tokens = int(body.get("max_tokens", 16))
            with lock:  # one model, one request at a time
                if body.get("echo"):  # scoring: the prompt's own log-probabilities (no new tokens, unlike a real server)
                    choice = {"text": prompt, "finish_reason": "length", "logprobs": _prompt_logprobs(lm, prompt)}
                else:
                    stop = body.get("stop") or []
                    [g] = lm.generate([prompt], max_new_tokens=max_tokens, stop=[stop] if isinstance(stop, str) else stop,
                                      temperature=float(body.get("temperature", 1.0)), seed=body.get("seed"))
                    choice = {"text": g.text, "finish_reason": g.finish_reason,
                              "logprobs": {"token_logprobs": list(g.token_logprobs or ())} if body.get("logprobs") else None}
            self._send(200, {"object": "text_completion", "model": lm.model_id, "choices": [{"index": 0, **choice}]})

    return Handler


def serve(lm, port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Start serving ``lm`` in a daemon thread; returns the server and its base URL (``.../v1``)."""
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(lm, threading.Lock()))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"


if __name__ == "__main__":
    import sys
    from pathlib import Path

    from kqa.models.transformers_lm import TransformersLM

    server, url = serve(TransformersLM(cache_dir=Path(sys.argv[1])), int(sys.argv[2]))
    print("serving on", url)
    threading.Event().wait()
