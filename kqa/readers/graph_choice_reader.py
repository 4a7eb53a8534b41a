"""``GraphChoiceReader``: multiple choice answered by relatedness in a knowledge graph, for any labelled graph.

The question's concepts are linked by name (every n-gram that is some entity's label or alias, longest
first), each choice likewise; the choice closest to the question's concepts in the graph wins, with the
shortest path (edges followed either way) as its evidence: "poodle -hypernym-> dog". This is the
path-finding half of KagNet (Lin et al. 2019) and QA-GNN (Yasunaga et al. 2021), which score ConceptNet
paths between question and answer concepts with a learned model; here the score is the path's length,
ties broken by how many of the question's concepts reach the choice. It abstains when no concept of the
question is in the graph, when no choice connects within ``max_hops``, or when the best choices tie.

Words that name the graph's relations ("kind of", "part of", "opposite of": read from the relations'
labels and local names) and question words are not concepts: "What kind of thing is a poodle?" links only
"poodle".

>>> reader = GraphChoiceReader(load_graph(pack))  # doctest: +SKIP
>>> reader.answer("What kind of thing is a poodle?", ["dog", "cat", "oak"]).text  # doctest: +SKIP
'dog'
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from kqa.kb.graph import KnowledgeGraph, name_key
from kqa.kb.text import clean_question
from kqa.kb.types import Evidence, Question
from kqa.readers.types import Answer, GraphTrace, LinkedEntity, abstain

# question words and function words: never concepts, whatever the graph names
_STOP = frozenset("""a an the of to in on at by for from with and or not no is are was were be been being do does
did has have had what which who whom whose where when why how would could should will can may might must shall
this that these those it its you your i me my we our they their them he she his her there here as if than then
so such some any all each every one ones thing things something someone somebody anything name most more many
much very also else both either neither kind kinds type types sort sorts""".split())
_WORD = re.compile(r"[\w'-]+")


class GraphChoiceReader:
    """Pick the choice nearest the question's concepts in ``kg``; ``max_hops`` bounds the search."""

    name = "graph"

    def __init__(self, kg: KnowledgeGraph, *, max_hops: int = 4, max_ngram: int = 4, max_nodes: int = 200_000):
        self.kg, self.max_hops, self.max_ngram, self.max_nodes = kg, max_hops, max_ngram, max_nodes
        self._relation_words: frozenset[str] | None = None
        self._relation_iri: dict[str, Any] | None = None

    # ---------------------------------------------------------------- Backend

    def answer(self, question: str, choices: Sequence[str] | None = None) -> Answer:
        start = time.perf_counter()
        answer = self._answer(question, list(choices or ()))
        return Answer(**{**answer.__dict__, "latency_ms": (time.perf_counter() - start) * 1000.0})

    def answer_many(self, questions: Sequence[Question]) -> list[Answer]:
        return [self.answer(q.question, q.choices) for q in questions]

    # ---------------------------------------------------------------- linking

    def concepts(self, text: str, *, skip: frozenset[str] = frozenset()) -> list[tuple[str, tuple[Any, ...]]]:
        """(mention, entity IRIs) for each n-gram of ``text`` that names something, longest first, no overlaps;
        stop words, relation words and the keys in ``skip`` are left out."""
        words = _WORD.findall(clean_question(text).lower())
        taken = [False] * len(words)
        found = []
        for n in range(min(self.max_ngram, len(words)), 0, -1):
            for i in range(len(words) - n + 1):
                if any(taken[i:i + n]):
                    continue
                gram = words[i:i + n]
                if all(w in _STOP or w in self.relation_words() for w in gram):
                    continue
                if n == 1 and (gram[0] in _STOP or gram[0] in self.relation_words() or len(gram[0]) < 2):
                    continue
                mention = " ".join(gram)
                key = name_key(mention)
                if key in skip:
                    continue
                iris = self.kg.lookup_name(mention)
                for singular in () if iris else _singulars(mention):
                    iris = self.kg.lookup_name(singular)
                    if iris:
                        break
                if iris:
                    found.append((mention, iris))
                    for j in range(i, i + n):
                        taken[j] = True
        return found

    def choice_nodes(self, choice: str) -> tuple[Any, ...]:
        """The entities a choice names: the whole text, else its concepts."""
        whole = self.kg.lookup_name(choice)
        if whole:
            return whole
        return tuple(iri for _, iris in self.concepts(choice) for iri in iris)

    def relation_words(self) -> frozenset[str]:
        """Words of the relations' names and labels: "kind", "part", "opposite"... (not concepts)."""
        if self._relation_words is None:
            words: set[str] = set()
            for iri in self.kg.index.relations:
                local = re.split(r"[#/]", str(iri))[-1]
                words |= {w.lower() for w in re.findall(r"[A-Z]?[a-z]+", local)}
                words |= {w.lower() for w in _WORD.findall(self.kg.index.labels.get(iri, ""))}
            self._relation_words = frozenset(w for w in words if len(w) > 2) - {"has", "have"}
        return self._relation_words

    # ---------------------------------------------------------------- paths

    def _answer(self, question: str, choices: list[str]) -> Answer:
        if not choices:
            return abstain(question, self.name, "relatedness needs choices to compare")
        targets = {choice: {str(iri) for iri in self.choice_nodes(choice)} for choice in choices}
        choice_keys = frozenset(name_key(c) for c in choices)
        linked = self.concepts(question, skip=choice_keys)
        sources = {str(iri) for _, iris in linked for iri in iris} - set().union(*targets.values())
        meta: dict[str, Any] = {"linked": tuple({"mention": m, "label": self.kg.label(iris[0]), "iri": str(iris[0]),
                                                 "class": self.kg.entity_class(iris[0]), "senses": len(iris),
                                                 "how": "name"} for m, iris in linked),
                                "choice_links": {c: len(t) for c, t in targets.items()}, "max_hops": self.max_hops}
        trace = GraphTrace(entities=tuple(LinkedEntity(mention=m, label=self.kg.label(iris[0]), iri=str(iris[0]),
                                                       cls=self.kg.entity_class(iris[0]), how="name")
                                          for m, iris in linked), query_kind="relatedness")
        if not sources:
            return abstain(question, self.name, "no concept of the question is in the graph", trace=trace, **meta)
        if not any(targets.values()):
            return abstain(question, self.name, "no choice names anything in the graph", trace=trace, **meta)
        distance, parent, origin = self._bfs(sources, set().union(*targets.values()))
        scored = []
        for choice in choices:
            reached = [(distance[t], t) for t in targets[choice] if t in distance]
            if not reached:
                continue
            best, node = min(reached)
            concepts_reached = len({origin[t] for t in targets[choice] if t in distance and distance[t] == best})
            scored.append((best, -concepts_reached, choice, node))
        meta["distances"] = {c: d for d, _, c, _ in scored}
        if not scored:
            return abstain(question, self.name, f"no choice connects to the question's concepts within "
                           f"{self.max_hops} hops", trace=trace, **meta)
        scored.sort(key=lambda row: row[:2])
        if len(scored) > 1 and scored[0][:2] == scored[1][:2]:
            return abstain(question, self.name, f"choices tie at {scored[0][0]} hops: {scored[0][2]!r} and "
                           f"{scored[1][2]!r}", trace=trace, **meta)
        hops, _, choice, node = scored[0]
        path = self._path(node, parent)
        edges = [self._edge(a, b) for a, b in zip(path, path[1:])]
        evidence = tuple(e for e, _ in edges)
        trace = replace(trace, triples=tuple(t for _, t in edges), path=tuple(t for _, t in edges))
        meta["path"] = tuple(e.text for e in evidence)
        meta["path_nodes"] = tuple(self.kg.label(_iri(n)) for n in path)
        runner_up = scored[1][0] if len(scored) > 1 else self.max_hops + 1
        confidence = round(1.0 - hops / (runner_up + 1.0), 4)  # a clear margin over the next choice: near 1
        rationale = " ; ".join(meta["path"]) or f"{choice} is a concept of the question"
        return Answer(question=question, text=choice, backend=self.name, confidence=confidence, evidence=evidence,
                      latency_ms=0.0, rationale=f"shortest path ({hops} hops): {rationale}", meta=meta,
                      trace=trace)

    def _bfs(self, sources: set[str], goals: set[str]) -> tuple[dict[str, int], dict[str, str], dict[str, str]]:
        """Breadth-first from every source at once over the networkx view, edges either way, until every
        goal is reached, ``max_hops`` is spent or ``max_nodes`` are seen. Distances, parents, origins."""
        view = self.kg.nx_view()
        distance = {s: 0 for s in sources if s in view}
        parent: dict[str, str] = {}
        origin = {s: s for s in distance}
        queue = deque(sorted(distance))
        left = set(goals)
        while queue and left and len(distance) < self.max_nodes:
            node = queue.popleft()
            d = distance[node]
            if d >= self.max_hops:
                continue
            for nxt in (*view.successors(node), *view.predecessors(node)):
                if nxt not in distance:
                    distance[nxt], parent[nxt], origin[nxt] = d + 1, node, origin[node]
                    left.discard(nxt)
                    queue.append(nxt)
        return distance, parent, origin

    @staticmethod
    def _path(node: str, parent: dict[str, str]) -> list[str]:
        path = [node]
        while path[-1] in parent:
            path.append(parent[path[-1]])
        return path[::-1]  # from a question concept to the choice

    def _edge(self, a: str, b: str) -> tuple[Evidence, tuple[str, str, str]]:
        """The triple joining two neighbouring nodes, in the direction the graph stores it: as evidence, and
        as (subject, relation, object) labels."""
        from rdflib import URIRef

        from kqa.kb.rdf import triple_id

        view = self.kg.nx_view()
        if view.has_edge(a, b):
            s, o = a, b
        else:
            s, o = b, a
        relation = next(iter(view.get_edge_data(s, o)))
        iri = self._relation_iris().get(relation, relation)
        subject, obj = self.kg.label(_iri(s)), self.kg.label(_iri(o))
        text = f"{subject} -{relation}-> {obj}"
        return (Evidence(id=triple_id(URIRef(s), URIRef(str(iri)), URIRef(o)), text=text, source="graph"),
                (subject, relation, obj))

    def _relation_iris(self) -> dict[str, Any]:
        if self._relation_iri is None:
            self._relation_iri = {re.split(r"[#/]", str(iri))[-1]: iri for iri in self.kg.index.relations}
        return self._relation_iri


def _singulars(mention: str) -> list[str]:
    """English plural endings undone, most specific first: wolves -> wolf, berries -> berry, boxes -> box."""
    if len(mention) <= 3 or not mention.endswith("s"):
        return []
    out = []
    if mention.endswith("ves"):
        out += [mention[:-3] + "f", mention[:-3] + "fe"]
    if mention.endswith("ies"):
        out.append(mention[:-3] + "y")
    if mention.endswith("es"):
        out.append(mention[:-2])
    return out + [mention[:-1]]


def _iri(node: str):
    from rdflib import URIRef

    return URIRef(node) if node.startswith("http") else node


__all__ = ["GraphChoiceReader"]
