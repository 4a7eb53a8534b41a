"""Wire backends from a pack and options: the one place that knows which classes make which backend.

Everything that shows or scores answers asks a ``BackendPool`` for backends by name and then talks to the
``Backend`` protocol only. The pool loads each backend once and shares what backends have in common (the
language model, the embedder), so that ``dense`` and ``closed_book`` hold one copy of the model.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kqa.kb.errors import KqaError
from kqa.readers.types import Backend

BACKENDS = ("graph", "dense", "bm25", "hybrid", "closed_book", "router", "vote")
MODES = ("direct", "cot", "self_consistency")
RUNTIMES = ("transformers", "llamacpp", "openai")  # where the language model runs


@dataclass(frozen=True)
class Options:
    """What a user can choose; every field has a sensible default. ``apps/config`` fills pack and caches."""

    pack: Path
    model_cache: Path
    k: int = 5  # passages retrieved for a corpus reader
    lines: int = 1  # lines of them the reader's model reads; 0: the passages whole
    mode: str = "direct"  # closed_book prompt mode
    model: str = "gemma-3-270m"  # LM preset, local folder, GGUF file or hub id
    n_samples: int = 5  # self-consistency
    index_kind: str = "flat"  # flat | hnsw | ivfpq
    runtime: str = "transformers"  # transformers (in process) | llamacpp (in process, GGUF) | openai (a server)
    base_url: str | None = None  # openai runtime: the server's OpenAI-compatible URL, e.g. http://127.0.0.1:8080/v1
    api_key_env: str | None = None  # openai runtime: the environment variable that holds the API key, if any

    def with_(self, **changes: Any) -> Options:
        return replace(self, **changes)


@dataclass
class BackendPool:
    """Loads backends on first use and keeps them; safe to share between the app's worker threads. Each thing
    loads under its own lock, so a backend that is ready answers while another one loads (the graph is not
    held up by a FAISS index being built for ``dense``)."""

    options: Options
    _backends: dict[tuple, Backend] = field(default_factory=dict)
    _shared: dict[tuple, Any] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _gates: dict[tuple, threading.Lock] = field(default_factory=dict)

    def _once(self, store: dict[tuple, Any], key: tuple, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key in store:
                return store[key]
            gate = self._gates.setdefault((id(store), *key), threading.Lock())
        with gate:  # one load per key; other keys load (and loaded things answer) meanwhile
            with self._lock:
                if key in store:
                    return store[key]
            value = make()
            with self._lock:
                store[key] = value
            return value

    def is_loaded(self, name: str, **overrides: Any) -> bool:
        """Whether ``get(name, **overrides)`` would return at once."""
        with self._lock:
            return self._key(name, overrides) in self._backends

    def _key(self, name: str, overrides: dict[str, Any]) -> tuple:
        options = self.options.with_(**overrides) if overrides else self.options
        # a backend is loaded once per setting of the options it uses: changing the prompt mode in the app
        # does not load a second knowledge graph
        return (name, *(getattr(options, f) for f in USES.get(name, tuple(Options.__dataclass_fields__))))

    def get(self, name: str, **overrides: Any) -> Backend:
        options = self.options.with_(**overrides) if overrides else self.options
        if name not in FACTORIES:
            raise KqaError(f"unknown backend {name!r}; choose from {', '.join(FACTORIES)}")
        return self._once(self._backends, self._key(name, overrides), lambda: FACTORIES[name](self, options))

    def shared(self, key: tuple, make: Callable[[], Any]) -> Any:
        return self._once(self._shared, key, make)

    def pack(self):
        from kqa.kb.pack import open_pack

        return self.shared(("pack", self.options.pack), lambda: open_pack(self.options.pack))


FACTORIES: dict[str, Callable[[BackendPool, Options], Backend]] = {}
LM_OPTIONS = ("model", "model_cache", "runtime", "base_url", "api_key_env")  # what picks the language model
USES: dict[str, tuple[str, ...]] = {}  # backend -> the Options fields it depends on


def register(name: str, uses: tuple[str, ...]):
    """Decorator: ``make(pool, options) -> Backend`` becomes the factory of backend ``name``."""

    def decorate(make: Callable[[BackendPool, Options], Backend]):
        FACTORIES[name] = make
        USES[name] = uses
        return make

    return decorate


def _embedder(pool: BackendPool):
    from kqa.models.embedder import load_embedder

    return pool.shared(("embedder",), load_embedder)


@register("graph", uses=("pack",))
def _graph(pool: BackendPool, options: Options) -> Backend:
    from kqa.kb.graph import load_graph
    from kqa.readers.graph_reader import GraphReader

    # MiniLM backs relation detection only for wordings no phrasing covers: loaded on first such question
    return GraphReader(load_graph(pool.pack()), encode=lambda texts: _embedder(pool).encode(list(texts)))


def load_lm(options: Options):
    """The language model ``options`` name, in the runtime they name."""
    if options.runtime == "transformers":
        from kqa.models.transformers_lm import TransformersLM

        return TransformersLM(options.model, cache_dir=options.model_cache)
    if options.runtime == "llamacpp":
        from kqa.models.llamacpp_lm import LlamaCppLM

        return LlamaCppLM(options.model, cache_dir=options.model_cache)
    if options.runtime == "openai":
        import os

        from kqa.models.openai_lm import OpenAICompatibleLM

        if not options.base_url:
            raise KqaError("the openai runtime needs the server's URL: --base-url http://HOST:PORT/v1 "
                           "(llama.cpp's llama-server, vLLM or any OpenAI-compatible completions server)")
        key = None
        if options.api_key_env:
            key = os.environ.get(options.api_key_env)
            if not key:
                raise KqaError(f"--api-key-env names ${options.api_key_env}, which is not set: export it first")
        return OpenAICompatibleLM(base_url=options.base_url, model=options.model, api_key=key)
    raise KqaError(f"unknown runtime {options.runtime!r}; choose from {', '.join(RUNTIMES)}")


def _listed(label: str, make: Callable[[], Any]) -> Callable[[], Any]:
    """``make``, listed in ``kqa.kb.progress.active`` while it runs, so the app's waiting columns can say
    what they wait for."""
    def run():
        from kqa.kb.progress import progress_task

        with progress_task(label, show=False):
            return make()

    return run


def _lm(pool: BackendPool, options: Options):
    # one copy of each model, shared by the corpus readers and the closed-book backend
    return pool.shared(("lm", *(getattr(options, f) for f in LM_OPTIONS)),
                       _listed(f"loading the language model ({options.model}, {options.runtime})",
                               lambda: load_lm(options)))


def _passages(pool: BackendPool):
    from kqa.kb.corpus import load_corpus

    return pool.shared(("passages", pool.options.pack), lambda: load_corpus(pool.pack().corpus_path))


def _faiss(pool: BackendPool, options: Options):
    from kqa.retrievers.faiss_retriever import FaissRetriever

    return pool.shared(("faiss", options.pack, options.index_kind), _listed(
        "loading the FAISS index (built once: the corpus is embedded)", lambda: FaissRetriever.build_or_load(
            _passages(pool), _embedder(pool), pool.pack().index_dir, kind=options.index_kind, show_progress=True)))


def _bm25(pool: BackendPool, options: Options):
    from kqa.retrievers.bm25_retriever import BM25Retriever

    return pool.shared(("bm25", options.pack), lambda: BM25Retriever.build_or_load(_passages(pool),
                                                                                    pool.pack().index_dir))


def _reader(pool: BackendPool, options: Options, retriever, name: str) -> Backend:
    from kqa.readers.context_reader import ContextReader
    from kqa.retrievers.lines import LineSelector

    # one selector, so the line vectors it caches serve every corpus backend
    selector = pool.shared(("lines",), lambda: LineSelector(_embedder(pool))) if options.lines > 0 else None
    return ContextReader(retriever, _lm(pool, options), selector=selector, k=options.k, lines=options.lines,
                         name=name)


@register("dense", uses=("pack", "k", "lines", "index_kind", *LM_OPTIONS))
def _dense(pool: BackendPool, options: Options) -> Backend:
    return _reader(pool, options, _faiss(pool, options), "dense")


@register("bm25", uses=("pack", "k", "lines", *LM_OPTIONS))
def _bm25_backend(pool: BackendPool, options: Options) -> Backend:
    return _reader(pool, options, _bm25(pool, options), "bm25")


@register("hybrid", uses=("pack", "k", "lines", "index_kind", *LM_OPTIONS))
def _hybrid(pool: BackendPool, options: Options) -> Backend:
    from kqa.retrievers.hybrid import HybridRetriever

    retriever = HybridRetriever([_faiss(pool, options), _bm25(pool, options)])
    return _reader(pool, options, retriever, "hybrid")


@register("closed_book", uses=("mode", "n_samples", *LM_OPTIONS))
def _closed_book(pool: BackendPool, options: Options) -> Backend:
    from kqa.readers.closed_book import ClosedBookReader

    return ClosedBookReader(_lm(pool, options), mode=options.mode, n_samples=options.n_samples)


@register("router", uses=tuple(Options.__dataclass_fields__))
def _router(pool: BackendPool, options: Options) -> Backend:
    from kqa.readers.combine import RouterReader

    return RouterReader([pool.get(n, **_overrides(options)) for n in ("graph", "dense", "closed_book")])


@register("vote", uses=tuple(Options.__dataclass_fields__))
def _vote(pool: BackendPool, options: Options) -> Backend:
    from kqa.readers.combine import VoteReader

    return VoteReader([pool.get(n, **_overrides(options)) for n in ("graph", "dense", "closed_book")])


def _overrides(options: Options) -> dict[str, Any]:
    return {f: getattr(options, f) for f in Options.__dataclass_fields__}
