"""Where kqa keeps its files, and the one place that reads the environment for it.

``KQA_HOME`` (default ``~/.cache/kqa``) holds packs (``packs/<name>``), model caches (``models/``) and the caches
built from packs (``cache/``: the graph's pickled copy, FAISS and BM25 indexes; kept out of the packs, which
people share, in a folder only this user can write: see ``kqa.kb.cache``).
``KQA_PACK`` points at a pack folder directly.
"""

from __future__ import annotations

import os
from pathlib import Path


def kqa_home() -> Path:
    return Path(os.environ.get("KQA_HOME") or Path.home() / ".cache" / "kqa").expanduser()


def default_pack_dir() -> Path:
    if os.environ.get("KQA_PACK"):
        return Path(os.environ["KQA_PACK"]).expanduser()
    return kqa_home() / "packs" / "factbook"


def model_cache_dir() -> Path:
    return kqa_home() / "models"


def cache_dir() -> Path:
    return kqa_home() / "cache"
