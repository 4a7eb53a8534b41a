"""Batch scoring spread over a Ray cluster: one actor per backend per worker node, each holding its models.

``run_eval_ray`` is ``kqa.eval.runner.run_eval`` with the answering done on the cluster. The driver keeps what
makes a run safe to kill: it alone writes ``answers.jsonl`` (a batch at a time, fsynced, as it comes back),
skips what is already there on a resumed run, and writes the same ``results.json``. A worker node that dies
mid-run takes its unfinished batches with it only in flight: they go back in the queue for the actors that
are left (or fresh ones on live nodes), and since nothing is written before a batch comes back, nothing is
lost or counted twice. If the driver itself dies, run it again with the same ``--out``.

Every node must see the same pack and model cache paths (a shared filesystem, or the same files copied to
each) and have kqa installed; ``make_backend`` (a picklable ``name -> Backend``) runs on the workers.
This file knows nothing of which classes make a backend: the caller passes ``make_backend``.

>>> run_eval_ray(make_backend, ["graph"], questions, "runs/x", address="auto", config={})  # doctest: +SKIP
"""

from __future__ import annotations

import collections
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from kqa.eval.runner import EvalResult, Progress, _answer_batch, run_batches
from kqa.kb.errors import KqaError
from kqa.kb.jsonl import atomic_write_text
from kqa.kb.types import Question
from kqa.readers.types import Answer, Backend

MAX_ACTOR_DEATHS = 8  # per backend: past this, a backend that cannot start (a missing pack on a node) is an error


class BackendActor:
    """One backend's models on one node; answers a batch at a time (Ray runs an actor's calls in order)."""

    def __init__(self, make_backend: Callable[[str], Backend], name: str, timeout_s: float | None):
        backend = make_backend(name)
        if timeout_s is not None:
            from kqa.readers.time_limit import TimeLimitedBackend

            backend = TimeLimitedBackend(backend, timeout_s)
        self.backend = backend

    def answer(self, batch: list[Question]) -> list[Answer]:
        return _answer_batch(self.backend, batch)


def run_eval_ray(
    make_backend: Callable[[str], Backend],
    names: Sequence[str],
    questions: Sequence[Question],
    out_dir: Path | str,
    *,
    address: str,
    config: dict[str, Any],
    batch_size: int = 16,
    timeout_s: float | None = None,
    progress: Progress | None = None,
    plots: bool = True,
    construction: Mapping[str, Mapping[str, Any]] | None = None,
    runtime_env: dict[str, Any] | None = None,
) -> EvalResult:
    """Score ``names`` over ``questions`` on the Ray cluster at ``address`` ("auto": the one this machine is
    part of; or "ray://head:10001", "head:6379"); the files are written here, as ``run_eval`` writes them."""
    try:
        import ray
    except ImportError:
        raise KqaError("scoring on a Ray cluster needs Ray: pip install 'kqa[ray]'") from None
    started_here = not ray.is_initialized()
    if started_here:
        _check_reachable(address)
        try:
            ray.init(address=address, runtime_env=runtime_env, log_to_driver=False, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise KqaError(f"cannot reach a Ray cluster at {address!r} ({str(err).splitlines()[0][:200]}); start "
                           "one with `ray start --head` and pass its address, or --ray auto on one of its nodes") from None
    pool = _ActorPool(ray, make_backend, list(names), timeout_s)
    try:
        result = run_batches(names, pool.answer_batches, questions, out_dir, config=config, batch_size=batch_size,
                             progress=progress, plots=plots, construction=construction)
        # how the answers were made goes beside the wall-clock figures, outside what a rerun must reproduce
        result.results["timing"]["ray"] = {"address": address, "nodes": len(pool.nodes_used),
                                           "actor_deaths": dict(pool.deaths), "batches_retried": pool.retried}
        atomic_write_text(result.results_path, json.dumps(result.results, indent=1, ensure_ascii=False))
        return result
    finally:
        pool.close()
        if started_here:
            ray.shutdown()


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """A host:port that nothing answers on is one clear line, not Ray retrying for minutes."""
    import socket

    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout_s):
            return
    except (OSError, ValueError) as err:
        raise KqaError(f"no Ray cluster answers at {address!r} ({err}); start one with `ray start --head` and "
                       "pass the address it prints (HOST:6379), or --ray auto on one of its nodes") from None


class _ActorPool:
    """The actors, the queue of batches per backend, and what to do when a node goes away."""

    def __init__(self, ray, make_backend, names: list[str], timeout_s: float | None):
        self.ray, self.make_backend, self.names, self.timeout_s = ray, make_backend, names, timeout_s
        self.remote_class = ray.remote(num_cpus=0, max_restarts=0)(BackendActor)
        self.actors: dict[str, list[Any]] = {name: [] for name in names}
        self.deaths: dict[str, int] = collections.Counter()
        self.last_error: dict[str, str] = {}
        self.nodes_used: set[str] = set()
        self.retried = 0

    def _nodes(self) -> list[str]:
        return [n["NodeID"] for n in self.ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0]

    def _spawn(self, name: str) -> None:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        nodes = self._nodes()
        if not nodes:
            raise KqaError("the Ray cluster has no live node with CPUs; answers so far are kept, run again to resume")
        self.nodes_used.update(nodes)
        for node in nodes:  # one actor of this backend per node
            strategy = NodeAffinitySchedulingStrategy(node_id=node, soft=False)
            actor = self.remote_class.options(scheduling_strategy=strategy).remote(self.make_backend, name,
                                                                                  self.timeout_s)
            self.actors[name].append(actor)

    def answer_batches(self, work: Sequence[tuple[str, list[Question]]]
                       ) -> Iterator[tuple[str, list[Question], list[Answer]]]:
        from ray.exceptions import RayActorError, RayTaskError

        queues = {name: collections.deque(batch for n, batch in work if n == name) for name in self.names}
        idle = {name: [] for name in self.names}
        for name in self.names:
            if queues[name]:
                self._spawn(name)
                idle[name] = list(self.actors[name])
        flying: dict[Any, tuple[str, Any, list[Question]]] = {}
        while flying or any(queues.values()):
            for name in self.names:
                if queues[name] and not self.actors[name]:
                    self._respawn(name)
                    idle[name] = list(self.actors[name])
                while queues[name] and idle[name]:
                    actor, batch = idle[name].pop(), queues[name].popleft()
                    flying[actor.answer.remote(batch)] = (name, actor, batch)
            done, _ = self.ray.wait(list(flying), num_returns=1)
            for ref in done:
                name, actor, batch = flying.pop(ref)
                try:
                    answers = self.ray.get(ref)
                except RayActorError as err:  # the node or the actor's process died: the batch goes back
                    self.last_error[name] = str(err).splitlines()[0][:300]
                    self.deaths[name] += 1
                    self.retried += 1
                    queues[name].appendleft(batch)
                    if actor in self.actors[name]:
                        self.actors[name].remove(actor)
                    continue
                except RayTaskError as err:  # a bug, not a lost node: do not retry it forever
                    raise KqaError(f"the {name} backend failed on a worker: {str(err).splitlines()[0][:300]}") from None
                idle[name].append(actor)
                yield name, batch, answers

    def _respawn(self, name: str) -> None:
        if self.deaths[name] > MAX_ACTOR_DEATHS:
            raise KqaError(f"the {name} backend's workers died {self.deaths[name]} times (last: "
                           f"{self.last_error.get(name, '?')}); does every node have the pack and models?")
        self._spawn(name)

    def close(self) -> None:
        for actors in self.actors.values():
            for actor in actors:
                try:
                    self.ray.kill(actor)
                except Exception:  # noqa: BLE001 - already gone with its node
                    pass


__all__ = ["run_eval_ray", "BackendActor"]
