"""``OnnxEncoder``: the bundled MiniLM run by ONNX Runtime instead of PyTorch, for a faster index build.

The model folder of a sentence-transformers package has no ONNX file, so the first use exports one from the
local weights (``torch.onnx.export``; needs the ``onnx`` package, never a download) and quantizes its weights
to int8 (ONNX Runtime's dynamic quantization), into ``cache_dir/<model>-onnx-<hash>/``, written to a temporary
folder and renamed like the language model's cache. Later starts load the file in a second. The encoder does
what the sentence-transformers pipeline of all-MiniLM-L6-v2 does (``modules.json``: the transformer, mean
pooling over the attention mask, L2 normalisation), at most ``max_seq_length`` tokens per text.

int8 vectors differ from float32 ones a little (a cosine of about 0.99), so an index built with them is keyed
by their own ``model_id``: the two never mix in one index. This file does not index or rank.

Example::

    encoder = load_onnx_embedder(cache_dir=Path("~/.cache/kqa/models").expanduser())
    encoder.encode(["What is the capital of Peru?"]).shape   # (1, 384)
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kqa.kb.errors import KqaError
from kqa.kb.progress import progress_task
from kqa.models.embedder import _progress

QUANTIZATIONS = ("int8", "fp32")
INSTALL_HINT = "pip install onnxruntime onnx (or pip install 'kqa[onnx]')"


def onnx_available() -> bool:
    """Whether ONNX Runtime and the ONNX exporter's package are installed."""
    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))


def _fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for name in ("model.safetensors", "config.json"):
        path = folder / name
        if path.exists():
            digest.update(f"{name}:{path.stat().st_size}".encode())
            with path.open("rb") as f:
                digest.update(f.read(1 << 20))  # the head of the weights: enough to tell two models apart
    return digest.hexdigest()[:16]


def export_onnx(model_dir: Path, cache_dir: Path) -> Path:
    """The folder holding ``model.onnx`` (float32) and ``model-int8.onnx`` for the transformer in ``model_dir``,
    exported on first use."""
    final = cache_dir / f"{model_dir.name}-onnx-{_fingerprint(model_dir)}"
    if (final / "kqa-cache.json").exists():
        return final
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=cache_dir))
    try:
        with progress_task(f"exporting {model_dir.name} to ONNX (once)"):
            _export(model_dir, tmp)
        (tmp / "kqa-cache.json").write_text(json.dumps({"source": str(model_dir)}, indent=2))
        try:
            os.rename(tmp, final)
        except OSError:  # another process got there first
            if not (final / "kqa-cache.json").exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _export(model_dir: Path, out: Path) -> None:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel, AutoTokenizer

    class Hidden(torch.nn.Module):  # positional inputs and one output, as the exporter wants them
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = Hidden(AutoModel.from_pretrained(model_dir).eval())
    sample = tokenizer(["a short text", "a somewhat longer text to export with"], padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]}
    with torch.inference_mode():
        torch.onnx.export(model, tuple(sample[n] for n in names), str(out / "model.onnx"), input_names=names,
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17, dynamo=False)
    quantize_dynamic(str(out / "model.onnx"), str(out / "model-int8.onnx"), weight_type=QuantType.QInt8)
    tokenizer.save_pretrained(out)


class OnnxEncoder:
    """The Encoder contract over an ONNX file: mean-pooled, L2-normalised (n, dim) float32 vectors."""

    def __init__(self, folder: Path, *, model_id: str, quantization: str = "int8", batch_size: int = 16,
                 max_seq_length: int = 256, threads: int | None = None):
        import onnxruntime as ort
        from transformers import AutoTokenizer

        if quantization not in QUANTIZATIONS:
            raise KqaError(f"unknown ONNX quantization {quantization!r}: use one of {', '.join(QUANTIZATIONS)}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        name = "model-int8.onnx" if quantization == "int8" else "model.onnx"
        self.session = ort.InferenceSession(str(folder / name), options, providers=["CPUExecutionProvider"])
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.dim = int(self.session.get_outputs()[0].shape[-1])
        self.model_id = model_id if quantization == "fp32" else f"{model_id}-{quantization}"
        self.precision = f"onnx-{quantization}"
        self.batch_size, self.max_seq_length = batch_size, max_seq_length

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None, show_progress: bool = False) -> np.ndarray:
        texts = list(texts)
        batch_size = batch_size or self.batch_size
        out = np.zeros((len(texts), self.dim), dtype=np.float32)  # (n, dim) float32, L2-normalised
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # similar lengths pad less
        with _progress(len(texts), "embedding passages", enabled=show_progress) as advance:
            for start in range(0, len(order), batch_size):
                batch = order[start:start + batch_size]
                enc = self.tokenizer([texts[i] for i in batch], padding=True, truncation=True,
                                     max_length=self.max_seq_length, return_tensors="np")
                feed = {k: v.astype(np.int64) for k, v in enc.items() if k in self.inputs}
                hidden = self.session.run(None, feed)[0]  # (batch, tokens, dim)
                mask = enc["attention_mask"][..., None].astype(np.float32)
                vectors = (hidden * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
                out[batch] = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
                advance(len(batch))
        return out

    def __repr__(self) -> str:
        return f"OnnxEncoder({self.model_id!r}, dim={self.dim})"
