"""Choosing where the language model runs (``--runtime``, ``Options.runtime``): the OpenAI-compatible path end
to end through ``kqa ask`` against the stdlib completions server (tests/readers/openai_server.py) serving a
scripted model, and the mistakes a user can make with it."""

from __future__ import annotations

import pytest

from kqa.apps import cli
from kqa.apps.wiring import BackendPool, Options
from tests.readers.conftest import ScriptedLM
from tests.readers.openai_server import serve


@pytest.fixture
def server():
    lm = ScriptedLM({"capital of Peru": " Lima\n", "Hamlet": " William Shakespeare\n"})
    lm.model_id = "served-model"
    httpd, url = serve(lm)
    yield lm, url
    httpd.shutdown()
    httpd.server_close()


def test_ask_with_the_openai_runtime_answers_from_the_server(server, tmp_path, capsys):
    lm, url = server
    code = cli.main(["ask", "What is the capital of Peru?", "--backends", "closed_book", "--runtime", "openai",
                     "--base-url", url, "--model", "served-model", "--pack", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0 and "Lima" in out
    assert len(lm.prompts) == 1 and lm.prompts[0][0].endswith("Question: What is the capital of Peru?\nAnswer:")


def test_the_pool_loads_one_model_per_runtime(server, tmp_path):
    _, url = server
    pool = BackendPool(Options(pack=tmp_path, model_cache=tmp_path, runtime="openai", base_url=url))
    served = pool.get("closed_book")
    assert served.answer("Who wrote Hamlet?").text == "William Shakespeare"
    assert served.lm.model_id == "gemma-3-270m"  # the name the server is asked for; it may serve any model
    assert pool.get("closed_book", mode="cot").lm is served.lm  # one client shared by every LM backend
    assert pool.get("closed_book", base_url=url + "/").lm is not served.lm


@pytest.mark.parametrize("args, says", [
    (["--runtime", "openai"], "--base-url"),
    (["--runtime", "openai", "--base-url", "http://127.0.0.1:9/v1", "--api-key-env", "KQA_TEST_NO_SUCH_KEY"],
     "KQA_TEST_NO_SUCH_KEY"),
])
def test_runtime_mistakes_are_one_clear_line(args, says, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("KQA_TEST_NO_SUCH_KEY", raising=False)
    code = cli.main(["ask", "What is the capital of Peru?", "--backends", "closed_book", "--pack", str(tmp_path),
                     *args])
    err = capsys.readouterr().err
    assert code == 2 and says in err and "Traceback" not in err


def test_the_runtime_flag_is_on_ask_eval_and_serve():
    parser = cli.build_parser()
    for command in (["ask", "q"], ["eval"], ["serve"]):
        args = parser.parse_args([*command, "--runtime", "llamacpp", "--base-url", "http://x/v1", "--api-key-env", "K"])
        assert (args.runtime, args.base_url, args.api_key_env) == ("llamacpp", "http://x/v1", "K")
    with pytest.raises(SystemExit):
        parser.parse_args(["ask", "q", "--runtime", "onnx"])


def test_the_dtype_flag_reaches_the_options_and_picks_its_own_model(monkeypatch, tmp_path):
    parser = cli.build_parser()
    for command in (["ask", "q"], ["eval"], ["serve"]):
        assert parser.parse_args([*command, "--dtype", "float32"]).dtype == "float32"
        assert parser.parse_args(command).dtype == Options.dtype
    with pytest.raises(SystemExit):
        parser.parse_args(["ask", "q", "--dtype", "float16"])
    made = []
    import kqa.apps.wiring as wiring

    monkeypatch.setattr(wiring, "load_lm", lambda options: made.append(options.dtype) or ScriptedLM())
    pool = BackendPool(Options(pack=tmp_path, model_cache=tmp_path))
    assert pool.lm(dtype="float32") is pool.lm(dtype="float32")
    assert pool.lm(dtype="bfloat16") is not pool.lm(dtype="float32")
    assert pool.lm(dtype="int8-head") is not pool.lm(dtype="int8") is not pool.lm(dtype="bfloat16")
    assert made == ["float32", "bfloat16", "int8-head", "int8"]
    assert parser.parse_args(["eval", "--dtype", "int8-head"]).dtype == "int8-head"


@pytest.mark.parametrize("native, kernel, expected, computes", [
    (True, None, "int8-mlp", "bfloat16"), (True, "no kernel", "bfloat16", "bfloat16"),
    (False, None, "float32", "float32"),
])
def test_auto_dtype_is_int8_mlp_where_the_cpu_multiplies_bfloat16_and_runs_the_int8_kernel(
        native, kernel, expected, computes, monkeypatch):
    from kqa.kb.errors import KqaError
    from kqa.models import embedder, int8_linear, transformers_lm

    monkeypatch.setattr(embedder, "native_bf16", lambda: native)
    monkeypatch.setattr(int8_linear, "int8_kernel_error", lambda dtype: kernel)
    assert transformers_lm.resolve_dtype("auto") == expected
    assert transformers_lm.resolve_dtype("float32") == "float32"
    # int8 variants keep their name; the rest of the model and the activations are in bfloat16 where it is native
    assert transformers_lm.resolve_dtype("int8") == "int8"
    assert transformers_lm.activation_dtype("int8-head") == transformers_lm.activation_dtype("int8-mlp") == computes
    assert transformers_lm.activation_dtype("float32") == "float32"
    with pytest.raises(KqaError, match="float32"):
        transformers_lm.resolve_dtype("half")
