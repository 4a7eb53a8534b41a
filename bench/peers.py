"""The peers the benchmark runs beside kqa, on the same corpus, model and questions: what a user would pick
instead of writing kqa's parts.

- Haystack 2.x: sentence-transformers embedders, ``InMemoryDocumentStore`` and ``InMemoryEmbeddingRetriever``,
  with the same MiniLM folder and the same passage text (title, newline, text) as kqa's dense retriever;
- pyoxigraph: the graph backend's SPARQL templates with the same bindings, in Oxigraph's in-memory store;
- numpy: brute-force inner product, the oracle and the peer of a FAISS flat index;
- llama.cpp (``llama-cpp-python``): the same GGUF file decoded by its own high-level API.

Each peer is optional: ``available(name)`` says whether its package is installed, and the benchmark reports
"not installed" with the ``pip install`` line instead of failing. Nothing here answers questions.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

INSTALL = {
    "haystack": "pip install 'haystack-ai>=2.20,<3'",
    "pyoxigraph": "pip install pyoxigraph",
    "llama_cpp": "pip install llama-cpp-python  (compiles llama.cpp: several minutes on two cores)",
}


def available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


# ---------------------------------------------------------------------------------------------- Haystack


def _haystack_quiet() -> None:
    os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")  # no usage reports from a benchmark
    # Haystack 2.x says its sentence-transformers components move to a separate package in 3.0; we pin < 3
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"haystack\.")


def haystack_documents(texts: Sequence[str], vectors: np.ndarray | None = None, *,
                       passage_ids: Sequence[str] | None = None) -> list[Any]:
    """Haystack Documents for kqa's embedded texts ("title\\nwords"): the title goes to ``meta`` and Haystack's
    embedder puts it back in front with the same newline, so both embed the same string."""
    _haystack_quiet()
    from haystack import Document

    documents = []
    for i, text in enumerate(texts):
        title, _, content = text.partition("\n") if "\n" in text else ("", "", text)
        meta = {"title": title} if title else {}
        if passage_ids is not None:
            meta["passage"] = passage_ids[i]
        documents.append(Document(id=str(i), content=content, meta=meta,
                                  embedding=None if vectors is None else vectors[i].tolist()))
    return documents


def haystack_document_embedder(model_path: Path, *, batch_size: int = 32) -> Any:
    """Haystack's document embedder over the local MiniLM folder, warmed up (model loaded)."""
    _haystack_quiet()
    from haystack.components.embedders import SentenceTransformersDocumentEmbedder

    embedder = SentenceTransformersDocumentEmbedder(
        model=str(model_path), local_files_only=True, normalize_embeddings=True, meta_fields_to_embed=["title"],
        embedding_separator="\n", progress_bar=False, batch_size=batch_size)
    embedder.warm_up()
    return embedder


class HaystackDenseRetriever:
    """Haystack's text embedder and in-memory embedding retriever in a ``Pipeline``, over the same vectors
    (passage windows) kqa indexes. A passage ranks by its best window, as in kqa: the top ``4 k`` windows are
    retrieved and the first ``k`` distinct passages kept."""

    name = "haystack"

    def __init__(self, documents: Sequence[Any], model_path: Path):
        _haystack_quiet()
        from haystack import Pipeline
        from haystack.components.embedders import SentenceTransformersTextEmbedder
        from haystack.components.retrievers.in_memory import InMemoryEmbeddingRetriever
        from haystack.document_stores.in_memory import InMemoryDocumentStore

        # dot product over L2-normalised vectors is cosine, as in kqa's FAISS inner-product index
        self.store = InMemoryDocumentStore(embedding_similarity_function="dot_product")
        self.store.write_documents(list(documents))
        self.pipeline = Pipeline()
        self.pipeline.add_component("embedder", SentenceTransformersTextEmbedder(
            model=str(model_path), local_files_only=True, normalize_embeddings=True, progress_bar=False))
        self.pipeline.add_component("retriever", InMemoryEmbeddingRetriever(self.store, top_k=5))
        self.pipeline.connect("embedder.embedding", "retriever.query_embedding")
        self.pipeline.warm_up()

    def retrieve_ids(self, question: str, k: int = 5) -> list[str]:
        out = self.pipeline.run({"embedder": {"text": question}, "retriever": {"top_k": 4 * k}})
        ids = dict.fromkeys("passage:" + d.meta["passage"] for d in out["retriever"]["documents"])
        return list(ids)[:k]


# ---------------------------------------------------------------------------------------------- pyoxigraph


class OxigraphStore:
    """An in-memory Oxigraph store loaded from the pack's Turtle file; runs kqa's templates with bindings
    passed as a VALUES block (what rdflib's ``initBindings`` means)."""

    def __init__(self, graph_path: Path, prefixes: Mapping[str, str]):
        import pyoxigraph as ox

        self._ox = ox
        self.store = ox.Store()
        self.store.load(path=str(graph_path), format=ox.RdfFormat.TURTLE)
        self.prefixes = dict(prefixes)

    def __len__(self) -> int:
        return len(self.store)

    def query(self, sparql: str, bindings: Mapping[str, Any]) -> int:
        """Run the template; the number of rows (1 for ASK), read to the end as rdflib's rows are."""
        from kqa.kb.stores import with_values

        ox = self._ox
        # the bindings as kqa's own Oxigraph store sends them: a VALUES block (Oxigraph's substitutions refuse
        # a bound variable the SELECT does not project, as the graph engine's templates now have)
        text = with_values(sparql, bindings) if bindings else sparql
        result = self.store.query(text, prefixes=self.prefixes)
        if isinstance(result, ox.QueryBoolean):
            return 1
        return sum(1 for _ in result)



# ---------------------------------------------------------------------------------------------- numpy


def numpy_top_k(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Row ids of the ``k`` highest inner products per query: (q, k) int, best first. ``vectors`` (n, dim)."""
    scores = queries @ vectors.T  # (q, n)
    k = min(k, vectors.shape[0])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
    return np.take_along_axis(top, order, axis=1)


# ---------------------------------------------------------------------------------------------- llama.cpp


class LlamaCppCompletions:
    """llama-cpp-python's own completion API on a GGUF file: what a user of llama.cpp would call."""

    def __init__(self, gguf: Path, *, n_ctx: int = 2048, threads: int | None = None):
        from llama_cpp import Llama

        self.llm = Llama(model_path=str(gguf), n_ctx=n_ctx, n_threads=threads or os.cpu_count() or 1,
                         verbose=False)

    def complete(self, prompt: str, max_new_tokens: int) -> tuple[str, int, int]:
        """Greedy completion with no stop sequence: (text, prompt tokens, generated tokens)."""
        self.llm.reset()  # no prompt cache between calls: every call pays its prompt, as kqa's do
        out = self.llm.create_completion(prompt, max_tokens=max_new_tokens, temperature=0.0, top_k=1, stop=[])
        usage = out["usage"]
        return out["choices"][0]["text"], int(usage["prompt_tokens"]), int(usage["completion_tokens"])

    def prompt_tokens(self, prompt: str) -> int:
        return len(self.llm.tokenize(prompt.encode("utf-8"), add_bos=True))
