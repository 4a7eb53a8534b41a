"""Where kqa keeps its files, and the one place that reads the environment for it.

``KQA_HOME`` (default ``~/.cache/kqa``) holds packs (``packs/<name>``) and model caches (``models/``).
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


def graph_store_dir() -> Path:
    """Oxigraph stores of graphs (``kqa.kb.stores``), one folder per graph file's SHA-256: outside the pack
    folders, so a pack copied from elsewhere never brings a store with it."""
    return kqa_home() / "stores"
