"""Progress of a long step (an index build, a GGUF conversion, a pack build, a scoring run) for the person
waiting on it: a bar on a terminal, a plain line every few seconds when the output is a file or a pipe (a log
shows that work goes on), and a list of what is in progress right now (``active``), which the app shows in
the column that waits for it. This module does no work itself and knows nothing about what it reports.

Example::

    with progress_task("embedding passages", total=len(texts)) as task:
        for batch in batches:
            ...
            task.advance(len(batch))
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

_active: list[Task] = []
_lock = threading.Lock()


class Task:
    """One step in progress: a label, how much of ``total`` is done (``total`` None: not counted)."""

    def __init__(self, label: str, total: int | None):
        self.label, self.total, self.done = label, total, 0
        self.started = time.monotonic()
        self._listeners: list[Any] = []

    def advance(self, n: int = 1) -> None:
        self.done += n
        self._notify()

    def update(self, *, done: int | None = None, label: str | None = None, total: int | None = None) -> None:
        if done is not None:
            self.done = done
        if label is not None:
            self.label = label
        if total is not None:
            self.total = total
        self._notify()

    def _notify(self) -> None:
        for listener in self._listeners:
            listener(self)

    def describe(self) -> str:
        """'embedding passages: 2,100 of 6,098 (34%), 41 s'."""
        took = time.monotonic() - self.started
        if self.total:
            return f"{self.label}: {self.done:,} of {self.total:,} ({100 * self.done / self.total:.0f}%), {took:.0f} s"
        return f"{self.label}, {took:.0f} s"


def active() -> list[str]:
    """What is in progress in this process now, oldest first."""
    with _lock:
        return [task.describe() for task in _active]


@contextmanager
def progress_task(label: str, total: int | None = None, *, show: bool = True, stream: TextIO | None = None,
                  every_s: float = 5.0) -> Iterator[Task]:
    """A ``Task`` listed in ``active`` while the block runs; with ``show``, a rich bar on a terminal, or on a
    file or pipe a line at most every ``every_s`` seconds and one when it ends."""
    task = Task(label, total)
    stream = stream if stream is not None else sys.stderr
    bar = None
    if show and _is_terminal(stream):
        bar = _shared_bar(stream)
        bar_id = bar.add_task(label, total=total)
        task._listeners.append(lambda t: bar.update(bar_id, completed=t.done, description=t.label, total=t.total))
    elif show:
        last = [time.monotonic()]

        def line(t: Task) -> None:
            now = time.monotonic()
            if now - last[0] >= every_s:
                last[0] = now
                print(f"kqa: {t.describe()}", file=stream, flush=True)

        task._listeners.append(line)
    ticker = _Ticker(task, every_s) if show and bar is None and not total else None  # uncounted: say it lives
    with _lock:
        _active.append(task)
    try:
        yield task
    finally:
        with _lock:
            _active.remove(task)
        if ticker:
            ticker.stop()
        if bar is not None:
            bar.remove_task(bar_id)
            _release_bar()
        if show:
            print(f"kqa: {task.label}: done in {time.monotonic() - task.started:.1f} s", file=stream, flush=True)


_bar: Any = None  # one rich display for every task shown at once (rich allows one live display at a time)
_bar_users = 0


def _shared_bar(stream: TextIO):
    global _bar, _bar_users
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with _lock:
        if _bar is None:
            _bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=Console(file=stream), transient=True)
            _bar.start()
        _bar_users += 1
        return _bar


def _release_bar() -> None:
    global _bar, _bar_users
    with _lock:
        _bar_users -= 1
        if _bar_users == 0 and _bar is not None:
            _bar.stop()
            _bar = None


class _Ticker:
    """Notifies a task's listeners every ``every_s`` seconds, for a step with nothing to count (a conversion
    inside a library), so a log still gets its line every few seconds."""

    def __init__(self, task: Task, every_s: float):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(task, every_s), daemon=True)
        self._thread.start()

    def _run(self, task: Task, every_s: float) -> None:
        while not self._stop.wait(every_s):
            task._notify()

    def stop(self) -> None:
        self._stop.set()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
