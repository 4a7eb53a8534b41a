"""Per-user caches of what kqa builds from a pack: the graph's pickled copy, the FAISS and BM25 indexes.

Why they are not in the pack: a pack is data that people share, and these caches are not data. A pickle runs
code when it is loaded, and FAISS's reader was not written for hostile files; naming a cache after the hash
of ``graph.ttl`` proves nothing, since anyone can compute that hash. So caches in such formats live in a
folder that only this user can write (``<kqa_home>/cache`` for the apps), named by the SHA-256 of what they
were built from. A pack copied from someone else has its caches rebuilt here on first open; a pack the user
built (or any pack with the same content) finds them on the next open, as fast as before.

This beats signing caches kept in the pack (an HMAC with a key under ``KQA_HOME``): no key to create, keep
or rotate, no window between checking a file and reading it, and a read-only pack needs no write access.

Components take ``cache_dir`` and never compute it: ``None`` means nothing is read from disk or written
(parse and index in memory), which is the default for library use; ``kqa.apps.config.cache_dir()`` gives the
apps' folder. This file knows nothing of graphs or indexes.

>>> folder = private_dir(Path(tempfile.mkdtemp()) / "cache")  # doctest: +SKIP
>>> oct(folder.stat().st_mode & 0o777)  # doctest: +SKIP
'0o700'
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from kqa.kb.errors import KqaError
from kqa.kb.jsonl import atomic_write_bytes

log = logging.getLogger(__name__)

T = TypeVar("T")


def private_dir(folder: Path | str) -> Path:
    """``folder``, created with mode 0700 if missing, checked to be a folder that no one but this user can
    write to (owned by this user, no group or other write bit). Anything else raises KqaError: a cache that
    another account could have written is not read."""
    folder = Path(folder).expanduser()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
    except OSError as err:
        raise KqaError(f"cannot create the cache folder {folder} ({err.strerror}); set KQA_HOME to a folder "
                       "you can write") from None
    if not stat.S_ISDIR(info.st_mode):
        raise KqaError(f"the cache folder {folder} is not a folder; remove it or set KQA_HOME elsewhere")
    if not hasattr(os, "getuid"):  # not POSIX (Windows): no owner or mode bits to check; the folder is the user's
        return folder
    if info.st_uid != os.getuid():
        raise KqaError(f"the cache folder {folder} belongs to another user (uid {info.st_uid}); kqa reads caches "
                       "only from a folder of your own: set KQA_HOME to one")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise KqaError(f"the cache folder {folder} can be written by other users, so its caches cannot be "
                       f"trusted: run `chmod go-w {folder}` (or remove it) and try again")
    return folder


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cached_pickle(cache_dir: Path | str | None, name: str, build: Callable[[], T]) -> T:
    """``build()``, kept pickled as ``cache_dir/name`` and read back from there next time.

    ``name`` must carry the hash of everything the object was built from. Only a folder that passes
    ``private_dir`` is read, so the pickle is one this user's kqa wrote. A file that does not unpickle (torn,
    or written by another version of a library) is rebuilt; ``cache_dir=None`` builds without a cache."""
    if cache_dir is None:
        return build()
    path = private_dir(cache_dir) / name
    if path.is_file():
        try:
            return pickle.loads(path.read_bytes())  # written below, in a folder only this user can write
        except Exception as err:  # a torn file or one from another library version: build it again
            log.warning("cache %s is unreadable (%s); rebuilding", path, type(err).__name__)
    value = build()
    try:
        atomic_write_bytes(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError as err:  # a full disk: still answer, only slower next time
        log.warning("cannot write the cache %s (%s)", path, err.strerror)
    return value


__all__ = ["private_dir", "cached_pickle", "sha256_hex"]
