"""Questions generated from any graph's schema, so that ``kqa eval`` works on a pack built from a user's graph
with no question file: single hop, inverse, two hop (a chain), count, yes/no and comparison, worded from the
relations' own names ("What is the runtime of Gladiator?"). Gold answers are written the way the graph
engine writes values (``format_value``), gold triples are the triples asked about, and the split (dev/test)
is by a hash of the subject, so that no entity is asked about in both.

Generated wordings are the graph's names put into fixed frames: they measure whether the engine reads the
schema, not how it copes with people's wording (bring a question file for that).
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from kqa.kb.graph import KnowledgeGraph, format_value, sortable
from kqa.kb.rdf import triple_id
from kqa.kb.types import Question


def generate_questions(kg: KnowledgeGraph, *, per_relation: int = 10, seed: int = 13) -> list[Question]:
    """Up to ``per_relation`` questions of each shape for each relation of ``kg``."""
    from rdflib import Literal

    rng = random.Random(seed)
    info = kg.index.relation_info or {}
    labels = kg.index.labels
    by_relation: dict[Any, list[tuple[Any, Any]]] = defaultdict(list)
    for p in info:
        for s, o in kg.graph.subject_objects(p):
            if s in labels and (o in labels or isinstance(o, Literal)):
                by_relation[p].append((s, o))
    out: list[Question] = []

    def add(kind: str, p, text: str, answers: Sequence[str], triples, subject, hops: int = 1,
            answer_list: Sequence[str] = ()) -> None:
        answers = tuple(dict.fromkeys(a for a in answers if a))
        if not answers:
            return
        sid = str(subject)
        split = "dev" if int(hashlib.sha256(sid.encode()).hexdigest(), 16) % 5 == 0 else "test"
        out.append(Question(id=f"{kind}/{len(out)}", question=text, answers=answers, type=kind,
                            relation=_local(p), hops=hops, subject=sid,
                            gold_triples=tuple(triple_id(*t) for t in triples), split=split,
                            answer_list=tuple(answer_list)))

    for p in sorted(info, key=str):
        rel = info[p]
        pairs = by_relation.get(p, [])
        if not pairs:
            continue
        objects: dict[Any, list[Any]] = defaultdict(list)
        subjects: dict[Any, list[Any]] = defaultdict(list)
        for s, o in pairs:
            objects[s].append(o)
            subjects[o].append(s)
        name = rel.name[:-3] if rel.name.endswith(" of") else rel.name  # "subclass of": "the subclass of X"
        unique = sorted((s for s in objects if _unique_label(kg, s)), key=str)
        rng.shuffle(unique)
        for s in unique[:per_relation]:
            values = objects[s]
            written = [format_value(kg, o, _local(p)) for o in values]
            if len(values) == 1 or rel.object_kind == "entity":
                add("single_hop", p, f"What is the {name} of {labels[s]}?", written,
                    [(s, p, o) for o in values], s)
            if rel.object_kind == "entity" and len(values) > 1:
                add("count", p, f"How many {_plural(name)} does {labels[s]} have?", [str(len(set(values)))],
                    [(s, p, o) for o in values], s)
        # inverse: an entity object with exactly one subject
        inverse = sorted((o for o, ss in subjects.items() if len(ss) == 1 and o in labels and _unique_label(kg, o)),
                         key=str)
        rng.shuffle(inverse)
        if rel.object_kind == "entity":
            for o in inverse[:per_relation]:
                s = subjects[o][0]
                add("inverse", p, f"What has {labels[o]} as its {name}?", [labels[s]], [(s, p, o)], o)
        # yes/no: the true object, and the object of another subject
        if rel.object_kind == "entity" and len(objects) > 1:
            for s in unique[: max(1, per_relation // 2)]:
                o = objects[s][0]
                if o not in labels or not _unique_label(kg, o):
                    continue
                add("boolean", p, f"Is {labels[o]} the {name} of {labels[s]}?", ["yes"], [(s, p, o)], s)
                others = [x for x in subjects if x not in objects[s] and x != s and x in labels
                          and _unique_label(kg, x)]
                if others:
                    wrong = rng.choice(sorted(others, key=str))
                    add("boolean", p, f"Is {labels[wrong]} the {name} of {labels[s]}?", ["no"], [], s)
        # comparison: two subjects with different numeric or date values
        if rel.object_kind in ("number", "date"):
            single = [(s, objects[s][0]) for s in unique if len(objects[s]) == 1 and sortable(objects[s][0]) is not None]
            for (a, va), (b, vb) in list(zip(single[::2], single[1::2]))[: max(1, per_relation // 2)]:
                if sortable(va) == sortable(vb):
                    continue
                word = "earlier" if rel.object_kind == "date" else "larger"
                first = (sortable(va) < sortable(vb)) if word == "earlier" else (sortable(va) > sortable(vb))
                add("comparison", p, f"Which has the {word} {name}, {labels[a]} or {labels[b]}?",
                    [labels[a] if first else labels[b]], [(a, p, va), (b, p, vb)], a)
    # two hops, as a chain: the {second} of the {first} of S
    entity_rels = [p for p in sorted(info, key=str) if info[p].object_kind == "entity"]
    for p1 in entity_rels:
        chains = 0
        for s, m in sorted(by_relation.get(p1, []), key=lambda t: str(t)):
            if chains >= max(1, per_relation // 2) or len(objects_of(kg, s, p1)) != 1 or not _unique_label(kg, s):
                continue
            for p2 in kg.relations_of(m, "out"):
                values = objects_of(kg, m, p2)
                if p2 == p1 or len(values) != 1:
                    continue
                second, first = (info[q].name.removesuffix(" of") for q in (p2, p1))
                add("two_hop", p2, f"What is the {second} of the {first} of {labels[s]}?",
                    [format_value(kg, values[0], _local(p2))], [(s, p1, m), (m, p2, values[0])], s, hops=2)
                chains += 1
                break
    return out


def objects_of(kg: KnowledgeGraph, s, p) -> list[Any]:
    return list(kg.graph.objects(s, p))


def _unique_label(kg: KnowledgeGraph, term) -> bool:
    """Whether the term's label names it alone (a question about it cannot mean another)."""
    label = kg.index.labels.get(term)
    return bool(label) and kg.lookup_name(label)[:1] == (term,) and len(kg.lookup_name(label)) == 1


def _plural(name: str) -> str:
    return name if name.endswith("s") else name + "s"


def _local(term) -> str:
    import re

    return re.split(r"[#/]", str(term))[-1]


__all__ = ["generate_questions"]
