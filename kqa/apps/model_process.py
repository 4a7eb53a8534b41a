"""The app's language-model backends in a child process of their own, at a lower CPU priority.

In one process, a language model answering on a machine of a few cores takes every core (torch's threads) and
most of the GIL (the decoding loop is Python), and the graph's column, under a millisecond of work, waited for
both: seconds at the 95th percentile with a class of 30 asking at once (issue #17). ``ModelPool`` is the
``BackendPool`` that ``kqa serve`` uses: every backend that uses the language model (dense, bm25, hybrid,
closed_book, router, vote) loads and answers in one child process, started on first use and niced
(``MODEL_NICE``), so the kernel gives the app's process a core whenever it wants one, and the web server, the
graph and the rendering of every column have their process's GIL to themselves. The child holds its own
``BackendPool`` (one copy of the model for all its backends); its answers, errors and what it is loading come
back over a socket. The pictures of the app's columns are drawn there too (``offload``). If the child dies, the questions it was answering get an error in their columns, and the next
question starts a fresh one.

This module relays calls; it holds no QA logic and knows no backend by name (``uses_model`` reads
``wiring.USES``).
"""

from __future__ import annotations

import itertools
import os
import pickle
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from kqa.apps.wiring import FACTORIES, USES, BackendPool, Options
from kqa.kb.errors import KqaError
from kqa.kb.types import Question
from kqa.readers.types import Answer, Backend

MODEL_NICE = 10  # the child's niceness: the kernel's weight for it is about a tenth of the app process's
ACTIVE_WAIT_S = 1.0  # how long a waiting column waits to hear what the child is loading before it says nothing
CHILD_THREADS = 16  # calls the child runs at once (a lane each, the Batch and Explore tabs); the model runs one


class ModelProcessError(KqaError):
    """The model process stopped (killed, out of memory, crashed) while it had a question."""


def uses_model(name: str) -> bool:
    """Whether backend ``name`` reads with the language model, so runs in the model process."""
    return name in FACTORIES and "model" in USES.get(name, ())


class ModelProcess:
    """One child process holding a ``BackendPool`` built by ``make_pool(options)``; ``call`` runs one of its
    operations there and returns the result or raises its error. Safe to call from many threads; started on
    the first call and again on the first call after it died."""

    def __init__(self, options: Options, *, make_pool: Callable[[Options], BackendPool] = BackendPool,
                 nice: int = MODEL_NICE):
        self.options, self.make_pool, self.nice = options, make_pool, nice
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._child: _Child | None = None
        self.starts = 0  # how many children were started: 2 after one died and was replaced

    def call(self, op: str, name: str | None = None, overrides: Mapping[str, Any] | None = None, *args: Any,
             timeout: float | None = None) -> Any:
        return self.submit(op, name, overrides, *args).result(timeout)

    def submit(self, op: str, name: str | None, overrides: Mapping[str, Any] | None, *args: Any) -> Future:
        # pickled apart from the call's id: what does not pickle here is the caller's error, and what does not
        # unpickle there fails its own call only
        payload = pickle.dumps((dict(overrides or {}), args))
        with self._lock:
            child = self._child
            if child is None or child.gone:
                child = self._child = self._start()
            call_id = next(self._ids)
            future: Future = Future()
            child.calls[call_id] = future
            try:
                child.conn.send((call_id, op, name, payload))
            except OSError as err:  # the socket closed under us: the reader thread is about to see it
                child.calls.pop(call_id, None)
                future.set_exception(ModelProcessError(f"could not reach the model process: {err}"))
            return future

    def alive(self) -> bool:
        child = self._child
        return child is not None and not child.gone

    def generation(self) -> int:
        """Changes each time a child is started: what was loaded in an earlier one is gone."""
        return self.starts

    def close(self) -> None:
        with self._lock:
            child, self._child = self._child, None
        if child is not None:
            child.conn.close()  # the child reads the end of its socket and exits
            try:
                child.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()

    def _start(self) -> _Child:
        # a fresh interpreter (``python -m``), not multiprocessing: no fork of a process that runs threads, and
        # no re-run of the app's own main script; it imports kqa and ``make_pool`` from the same path as this one
        ours, theirs = socket.socketpair()
        path = os.pathsep.join(p for p in sys.path if p)
        process = subprocess.Popen([sys.executable, "-m", __name__, str(theirs.fileno())], pass_fds=[theirs.fileno()],
                                   stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": path})
        theirs.close()
        conn = Connection(ours.detach())
        conn.send((self.options, self.make_pool, self.nice))
        self.starts += 1
        child = _Child(process, conn)
        threading.Thread(target=self._read, args=(child,), name="kqa-models-replies", daemon=True).start()
        return child

    def _read(self, child: _Child) -> None:
        while True:
            try:
                call_id, ok, data = child.conn.recv()
            except (EOFError, OSError):
                break
            future = child.calls.pop(call_id, None)
            if future is None or future.done():
                continue
            try:
                value = pickle.loads(data)
            except Exception as err:  # noqa: BLE001 - a reply that does not unpickle here: its call fails
                ok, value = False, ModelProcessError(f"the model process's reply did not unpickle: {err!r}")
            future.set_result(value) if ok else future.set_exception(value)
        try:
            code = child.process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # the socket broke but the process lives on: it is of no use now
            child.process.kill()
            code = child.process.wait()
        with self._lock:
            child.gone = True
            waiting, child.calls = list(child.calls.values()), {}
        for future in waiting:
            if not future.done():
                future.set_exception(ModelProcessError(
                    f"the model process stopped (exit code {code}) before it answered; the next question starts "
                    "a fresh one"))


@dataclass(eq=False)
class _Child:
    process: Any
    conn: Any
    calls: dict[int, Future] = field(default_factory=dict)
    gone: bool = False


def _child_main(fd: int) -> None:
    """The model process: answers calls from the app over the socket ``fd`` until the app closes it (or dies)."""
    from kqa.kb.progress import active

    conn = Connection(fd)
    options, make_pool, nice = conn.recv()
    if nice:
        os.nice(nice)
    pool = make_pool(options)
    send_lock = threading.Lock()

    def reply(call_id: int, ok: bool, value: Any) -> None:
        try:
            data = pickle.dumps(value)
        except Exception as err:  # noqa: BLE001 - what does not pickle comes back as an error that does
            ok, data = False, pickle.dumps(_portable(err))
        with send_lock:
            try:
                conn.send((call_id, ok, data))
            except OSError:
                pass  # the app is gone; the loop below ends too

    def run(call_id: int, op: str, name: str, payload: bytes) -> None:
        try:
            overrides, args = pickle.loads(payload)
            if op == "load":
                pool.get(name, **overrides)
                value = None
            elif op == "answer":
                value = pool.get(name, **overrides).answer(*args)
            elif op == "answer_many":
                value = pool.get(name, **overrides).answer_many(*args)
            elif op == "call":
                function, function_args = args
                value = function(*function_args)
            else:
                raise KqaError(f"the model process has no operation {op!r}")
        except BaseException as err:  # noqa: BLE001 - every failure goes back to its column
            reply(call_id, False, _portable(err))
        else:
            reply(call_id, True, value)

    calls = ThreadPoolExecutor(max_workers=CHILD_THREADS, thread_name_prefix="kqa-model-call")
    while True:
        try:
            call_id, op, name, payload = conn.recv()
        except (EOFError, OSError):
            break
        if op == "active":  # what is loading now: answered at once, never queued behind a question
            reply(call_id, True, active())
        else:
            calls.submit(run, call_id, op, name, payload)
    calls.shutdown(wait=False, cancel_futures=True)
    os._exit(0)  # the app is gone: drop whatever is still being answered


def _portable(err: BaseException) -> BaseException:
    """``err`` itself when it survives a trip through pickle (its type and message reach the column), else a
    RuntimeError that names it."""
    try:
        back = pickle.loads(pickle.dumps(err))
        if type(back) is type(err) and str(back) == str(err):
            return err
    except Exception:  # noqa: BLE001
        pass
    return RuntimeError(f"{type(err).__name__}: {err}")


@dataclass(frozen=True)
class RemoteBackend:
    """A backend answering in the model process: the ``Backend`` protocol, relayed."""

    name: str
    process: ModelProcess
    overrides: Mapping[str, Any]

    def answer(self, question: str, choices: Sequence[str] | None = None) -> Answer:
        return self.process.call("answer", self.name, self.overrides, question,
                                 None if choices is None else tuple(choices))

    def answer_many(self, questions: Sequence[Question]) -> list[Answer]:
        return self.process.call("answer_many", self.name, self.overrides, list(questions))


@dataclass
class ModelPool(BackendPool):
    """A ``BackendPool`` whose language-model backends (``uses_model``) load and answer in a ``ModelProcess``;
    the graph and everything else stay in this process. ``make_pool`` builds the child's pool (tests pass one
    that registers fake backends; it must be importable by name, the child being a fresh interpreter)."""

    make_pool: Callable[[Options], BackendPool] = BackendPool
    nice: int = MODEL_NICE
    _models: ModelProcess | None = None
    _loaded_there: dict[tuple, int] = field(default_factory=dict)  # key -> the child generation it loaded in

    def __post_init__(self) -> None:
        self._models = ModelProcess(self.options, make_pool=self.make_pool, nice=self.nice)

    @property
    def models(self) -> ModelProcess:
        assert self._models is not None
        return self._models

    def get(self, name: str, **overrides: Any) -> Backend:
        if not uses_model(name):
            return super().get(name, **overrides)
        key = self._key(name, overrides)
        if not self.is_loaded(name, **overrides):
            self.models.call("load", name, overrides)
            with self._lock:
                self._loaded_there[key] = self.models.generation()
        return RemoteBackend(name, self.models, dict(overrides))

    def is_loaded(self, name: str, **overrides: Any) -> bool:
        if not uses_model(name):
            return super().is_loaded(name, **overrides)
        with self._lock:
            generation = self._loaded_there.get(self._key(name, overrides))
        return generation is not None and generation == self.models.generation() and self.models.alive()

    def progress(self) -> list[str]:
        """What is loading now, here and in the model process (which has a second to say)."""
        lines = super().progress()
        if self.models.alive():
            try:
                lines += self.models.call("active", timeout=ACTIVE_WAIT_S)
            except Exception:  # noqa: BLE001 - busy or gone: the column says it is thinking
                pass
        return lines

    def offload(self, function: Callable[..., Any], *args: Any) -> Any:
        """``function(*args)`` in the model process, at its lower priority: work that must not take the app's
        GIL while questions wait (drawing a column's picture). ``function`` must be importable by name."""
        return self.models.call("call", None, None, function, args)

    def close(self) -> None:
        self.models.close()


if __name__ == "__main__":
    _child_main(int(sys.argv[1]))
