"""The graph backend: a question in, an Answer read off the knowledge graph out.

``GraphReader`` asks ``retrievers.graph_retriever`` for the query and its rows, then writes the answer the
way the pack's gold answers are written: entities by their label, numbers with their unit
("1,285,216 sq km"), dates as "28 July 1821", counts as digits, "yes"/"no", lists joined with ", ". With
choices (multiple choice) it picks the choice that names the graph's answer. It abstains (``text=None``,
``meta["reason"]``) when no entity links, no relation fits, or the graph has no such fact.

The answer's evidence is the triples it rests on; its rationale is the SPARQL that was run, with the values
bound; its ``trace`` (a ``GraphTrace``) has the linked entities, the relation, the query kind, the SPARQL, the
triples and, for two hops, the path (``meta`` holds the same under its older keys).
``subgraph`` gives the app the neighbourhood to draw (``apps/web_render.draw_subgraph`` draws it).

>>> reader = load_graph_reader("~/.cache/kqa/packs/factbook")  # doctest: +SKIP
>>> reader.answer("What do people pay with in Argentinia?").text  # doctest: +SKIP
'Argentine peso'
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from kqa.kb.graph import KnowledgeGraph, format_value, load_graph, name_key
from kqa.kb.pack import Pack
from kqa.kb.text import clean_question
from kqa.kb.types import Evidence, Question
from kqa.readers.types import Answer, GraphTrace, LinkedEntity, Triple, abstain
from kqa.retrievers.graph_retriever import LOOKUP, RANKED, GraphResult, GraphRetriever, sortable
from kqa.retrievers.relation_detector import Encode


# "Name an official language", "one of its capitals", "which language is official": the question asks for one
_ONE_OF = re.compile(r"\b(?:an?|one|any)\b(?! (?:lot|few|number)\b)|^\s*(?:which|what) \w+ is\b", re.I)


class GraphReader:
    """A Backend over a KnowledgeGraph (in memory or at a SPARQL endpoint)."""

    name = "graph"

    def __init__(self, kg: KnowledgeGraph, *, encode: Encode | None = None, retriever: GraphRetriever | None = None,
                 choice_cutoff: float = 85.0):
        self.kg = kg
        self.retriever = retriever or GraphRetriever(kg, encode=encode)
        self.choice_cutoff = choice_cutoff  # rapidfuzz WRatio a choice needs to count as naming the answer

    # ---------------------------------------------------------------- Backend

    def answer(self, question: str, choices: Sequence[str] | None = None) -> Answer:
        start = time.perf_counter()
        # zero-width and control characters split names ("Pe\u200bru"): link on the cleaned text, answer the
        # question as asked
        result = self.retriever.run(clean_question(question), choices)
        answer = self._read(result, choices)
        # multiple choice no query answers, or (where the pack's profile asks for it) whose answer no choice
        # names: relatedness in the graph (#16)
        if choices and (not result.ok or (answer.text is None and self.kg.profile.choice_relatedness)):
            from kqa.readers.graph_choice_reader import GraphChoiceReader

            answer = GraphChoiceReader(self.kg).answer(question, choices)
        latency_ms = (time.perf_counter() - start) * 1000.0
        return Answer(**{**answer.__dict__, "question": question, "latency_ms": latency_ms})

    def answer_many(self, questions: Sequence[Question]) -> list[Answer]:
        # a query takes about a millisecond: nothing to gain from batching
        return [self.answer(q.question, q.choices) for q in questions]

    # ---------------------------------------------------------------- reading rows

    def _read(self, result: GraphResult, choices: Sequence[str] | None) -> Answer:
        meta = self._meta(result)
        trace = self._trace(result)
        if not result.ok:
            return abstain(result.question, self.name, result.reason or "no query", trace=trace, **meta)
        query = result.query
        rows = result.rows
        kind = query.kind
        values: list[str]
        if kind in ("single_hop", "list"):
            values = self._values([(r[2], query.relation) for r in rows], self._value_ranks(rows))
        elif kind in ("inverse", "superlative"):
            values = self._values([(r[0], None) for r in rows])
        elif kind == "two_hop":
            values = self._values([(r[4], query.relation) for r in rows])
        elif kind == "comparison":
            winner = self._compare(rows[0], query.order or "max")
            if winner is None:
                return abstain(result.question, self.name, "the two values are equal or cannot be compared",
                               trace=trace, **meta)
            values = [self.kg.label(winner)]
        elif kind == "count":
            values = [str(int(rows[0][2].toPython())) if rows else "0"]
        elif kind == "common":
            values = [self.kg.label(rows[0][2])]
        elif kind == "boolean":
            values = ["yes" if rows and rows[0][0] else "no"]
        else:  # pragma: no cover - every kind the retriever makes is handled above
            return abstain(result.question, self.name, f"unknown query type {kind}", trace=trace, **meta)
        confidence = max((e.score or 0.0) for e in result.evidence) if result.evidence else 0.9
        if kind == "list":
            text = ", ".join(values)
        elif kind in ("inverse", "superlative") and len(values) > 1 and not _ONE_OF.search(result.question):
            text = ", ".join(values)  # "which country uses the euro": every one of them
            confidence *= 1.0 / len(values) ** 0.5
        elif kind in ("single_hop", "two_hop") and len(values) > 1 and not _ONE_OF.search(result.question):
            text = ", ".join(values)  # a plural question ("which languages ..."): the set, whole
            confidence *= 0.9
        else:
            text = values[0]
            if kind in ("single_hop", "two_hop", "inverse") and len(values) > 1:
                confidence *= 0.9  # one of several, as asked ("an official language", "a national symbol")
        meta["answer_list"] = tuple(values)
        trace = replace(trace, answer_set=tuple(values))
        named = None  # the answer the chosen choice names
        if choices and {c.strip().lower() for c in choices} != {"yes", "no"}:
            picked, score, named = self._pick(result, choices)
            if picked is None:
                return abstain(result.question, self.name, "none of the choices names the graph's answer "
                               f"({text})", trace=trace, **meta)
            meta["graph_answer"] = text
            trace = replace(trace, graph_answer=text)
            text, confidence = picked, confidence * score / 100.0
        evidence = result.evidence
        if named is not None:  # the triple that names the chosen answer first
            evidence = tuple(sorted(evidence, key=lambda e: f"<{named}>" not in e.id))
        return Answer(question=result.question, text=text, backend=self.name, confidence=round(confidence, 4),
                      evidence=evidence, latency_ms=0.0, rationale=query.sparql_text(), meta=meta,
                      trace=trace)

    def _value_ranks(self, rows: Sequence[tuple[Any, ...]]) -> dict[Any, float]:
        """Each (subject, relation, value) row's value -> its rank (1 = principal) where the pack's
        ``value_rank`` nodes rank it; empty when the profile names none or no node ranks these values."""
        names = self.kg.profile.value_rank
        if not names or not rows:
            return {}
        from rdflib import URIRef

        fixed = {key: URIRef(iri) for key, iri in names.items()}
        ranks: dict[Any, float] = {}
        for s, p in dict.fromkeys((r[0], r[1]) for r in rows):
            for o, r in self.kg.query(RANKED, {**fixed, "s": s, "p": p}):
                rank = sortable(r)
                if rank is not None:
                    ranks[o] = min(rank, ranks.get(o, rank))
        return ranks

    def _values(self, terms: list[tuple[Any, str | None]], ranks: dict[Any, float] | None = None) -> list[str]:
        """Every value, written once: ranked values first, by rank (``_value_ranks``: the principal one
        first); then ordered by the pack's ranking property (largest first) where it has one and the values
        have it, else alphabetically."""
        ranking = self.kg.profile.ranking_property
        written: dict[str, Any] = {}
        for term, rel in terms:
            written.setdefault(format_value(self.kg, term, rel), term)
        names = sorted(written, key=str.lower)
        if ranks:
            names.sort(key=lambda n: (written[n] not in ranks, ranks.get(written[n], 0.0)))
            return names
        if ranking:
            from rdflib import URIRef

            prop = URIRef(ranking)
            rank = {}
            for name, term in written.items():
                rows = self.kg.query(LOOKUP, {"s": term, "p": prop}) if isinstance(term, URIRef) else []
                values = [v for v in (sortable(r[2]) for r in rows) if v is not None]
                rank[name] = max(values) if values else None
            if any(v is not None for v in rank.values()):
                names.sort(key=lambda n: (rank[n] is None, -(rank[n] or 0.0)))
        return names

    def _compare(self, row: tuple[Any, ...], order: str) -> Any:
        a, va, b, vb = row[0], sortable(row[2]), row[3], sortable(row[4])
        if va is None or vb is None or va == vb:
            return None
        return (a if va > vb else b) if order == "max" else (a if va < vb else b)

    def _pick(self, result: GraphResult, choices: Sequence[str]) -> tuple[str | None, float, Any]:
        """The choice that names one of the graph's answers (by any of its names), with a 0-100 score and the
        answer it names."""
        from rapidfuzz import fuzz

        query = result.query
        column = {"inverse": 0, "superlative": 0, "two_hop": 4, "comparison": None}.get(query.kind, 2)
        if query.kind == "comparison":
            terms = [self._compare(result.rows[0], query.order or "max")]
        else:
            terms = [r[column] for r in result.rows]
        named: dict[str, Any] = {}  # a name's key -> the answer it names
        for term in terms:
            for name in list(self.kg.index.aliases.get(term, ())) or [format_value(self.kg, term, query.relation)]:
                if name_key(name):
                    named.setdefault(name_key(name), term)
        for choice in choices:
            if name_key(choice) in named:
                return choice, 100.0, named[name_key(choice)]
        best, best_score, best_term = None, 0.0, None
        for choice in choices:
            for key, term in named.items():
                score = fuzz.WRatio(name_key(choice), key)
                if score > best_score:
                    best, best_score, best_term = choice, score, term
        return (best, best_score, best_term) if best_score >= self.choice_cutoff else (None, best_score, None)

    def _meta(self, result: GraphResult) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "linked": tuple({"mention": m.text, "label": m.candidates[0].label, "iri": str(m.candidates[0].term),
                             "class": m.candidates[0].cls, "score": m.score, "how": m.kind} for m in result.mentions),
            "endpoint": self.kg.source if self.kg.remote else None,
        }
        query = result.query
        if query is not None:
            meta.update(
                query_type=query.kind,
                relation=query.relation,
                relation_how=query.relation_match.method if query.relation_match else "graph",
                sparql=query.sparql_text(),
                bindings=tuple((k, v.n3()) for k, v in query.bindings),
            )
            if query.bridge:
                meta["bridge"] = query.bridge
            if result.extra_queries:
                meta["supporting_sparql"] = tuple(q.sparql_text() for q in result.extra_queries)
        if result.path:
            meta["path"] = tuple(e.text for e in result.path)
            meta["path_ids"] = tuple(e.id for e in result.path)
        return meta

    def _trace(self, result: GraphResult) -> GraphTrace:
        entities = tuple(LinkedEntity(mention=m.text, label=m.candidates[0].label, iri=str(m.candidates[0].term),
                                      cls=m.candidates[0].cls, score=m.score, how=m.kind) for m in result.mentions)
        endpoint = self.kg.source if self.kg.remote else None
        query = result.query
        if query is None:
            return GraphTrace(entities=entities, endpoint=endpoint)
        return GraphTrace(
            entities=entities,
            relation=str(self.retriever.rel_iri.get(query.relation, query.relation)),
            relation_label=self.retriever.relation_label(query.relation),
            relation_how=query.relation_match.method if query.relation_match else "graph",
            query_kind=query.kind,
            sparql=query.sparql_text(),
            supporting_sparql=tuple(q.sparql_text() for q in result.extra_queries),
            triples=tuple(_read_triple(e) for e in result.evidence),
            path=tuple(_read_triple(e) for e in result.path),
            endpoint=endpoint,
        )

    # ---------------------------------------------------------------- pictures for the app

    def subgraph(self, answer: Answer, *, radius: int = 1, max_edges: int = 40):
        """A networkx MultiDiGraph around the answer's entities, its evidence triples always included. Nodes
        carry ``label`` and ``cls``; edges carry ``relation``."""
        from rdflib import URIRef

        keep = [_triple_of(e) for e in answer.evidence]
        keep = [t for t in keep if t is not None]
        linked = answer.trace.entities if isinstance(answer.trace, GraphTrace) else ()
        entities = [URIRef(e.iri) for e in linked if e.cls != "Literal"]
        entities += [s for s, _, _ in keep]
        return self.kg.neighbourhood(entities, radius=radius, max_edges=max_edges, keep=keep)


def load_graph_reader(pack: Pack | str | Path, *, embed: bool = True,
                      cache_dir: Path | str | None = None) -> GraphReader:
    """A GraphReader over a pack's graph; with ``embed`` the bundled MiniLM backs relation detection for
    wordings no phrasing covers (loaded on first use, not here). ``cache_dir``: see ``kb.graph.load_graph``."""
    kg = load_graph(pack, cache_dir=cache_dir)
    return GraphReader(kg, encode=_lazy_minilm() if embed else None)


def _lazy_minilm() -> Encode:
    holder: dict[str, Any] = {}

    def encode(texts: Sequence[str]):
        if "encoder" not in holder:
            from kqa.models.embedder import load_embedder

            holder["encoder"] = load_embedder()
        return holder["encoder"].encode(list(texts))

    return encode


def _read_triple(evidence: Evidence) -> Triple:
    """(subject, relation, object) as a person reads them, from the text the graph retriever writes for each
    triple ("Peru — capital — Lima"); an object may itself hold " — ", names and relations do not."""
    subject, _, rest = evidence.text.partition(" — ")
    relation, _, value = rest.partition(" — ")
    return subject, relation, value


def _triple_of(evidence: Evidence):
    """(s, p, o) rdflib terms back from a "triple:<s> <p> <o>" evidence id; None for anything else."""
    if not evidence.id.startswith("triple:"):
        return None
    from rdflib import Graph

    try:
        graph = Graph().parse(data=evidence.id[len("triple:"):] + " .", format="nt")
    except Exception:
        return None
    return next(iter(graph), None)


__all__ = ["GraphReader", "load_graph_reader"]
