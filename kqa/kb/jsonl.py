"""Reading and writing JSONL, atomically on write and with the file and line named on a bad line."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from kqa.kb.errors import BadFileError


MAX_LINE_BYTES = 16 << 20  # one question or passage; a longer line is refused before it is held in memory


def read_jsonl(path: Path | str, *, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for every non-blank line; a bad line raises BadFileError naming it.

    A line is read at most ``max_line_bytes`` at a time, so a file of one enormous line (or none at all)
    costs that much memory, not its size; a line longer than that, one that is not UTF-8, or JSON nested
    deeper than Python's parser follows is refused with the line's number."""
    path = Path(path)
    if not path.is_file():
        raise BadFileError(path, "no such file")
    with path.open("rb") as handle:
        for number, raw in enumerate(iter(lambda: handle.readline(max_line_bytes + 1), b""), start=1):
            if len(raw) > max_line_bytes:
                raise BadFileError(path, f"the line is longer than {max_line_bytes:,} bytes", line=number,
                                   hint="is this a JSONL file, one JSON object per line?")
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise BadFileError(path, "not UTF-8 text", line=number) from None
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise BadFileError(path, f"not valid JSON ({err.msg})", line=number) from None
            except RecursionError:
                raise BadFileError(path, "JSON nested too deeply (more than about a thousand levels)",
                                   line=number) from None
            if not isinstance(obj, dict):
                raise BadFileError(path, "each line must be a JSON object", line=number)
            if "\\ud" in line.lower():  # an escaped surrogate: a valid pair, or half of one (not text)
                try:
                    json.dumps(obj, ensure_ascii=False).encode("utf-8")
                except UnicodeEncodeError:
                    raise BadFileError(path, "holds an unpaired surrogate escape (\\ud800-\\udfff), which is "
                                       "not text", line=number) from None
            yield number, obj


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write to a temporary file beside ``path``, then rename: a crash leaves the old file or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path | str, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def write_jsonl(path: Path | str, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows atomically; returns how many."""
    lines = [json.dumps(row, ensure_ascii=False) for row in rows]
    atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))
    return len(lines)
