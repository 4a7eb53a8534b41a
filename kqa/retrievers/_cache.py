"""On-disk caches for retriever indexes, keyed by what they were built from.

A cache entry is a folder ``cache_dir/<kind>-<model>-<hash12>/`` holding the index files and ``meta.json``;
``cache_dir`` is the user's own (``kqa.kb.cache.private_dir``), never a pack folder, since index formats such
as FAISS's are not safe to read from a stranger.
The key is a hash of every passage id and the exact text that was indexed, so a changed corpus (or a changed
passage format) gets a new folder and a stale index is never read. The folder is written beside its final
name and renamed into place, so a crash leaves either a whole entry or none; ``meta.json`` records each file's
size and SHA-256, so a truncated or corrupted file is noticed on load and the entry is rebuilt.

This module knows nothing about FAISS or BM25: a retriever hands it a ``write`` function that fills a folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from kqa.kb.jsonl import atomic_write_text

META = "meta.json"
_CHUNK = 1 << 20


def content_hash(ids: Iterable[str], texts: Iterable[str]) -> str:
    """SHA-256 over (id, text) pairs in order: the same corpus in the same order gives the same hex digest."""
    digest = hashlib.sha256()
    for pid, text in zip(ids, texts, strict=True):
        for part in (pid, text):
            data = part.encode("utf-8")
            digest.update(len(data).to_bytes(8, "little"))  # length-prefixed, so ("ab","c") != ("a","bc")
            digest.update(data)
    return digest.hexdigest()


def slug(text: str) -> str:
    """A file-name-safe form of a model id: ``sentence-transformers/all-MiniLM-L6-v2`` -> ``all-MiniLM-L6-v2``."""
    text = text.rstrip("/").rsplit("/", 1)[-1]
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:64] or "model"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_entry(folder: Path, *, expect: Mapping[str, Any], verify_checksums: bool = True) -> dict[str, Any] | None:
    """The entry's meta if ``folder`` is a whole, intact entry matching ``expect``; None if it must be rebuilt."""
    meta_path = folder / META
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if any(meta.get(key) != value for key, value in expect.items()):
        return None
    files = meta.get("files")
    if not isinstance(files, dict) or not files:
        return None
    for name, info in files.items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != info.get("size_bytes"):
            return None
        if verify_checksums and file_sha256(path) != info.get("sha256"):
            return None
    return meta


def write_entry(
    folder: Path, write: Callable[[Path], None], *, meta: Mapping[str, Any]
) -> dict[str, Any]:
    """Build an entry: ``write(tmp)`` fills a temporary folder, meta.json is added, then the folder is renamed
    to ``folder`` (replacing a broken entry there). Returns the meta that was written."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".tmp"))
    try:
        write(tmp)
        files = {
            path.name: {"size_bytes": path.stat().st_size, "sha256": file_sha256(path)}
            for path in sorted(tmp.iterdir())
            if path.is_file()
        }
        full = {**meta, "files": files}
        atomic_write_text(tmp / META, json.dumps(full, indent=2, sort_keys=True) + "\n")
        _swap_in(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return full


def _swap_in(tmp: Path, folder: Path) -> None:
    if folder.exists():
        # A broken entry: move it aside first, so the rename below is atomic and the old files go away.
        trash = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".old"))
        os.replace(folder, trash / "entry")
        shutil.rmtree(trash, ignore_errors=True)
    try:
        os.replace(tmp, folder)
    except OSError:
        # Another process put a whole entry there between our check and now: keep theirs, drop ours.
        shutil.rmtree(tmp, ignore_errors=True)
