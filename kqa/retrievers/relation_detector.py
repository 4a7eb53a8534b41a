"""Which relation a question asks about: a pack's phrasings first, then a score that mixes embedding
similarity, word overlap and the kind of answer the question wants, for any graph.

The question reaches ``detect`` with its entity mentions replaced by "X" ("What do people pay with in X?"),
so an entity's name cannot vote for a relation. A pack's phrasings (regular expressions in its
``profile.json``) are tried in their order, most specific first; its reverse phrasings ("name a kind of x":
the entity is the relation's object) before them all, and a match says which way it reads (``direction``). When none fits, each relation is scored:

- the cosine similarity between the question and the relation's prototypes (its name and description from
  the graph, "director: the director of a film", plus the pack's example questions), with the bundled MiniLM;
- word overlap between the question and the relation's words, stemmed ("directed" ~ "director");
- the answer type: "how many", "how big" ask for a number, "when" for a date, "who" for an entity; a
  relation whose objects are of another kind loses, one of that kind gains.

A phrasing whose relation holds another kind of value than the question asks for does not count ("what day
did X become a sovereign state?" asks a date; a "sovereign" phrasing of a head of state does not fit). A "who"
question wants a name: a relation whose values are not proper names ("absolute monarchy") loses, when the
caller says which relations' values are (``proper``, read from the graph).

Below ``threshold`` no relation fits and the caller abstains, unless the best relation clears ``floor`` and
leads the next by ``margin``: a wording no phrasing or example was written for ("which part of the globe")
scores low against every relation, and one clearly ahead of the others is still the one asked about (the
ratio test of nearest-neighbour matching, Lowe 2004). The encoder is any callable from a list of
texts to an (n, d) array of L2-normalised rows, so a test can pass a fake in one line; the app passes the
bundled MiniLM (``kqa.models.embedder.load_embedder``). Without an encoder, word overlap and answer type
decide alone.

>>> RelationDetector({"currency": "money used"}, patterns=[("currency", "money")]).detect("What money has X?")[0].relation
'currency'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

Encode = Callable[[Sequence[str]], np.ndarray]  # texts -> (n, d) float32, rows L2-normalised

# Words that say nothing about which relation is asked.
_STOP = frozenset("""a an the of in on at to for from by with and or is are was were be been being do does did
has have had what which who whom whose where when why how x its it their they them there this that these those
as into about than then name tell me give list please s all any some one ones many much""".split())
_NUMBER_CUE = re.compile(r"\bhow (?:many|much|big|large|small|long|tall|high|deep|old|far|heavy|wide|short)\b|"
                         r"\bnumber of\b|\bhow many\b", re.I)
_DATE_CUE = re.compile(r"^\s*when\b|\bwhat (?:year|date|day)\b|\bin which year\b|\bon what date\b", re.I)
_ENTITY_CUE = re.compile(r"^\s*(?:who|whom|where)\b|\bwho (?:is|was|are|were)\b", re.I)
_WHAT = re.compile(r"^\s*(?:what|which)\b", re.I)
_WHO = re.compile(r"^\s*(?:who|whom)\b", re.I)
_COUNT_CUE = re.compile(r"\bhow many\b|\bnumber of\b", re.I)


def stem(word: str) -> str:
    """A crude stem that joins a verb and its agent noun: directed / director / directing -> "direct"."""
    word = word.lower()
    for suffix in ("ations", "ation", "ings", "ing", "ers", "ors", "er", "or", "ed", "es", "s", "ion"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 4 else word  # release / released


# English words whose stem is not their relative's: "born" is asked of a "birth date" or "place of birth".
_IRREGULAR = {"born": "birth", "died": "death", "dead": "death", "die": "death", "wrote": "writ", "written": "writ",
              "writer": "writ", "write": "writ", "sang": "sing", "sung": "sing", "song": "sing", "spoke": "speak",
              "spoken": "speak", "speaks": "speak", "bought": "buy", "built": "build", "won": "win", "wins": "win",
              "winner": "win", "located": "locat", "location": "locat", "lives": "live", "lived": "live", "life": "live"}


def content_words(text: str) -> list[str]:
    """The words of a text that can name a relation, as match keys: stemmed and cut to five letters, so that
    "published" meets "publication" and "directed" meets "director"."""
    words = [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP and len(w) > 1]
    return [_IRREGULAR.get(w) or stem(w)[:5] for w in words]


def answer_kinds(question: str) -> frozenset[str]:
    """What kind of object the question asks for: {"number"}, {"date"}, {"entity"}, or empty (any)."""
    if _DATE_CUE.search(question):
        return frozenset({"date"})
    if _NUMBER_CUE.search(question):
        return frozenset({"number"})
    if _ENTITY_CUE.search(question):
        return frozenset({"entity"})
    return frozenset()


@dataclass(frozen=True)
class RelationMatch:
    """One relation a question may ask about."""

    relation: str  # local name: "currency"
    score: float  # 1.0 for a phrasing; cosine similarity for an embedding match
    method: str  # "pattern" | "embedding"
    matched: str  # the words that matched, or the closest prototype
    direction: str = "out"  # "in": a reverse phrasing matched, the entity is the relation's object


class RelationDetector:
    """Maps a question (entities masked as "X") to relations, best first; see the module docstring.

    ``relations`` maps a relation's key (its local name) to its description; ``names`` to the words that
    name it (default: the key split); ``kinds`` to what its objects are (entity, number, date, text)."""

    def __init__(self, relations: Mapping[str, str], *, encode: Encode | None = None, threshold: float = 0.6,
                 patterns: Sequence[tuple[str, str]] = (), examples: Mapping[str, Sequence[str]] | None = None,
                 names: Mapping[str, str] | None = None, kinds: Mapping[str, str] | None = None,
                 reverse_patterns: Sequence[tuple[str, str]] = (),
                 proper: Callable[[str], bool] | None = None, floor: float | None = None, margin: float = 0.05):
        self.relations = dict(relations)  # name -> description
        self.proper = proper  # relation -> whether its values are proper names (None: not known)
        self.floor = threshold if floor is None else min(floor, threshold)
        self.margin = margin
        # (relation, expression, direction): the reverse phrasings first, as they say where the entity stands
        self.patterns = [(name, re.compile(rx), "in") for name, rx in reverse_patterns if name in self.relations] + \
            [(name, re.compile(rx), "out") for name, rx in patterns if name in self.relations]
        self.encode = encode
        self.threshold = threshold
        self.names = {r: (names or {}).get(r) or re.sub(r"[_\s]+", " ", r) for r in self.relations}
        self.kinds = dict(kinds or {})
        examples = examples or {}
        self._prototypes: list[tuple[str, str]] = []
        self._words: dict[str, tuple[set[str], set[str]]] = {}  # relation -> (name words, all its words)
        for name, description in self.relations.items():
            readable = self.names[name]
            self._prototypes.append((name, f"{readable}: {description}" if description != readable else readable))
            self._prototypes += [(name, ex) for ex in examples.get(name, ())]
            every = " ".join([readable, description, *examples.get(name, ())])
            self._words[name] = (set(content_words(readable)), set(content_words(every)))
        self._vectors: np.ndarray | None = None  # (n_prototypes, d), L2-normalised; computed on first use
        self._query_cache: dict[str, np.ndarray] = {}

    def detect(self, question: str, *, allowed: Sequence[str] | None = None, embed: bool = True) -> list[RelationMatch]:
        """Relations that fit, best first: every phrasing that matches (in pattern order), else the best
        scored match above ``threshold``; [] when nothing fits."""
        out = [m for m in self.pattern_matches(question, allowed=allowed) if self._fits_kind(question, m.relation)]
        if out or not embed:
            return out
        scored = self.scores(question, allowed=allowed)
        if scored and scored[0].score >= self.threshold:
            return scored[:1]
        if scored and scored[0].score >= self.floor and (
                len(scored) == 1 or scored[0].score - scored[1].score >= self.margin):
            return scored[:1]
        return []

    def _fits_kind(self, question: str, relation: str) -> bool:
        """Whether a relation's values are of the kind the question asks for: a date for "when" / "what day",
        a number for "how big" (a count of things is asked of any relation with several values)."""
        kinds, kind = answer_kinds(question), self.kinds.get(relation)
        if not kind or not kinds or "entity" in kinds or _COUNT_CUE.search(question):
            return True
        return kind in kinds

    def pattern_matches(self, question: str, *, allowed: Sequence[str] | None = None) -> list[RelationMatch]:
        text = question.lower().replace("’", "'")
        out = []
        for name, rx, direction in self.patterns:
            if allowed is not None and name not in allowed:
                continue
            match = rx.search(text)
            if match and name not in {m.relation for m in out}:
                out.append(RelationMatch(name, 1.0, "pattern", match.group(0), direction))
        return out

    def embedding_matches(self, question: str, *, allowed: Sequence[str] | None = None,
                          kinds: frozenset[str] | None = None) -> list[RelationMatch]:
        """Every relation scoring at least ``threshold``, best first (see the module docstring)."""
        return [m for m in self.scores(question, allowed=allowed, kinds=kinds) if m.score >= self.threshold]

    def scores(self, question: str, *, allowed: Sequence[str] | None = None,
               kinds: frozenset[str] | None = None) -> list[RelationMatch]:
        """Every allowed relation with its score, best first."""
        names = [n for n in self.relations if allowed is None or n in allowed]
        if not names:
            return []
        kinds = answer_kinds(question) if kinds is None else kinds
        what = bool(_WHAT.search(question))
        words = content_words(question)
        best: dict[str, tuple[float, str]] = {}
        if self.encode is not None:
            if self._vectors is None:
                self._vectors = np.asarray(self.encode([p for _, p in self._prototypes]), dtype=np.float32)
            query = self._query_cache.get(question)
            if query is None:
                query = np.asarray(self.encode([question]), dtype=np.float32)[0]  # (d,)
                if len(self._query_cache) > 512:
                    self._query_cache.clear()
                self._query_cache[question] = query
            sims = self._vectors @ query  # (n_prototypes,)
            wanted = set(names)
            for (name, proto), sim in zip(self._prototypes, sims.tolist()):
                if name in wanted and sim > best.get(name, (-2.0, ""))[0]:
                    best[name] = (sim, proto)
        out = []
        for name in names:
            name_words, every = self._words[name]
            lexical = 0.0
            if words:
                lexical = 0.5 * len(set(words) & every) / len(set(words))
                if name_words:
                    lexical += 0.5 * len(name_words & set(words)) / len(name_words)
            sim, proto = best.get(name, (None, self.names[name]))
            score = lexical if sim is None else 0.5 * sim + 0.5 * lexical
            kind = self.kinds.get(name)
            if kinds and kind:
                score += 0.1 if kind in kinds else -0.3
            elif not kinds and kind in ("number", "date") and what:
                score -= 0.05  # "what is the tallest mountain": a thing, unless the words say a number
            if self.proper is not None and _WHO.search(question) and not self.proper(name):
                score -= 0.3  # "who runs the government": a person, not "absolute monarchy"
            out.append(RelationMatch(name, round(float(score), 4), "embedding" if sim is not None else "words", proto))
        return sorted(out, key=lambda m: -m.score)


__all__ = ["RelationDetector", "RelationMatch", "Encode", "answer_kinds", "content_words", "stem"]
