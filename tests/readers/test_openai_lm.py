"""OpenAICompatibleLM's requests and its errors, against small stdlib servers on 127.0.0.1. (The contract
tests run it against a server with a real model.)"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kqa.kb.errors import KqaError
from kqa.models.openai_lm import OpenAICompatibleLM
from tests.readers.conftest import _free_port


@pytest.fixture
def recording_server():
    """A completions server that records request bodies and answers without log-probabilities."""
    bodies = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            bodies.append((self.path, self.headers.get("Authorization"), body))
            if self.path.endswith("/broken"):
                self.send_response(500)
                self.end_headers()
                self.wfile.write(b"model crashed")
                return
            text = body["prompt"] if body.get("echo") else " Lima\nQuestion: more"
            data = json.dumps({"choices": [{"text": text, "finish_reason": "length"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", bodies
    server.shutdown()
    server.server_close()


def test_sends_completion_requests_and_cuts_at_stop(recording_server):
    url, bodies = recording_server
    lm = OpenAICompatibleLM(base_url=url + "/", model="m", api_key="secret")
    generations = lm.generate(["p1", "p2"], max_new_tokens=5, stop=["\n"], temperature=0.5, seed=3, num_samples=2)
    assert [g.text for g in generations] == [" Lima"] * 4
    assert all(g.token_logprobs is None and g.probability is None for g in generations)
    assert all(g.finish_reason == "stop" for g in generations)  # a stop string was found in the text
    paths = {path for path, _, _ in bodies}
    assert paths == {"/v1/completions"} and {auth for _, auth, _ in bodies} == {"Bearer secret"}
    sent = sorted((b["prompt"], b["seed"]) for _, _, b in bodies)
    assert sent == [("p1", 3), ("p1", 4), ("p2", 3), ("p2", 4)]  # one request per sample, seeds differ
    assert all(b["max_tokens"] == 5 and b["stop"] == ["\n"] and b["temperature"] == 0.5 for _, _, b in bodies)


def test_loglikelihood_needs_prompt_logprobs(recording_server):
    url, _ = recording_server
    with pytest.raises(KqaError, match="does not return prompt log-probabilities"):
        OpenAICompatibleLM(base_url=url, model="m").loglikelihood("ctx", [" a"])


def test_server_errors_and_unreachable_servers_are_clear(recording_server):
    url, _ = recording_server
    with pytest.raises(KqaError, match="answered 500: model crashed"):
        OpenAICompatibleLM(base_url=url, model="m")._post("/broken", {"prompt": "x"})
    with pytest.raises(KqaError, match="cannot reach the model server"):
        OpenAICompatibleLM(base_url=f"http://127.0.0.1:{_free_port()}/v1", model="m", timeout_s=2).generate(["x"])


def test_chat_template_is_rendered_client_side():
    template = ("{{ bos_token }}{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}"
                "{% if add_generation_prompt %}<assistant>{% endif %}")
    lm = OpenAICompatibleLM(base_url="http://127.0.0.1:1/v1", model="m", chat_template=template, bos_token="<s>")
    assert lm.is_chat
    assert lm.render_chat([{"role": "user", "content": "Hi"}]) == "<s><user>Hi\n<assistant>"
    with pytest.raises(KqaError, match="chat_template"):
        OpenAICompatibleLM(base_url="http://127.0.0.1:1/v1", model="m").render_chat([])
