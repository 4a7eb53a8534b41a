"""Wire backends from a pack and options: the one place that knows which classes make which backend.

Everything that shows or scores answers asks a ``BackendPool`` for backends by name and then talks to the
``Backend`` protocol only. The pool loads each backend once and shares what backends have in common (the
language model, the embedder), so that ``dense`` and ``closed_book`` hold one copy of the model.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from kqa.kb.errors import KqaError
from kqa.models.transformers_lm import PRESETS
from kqa.readers.closed_book import MODES
from kqa.readers.types import Backend

BACKENDS = ("graph", "dense", "bm25", "hybrid", "closed_book", "router", "vote")
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
    dtype: str = "auto"  # transformers: weights in memory: auto, float32, bfloat16, int8-head, int8-mlp, int8
    base_url: str | None = None  # openai runtime: the server's OpenAI-compatible URL, e.g. http://127.0.0.1:8080/v1
    api_key_env: str | None = None  # openai runtime: the environment variable that holds the API key, if any
    cache_dir: Path | None = None  # graph pickle, FAISS and BM25 caches (kb.cache); None: built in memory only
    store: str = "auto"  # the graph's store: memory | oxigraph | auto (by the graph file's size; kqa.kb.stores)
    # (backend, confidence threshold) pairs picked on dev questions (``kqa calibrate``): a model reader abstains
    # below its own, the router and the vote skip an answer below its backend's, or below its backend's for the
    # relation the graph read the question as (key "backend@relation")
    thresholds: tuple[tuple[str, float], ...] = ()

    def threshold(self, backend: str) -> float:
        return dict(self.thresholds).get(backend, 0.0)

    def with_(self, **changes: Any) -> Options:
        return replace(self, **changes)


def options_record(options: Options) -> dict[str, Any]:
    """Every option that can change an answer (k, lines, mode, model, samples, index kind ...), as JSON values:
    what a run's config.json and results.json record, read off ``Options`` so a new option is never left out."""
    def jsonable(value: Any) -> Any:
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, tuple) and all(isinstance(v, tuple) and len(v) == 2 for v in value):
            return {str(k): jsonable(v) for k, v in value}  # pairs, such as thresholds: a mapping
        if isinstance(value, tuple):
            return [jsonable(v) for v in value]
        return value

    return {f.name: jsonable(getattr(options, f.name)) for f in fields(options)}


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

    def progress(self) -> list[str]:
        """What is loading now ("loading the FAISS index ...: embedding passages: 2,100 of 6,098 (34%), 41 s"),
        oldest first: what the app's waiting columns say."""
        from kqa.kb.progress import active

        return active()

    def offload(self, function: Callable[..., Any], *args: Any) -> Any:
        """``function(*args)`` where this pool runs work that can wait (``ModelPool``: in its niced child);
        here, at once."""
        return function(*args)

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

    def lm(self, **overrides: Any):
        """The language model the options (with ``overrides``) name, loaded once: the one the LM backends share."""
        return _lm(self, self.options.with_(**overrides) if overrides else self.options)

    def pack(self):
        from kqa.kb.pack import open_pack

        return self.shared(("pack", self.options.pack), lambda: open_pack(self.options.pack))

    def graph(self, options: Options | None = None):
        """The pack's KnowledgeGraph in the store the options name, loaded once."""
        from kqa.kb.graph import load_graph

        options = options or self.options
        return self.shared(("knowledge_graph", options.pack, options.store, options.cache_dir),
                           lambda: load_graph(self.pack(), cache_dir=options.cache_dir, store=options.store))


@dataclass(frozen=True)
class PoolBackends:
    """``name -> Backend`` from options, picklable: what a Ray worker runs to load its backend
    (``kqa.eval.ray_runner``). Each process that calls it holds its own pool, so its own models."""

    options: Options

    def __call__(self, name: str) -> Backend:
        return BackendPool(self.options).get(name)


FACTORIES: dict[str, Callable[[BackendPool, Options], Backend]] = {}
LM_OPTIONS = ("model", "model_cache", "runtime", "dtype", "base_url", "api_key_env")  # what picks the language model
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


def _question_encoder(pool: BackendPool):
    """The embedder behind one cache of vectors, shared by all that embed questions and lines (the FAISS
    retriever, the line selector, the graph's relation detection): a question is embedded once for all of them."""
    from kqa.models.embedder import CachedEncoder

    return pool.shared(("embedder", "cached"), lambda: CachedEncoder(_embedder(pool)))


@register("graph", uses=("pack", "cache_dir", "store", "thresholds"))
def _graph(pool: BackendPool, options: Options) -> Backend:
    from kqa.readers.graph_reader import GraphReader

    from kqa.readers.combine import RewritingReader, ThresholdReader

    reader = GraphReader(pool.graph(options), retriever=_graph_retriever(pool, options))
    rewrite = _rewrite(pool)
    backend = RewritingReader(reader, rewrite) if rewrite is not None else reader
    return ThresholdReader(backend, options.threshold("graph")) if options.threshold("graph") > 0 else backend


def _graph_retriever(pool: BackendPool, options: Options | None = None):
    """The graph's question parser, one per graph: the graph backend's, and the corpus readers' hint."""
    from kqa.retrievers.graph_retriever import GraphRetriever

    options = options or pool.options
    # MiniLM backs relation detection only for wordings no phrasing covers: loaded on first such question
    return pool.shared(("graph_retriever", options.pack, options.store, options.cache_dir), lambda: GraphRetriever(
        pool.graph(options), encode=lambda texts: _question_encoder(pool).encode(list(texts))))


def _reading(pool: BackendPool):
    """What a question asks about as the graph reads it (``GraphRetriever.reading``): a corpus reader's hint;
    None without a pack."""
    try:
        return _graph_retriever(pool).reading
    except KqaError:  # no pack built: the model reads the question alone
        return None


def _rewriter(pool: BackendPool):
    from kqa.retrievers.entity_linker import EntityLinker
    from kqa.retrievers.question_rewrite import QuestionRewriter

    def make():
        try:
            return QuestionRewriter(EntityLinker(pool.graph()))
        except KqaError:  # no pack built: the model still answers, the question as it was asked
            return None

    return pool.shared(("rewriter", pool.options.pack), make)


def _rewrite(pool: BackendPool):
    """Country names put as the graph writes them, a lead-in clause dropped: before a model retrieves or reads."""
    rewriter = _rewriter(pool)
    return rewriter.rewrite if rewriter is not None else None


def _named(pool: BackendPool, backend: Backend) -> Backend:
    """A model backend whose answers are put as the graph names them ("reals" -> "Brazilian real")."""
    from kqa.readers.combine import NamingReader

    rewriter = _rewriter(pool)
    return NamingReader(backend, rewriter.name_answer) if rewriter is not None else backend


def load_lm(options: Options):
    """The language model ``options`` name, in the runtime they name."""
    if options.runtime == "transformers":
        from kqa.models.transformers_lm import TransformersLM

        return TransformersLM(options.model, cache_dir=options.model_cache, dtype=options.dtype)
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
            _passages(pool), _question_encoder(pool), options.cache_dir, kind=options.index_kind, show_progress=True)))


def _bm25(pool: BackendPool, options: Options):
    from kqa.retrievers.bm25_retriever import BM25Retriever

    return pool.shared(("bm25", options.pack), lambda: BM25Retriever.build_or_load(_passages(pool),
                                                                                    options.cache_dir))


def _reader(pool: BackendPool, options: Options, retriever, name: str) -> Backend:
    from kqa.readers.context_reader import ContextReader
    from kqa.retrievers.lines import LineSelector

    # one selector and one vector cache, so line vectors serve every corpus backend and the retriever's question
    # vector serves the selector
    selector = pool.shared(("lines",), lambda: LineSelector(_question_encoder(pool))) if options.lines > 0 else None
    return _named(pool, ContextReader(retriever, _lm(pool, options), selector=selector, k=options.k,
                                      lines=options.lines, name=name, abstain_below=options.threshold(name),
                                      rewrite=_rewrite(pool), hint=_reading(pool)))


@register("dense", uses=("pack", "k", "lines", "index_kind", "cache_dir", "thresholds", *LM_OPTIONS))
def _dense(pool: BackendPool, options: Options) -> Backend:
    return _reader(pool, options, _faiss(pool, options), "dense")


@register("bm25", uses=("pack", "k", "lines", "cache_dir", "thresholds", *LM_OPTIONS))
def _bm25_backend(pool: BackendPool, options: Options) -> Backend:
    return _reader(pool, options, _bm25(pool, options), "bm25")


@register("hybrid", uses=("pack", "k", "lines", "index_kind", "cache_dir", "thresholds", *LM_OPTIONS))
def _hybrid(pool: BackendPool, options: Options) -> Backend:
    from kqa.retrievers.hybrid import HybridRetriever

    retriever = HybridRetriever([_faiss(pool, options), _bm25(pool, options)])
    return _reader(pool, options, retriever, "hybrid")


@register("closed_book", uses=("mode", "n_samples", "thresholds", *LM_OPTIONS))
def _closed_book(pool: BackendPool, options: Options) -> Backend:
    from kqa.readers.closed_book import ClosedBookReader

    return _named(pool, ClosedBookReader(_lm(pool, options), mode=options.mode, n_samples=options.n_samples,
                                         abstain_below=options.threshold("closed_book"), rewrite=_rewrite(pool)))


@register("router", uses=tuple(Options.__dataclass_fields__))
def _router(pool: BackendPool, options: Options) -> Backend:
    from kqa.readers.combine import RouterReader

    return RouterReader([pool.get(n, **_parts(options)) for n in COMBINED], thresholds=dict(options.thresholds))


@register("vote", uses=tuple(Options.__dataclass_fields__))
def _vote(pool: BackendPool, options: Options) -> Backend:
    from kqa.readers.combine import VoteReader

    return VoteReader([pool.get(n, **_parts(options)) for n in COMBINED], thresholds=dict(options.thresholds))


def _parts(options: Options) -> dict[str, Any]:
    """The options of a router's or a vote's parts: its own, but no thresholds, so that each part answers and
    the router or the vote applies them (a part's threshold for the question's relation may be lower than its
    own, and only the combiner knows the relation: ``readers.combine.confident``)."""
    return {f: getattr(options, f) for f in Options.__dataclass_fields__} | {"thresholds": ()}


COMBINED = ("graph", "dense", "closed_book")  # what the router tries, in order, and the vote polls


def replayed_backends(names: Sequence[str], run_dir: Path, options: Options) -> dict[str, Backend]:
    """``names`` answered from a run's recorded answers (``kqa eval --replay``): each backend the run holds
    gives its answers again under ``options.thresholds``; the router and the vote are the real ones, over the
    replayed graph, dense and closed_book answers. No model is loaded."""
    from kqa.eval.replay import ReplayBackend
    from kqa.eval.runner import ANSWERS, read_records
    from kqa.readers.combine import RouterReader, VoteReader

    records = read_records(Path(run_dir) / ANSWERS)
    if not records:
        raise KqaError(f"no recorded answers in {run_dir}; give --replay a folder `kqa eval` wrote")
    held = {r["backend"] for r in records}

    def replay(name: str, options: Options = options) -> Backend:
        if name not in held:
            raise KqaError(f"{run_dir} holds no answers of {name!r} (it holds {', '.join(sorted(held))})")
        return ReplayBackend(name, records, abstain_below=options.threshold(name))

    out: dict[str, Backend] = {}
    for name in names:
        if name in ("router", "vote"):
            parts = [replay(n, options.with_(**_parts(options))) for n in COMBINED]
            thresholds = dict(options.thresholds)
            out[name] = RouterReader(parts, thresholds=thresholds) if name == "router" else \
                VoteReader(parts, thresholds=thresholds)
        else:
            out[name] = replay(name)
    return out
