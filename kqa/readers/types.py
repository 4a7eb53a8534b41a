"""The Answer every backend returns, the typed trace of what its reader did, and the Backend protocol everything
that shows or scores answers uses.

A trace is what the app renders and ``kqa eval`` writes (``trace_record``): one small frozen dataclass per kind
of reader, so nothing downstream guesses at ``meta``'s keys. ``meta`` stays for the odds and ends a person
debugging one reader wants (the prompt, the raw generation, the abstention's ``reason``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

from kqa.kb.types import Evidence, Question


Triple = tuple[str, str, str]  # (subject, relation, object) as a person reads them: labels, values with units


@dataclass(frozen=True)
class LinkedEntity:
    """A span of the question and the graph entity (or literal value) it was linked to."""

    mention: str  # as written in the question
    label: str
    iri: str  # the entity's IRI, or the literal's lexical form when ``cls == "Literal"``
    cls: str | None  # "Country", "City", ... "Literal"; None when the graph gives the entity no class
    score: float | None = None  # 1.0 for an exact name, less for a misspelling
    how: str = ""  # "exact" | "fuzzy" | "value" | "name"


@dataclass(frozen=True)
class GraphTrace:
    """What the graph reader did: linked, picked a relation, ran a query, read triples."""

    entities: tuple[LinkedEntity, ...] = ()
    relation: str | None = None  # the relation's IRI (its local name when the graph has no IRI for it)
    relation_label: str | None = None  # how the graph names it: "capital"
    relation_how: str | None = None  # "pattern" | "embedding" | "graph" (the query kind fixed it)
    query_kind: str | None = None  # single_hop | inverse | two_hop | comparison | count | boolean | list |
    #                                superlative | relatedness (multiple choice by paths)
    sparql: str | None = None  # the query run, values bound (None for relatedness: no query runs)
    supporting_sparql: tuple[str, ...] = ()  # queries run for evidence only (the lookup behind a count)
    triples: tuple[Triple, ...] = ()  # what the answer rests on, in evidence order
    path: tuple[Triple, ...] = ()  # two hops or relatedness: the chain from the question's entity on
    answer_set: tuple[str, ...] = ()  # every value the query returned, as written, when the answer is a set
    graph_answer: str | None = None  # multiple choice: the graph's own answer the picked choice names
    endpoint: str | None = None  # the SPARQL endpoint, when the graph is remote
    asked_as: str | None = None  # the question as a rewriter put it (``RewritingReader``), when it differs


@dataclass(frozen=True)
class Passage:
    """A retrieved passage as the reader used it: its evidence id and retrieval score."""

    id: str
    score: float | None


@dataclass(frozen=True)
class CorpusTrace:
    """What a retrieve-then-read reader did: which passages, which lines of them the model read, which model."""

    retriever: str  # "dense" | "bm25" | "hybrid" ...
    k: int
    model: str
    passages: tuple[Passage, ...] = ()  # in rank order; their ids are the answer's evidence ids
    lines: tuple[str, ...] = ()  # what the model read (selected lines, or the passages whole)
    method: str = "generate"  # "generate" | "loglikelihood" (multiple choice)
    choice_logprobs: Mapping[str, float] = field(default_factory=dict)
    asked_as: str | None = None  # the question as a rewriter put it (``RewritingReader``), when it differs


@dataclass(frozen=True)
class ClosedBookTrace:
    """What the model-alone reader did: its prompting mode, and for self-consistency the samples and votes."""

    mode: str  # "direct" | "cot" | "self_consistency"
    model: str
    rationale: str | None = None  # the chain of thought the answer was read from
    samples: tuple[str, ...] = ()  # self-consistency: every sampled rationale
    votes: Mapping[str, int] = field(default_factory=dict)  # self-consistency: answer -> votes, most first
    temperature: float | None = None
    method: str = "generate"  # "generate" | "loglikelihood" (multiple choice)
    choice_logprobs: Mapping[str, float] = field(default_factory=dict)
    asked_as: str | None = None  # the question as a rewriter put it (``RewritingReader``), when it differs


@dataclass(frozen=True)
class CombineTrace:
    """What a backend made of backends did. Router: which backend it routed to and which it tried, in order.
    Vote: each backend's answer and which backend's answer won. ``chosen`` is the winning answer's own trace."""

    combiner: str  # "router" | "vote"
    tried: tuple[str, ...] = ()  # router: backends asked, in order
    routed_to: str | None = None  # router: the backend whose answer was taken
    votes: Mapping[str, str | None] = field(default_factory=dict)  # vote: backend -> its answer (None: abstained)
    winner: str | None = None  # vote: the backend whose answer won
    agreeing: int = 0  # vote: backends that gave the winning answer
    chosen: GraphTrace | CorpusTrace | ClosedBookTrace | CombineTrace | None = None
    asked_as: str | None = None  # the question as a rewriter put it (``RewritingReader``), when it differs


Trace = GraphTrace | CorpusTrace | ClosedBookTrace | CombineTrace
TRACE_KINDS = {"graph": GraphTrace, "corpus": CorpusTrace, "closed_book": ClosedBookTrace, "combine": CombineTrace}


def trace_record(trace: Trace | None) -> dict[str, Any] | None:
    """A trace as a JSON-ready dict (``dataclasses.asdict``) with a "kind" field naming its type; a combined
    answer's ``chosen`` trace gets its own "kind"."""
    if trace is None:
        return None
    kind = next(k for k, cls in TRACE_KINDS.items() if type(trace) is cls)
    record = {"kind": kind, **asdict(trace)}
    if isinstance(trace, CombineTrace):
        record["chosen"] = trace_record(trace.chosen)
    return record


@dataclass(frozen=True)
class Answer:
    """One backend's answer to one question.

    ``text`` is ``None`` when the backend abstained (never ``""``); ``meta["reason"]`` then says why.
    """

    question: str
    text: str | None
    backend: str  # "graph" | "dense" | "closed_book" | "bm25" | ...
    confidence: float | None
    evidence: tuple[Evidence, ...]  # what the answer rests on, in order
    latency_ms: float
    rationale: str | None = None  # chain-of-thought, SPARQL text, or the prompt's reading
    meta: Mapping[str, Any] = field(default_factory=dict)  # reason, error, prompt, raw generation ...
    trace: Trace | None = None  # what the reader did, typed (see above); None for a backend that keeps none

    def __post_init__(self) -> None:
        if self.text is not None and not self.text.strip():
            raise ValueError("Answer.text must be None (abstain) or non-empty text, not an empty string")

    @property
    def abstained(self) -> bool:
        return self.text is None


def abstain(question: str, backend: str, reason: str, *, latency_ms: float = 0.0, trace: Trace | None = None,
            **meta: Any) -> Answer:
    """An abstention that says why in ``meta["reason"]``; ``trace`` says what the reader did before giving up."""
    return Answer(
        question=question,
        text=None,
        backend=backend,
        confidence=None,
        evidence=(),
        latency_ms=latency_ms,
        rationale=None,
        meta={"reason": reason, **meta},
        trace=trace,
    )


@runtime_checkable
class Backend(Protocol):
    """What the CLI, batch scoring and the app talk to. A new backend is one more object with these methods."""

    name: str

    def answer(self, question: str, choices: Sequence[str] | None = None) -> Answer: ...

    def answer_many(self, questions: Sequence[Question]) -> list[Answer]: ...
