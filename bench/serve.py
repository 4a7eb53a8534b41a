"""What a user of ``kqa serve`` waits for and what it holds: start the app in a child process, as a user would,
ask it one question through the app's own API (``gradio_client``, what the page's Ask button calls), and time
the page, the first column's answer and the last; sample the resident memory of the process tree throughout.

Only the process this module starts is stopped, by its id. Nothing here answers a question itself.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class ServeRun:
    backends: tuple[str, ...]
    page_s: float | None = None  # process start -> the page is served
    first_answer_s: float | None = None  # process start -> the first backend's column is filled
    all_answers_s: float | None = None  # process start -> every column is filled (answer, abstention or error)
    column_s: dict[str, float] = field(default_factory=dict)  # per backend: process start -> its column filled
    states: dict[str, str] = field(default_factory=dict)  # per backend: answer | abstain | error
    peak_rss_mb: float | None = None  # the most the process tree held at once (sampled every 0.2 s)
    peak_hwm_mb: float | None = None  # the server process's own high-water mark (VmHWM), exact
    rss_after_mb: float | None = None  # the tree's resident memory once every column is filled
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {key: (round(v, 3) if isinstance(v, float) else v) for key, v in self.__dict__.items()}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _RssSampler(threading.Thread):
    """Sums the resident memory of a process and its children every ``every_s`` seconds; keeps the peak."""

    def __init__(self, pid: int, every_s: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.every_s = pid, every_s
        self.peak = 0
        self.last = 0
        self._halt = threading.Event()

    def tree_rss(self) -> int:
        import psutil

        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0
        total = 0
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def run(self) -> None:
        while not self._halt.is_set():
            self.last = self.tree_rss()
            self.peak = max(self.peak, self.last)
            self._halt.wait(self.every_s)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


def _hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _state(card: Any) -> str | None:
    """The column's state from its card's HTML: None while it is still waiting."""
    if not isinstance(card, str) or "kqa-card" not in card or "kqa-waiting" in card:
        return None
    if "kqa-error" in card:
        return "error"
    return "abstain" if "kqa-abstain" in card else "answer"


def serve_and_ask(pack: Path, backends: Sequence[str], question: str, *, ask_args: Sequence[Any],
                  log_path: Path, timeout_s: float = 600.0, env: dict[str, str] | None = None) -> ServeRun:
    """Start ``kqa serve`` for ``pack`` with ``backends``, ask ``question`` once, and stop the server."""
    from gradio_client import Client

    run = ServeRun(backends=tuple(backends))
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = [sys.executable, "-m", "kqa.apps.cli", "serve", "--port", str(port), "--pack", str(pack),
               "--backends", ",".join(backends)]
    child_env = {**os.environ, **(env or {})}
    start = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=child_env)
    sampler = _RssSampler(proc.pid)
    sampler.start()
    deadline = start + timeout_s
    try:
        while run.page_s is None:
            if proc.poll() is not None:
                raise RuntimeError(f"kqa serve exited with {proc.returncode}; see {log_path}")
            if time.perf_counter() > deadline:
                raise TimeoutError(f"no page within {timeout_s:.0f} s")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        run.page_s = time.perf_counter() - start
            except OSError:
                time.sleep(0.1)
        client = Client(url, verbose=False, download_files=False)
        job = client.submit(question, *ask_args, api_name="/ask")
        cards: dict[str, Any] = {}
        for update in job:  # streamed: once when every column waits, then once per column that finishes
            for i, name in enumerate(backends):
                value = update[1 + 2 * i] if len(update) > 1 + 2 * i else None
                if isinstance(value, str):
                    cards[name] = value
            now = time.perf_counter() - start
            for name in backends:
                state = _state(cards.get(name))
                if state and name not in run.states:
                    run.states[name], run.column_s[name] = state, now
            if run.first_answer_s is None and run.states:
                run.first_answer_s = now
            if time.perf_counter() > deadline:
                raise TimeoutError(f"no answer within {timeout_s:.0f} s")
        job.result(timeout=max(1.0, deadline - time.perf_counter()))
        done = time.perf_counter() - start
        for name, card in zip(backends, job.outputs()[-1][1::2] if job.outputs() else []):
            state = _state(card)
            if state and name not in run.states:
                run.states[name], run.column_s[name] = state, done
        if run.first_answer_s is None and run.states:
            run.first_answer_s = min(run.column_s.values())
        if len(run.states) == len(backends):
            run.all_answers_s = max(run.column_s.values())
        time.sleep(0.5)  # one more sample after the last column
        run.rss_after_mb = sampler.tree_rss() / 2**20
        run.peak_hwm_mb = _hwm_mb(proc.pid)
    except Exception as err:  # noqa: BLE001 - a failed start is a figure too; the report says why
        run.error = f"{type(err).__name__}: {str(err)[:300]}"
    finally:
        sampler.stop()
        run.peak_rss_mb = sampler.peak / 2**20 if sampler.peak else None
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
    return run


def job_updates(job, every_s: float = 0.01):
    """A gradio_client job's updates as they come, looked at every ``every_s`` seconds. (Iterating the job
    itself polls every millisecond: with 30 clients, the bench's own process took 40% of a core and its GIL,
    and its late reading was counted as the app's latency.)"""
    seen = 0
    while True:
        done = job.done()
        outputs = job.outputs()
        yield from outputs[seen:]
        seen = len(outputs)
        if done:
            return
        time.sleep(every_s)


def classroom(url: str, backends: Sequence[str], questions: Sequence[str], *, ask_args: Sequence[Any],
              clients: int = 30, per_client: int = 10, timeout_s: float = 900.0) -> dict[str, Any]:
    """``clients`` people asking ``per_client`` questions each, one after another, all at once, through the app's
    /ask API at ``url``: per backend, the p50/p95 seconds from sending a question to its column being filled
    (read every 10 ms), and the errors (an error card, or no card before ``timeout_s``). Every client connects
    before the first question is sent, as 30 browsers on 30 machines would have: connecting takes the bench's
    own process about 0.1 s of CPU a client, which is not the app's latency. ``url`` is plain http on this
    machine, so no certificate is checked."""
    from gradio_client import Client

    from bench.measure import latency

    times: dict[str, list[float]] = {name: [] for name in backends}
    errors: dict[str, int] = {name: 0 for name in backends}
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)

    def person(i: int) -> None:
        try:
            # http on this machine: no certificate to check, and gradio_client builds an httpx client (so loaded
            # the CA bundle, 33 ms of CPU) for every request it sends
            client = Client(url, verbose=False, download_files=False, ssl_verify=False)
        except Exception:  # noqa: BLE001 - every question of this client is an error below
            client = None
        ready.wait()
        for j in range(per_client):
            question = questions[(i * per_client + j) % len(questions)]
            start = time.perf_counter()
            seen: dict[str, float] = {}
            states: dict[str, str] = {}
            try:
                job = client.submit(question, *ask_args, api_name="/ask")
                for update in job_updates(job):
                    for k, name in enumerate(backends):
                        state = _state(update[1 + 2 * k]) if len(update) > 1 + 2 * k else None
                        if state and name not in seen:
                            seen[name], states[name] = time.perf_counter() - start, state
                job.result(timeout=timeout_s)
            except Exception:  # noqa: BLE001 - counted per column below
                pass
            with lock:
                for name in backends:
                    if name in seen and states[name] != "error":
                        times[name].append(seen[name] * 1000)
                    else:
                        errors[name] += 1

    threads = [threading.Thread(target=person, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    ready.wait()
    start = time.perf_counter()
    for t in threads:
        t.join(timeout_s)
    return {"clients": clients, "questions_each": per_client, "seconds": round(time.perf_counter() - start, 1),
            "per_backend": {name: {**latency(times[name]), "errors": errors[name]} for name in backends}}


def start_server(pack: Path, backends: Sequence[str], *, log_path: Path, env: dict[str, str] | None = None,
                 timeout_s: float = 900.0) -> tuple[subprocess.Popen, str]:
    """``kqa serve`` in a child process, prepared (every backend loaded and warm); returns it and its URL once
    the page answers. The caller stops it (``proc.terminate()``)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = [sys.executable, "-m", "kqa.apps.cli", "serve", "--port", str(port), "--pack", str(pack),
               "--backends", ",".join(backends)]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    deadline = time.perf_counter() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"kqa serve exited with {proc.returncode}; see {log_path}")
        if time.perf_counter() > deadline:
            proc.terminate()
            raise TimeoutError(f"no page within {timeout_s:.0f} s")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.2)
