"""Build a pack from a user's own files: ``kqa build --graph FILE [--corpus FILE|DIR] [--questions FILE]``.

A graph alone is enough. Without a corpus, the corpus is the graph written as text: one passage per
labelled resource, its label, comment and facts ("Alien — director — Ridley Scott"), so the corpus backends
have something to read. Without a question file, questions are generated from the graph's schema
(``kb.graph_questions``), so ``kqa eval`` works at once. A ``profile.json`` given with ``--profile`` (or lying
beside the graph file) is copied in. Bad input is a BadFileError naming the file and line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

from kqa.kb.errors import KqaError
from kqa.kb.jsonl import write_jsonl
from kqa.kb.pack import CORPUS, GRAPH, QUESTIONS, Pack, Progress, write_pack
from kqa.kb.profile import PROFILE, load_profile
from kqa.kb.types import Passage

LARGE_TRIPLES = 1_000_000  # beyond this, an endpoint (Oxigraph) serves better than memory


def build_graph_pack(graph_file: Path | str, target: Path | str, *, corpus: Path | str | None = None,
                     questions: Path | str | None = None, profile: Path | str | None = None,
                     name: str | None = None, progress: Progress | None = None, seed: int = 13) -> Pack:
    from kqa.kb.corpus import load_corpus
    from kqa.kb.graph import KnowledgeGraph, format_value
    from kqa.kb.graph_questions import generate_questions
    from kqa.kb.questions import load_questions
    from kqa.kb.rdf import load_rdf

    say = progress or (lambda message: None)
    graph_file = Path(graph_file).expanduser()
    target = Path(target).expanduser()
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    say(f"parsing {graph_file.name}")
    graph = load_rdf(graph_file)
    seconds["parse"] = time.perf_counter() - start
    profile_path = Path(profile).expanduser() if profile else graph_file.parent / PROFILE
    if profile and not profile_path.is_file():
        raise KqaError(f"no profile file at {profile_path}")
    graph_profile = load_profile(profile_path) if profile_path.is_file() else None
    start = time.perf_counter()
    say("reading the schema")
    kg = KnowledgeGraph.from_graph(graph, profile=graph_profile)
    seconds["index"] = time.perf_counter() - start
    if not kg.index.labels:
        raise KqaError(f"{graph_file}: {kg.index.warnings[0]}")
    if not kg.index.relation_info:
        raise KqaError(f"{graph_file}: no labelled resource has any other property: there is nothing to ask")
    start = time.perf_counter()
    passages = load_corpus(corpus) if corpus else graph_passages(kg, format_value)
    seconds["corpus"] = time.perf_counter() - start
    start = time.perf_counter()
    if questions:
        asked = load_questions(questions)
    else:
        say("generating questions from the schema")
        asked = generate_questions(kg, seed=seed)
        if not asked:
            raise KqaError(f"{graph_file}: no question could be generated (no labelled resource has a fact)")
    seconds["questions"] = time.perf_counter() - start

    def write_parts(folder: Path) -> None:
        start = time.perf_counter()
        say("writing the pack")
        if graph_file.suffix.lower() in (".ttl", ".turtle"):
            shutil.copyfile(graph_file, folder / GRAPH)
        else:
            graph.serialize(destination=str(folder / GRAPH), format="turtle")
        write_jsonl(folder / CORPUS, (p.to_json() for p in passages))
        write_jsonl(folder / QUESTIONS, (q.to_json() for q in asked))
        if profile_path.is_file():
            shutil.copyfile(profile_path, folder / PROFILE)
        seconds["write"] = time.perf_counter() - start

    def manifest() -> dict[str, Any]:
        return {
            "name": name or target.name,
            "source": {"graph": str(graph_file.resolve()), "graph_sha256": _sha256(graph_file),
                       "corpus": str(Path(corpus).resolve()) if corpus else "the graph's labels, comments and facts",
                       "questions": str(Path(questions).resolve()) if questions else "generated from the schema",
                       "profile": str(profile_path.resolve()) if profile_path.is_file() else None},
            "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "seed": seed,
            "stage_seconds": {k: round(v, 3) for k, v in seconds.items()},
            "counts": {
                "triples": len(graph),
                "entities": len(kg.index.labels),
                "relations": len(kg.index.relation_info),
                "passages": len(passages),
                "questions": len(asked),
                "questions_by_type": dict(Counter(q.type for q in asked)),
                "questions_by_split": dict(Counter(str(q.split) for q in asked)),
            },
            "relations": [{"name": i.name, "iri": str(i.iri), "object": i.object_kind, "count": i.count}
                          for i in kg.index.relation_info.values()],
            "warnings": list(kg.index.warnings) + ([
                f"{len(graph):,} triples: questions load the whole graph into memory; for graphs this size serve it "
                "from a SPARQL endpoint (oxigraph serve) and use KnowledgeGraph.from_endpoint"]
                if len(graph) > LARGE_TRIPLES else []),
        }

    pack = write_pack(target, write_parts, manifest)
    say(f"pack written to {target}")
    return pack


def graph_passages(kg, format_value, *, max_facts: int = 30) -> list[Passage]:
    """The graph as text: one passage per labelled resource with facts (label, comment, facts)."""
    from rdflib import RDFS

    facts: dict[Any, list[str]] = {}
    info = kg.index.relation_info
    for p, rel in info.items():
        for s, o in kg.graph.subject_objects(p):
            if s in kg.index.labels:
                line = f"{kg.index.labels[s]} — {rel.name} — {format_value(kg, o, rel.name)}."
                facts.setdefault(s, []).append(line)
    passages = []
    for s in sorted(facts, key=str):
        label = kg.index.labels[s]
        comment = next((str(c) for c in kg.graph.objects(s, RDFS.comment)), "")
        text = " ".join([f"{label}.", comment, *sorted(facts[s])[:max_facts]]).replace("  ", " ").strip()
        passages.append(Passage(id=_passage_id(s), title=label, section=kg.index.classes.get(s, ""), text=text))
    if not passages:
        raise KqaError("the graph has no facts about labelled resources to write as a corpus")
    return passages


def _passage_id(term) -> str:
    import re

    local = re.split(r"[#/]", str(term).rstrip("/#"))[-1] or "resource"
    return f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', local)}-{hashlib.sha1(str(term).encode()).hexdigest()[:6]}/0"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


__all__ = ["build_graph_pack", "graph_passages"]
