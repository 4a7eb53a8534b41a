"""What each backend cost to construct, read from the files it is built from: the other half of the tradeoff.

Accuracy says how well a backend reasons; this says what it took to build what it reads. Everything comes from
files on disk, nothing is measured again: the pack's ``manifest.json`` (seconds per build stage, triple and
passage counts, parse coverage per Factbook field), the index caches under ``cache_dir`` (the user's cache
folder, see ``kqa.kb.cache``; their ``meta.json``: model id, kind, vectors, and build seconds where the entry
records them), the converted model folder under the model cache (its ``kqa-cache.json``) and the sizes of all of
these.

- ``graph``: the parse and graph stages, ``graph.ttl`` and its pickled copy, triples, parse coverage;
- ``dense`` / ``bm25`` / ``hybrid``: the parse and corpus stages, ``corpus.jsonl`` and the FAISS / BM25 entries;
- ``closed_book``: nothing is constructed (the weights are pre-trained); the weights' size on disk;
- ``router`` / ``vote``: the union of their parts (a stage or file two parts share is counted once).

A backend name it does not know gets no entry. Each entry is flat (names to numbers or short strings), so a
table can show it as it is. Example::

    construction_costs(["graph"], pack=Path("~/.cache/kqa/packs/factbook").expanduser())
    # {"graph": {"builds": "knowledge graph", "build_seconds": 1.813, "size_bytes": 14592048, "triples": 73055,
    #            "parse_coverage": 0.9761, ...}}
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# the parts ``kqa.apps.wiring`` combines into its router and vote backends
PARTS: dict[str, tuple[str, ...]] = {"router": ("graph", "dense", "closed_book"),
                                     "vote": ("graph", "dense", "closed_book")}
CORPUS_INDEXES: dict[str, tuple[str, ...]] = {"dense": ("faiss",), "bm25": ("bm25",), "hybrid": ("faiss", "bm25")}
PRETRAINED = "none (pre-trained)"


@dataclass
class _Cost:
    """One backend's cost before it is flattened: kept apart so that a union counts shared parts once."""

    builds: list[str] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)  # manifest stage -> seconds
    files: dict[str, int] = field(default_factory=dict)  # file or folder -> size_bytes
    index_seconds: dict[str, float | None] = field(default_factory=dict)  # index entry -> build seconds if recorded
    facts: dict[str, Any] = field(default_factory=dict)  # counts, coverage, model ids

    def union(self, other: _Cost) -> _Cost:
        return _Cost(builds=[*self.builds, *(b for b in other.builds if b not in self.builds)],
                     stages={**self.stages, **other.stages}, files={**self.files, **other.files},
                     index_seconds={**self.index_seconds, **other.index_seconds},
                     facts={**self.facts, **{k: v for k, v in other.facts.items() if k not in self.facts}})


def construction_costs(
    backends: Sequence[str],
    *,
    pack: Path | str,
    model: str | None = None,
    model_cache: Path | str | None = None,
    index_kind: str = "flat",
    cache_dir: Path | str | None = None,
) -> dict[str, dict[str, Any]]:
    """Per backend name, what it cost to construct what it reads (see the module docstring). Without
    ``cache_dir`` no cached index or graph copy is counted."""
    source = _Sources(Path(pack).expanduser(), model, Path(model_cache).expanduser() if model_cache else None,
                      index_kind, Path(cache_dir).expanduser() if cache_dir else None)
    out = {}
    for name in backends:
        cost = source.cost(name)
        if cost is not None:
            out[name] = _flatten(cost)
    return out


class _Sources:
    """Reads each file once, however many backends ask."""

    def __init__(self, pack: Path, model: str | None, model_cache: Path | None, index_kind: str,
                 cache_dir: Path | None = None):
        self.pack, self.model, self.model_cache, self.index_kind = pack, model, model_cache, index_kind
        self.cache_dir = cache_dir
        self.manifest = _read_json(pack / "manifest.json") or {}
        self._passages: int | None = None

    def cost(self, name: str) -> _Cost | None:
        if name in PARTS:
            parts = [c for c in (self.cost(p) for p in PARTS[name]) if c is not None]
            if not parts:
                return None
            total = parts[0]
            for part in parts[1:]:
                total = total.union(part)
            total.facts["parts"] = "+".join(PARTS[name])
            return total
        if name == "graph":
            return self.graph()
        if name in CORPUS_INDEXES:
            return self.corpus(CORPUS_INDEXES[name])
        if name == "closed_book":
            return self.weights()
        return None

    def stages(self, *names: str) -> dict[str, float]:
        recorded = self.manifest.get("stage_seconds") or {}
        return {n: float(recorded[n]) for n in names if n in recorded}

    def graph(self) -> _Cost:
        counts = self.manifest.get("counts") or {}
        graph = self.pack / "graph.ttl"
        files = _sizes(graph)
        if graph.is_file() and self.cache_dir is not None:  # ``kb.graph.load_graph``'s pickled copy, by SHA-256
            files.update(_sizes(*self.cache_dir.glob(f"graph-{_sha256(graph)}-v*.pickle")))
        facts: dict[str, Any] = {"triples": counts.get("triples")}
        coverage = self.manifest.get("coverage") or []
        present = sum(row.get("present", 0) for row in coverage)
        if present:  # pooled over every (country, field) pair where the field is present
            facts["parse_coverage"] = round(sum(row.get("parsed", 0) for row in coverage) / present, 4)
            facts["fields_parsed"] = sum(1 for row in coverage if row.get("parsed_share", 0) >= 1.0)
            facts["fields"] = len(coverage)
        return _Cost(builds=["knowledge graph"], stages=self.stages("parse", "graph"), files=files, facts=facts)

    def passages(self) -> int | None:
        if self._passages is None and (self.pack / "corpus.jsonl").is_file():
            with (self.pack / "corpus.jsonl").open("rb") as handle:
                self._passages = sum(1 for line in handle if line.strip())
        return self._passages

    def corpus(self, kinds: tuple[str, ...]) -> _Cost:
        cost = _Cost(builds=["corpus"], stages=self.stages("parse", "corpus"), files=_sizes(self.pack / "corpus.jsonl"),
                     facts={"passages": self.passages()})
        for kind in kinds:
            entry = self.index_entry(kind)
            if entry is None:
                cost.builds.append(f"{kind} index (not built yet)")
                continue
            folder, meta = entry
            cost.builds.append(f"{kind} index")
            cost.files[str(folder)] = _folder_size(folder)
            cost.index_seconds[folder.name] = meta.get("build_seconds")
            if kind == "faiss":
                cost.facts.update(index_model=meta.get("model_id"), vectors=meta.get("vectors"),
                                  index_kind=meta.get("kind"))
        return cost

    def index_entry(self, kind: str) -> tuple[Path, dict[str, Any]] | None:
        """The newest cache entry of ``kind`` (and, for FAISS, of the index kind asked for) with as many
        passages as this pack's corpus: an entry left from an older corpus of the same length is not told
        apart, since its key (a hash of the text as the retriever formats it) is the retriever's business."""
        found = []
        for meta_path in (self.cache_dir.glob(f"{kind}-*/meta.json") if self.cache_dir is not None else ()):
            meta = _read_json(meta_path)
            if meta is None or meta.get("passages") not in (None, self.passages()):
                continue
            if kind == "faiss" and meta.get("kind") != self.index_kind:
                continue
            found.append((meta_path.stat().st_mtime, meta_path.parent, meta))
        if not found:
            return None
        _, folder, meta = max(found, key=lambda f: f[0])
        return folder, meta

    def weights(self) -> _Cost:
        cost = _Cost(builds=[PRETRAINED], facts={"model": self.model})
        folder, info = self.model_folder()
        if folder is not None:
            cost.files[str(folder)] = _folder_size(folder) if folder.is_dir() else folder.stat().st_size
            cost.facts["weights"] = folder.name
        gguf = Path(info["gguf"]) if info.get("gguf") else None
        if gguf is not None and gguf.is_file():
            cost.facts["gguf_size_bytes"] = gguf.stat().st_size
        if info.get("convert_s") is not None:  # the one-time de-quantization, not a construction
            cost.facts["convert_seconds"] = info["convert_s"]
        return cost

    def model_folder(self) -> tuple[Path | None, dict[str, Any]]:
        """The weights the closed-book model loads: the converted folder of a GGUF preset or file under the
        model cache (with its kqa-cache.json), else the GGUF file or local folder named."""
        if not self.model:
            return None, {}
        path = Path(self.model).expanduser()
        stem, sha = (path.stem, None) if path.suffix == ".gguf" else self.preset_stem()
        if stem and self.model_cache is not None:
            converted = []
            for info_path in self.model_cache.glob(f"{stem}-*/kqa-cache.json"):
                info = _read_json(info_path) or {}
                if sha is None or info.get("sha256") == sha:
                    converted.append((info_path.stat().st_mtime, info_path.parent, info))
            if converted:
                _, folder, info = max(converted, key=lambda c: c[0])
                return folder, info
        if path.is_file() and path.suffix == ".gguf":
            return path, {"gguf": str(path)}
        if path.is_dir():
            return path, {}
        return None, {}

    def preset_stem(self) -> tuple[str | None, str | None]:
        from kqa.kb.errors import KqaError
        from kqa.models.transformers_lm import PRESETS, _preset_source

        preset = PRESETS.get(self.model or "")
        if preset is None:
            return None, None
        try:  # finds the file name without assembling or hashing the weights
            source = _preset_source(preset, self.model_cache)
        except KqaError:  # its package is not installed: nothing on disk to measure
            return None, None
        return source.stem, source.sha256


def _flatten(cost: _Cost) -> dict[str, Any]:
    """One flat row: what is built, seconds, bytes, then the facts; None values are left out."""
    seconds = list(cost.stages.values()) + [s for s in cost.index_seconds.values() if s is not None]
    covers = [f"{'+'.join(cost.stages)} stages"] if cost.stages else []
    recorded = sorted({name.split("-")[0] for name, s in cost.index_seconds.items() if s is not None})
    if recorded:
        covers.append(f"{'+'.join(recorded)} index build")
    unrecorded = [name for name, s in cost.index_seconds.items() if s is None]
    if unrecorded:
        covers.append(f"index build not recorded ({', '.join(unrecorded)})")
    builds = [b for b in cost.builds if b != PRETRAINED] or [PRETRAINED]
    if len(builds) < len(cost.builds):
        builds.append("a pre-trained model")
    row: dict[str, Any] = {
        "builds": " + ".join(builds),
        "build_seconds": round(sum(seconds), 3) if seconds else None,
        "build_seconds_cover": "; ".join(covers) or None,
        "size_bytes": sum(cost.files.values()) if cost.files else None,
        "reads": ", ".join(Path(f).name for f in cost.files) or None,
        **cost.facts,
    }
    return {key: value for key, value in row.items() if value is not None}


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, Mapping) else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _sizes(*paths: Path) -> dict[str, int]:
    return {str(p): p.stat().st_size for p in paths if p.is_file()}


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
