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

BACKENDS = ("graph", "dense", "bm25", "hybrid", "closed_book")
MODES = ("direct", "cot", "self_consistency")


@dataclass(frozen=True)
class Options:
    """What a user can choose; every field has a sensible default. ``apps/config`` fills pack and caches."""

    pack: Path
    model_cache: Path
    k: int = 4
    mode: str = "direct"  # closed_book prompt mode
    model: str = "gemma-3-270m"  # LM preset, local folder, GGUF file or hub id
    n_samples: int = 5  # self-consistency
    index_kind: str = "flat"  # flat | hnsw | ivfpq

    def with_(self, **changes: Any) -> Options:
        return replace(self, **changes)


@dataclass
class BackendPool:
    """Loads backends on first use and keeps them; safe to share between the app's worker threads."""

    options: Options
    _backends: dict[tuple, Backend] = field(default_factory=dict)
    _shared: dict[tuple, Any] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def get(self, name: str, **overrides: Any) -> Backend:
        options = self.options.with_(**overrides) if overrides else self.options
        if name not in FACTORIES:
            raise KqaError(f"unknown backend {name!r}; choose from {', '.join(FACTORIES)}")
        # a backend is loaded once per setting of the options it uses: changing the prompt mode in the app
        # does not load a second knowledge graph
        key = (name, *(getattr(options, f) for f in USES.get(name, tuple(Options.__dataclass_fields__))))
        with self._lock:
            if key not in self._backends:
                self._backends[key] = FACTORIES[name](self, options)
            return self._backends[key]

    def shared(self, key: tuple, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._shared:
                self._shared[key] = make()
            return self._shared[key]

    def pack(self):
        from kqa.kb.pack import open_pack

        return self.shared(("pack", self.options.pack), lambda: open_pack(self.options.pack))


FACTORIES: dict[str, Callable[[BackendPool, Options], Backend]] = {}
USES: dict[str, tuple[str, ...]] = {}  # backend -> the Options fields it depends on


def register(name: str, uses: tuple[str, ...]):
    """Decorator: ``make(pool, options) -> Backend`` becomes the factory of backend ``name``."""

    def decorate(make: Callable[[BackendPool, Options], Backend]):
        FACTORIES[name] = make
        USES[name] = uses
        return make

    return decorate


def _embedder(pool: BackendPool):
    from kqa.retrievers.embedder import load_embedder

    return pool.shared(("embedder",), load_embedder)


@register("graph", uses=("pack",))
def _graph(pool: BackendPool, options: Options) -> Backend:
    from kqa.kb.graph import load_graph
    from kqa.readers.graph_reader import GraphReader

    # MiniLM backs relation detection only for wordings no phrasing covers: loaded on first such question
    return GraphReader(load_graph(pool.pack()), encode=lambda texts: _embedder(pool).encode(list(texts)))
