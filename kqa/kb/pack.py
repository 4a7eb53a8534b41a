"""Build and open a knowledge pack: the folder every backend is built from.

```
pack/
  manifest.json     source, version, time per stage, counts, parse coverage per field
  graph.ttl         the knowledge graph
  corpus.jsonl      the Factbook's own prose, one passage per field group
  questions.jsonl   questions with gold answers, triples, passages, type, popularity, split
```

A pack holds data only, so that opening someone else's pack runs none of their code: the caches built from it
(the graph's pickled copy, the Oxigraph store, FAISS and BM25 indexes) live in the user's own cache folder
(``kb.cache``), and an ``index/`` folder that an older kqa left in a pack is never read.

``write_pack`` (used by every builder: the Factbook's, a user's graph, WordNet) writes the whole pack into a
temporary folder beside the target and swaps it in at the end, so an interrupted build leaves the previous
pack (or nothing), never half a pack.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kqa.kb.errors import BadFileError, KqaError

MANIFEST = "manifest.json"
GRAPH = "graph.ttl"
CORPUS = "corpus.jsonl"
QUESTIONS = "questions.jsonl"
MAX_MANIFEST_BYTES = 16 << 20

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Pack:
    """An opened pack folder. Loading its parts is left to ``kb.graph``, ``kb.corpus`` and ``kb.questions``."""

    path: Path
    manifest: dict[str, Any]

    @property
    def graph_path(self) -> Path:
        return self.path / GRAPH

    @property
    def corpus_path(self) -> Path:
        return self.path / CORPUS

    @property
    def questions_path(self) -> Path:
        return self.path / QUESTIONS

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", self.path.name))

    def fingerprint(self) -> dict[str, str]:
        """part -> SHA-256 of the graph, corpus and questions: what a run's answers came from. Read from the
        manifest (``open_pack`` has checked the files against it), hashed here for a pack without one."""
        files = self.manifest.get("files") or {}
        return {part: (files.get(part) or {}).get("sha256") or _fingerprint(self.path / part).get("sha256", "")
                for part in (GRAPH, CORPUS, QUESTIONS)}


def open_pack(path: Path | str) -> Pack:
    """Open a built pack; a folder without a manifest gets an error that says how to build one."""
    path = Path(path).expanduser()
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise KqaError(f"no knowledge pack at {path}: run `kqa build` (or `kqa build --pack {path}`) first")
    if manifest_path.stat().st_size > MAX_MANIFEST_BYTES:
        raise BadFileError(manifest_path, f"is larger than {MAX_MANIFEST_BYTES:,} bytes: not a manifest kqa wrote",
                           hint="rebuild the pack with `kqa build`")
    try:
        manifest = json.loads(manifest_path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise KqaError(f"{manifest_path} is not valid JSON ({getattr(err, 'msg', None) or err.reason}); rebuild "
                       "the pack with `kqa build`") from None
    except RecursionError:
        raise KqaError(f"{manifest_path} is nested too deeply to be a manifest; rebuild the pack with "
                       "`kqa build`") from None
    if not isinstance(manifest, dict):
        raise KqaError(f"{manifest_path} is not a JSON object; rebuild the pack with `kqa build`")
    for part in (GRAPH, CORPUS, QUESTIONS):
        if not (path / part).is_file():
            raise KqaError(f"the pack at {path} has no {part}; rebuild it with `kqa build`")
    files = manifest.get("files") or {}  # packs built by kqa; a user's pack may lack it
    if not isinstance(files, dict):
        raise KqaError(f"{manifest_path}: \"files\" is not an object; rebuild the pack with `kqa build`")
    for part, expected in files.items():
        if part not in (GRAPH, CORPUS, QUESTIONS):  # a name from the file never leads outside the pack
            continue
        if not isinstance(expected, dict) or \
                _fingerprint(path / part, size_only=True)["size_bytes"] != expected.get("size_bytes") or \
                _fingerprint(path / part) != expected:
            raise BadFileError(path / part, "does not match the pack's manifest (its size or SHA-256 differs): it "
                               "was cut short or changed after the build", hint="rebuild the pack with `kqa build`")
    return Pack(path=path, manifest=manifest)


def _fingerprint(path: Path, *, size_only: bool = False) -> dict[str, Any]:
    size = path.stat().st_size if path.is_file() else -1
    if size_only or size < 0:
        return {"size_bytes": size}
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return {"size_bytes": size, "sha256": digest.hexdigest()}


def _clear_interrupted(target: Path) -> None:
    """What a build killed by its process's death (kill -9, power loss) left beside ``target``: its
    temporary folder is removed, and a previous pack it had moved aside but not yet replaced is put back
    (or removed, when the new pack did arrive). Folders of a build whose process still runs are left alone."""
    for leftover in sorted(target.parent.glob(f".{target.name}.building-*")):
        if not _alive(leftover.name.removeprefix(f".{target.name}.building-").split("-")[0]):
            shutil.rmtree(leftover, ignore_errors=True)
    for old in sorted(target.parent.glob(f".{target.name}.old-*")):
        if _alive(old.name.removeprefix(f".{target.name}.old-").split("-")[0]):
            continue
        if not target.exists() and (old / MANIFEST).is_file():
            old.rename(target)
        else:
            shutil.rmtree(old, ignore_errors=True)


def _alive(pid: str) -> bool:
    """Whether the process with this id (text from a folder name) is running; False for no number."""
    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


class _Timer:
    def __init__(self, sink: dict[str, float], name: str):
        self.sink, self.name = sink, name

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.sink[self.name] = self.sink.get(self.name, 0.0) + time.perf_counter() - self.start
        return False


def write_pack(target: Path | str, write_parts: Callable[[Path], None],
               manifest: Mapping[str, Any] | Callable[[], Mapping[str, Any]]) -> Pack:
    """Build a pack atomically: ``write_parts(folder)`` writes graph.ttl, corpus.jsonl, questions.jsonl (and
    any extra file, such as profile.json) into a temporary folder beside ``target``; the manifest (a mapping,
    or a callable giving one once the parts are written) is added with the parts' sizes and SHA-256, which
    ``open_pack`` checks, and the folder swapped in. An interrupted build leaves the previous pack, or nothing."""
    target = Path(target).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    _clear_interrupted(target)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.building-{os.getpid()}-"))
    try:
        write_parts(tmp)
        for part in (GRAPH, CORPUS, QUESTIONS):
            if not (tmp / part).is_file():
                raise KqaError(f"the pack builder wrote no {part}")
        full = {**(manifest() if callable(manifest) else manifest), "files": {part: _fingerprint(tmp / part) for part in (GRAPH, CORPUS, QUESTIONS)}}
        (tmp / MANIFEST).write_text(json.dumps(full, indent=2, ensure_ascii=False), encoding="utf-8")
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}-{int(time.time())}")
            target.rename(old)
        tmp.rename(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return open_pack(target)


def list_packs(home: Path | str) -> list[Pack]:
    """Every built pack under ``home/packs`` (folders with a manifest), by name."""
    root = Path(home).expanduser() / "packs"
    packs = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if folder.is_dir() and not folder.name.startswith(".") and (folder / MANIFEST).is_file():
            try:
                packs.append(Pack(path=folder, manifest=json.loads((folder / MANIFEST).read_text(encoding="utf-8"))))
            except (OSError, json.JSONDecodeError):
                continue
    return packs
