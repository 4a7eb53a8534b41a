"""Question -> structured query -> SPARQL -> ranked triples, over any KnowledgeGraph in memory or at an endpoint.

``GraphRetriever.parse`` reads a question into a ``GraphQuery``: its type (single hop either way, two hops as a
bridge or a chain, comparison, superlative, count, yes/no with transitive closure, list), the linked
entities, the relation and the SPARQL template with its bindings. What it knows of the schema comes from the
graph (every predicate's name and use, ``kg.index.relation_info``) and from the pack's ``profile.json``
(``kg.profile``: phrasings, subject classes, class nouns), never from a pack's code. The templates below are
fixed strings; every value in a query (an entity IRI, a relation, a class, a literal) is a term taken from the
graph itself and passed as a binding (``initBindings`` in memory, a ``VALUES`` block written by rdflib at an
endpoint), so no text of a question can change a query's shape.

``GraphRetriever.run`` executes the query and returns a ``GraphResult``: the rows, the triples they rest on
as Evidence (ids from ``kb.rdf.triple_id``) and, for two hops and transitive steps, the path. It never
writes an answer: ``readers.graph_reader`` turns rows into text.

>>> retriever = GraphRetriever(load_graph(pack))  # doctest: +SKIP
>>> result = retriever.run("What is the capital of Peru?")  # doctest: +SKIP
>>> result.query.kind, result.evidence[0].text  # doctest: +SKIP
('single_hop', 'Peru — capital — Lima')
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kqa.kb.graph import KnowledgeGraph, format_value, sortable
from kqa.kb.rdf import KQA_NS, triple_id
from kqa.kb.types import Evidence
from kqa.retrievers.entity_linker import Candidate, EntityLinker, Mention
from kqa.retrievers.lines import Hint
from kqa.retrievers.relation_detector import Encode, RelationDetector, RelationMatch, answer_kinds

# ------------------------------------------------------------------------------------------ templates
# Fixed query shapes. A class test is a FILTER, not a triple of the pattern: rdflib orders a pattern's
# triples before it sees the bindings, and would start from every member of the class (7 ms) rather than
# from the value. Variables bound from the graph: ?s subject, ?p relation, ?o object, ?bridge, ?v, ?cls a
# class, ?a / ?b the two sides of a comparison.

LOOKUP = """SELECT ?s ?p ?o ?label WHERE {
  ?s ?p ?o .
  OPTIONAL { ?o rdfs:label ?label }
}"""

# a subject's ranked values of one relation, by the pack's value_rank predicates (profile.VALUE_RANK_KEYS)
RANKED = """SELECT ?o ?r WHERE {
  ?n ?about ?s .
  ?n ?relation ?p .
  ?n ?value ?o .
  ?n ?rank ?r .
}"""

INVERSE = """SELECT ?s ?p ?o ?label WHERE {
  ?s ?p ?o .
  OPTIONAL { ?s rdfs:label ?label }
}"""

INVERSE_IN_CLASS = """SELECT ?s ?p ?o ?label WHERE {
  ?s ?p ?o .
  FILTER EXISTS { ?s a ?cls }
  OPTIONAL { ?s rdfs:label ?label }
}"""

TWO_HOP = """SELECT ?s ?bridge ?v ?p ?o ?label WHERE {
  ?s ?bridge ?v .
  ?s ?p ?o .
  OPTIONAL { ?o rdfs:label ?label }
}"""

TWO_HOP_IN_CLASS = """SELECT ?s ?bridge ?v ?p ?o ?label WHERE {
  ?s ?bridge ?v .
  ?s ?p ?o .
  FILTER EXISTS { ?s a ?cls }
  OPTIONAL { ?o rdfs:label ?label }
}"""

CHAIN = """SELECT ?s ?bridge ?v ?p ?o ?label WHERE {
  ?s ?bridge ?v .
  ?v ?p ?o .
  OPTIONAL { ?o rdfs:label ?label }
}"""

COMPARE = """SELECT ?a ?p ?va ?b ?vb WHERE {
  ?a ?p ?va .
  ?b ?p ?vb .
}"""

COUNT = """SELECT ?s ?p (COUNT(DISTINCT ?o) AS ?n) WHERE {
  ?s ?p ?o .
} GROUP BY ?s ?p"""

COUNT_IN = """SELECT ?o ?p (COUNT(DISTINCT ?s) AS ?n) WHERE {
  ?s ?p ?o .
} GROUP BY ?o ?p"""

ASK = """ASK { ?s ?p ?o }"""

SUPERLATIVE = """SELECT ?s ?p ?o WHERE {
  ?s ?p ?o .
  FILTER EXISTS { ?s a ?cls }
}"""

LINKS = """SELECT DISTINCT ?p WHERE {
  ?s ?p ?o .
}"""

LINKS_IN_CLASS = """SELECT DISTINCT ?p WHERE {
  ?s ?p ?o .
  FILTER EXISTS { ?s a ?cls }
}"""

TEMPLATES: Mapping[str, str] = {"lookup": LOOKUP, "inverse": INVERSE, "inverse_in_class": INVERSE_IN_CLASS,
                                "two_hop": TWO_HOP, "two_hop_in_class": TWO_HOP_IN_CLASS, "chain": CHAIN, "compare": COMPARE,
                                "count": COUNT, "count_in": COUNT_IN, "ask": ASK, "superlative": SUPERLATIVE,
                                "ranked": RANKED, "links": LINKS, "links_in_class": LINKS_IN_CLASS}

_BOOLEAN_CUE = re.compile(r"^\s*(?:is|are|does|do|did|has|have|can|was|were)\b", re.I)
_SMALLER = re.compile(r"\b(?:smaller|smallest|fewer|fewest|less|least|lower|lowest|shorter|shortest|earlier|"
                      r"earliest|older|oldest|first|sooner|poorer|poorest|younger population)\b", re.I)
_SUPERLATIVE = re.compile(r"\b(?:most|least|highest|lowest|largest|smallest|longest|shortest|biggest|oldest|"
                          r"newest|earliest|latest|first|last|greatest|fewest|tallest|richest|poorest|youngest|"
                          r"heaviest|lightest|best|worst|\w+est)\b", re.I)
_HOW_MANY = re.compile(r"\bhow many\b|\bnumber of\b", re.I)
_LIST_WORDS = r"\bname (?:all|every)\b|\blist\b|\ball (?:the|of the)\b|\bwhat are the\b|\bwhich are the\b"
_KIND_OF = re.compile(r"\b(?:a )?(?:kind|type|sort|form|part|member|subclass|instance) of\b", re.I)
_GENERIC_LIST_NOUNS = ("languages", "neighbours", "neighbors")
_CHAIN = re.compile(r"\bof (?:the |a |an )?((?:[a-z]+ ){0,3}[a-z]+) of (?:the )?X\b", re.I)


def _plural(word: str) -> str:
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + ("es" if word.endswith(("s", "x", "ch", "sh")) else "s")


# ------------------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class GraphQuery:
    """A parsed question: what to ask the graph and how."""

    kind: str  # single_hop | inverse | two_hop | comparison | count | boolean | list | superlative | common
    relation: str  # local name of the relation asked for
    template: str  # key in TEMPLATES
    bindings: tuple[tuple[str, Any], ...]  # (variable, rdflib term), every one taken from the graph
    entities: tuple[Candidate, ...]  # what the question's mentions were linked to, in question order
    relation_match: RelationMatch | None = None
    bridge: str | None = None  # two hops: the relation from the bridge value to the country
    order: str | None = None  # comparison: "max" or "min"
    target: Any = None  # boolean: the object the question proposes
    direction: str = "out"  # count and list: "in" when the linked entity is the relation's object
    transitive: bool = False  # boolean: follow the relation through any number of steps
    fallbacks: tuple[str, ...] = ()  # single hop: other relations the wording fits, tried when this has no fact
    # per entity, every thing its name may mean, best first (a word's senses): a transitive yes/no accepts any
    # of the proposed object's; a common ancestor is sought over every pair of the two subjects'
    senses: tuple[tuple[Any, ...], ...] = ()

    @property
    def sparql(self) -> str:
        return TEMPLATES[self.template]

    def sparql_text(self) -> str:
        """The template with its bindings written as a trailing VALUES block: what a person reads (and what
        rdflib sends to an endpoint)."""
        if not self.bindings:
            return self.sparql
        names = " ".join(f"?{k}" for k, _ in self.bindings)
        values = " ".join(v.n3() for _, v in self.bindings)
        return f"{self.sparql}\nVALUES ( {names} ) {{ ( {values} ) }}"


@dataclass(frozen=True)
class GraphResult:
    """What the graph said about one question. ``query`` is None when the question could not be parsed,
    and ``reason`` says why."""

    question: str
    query: GraphQuery | None
    rows: tuple[tuple[Any, ...], ...] = ()
    evidence: tuple[Evidence, ...] = ()
    path: tuple[Evidence, ...] = ()  # two hops: bridge triple, then answer triple(s)
    mentions: tuple[Mention, ...] = ()
    reason: str | None = None
    extra_queries: tuple[GraphQuery, ...] = ()  # e.g. the lookup whose triples back a count or a "no"

    @property
    def ok(self) -> bool:
        return self.query is not None and self.reason is None


@dataclass
class _Parse:
    query: GraphQuery | None = None
    reason: str | None = None
    mentions: tuple[Mention, ...] = field(default_factory=tuple)


# ------------------------------------------------------------------------------------------ retriever


class GraphRetriever:
    """Parses questions into GraphQuery objects and runs them on ``kg``. ``name = "graph"``.

    What it knows of the schema comes from the graph (``kg.index.relation_info``: every predicate's name and
    how it is used) and from the pack's profile (``kg.profile``: phrasings, classes, units), never from code."""

    name = "graph"
    max_senses = 8  # of a name's candidates, how many a common ancestor or a yes/no's proposed object tries
    subject_senses = 2  # a transitive yes/no: the subject's two most common senses (set on the dev questions)

    def __init__(self, kg: KnowledgeGraph, *, encode: Encode | None = None, linker: EntityLinker | None = None,
                 detector: RelationDetector | None = None, relation_threshold: float | None = None):
        self.kg = kg
        self.profile = profile = kg.profile
        self.linker = linker or EntityLinker(kg)
        info = kg.index.relation_info or {}
        self.rel_iri = {_local(r): r for r in info}
        self.info = {_local(r): i for r, i in info.items()}
        rels = profile.relations
        descriptions = {n: (rels[n].description if n in rels and rels[n].description else i.description)
                        for n, i in self.info.items()}
        if relation_threshold is None:  # set on dev questions (README, "Bring your own graph")
            relation_threshold = 0.6 if profile.patterns() else 0.3
        self._proper: dict[str, bool] = {}
        self.detector = detector or RelationDetector(
            descriptions, encode=encode, threshold=relation_threshold, patterns=profile.patterns(),
            examples=profile.examples(), names={n: i.name for n, i in self.info.items()},
            reverse_patterns=profile.reverse_patterns(),
            kinds={n: i.object_kind for n, i in self.info.items()}, proper=self._proper_names, floor=0.35)
        self.subject_classes = tuple(profile.subject_classes or ())
        self.class_iri = {_local(c): c for c in _class_terms(kg)}
        nouns: dict[str, str] = {}  # a word in a question -> the class it names
        for cls, label in (kg.index.class_names or {}).items():
            for word in {label.lower(), _plural(label.lower())}:
                nouns.setdefault(word, cls)
        for cls, words in profile.class_nouns.items():
            for word in words:
                nouns[word.lower()] = cls
        self.nouns = nouns
        alternation = "|".join(re.escape(w) for w in sorted(nouns, key=len, reverse=True)) or "(?!)"
        self._two_hop_cue = re.compile(rf"\b(?:the|a|an) (?:{alternation}) (?:whose|that has|with|where)\b", re.I)
        self._inverse_cue = re.compile(rf"\b(?:which|what) (?:{alternation})\b|\bwhose\b", re.I)
        self._which_noun = re.compile(rf"\b(?:which|what|how many) ({alternation})\b", re.I)
        plurals = [w for w in nouns if w.endswith("s")] + list(_GENERIC_LIST_NOUNS)
        self._list_cue = re.compile(rf"\b(?:which|what) (?:{'|'.join(map(re.escape, plurals))})\b|{_LIST_WORDS}", re.I)
        self.transitive = {n for n, i in self.info.items() if i.transitive} | \
            {_local(p) for p in profile.transitive}

    # ---------------------------------------------------------------- schema facts

    def _object_class(self, relation: str) -> str | None:
        rel = self.profile.relations.get(relation)
        if rel and rel.object_class:
            return rel.object_class
        return self.info[relation].object_class if relation in self.info else None

    def _ordered(self, relation: str) -> bool:
        rel = self.profile.relations.get(relation)
        if rel and rel.ordered is not None:
            return rel.ordered
        return relation in self.info and self.info[relation].object_kind in ("number", "date")

    def _countable(self, relation: str) -> bool:
        rel = self.profile.relations.get(relation)
        if rel and rel.countable is not None:
            return rel.countable
        return relation in self.info and (self.info[relation].object_kind == "entity" or self.info[relation].multi)

    def _proper_names(self, relation: str) -> bool:
        """Whether most values of ``relation`` are proper names ("Vjosa Osmani", not "absolute monarchy"),
        from a sample of the graph's own values: what a "who" question can be answered with."""
        if relation not in self._proper:
            rows = self.kg.query("SELECT ?o WHERE { ?s ?p ?o } LIMIT 40",
                                 {"p": self.rel_iri[relation]}) if relation in self.rel_iri else []
            texts = [self.kg.label(o) if o in self.kg.labels or not hasattr(o, "datatype") else str(o) for (o,) in rows]
            named = sum(1 for t in texts if t[:1].isupper())
            self._proper[relation] = not texts or named * 2 >= len(texts)
        return self._proper[relation]

    def _subjects(self, mention: Mention) -> tuple[Candidate, ...]:
        """The candidates of a mention that questions are about (the profile's subject classes, else any)."""
        if self.subject_classes:
            return mention.of_class(*self.subject_classes)
        return tuple(c for c in mention.candidates if c.cls != "Literal")

    def relation_label(self, relation: str) -> str:
        """How the graph names a relation: "national anthem" for ``national_anthem``."""
        info = self.info.get(relation)
        return info.name if info is not None else relation.replace("_", " ")

    def reading(self, question: str) -> Hint | None:
        """The label of the relation the question reads as ("national anthem"), the names of the entities it
        asks it of ("Liberia") and whether it asks for the relation's value, or None when no query of the graph
        fits it: what a reader of another kind of knowledge can be told the question is about."""
        query = self.parse(question).query
        if query is None or not query.relation:
            return None
        names = tuple(dict.fromkeys(c.label for c in query.entities if c.cls != "Literal"))
        asks_value = query.kind in ("single_hop", "two_hop") or (query.kind == "list" and query.direction == "out")
        return Hint(self.relation_label(query.relation), names, asks_value=asks_value)

    def _asked_class(self, question: str) -> str | None:
        match = self._which_noun.search(question)
        return self.nouns.get(match.group(1).lower()) if match else None

    # ---------------------------------------------------------------- Retriever protocol

    def retrieve(self, question: str, k: int = 5) -> list[Evidence]:
        return list(self.run(question).evidence[:k])

    def retrieve_many(self, questions: Sequence[str], k: int = 5) -> list[list[Evidence]]:
        return [self.retrieve(q, k) for q in questions]

    # ---------------------------------------------------------------- parse

    def parse(self, question: str, choices: Sequence[str] | None = None) -> _Parse:
        mentions = tuple(self.linker.link(question))
        out = _Parse(mentions=mentions)
        try:
            if not mentions:
                out.query = self._superlative(question)
                if out.query is None:
                    out.reason = "no entity of the graph is named in the question"
                return out
            yes_no = bool(choices) and {c.strip().lower() for c in choices} == {"yes", "no"}
            subjects = [m for m in mentions if self._subjects(m)]
            query = (
                self._two_hop(question, mentions)
                or self._chain(question, mentions)
                or self._comparison(question, subjects)
                or (self._boolean(question, mentions, subjects) if yes_no or _BOOLEAN_CUE.search(question) else None)
                or self._inverse(question, mentions)
                or self._about_subject(question, mentions, subjects)
            )
        except _NoParse as err:
            out.reason = str(err)
            return out
        out.query = query
        return out

    def _masked(self, question: str, mentions: Sequence[Mention]) -> str:
        text = question
        for m in sorted(mentions, key=lambda m: -m.start):
            text = text[:m.start] + "X" + text[m.end:]
        return text

    def _relations(self, text: str, allowed: Sequence[str] | None = None) -> list[RelationMatch]:
        allowed = [r for r in (allowed or self.rel_iri) if r in self.rel_iri]
        return self.detector.detect(text, allowed=allowed)

    def _class_binding(self, cls: str | None) -> tuple[tuple[str, Any], ...]:
        term = self.class_iri.get(cls) if cls else None
        return (("cls", term),) if term is not None else ()

    def _two_hop(self, question: str, mentions: Sequence[Mention]) -> GraphQuery | None:
        cue = self._two_hop_cue.search(question)
        if not cue:
            return None
        after = [m for m in mentions if m.start >= cue.end()]
        if not after:
            raise _NoParse("two hops: no entity named after the bridge phrase")
        bridge_mention = after[0]
        main_text = question[:cue.start()] + "X" + question[bridge_mention.end:]
        bridge_text = question[cue.start():bridge_mention.start]
        cls = self.nouns.get(cue.group(0).split()[1].lower())
        cls_binding = self._class_binding(cls)
        value, bridge = self._bridge(bridge_mention, bridge_text, cls_binding)
        rels = self._relations(main_text)
        if not rels:
            raise _NoParse("no relation of the graph fits the question")
        rel = rels[0]
        template = "two_hop_in_class" if cls_binding else "two_hop"
        return GraphQuery("two_hop", rel.relation, template,
                          (("bridge", self.rel_iri[bridge]), ("v", value), ("p", self.rel_iri[rel.relation]),
                           *cls_binding),
                          (bridge_mention.candidates[0],), relation_match=rel, bridge=bridge)

    def _chain(self, question: str, mentions: Sequence[Mention]) -> GraphQuery | None:
        """"Where was the director of X born?": X's relation named inside, then a relation of what it leads to
        (read from the graph; a pack with phrasings asks its two-hop questions the other way)."""
        if len(mentions) != 1 or self.profile.patterns() or not self._subjects(mentions[0]):
            return None
        masked = self._masked(question, mentions)
        match = _CHAIN.search(masked)
        if not match:
            return None
        subject = self._subjects(mentions[0])[0]
        first = [_local(p) for p in self.kg.relations_of(subject.term, "out")
                 if self.info[_local(p)].object_kind == "entity"]
        inner = self.detector.scores(f"the {match.group(1)} of X", allowed=first, kinds=frozenset())
        if not inner or inner[0].score < self.detector.threshold:
            return None
        bridge = inner[0].relation
        middle = [r[2] for r in self.kg.query(LOOKUP, {"s": subject.term, "p": self.rel_iri[bridge]})][:5]
        second = sorted({_local(p) for m in middle for p in self.kg.relations_of(m, "out")})
        outer_text = masked[:match.start()] + "of X" + masked[match.end():]
        outer = self.detector.scores(outer_text, allowed=second)
        if not outer or outer[0].score < self.detector.threshold:
            return None
        rel = outer[0]
        return GraphQuery("two_hop", rel.relation, "chain",
                          (("s", subject.term), ("bridge", self.rel_iri[bridge]), ("p", self.rel_iri[rel.relation])),
                          (subject,), relation_match=rel, bridge=bridge)

    def _bridge(self, mention: Mention, text: str, cls_binding=()) -> tuple[Any, str]:
        """The bridge value and the relation that leads from it to its subject."""
        for cand in sorted(mention.candidates, key=lambda c: bool(self._subjects(Mention("", 0, 0, (c,), 1, "")))):
            links = self._links(cand, cls_binding)
            if not links:
                continue
            wanted = [r.relation for r in self._relations(self._masked(text, []), allowed=links)]
            return cand.term, (wanted[0] if wanted else sorted(links)[0])
        raise _NoParse(f"two hops: {mention.text!r} is not a value of any relation")

    def _links(self, cand: Candidate, cls_binding=()) -> list[str]:
        """Relations into a value (from the profile's subject classes, or the class asked for)."""
        if cand.facts:
            return sorted({_local(p) for _, p, _ in cand.facts})
        if not cls_binding and self.subject_classes:
            cls_binding = self._class_binding(self.subject_classes[0])
        if cls_binding:
            rows = self.kg.query(LINKS_IN_CLASS, {"o": cand.term, **dict(cls_binding)})
        else:
            rows = self.kg.query(LINKS, {"o": cand.term})
        return sorted({_local(r[0]) for r in rows if _local(r[0]) in self.rel_iri})

    def _comparison(self, question: str, subjects: Sequence[Mention]) -> GraphQuery | None:
        if len(subjects) < 2 or not re.search(r"\bor\b", question[subjects[0].end:subjects[-1].start], re.I):
            return None
        a, b = self._subjects(subjects[0])[0], self._subjects(subjects[-1])[0]
        ordered = [r for r in self.rel_iri if self._ordered(r)]
        if not self.profile.patterns():  # read from the graph: the relations both sides have
            ordered = [r for r in ordered if self.rel_iri[r] in set(self.kg.relations_of(a.term))]
        rels = self._relations(self._masked(question, subjects), allowed=ordered)
        if not rels and ordered and not self.profile.patterns():
            rels = self.detector.scores(self._masked(question, subjects), allowed=ordered)[:1]
        if not rels:
            raise _NoParse("comparison: no numeric or date relation fits the question")
        rel = rels[0]
        order = "min" if _SMALLER.search(question) else "max"
        return GraphQuery("comparison", rel.relation, "compare",
                          (("a", a.term), ("b", b.term), ("p", self.rel_iri[rel.relation])), (a, b),
                          relation_match=rel, order=order)

    def _superlative(self, question: str) -> GraphQuery | None:
        """"Which film has the longest runtime?": no entity named, a class asked for, a numeric relation."""
        cls = self._asked_class(question)
        if cls is None or not _SUPERLATIVE.search(question) or cls not in self.class_iri:
            return None
        ordered = [r for r, i in self.info.items() if self._ordered(r) and i.subject_class == cls]
        if not ordered:
            raise _NoParse(f"superlative: no numeric or date relation of {cls}")
        rels = self._relations(question, allowed=ordered) or self.detector.scores(question, allowed=ordered)[:1]
        rel = rels[0]
        order = "min" if _SMALLER.search(question) else "max"
        return GraphQuery("superlative", rel.relation, "superlative",
                          (("p", self.rel_iri[rel.relation]), *self._class_binding(cls)), (), relation_match=rel,
                          order=order)

    def _boolean(self, question: str, mentions: Sequence[Mention], subjects: Sequence[Mention]) -> GraphQuery | None:
        if len(mentions) == 1 and self.profile.patterns():
            mentions = self._with_question_word(question, mentions[0])
        if len(mentions) < 2:
            return None
        masked = self._masked(question, mentions)
        if not self.profile.patterns():
            return self._boolean_from_graph(question, masked, mentions)
        rels = self._relations(masked)
        if not rels:
            raise _NoParse("no relation of the graph fits the question")
        rel = rels[0]
        want = self._object_class(rel.relation)
        subject_m, object_m = self._subject_and_object(question, mentions, want)
        if subject_m is None or object_m is None:
            return None
        subject = self._subjects(subject_m)[0]
        targets = (object_m.of_class(want) or object_m.candidates) if want else object_m.candidates
        target = targets[0]
        return GraphQuery("boolean", rel.relation, "ask",
                          (("s", subject.term), ("p", self.rel_iri[rel.relation]), ("o", target.term)),
                          (subject, target), relation_match=rel, target=target.term,
                          transitive=rel.relation in self.transitive,
                          senses=(tuple(c.term for c in self._subjects(subject_m)), tuple(c.term for c in targets)))

    def _with_question_word(self, question: str, subject: Mention) -> list[Mention]:
        """A yes/no question with one name linked: the object may be a word the profile keeps for its
        wording ("Is granite a kind of substance?"), named after the phrasing that matched."""
        rels = self._relations(self._masked(question, [subject]))
        if not rels or rels[0].method != "pattern":
            return [subject]
        at = question.lower().find(rels[0].matched, subject.end)
        if at < 0:
            return [subject]
        after = self.linker.link_question_words(question, at + len(rels[0].matched))
        return [subject, after[0]] if after else [subject]

    def _boolean_from_graph(self, question: str, masked: str, mentions: Sequence[Mention]) -> GraphQuery:
        """A yes/no question over any schema: the relation is ranked among those the first entity has, in
        either direction; a transitive one ("a kind of") is followed through any number of steps."""
        first, second = mentions[0].candidates[0], mentions[1].candidates[0]
        out = [_local(p) for p in self.kg.relations_of(first.term, "out")]
        into = [_local(p) for p in self.kg.relations_of(first.term, "in")]
        options = list(dict.fromkeys(out + into))
        if _KIND_OF.search(question):
            kinds = [r for r in options if r in self.transitive]
            options = kinds or options
        scored = self.detector.scores(masked, allowed=options, kinds=frozenset())
        if not scored or (scored[0].score < self.detector.threshold and len(options) > 1):
            raise _NoParse("no relation of the graph fits the question")
        rel = scored[0]
        s, o = (first, second) if rel.relation in out else (second, first)
        return GraphQuery("boolean", rel.relation, "ask",
                          (("s", s.term), ("p", self.rel_iri[rel.relation]), ("o", o.term)), (s, o),
                          relation_match=rel, target=o.term, transitive=rel.relation in self.transitive)

    def _inverse(self, question: str, mentions: Sequence[Mention]) -> GraphQuery | None:
        if not self.subject_classes or not self._inverse_cue.search(question):
            return None  # without subject classes, _about_subject weighs both directions
        values = [m for m in mentions if any(c.cls not in self.subject_classes for c in m.candidates)]
        if not values:
            return None
        mention = values[0]
        cand = next(c for c in mention.candidates if c.cls not in self.subject_classes)
        links = self._links(cand)
        if not links:
            return None
        masked = self._masked(question, [mention])
        if self._subjects(mention):
            # "Which countries border Montenegro?" names the country, not Portugal's prime minister
            # Luís Montenegro: read it as inverse only when what it asks is a relation into the value.
            asked = self._relations(masked)
            if asked and asked[0].relation not in links:
                return None
        rels = self._relations(masked, allowed=links)
        relation = rels[0].relation if rels else self.profile.default_inverse.get(cand.cls, links[0])
        if relation not in links:
            relation = links[0]
        cls_binding = self._class_binding(self.subject_classes[0])
        return GraphQuery("inverse", relation, "inverse_in_class" if cls_binding else "inverse",
                          (("p", self.rel_iri[relation]), ("o", cand.term), *cls_binding), (cand,),
                          relation_match=rels[0] if rels else None)

    def _about_subject(self, question: str, mentions: Sequence[Mention], subjects: Sequence[Mention]) -> GraphQuery:
        values = [m for m in mentions if m.kind == "value"]
        if not subjects and values:  # 'Whose national anthem is "..."?': the facts that carry the value
            cand = values[0].candidates[0]
            links = sorted({_local(p) for _, p, _ in cand.facts})
            masked = self._masked(question, values[:1])
            rels = self.detector.pattern_matches(masked, allowed=links) or self.detector.scores(masked, allowed=links)
            relation = rels[0].relation
            return GraphQuery("inverse", relation, "inverse", (("p", self.rel_iri[relation]), ("o", cand.term)),
                              (cand,), relation_match=rels[0], direction="in")
        if not subjects:
            raise _NoParse("no entity of the graph that questions are about is named in the question")
        masked = self._masked(question, mentions)
        if len(subjects) > 1:  # "X's GDP in US dollars": a name that qualifies the noun after it is not asked about
            heads = [m for m in subjects if not _QUALIFIES.match(question, m.end)]
            subjects = heads or subjects
        subject_m = subjects[-1] if len(subjects) > 1 and re.search(
            r"\b(?:of|in|for|does)\s*$", question[:subjects[-1].start]) else subjects[0]
        subject = self._subjects(subject_m)[0]
        direction = "out"
        if self.profile.patterns():
            rels = self._relations(masked)
            direction = rels[0].direction if rels else "out"  # "name a kind of X": X is the object
            if rels:
                subject = self._sense(subject_m, rels[0].relation, direction)
        else:  # read from the graph: the relations this entity has, both ways
            rel, direction, subject = self._rank_both_ways(question, masked, subject_m)
            rels = [rel] if rel else []
        if not rels:
            raise _NoParse("no relation of the graph fits the question")
        rel = rels[0]
        p = self.rel_iri[rel.relation]
        if len(subjects) >= 2 and direction == "out" and rel.relation in self.transitive and \
                re.search(r"\band\b", question[subjects[0].end:subjects[1].start], re.I):
            # "what do X and Y have in common?": their nearest common ancestor along the relation
            first, second = (tuple(c.term for c in self._subjects(m)) for m in subjects[:2])
            return GraphQuery("common", rel.relation, "lookup", (("s", first[0]), ("p", p)),
                              (self._subjects(subjects[0])[0], self._subjects(subjects[1])[0]), relation_match=rel,
                              transitive=True, senses=(first, second))
        many = bool(_HOW_MANY.search(question)) and self._countable(rel.relation)
        if direction == "in":
            if many:
                return GraphQuery("count", rel.relation, "count_in", (("o", subject.term), ("p", p)), (subject,),
                                  relation_match=rel, direction="in")
            return GraphQuery("inverse", rel.relation, "inverse", (("p", p), ("o", subject.term)), (subject,),
                              relation_match=rel, direction="in")
        if many:
            return GraphQuery("count", rel.relation, "count", (("s", subject.term), ("p", p)),
                              (subject,), relation_match=rel)
        kind = "list" if self._list_cue.search(question) and self._countable(rel.relation) else "single_hop"
        return GraphQuery(kind, rel.relation, "lookup", (("s", subject.term), ("p", p)), (subject,),
                          relation_match=rel, fallbacks=tuple(r.relation for r in rels[1:3]))

    def _sense(self, mention: Mention, relation: str, direction: str) -> Candidate:
        """The mention's first candidate that has the relation asked (as subject, or as object for "in"): of a
        word's senses, the one the question can be about ("dust" as a verb when asked what it entails)."""
        candidates = self._subjects(mention)
        p = self.rel_iri[relation]
        return next((c for c in candidates if p in self.kg.relations_of(c.term, direction)), candidates[0])

    def _rank_both_ways(self, question: str, masked: str, mention: Mention):
        """The best (relation, direction, entity) among the relations the mention's candidates actually have,
        outgoing and incoming; (None, "out", first candidate) when none clears the threshold."""
        kinds = answer_kinds(question)
        how_many = bool(_HOW_MANY.search(question))
        if how_many:
            kinds = frozenset()  # a count of things or a number: the relation's words decide
        asked = self._asked_class(question)
        best = None
        for rank, cand in enumerate(self._subjects(mention)[:3]):
            for direction in ("out", "in"):
                names = [_local(p) for p in self.kg.relations_of(cand.term, direction)]
                if not names:
                    continue
                if direction == "out":
                    scored = self.detector.scores(masked, allowed=names, kinds=kinds)
                else:  # the answer is the subject of the relation: an entity
                    scored = self.detector.scores(masked, allowed=names,
                                                  kinds=frozenset() if not kinds else kinds - {"entity"} or kinds)
                    if kinds and "entity" not in kinds:
                        scored = [RelationMatch(m.relation, round(m.score - 0.2, 4), m.method, m.matched)
                                  for m in scored]
                for m in scored:
                    score = m.score - 0.01 * rank - (0.005 if direction == "in" else 0.0)
                    info = self.info[m.relation]
                    if asked:  # "which films ...": the relation's answer side is of that class
                        answer_cls = info.object_class if direction == "out" else info.subject_class
                        score += 0.15 if answer_cls and self._is_class(answer_cls, asked) else 0.0
                    if best is None or score > best[0]:
                        best = (score, RelationMatch(m.relation, round(score, 4), m.method, m.matched, direction), direction,
                                cand)
        candidates = self._subjects(mention)
        if best is None or best[0] < self.detector.threshold:
            return None, "out", candidates[0]
        return best[1], best[2], best[3]

    def _is_class(self, cls: str, asked: str) -> bool:
        return cls == asked or asked in (self.kg.index.superclasses or {}).get(cls, ())

    def _subject_and_object(self, question: str, mentions: Sequence[Mention], want: str | None):
        """For "Is V the capital of C?" / "Is the capital of C V?" / "Does A border B?": which mention is the
        subject asked about and which is the value proposed."""
        if len(mentions) < 2:
            return None, None
        first, second = mentions[:2]
        subj = self.subject_classes or ()
        about = self._subjects  # a mention's candidates of the subject classes (any, when the profile names none)
        if want and want not in subj:
            if first.of_class(want) and about(second) and not (
                    second.of_class(want) and about(first) and re.search(r"\bof\s*$", question[:first.start])):
                return second, first
            if second.of_class(want) and about(first):
                return first, second
            return None, None
        if about(first) and about(second):
            return first, second
        return None, None

    # ---------------------------------------------------------------- run

    def run(self, question: str, choices: Sequence[str] | None = None) -> GraphResult:
        parsed = self.parse(question, choices)
        if parsed.query is None:
            return GraphResult(question, None, mentions=parsed.mentions, reason=parsed.reason)
        query = parsed.query
        score = _score(query, parsed.mentions)
        if query.kind == "common":
            return self._run_common(question, query, parsed.mentions, score)
        if query.transitive:
            return self._run_transitive(question, query, parsed.mentions, score)
        rows = tuple(self.kg.query(query.sparql, dict(query.bindings)))
        for fallback in query.fallbacks if not rows else ():  # "official language" of a country that has none
            b = dict(query.bindings)
            retry = GraphQuery(query.kind, fallback, "lookup", (("s", b["s"]), ("p", self.rel_iri[fallback])),
                               query.entities, relation_match=query.relation_match)
            rows = tuple(self.kg.query(retry.sparql, dict(retry.bindings)))
            if rows:
                query = retry
                break
        extra: list[GraphQuery] = []
        if query.kind in ("single_hop", "list", "inverse"):
            evidence = self._evidence([(r[0], r[1], r[2]) for r in rows], score)
            if not rows:
                return GraphResult(question, query, mentions=parsed.mentions,
                                   reason=f"the graph has no {query.relation} for {_names(query)}")
            return GraphResult(question, query, rows, evidence, mentions=parsed.mentions)
        if query.kind == "two_hop":
            bridge = list(dict.fromkeys((r[0], r[1], r[2]) for r in rows))
            answer = [((r[2] if query.template == "chain" else r[0]), r[3], r[4]) for r in rows]
            if not rows:
                return GraphResult(question, query, mentions=parsed.mentions,
                                   reason=f"the graph has no {query.relation} for the subject of {_names(query)}")
            path = self._evidence(bridge + answer, score)
            return GraphResult(question, query, rows, path, path=path, mentions=parsed.mentions)
        if query.kind == "comparison":
            b = dict(query.bindings)
            triples = [(b["a"], b["p"], r[2]) for r in rows] + [(b["b"], b["p"], r[4]) for r in rows]
            if not rows:
                return GraphResult(question, query, mentions=parsed.mentions,
                                   reason=f"the graph lacks {query.relation} for one of {_names(query)}")
            return GraphResult(question, query, rows, self._evidence(list(dict.fromkeys(triples)), score),
                               mentions=parsed.mentions)
        if query.kind == "superlative":
            ranked = sorted(((v, r) for r in rows if (v := sortable(r[2])) is not None), key=lambda x: x[0],
                            reverse=query.order != "min")
            if not ranked:
                return GraphResult(question, query, mentions=parsed.mentions,
                                   reason=f"the graph has no comparable {query.relation} values")
            top = [r for v, r in ranked if v == ranked[0][0]]
            return GraphResult(question, query, tuple(top), self._evidence([tuple(r[:3]) for r in top], score),
                               mentions=parsed.mentions)
        # count and boolean: the answer query, plus the lookup whose triples back it
        b = dict(query.bindings)
        if query.direction == "in":
            lookup = GraphQuery("inverse", query.relation, "inverse", (("p", b["p"]), ("o", b["o"])), query.entities)
            lookup_rows = self.kg.query(INVERSE, {"p": b["p"], "o": b["o"]})
        else:
            lookup = GraphQuery("single_hop", query.relation, "lookup", (("s", b["s"]), ("p", b["p"])),
                                query.entities)
            lookup_rows = self.kg.query(LOOKUP, {"s": b["s"], "p": b["p"]})
        extra.append(lookup)
        triples = [(r[0], r[1], r[2]) for r in lookup_rows]
        if query.kind == "boolean":
            hit = [t for t in triples if t[2] == query.target]
            triples = hit or triples
        return GraphResult(question, query, rows, self._evidence(triples, score), mentions=parsed.mentions,
                           extra_queries=tuple(extra))

    def _run_transitive(self, question: str, query: GraphQuery, mentions, score: float) -> GraphResult:
        """ASK through any number of steps: breadth-first over LOOKUP, one query per node reached (a
        property path needs the predicate written into the query text, and bound values are the rule here).
        Any sense of the proposed object counts; the subject's most common senses are tried in order (a word
        is a kind of Y when one of them is)."""
        b = dict(query.bindings)
        goals = {b["o"], *(query.senses[1] if len(query.senses) > 1 else ())}
        subjects = tuple(query.senses[0]) if query.senses else (b["s"],)
        walks = []
        reached = None
        for subject in subjects[:self.subject_senses]:
            distance, parent = self._ancestors(subject, b["p"])
            walks.append((subject, parent))
            hits = [g for g in goals if g in distance]
            if hits:
                reached = min(hits, key=lambda g: (distance[g], str(g)))
                break
        found = reached is not None
        subject, parent = walks[-1] if found else walks[0]
        path: list[tuple[Any, Any, Any]] = []
        node = reached
        while node is not None and node != subject:
            path.append(parent[node])
            node = parent[node][0]
        path.reverse()
        if not found:  # a "no" rests on what the subject does reach
            path = list(parent.values())[:20]
        steps = GraphQuery("single_hop", query.relation, "lookup", (("s", subject), ("p", b["p"])), query.entities)
        evidence = self._evidence(path, score, keep_order=True)
        return GraphResult(question, query, ((found,),), evidence, path=evidence, mentions=mentions,
                           extra_queries=(steps,))

    def _ancestors(self, term, p) -> tuple[dict[Any, int], dict[Any, tuple[Any, Any, Any]]]:
        """Everything ``term`` reaches along ``p`` (breadth-first, one LOOKUP per node): distances and the
        triple each was reached by."""
        distance, parent = {term: 0}, {}
        frontier = [term]
        while frontier and len(distance) < 10_000:
            nxt = []
            for node in frontier:
                for row in self.kg.query(LOOKUP, {"s": node, "p": p}):
                    if row[2] not in distance:
                        distance[row[2]], parent[row[2]] = distance[node] + 1, (row[0], row[1], row[2])
                        nxt.append(row[2])
            frontier = nxt
        return distance, parent

    def _run_common(self, question: str, query: GraphQuery, mentions, score: float) -> GraphResult:
        """The nearest common ancestor of two entities along a transitive relation (their lowest common
        hypernym), above both: over every pair of their senses, the fewest steps in all, then the more
        common senses (earlier candidates) first. Evidence: the two paths up."""
        p = dict(query.bindings)["p"]
        walks = {}
        best = None
        for i, a in enumerate(query.senses[0][:self.max_senses]):
            for j, b in enumerate(query.senses[1][:self.max_senses]):
                if a == b:
                    continue
                for term in (a, b):
                    if term not in walks:
                        walks[term] = self._ancestors(term, p)
                da, db = walks[a][0], walks[b][0]
                for c in set(da) & set(db) - {a, b}:
                    key = (da[c] + db[c], i + j, str(c))
                    if best is None or key < best[0]:
                        best = (key, a, b, c)
        if best is None:
            return GraphResult(question, query, mentions=mentions,
                               reason=f"{_names(query)} have no common {query.relation} in the graph")
        _, a, b, c = best
        path = []
        for start, parents in ((a, walks[a][1]), (b, walks[b][1])):
            steps, node = [], c
            while node != start:
                steps.append(parents[node])
                node = parents[node][0]
            path += steps[::-1]
        evidence = self._evidence(path, score, keep_order=True)
        return GraphResult(question, query, ((a, b, c),), evidence, path=evidence, mentions=mentions)

    def _evidence(self, triples: Sequence[tuple[Any, Any, Any]], score: float, *,
                  keep_order: bool = False) -> tuple[Evidence, ...]:
        out = []
        unique = list(dict.fromkeys(triples))
        ordered = unique if keep_order else sorted(
            unique, key=lambda t: (format_value(self.kg, t[2], _local(t[1])).lower()))
        for s, p, o in ordered:
            rel = _local(p)
            o = _canonical(o)
            name = self.info[rel].name if rel in self.info else rel.replace("_", " ")
            text = f"{self.kg.label(s)} — {name} — {format_value(self.kg, o, rel)}"
            out.append(Evidence(id=triple_id(s, p, o), text=text, source="graph", score=round(score, 4)))
        return tuple(out)


def _class_terms(kg: KnowledgeGraph) -> list[Any]:
    """Class IRIs: the objects of rdf:type among the graph's entities."""
    seen: dict[str, Any] = {}
    wanted = set((kg.index.class_names or {}))
    if kg.remote or kg.on_disk:  # the engine finds them; rdflib's triples() would read every type triple
        rows = kg.query("SELECT DISTINCT ?o WHERE { ?s a ?o }")
        terms = [r[0] for r in rows]
    else:
        from rdflib import RDF

        terms = set(kg.graph.objects(None, RDF.type))
    for term in sorted(terms, key=str):
        if _local(term) in wanted:
            seen.setdefault(_local(term), term)
    return list(seen.values())


# after a name, a lower-case word that is not a function word: the name qualifies a noun ("US dollars")
_QUALIFIES = re.compile(r"\s+(?!(?:and|or|but|in|of|for|to|with|as|than|the|a|an|is|are|was|were|has|have|had|do|"
                        r"does|did|be|been|by|at|on|from|that|which|who|now|today|use|uses|used|border|borders|"
                        r"bordering|speak|speaks|spoken)\b)[a-z]")


class _NoParse(Exception):
    """The question cannot be read as a query over this graph; the message says why."""


def _canonical(term):
    """A decimal as the pack's Turtle writes it ("21041.0"), whatever lexical form an endpoint sent back
    ("21041"), so that evidence ids are the same in memory and at an endpoint."""
    from rdflib import XSD, Literal

    if isinstance(term, Literal) and term.datatype == XSD.decimal and "." not in str(term) and "e" not in str(term).lower():
        return Literal(f"{term}.0", datatype=XSD.decimal)
    return term


def _score(query: GraphQuery, mentions: Sequence[Mention]) -> float:
    link = min((m.score for m in mentions), default=1.0)
    rel = query.relation_match.score if query.relation_match else 0.8
    return float(min(link, rel))


def _names(query: GraphQuery) -> str:
    return ", ".join(c.label for c in query.entities)


def _local(term) -> str:
    text = str(term)
    return text[len(KQA_NS):] if text.startswith(KQA_NS) else re.split(r"[#/]", text)[-1]


__all__ = ["GraphRetriever", "GraphQuery", "GraphResult", "TEMPLATES", "sortable"]
