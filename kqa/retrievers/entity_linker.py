"""Find the graph's entities named in a question: exact names and aliases first (longest span wins), then
close misspellings of the words left over, then quoted values and internet codes (".bz") that are literals.

Names are compared on ``kb.graph.name_key``: case, accents, a leading "the", possessive 's and straight or
curly apostrophes do not matter, so "Côte d’Ivoire's", "cote d'ivoire" and (an alias) "Ivory Coast" all
link to the same country. Misspellings go through rapidfuzz with the optimal-string-alignment distance, so a
swapped pair of letters ("Peur") costs one edit: one edit is allowed in names of 5 to 8 letters, two from 9,
and in four-letter names only a swap. Only capitalised words are tried, so ordinary words stay words.
A span made only of question words (the relations' and classes' names, the profile's ``not_names``: "kind",
"part", "thing") is never a name, though a dictionary graph (WordNet) names them too: masked as an entity,
"What kind of thing is X?" would lose the words that say which relation it asks. Entities of the profile's
``proper_name_classes`` are linked only where their label starts with a capital letter: a graph parsed from
text holds fragments among such values (a language "local", a religion "folk"), and "the local language of
Israel" must not name the language "local".

On a graph in an on-disk store (``kg.on_disk``: Oxigraph, millions of names) nothing is read at start-up: a
span's name is looked up in the store's name index when a question asks for it (and remembered), and the
names misspellings are matched against are read in one query the first time a question has a capitalised
word that no name matches. In memory every name is in a dict from the start, as the index already is.

This file links; it does not decide what the question asks (``graph_retriever`` does).

>>> linker = EntityLinker(kg)  # doctest: +SKIP
>>> [(m.text, m.candidates[0].label) for m in linker.link("What do people pay with in Argentinia?")]  # doctest: +SKIP
[('Argentinia', 'Argentina')]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kqa.kb.graph import KnowledgeGraph, name_key

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_QUOTED = re.compile(r"[\"“”]([^\"“”]{2,120})[\"“”]")
_TLD = re.compile(r"(?<![\w.])\.([a-z]{2,3})\b")
_NOT_NAMES = frozenset(
    "what which who whom whose where when why how is are was were does do did has have name the a an of in on "
    "for and or to by with from its it that this these those as at be can largest larger "
    "bigger more most less name list give tell yes no true false".split()
)


# Short words too common to read as a name in a question typed without capitals ("us", "won", "man").
_COMMON_SHORT = frozenset("""a an as at be by do go he if in is it me my no of on or so to up us we am are but can
did for get got had has her him his how its let may man men new not now old one our out own say see she the too two
use was way who why won yes yet you all any few put run set sun day end far big bad top war law art act age air oil
sea car bus tax pay low key ice""".split())


@dataclass(frozen=True)
class Candidate:
    """One thing a mention may refer to. For a literal value, ``facts`` holds the (s, p, o) that carry it."""

    term: Any  # rdflib URIRef of an entity, or the Literal of a value
    label: str
    cls: str  # "Country", "City", ... or "Literal"
    facts: tuple[tuple[Any, Any, Any], ...] = ()


@dataclass(frozen=True)
class Mention:
    """A span of the question and what it may name, best candidate first."""

    text: str  # as written in the question
    start: int  # character offsets in the question
    end: int
    candidates: tuple[Candidate, ...]
    score: float  # 1.0 for an exact name, less for a misspelling
    kind: str  # "exact" | "fuzzy" | "value"

    def of_class(self, *classes: str) -> tuple[Candidate, ...]:
        return tuple(c for c in self.candidates if c.cls in classes)


class EntityLinker:
    """Links mentions to entities of ``classes`` in ``kg`` (default: the pack profile's ``link_classes``, else
    every labelled resource that is not itself a class); see the module docstring for the rules."""

    def __init__(self, kg: KnowledgeGraph, *, classes: Iterable[str] | None = None,
                 fuzzy_classes: Iterable[str] | None = None, max_tokens: int = 20, fuzzy: bool = True):
        self.kg = kg
        profile = kg.profile
        classes = tuple(classes) if classes is not None else profile.link_classes
        self.classes = frozenset(classes) if classes is not None else None  # None: every class
        self._order = {c: i for i, c in enumerate(classes or ())}
        self.fuzzy = fuzzy
        self._popular: dict[Any, float] | None = None
        class_names = set(kg.index.class_names or ())
        lazy = kg.on_disk and hasattr(kg.index.names, "key_classes")
        # the classes entities have ("Film", "Country"): a resource with such a local name is a class
        type_objects = set(kg.index.names.entity_classes if lazy else kg.index.classes.values())
        predicates = set(kg.index.relation_info or ())

        proper = frozenset(profile.proper_name_classes)

        def linkable(iri, cls: str | None) -> bool:
            if cls in proper and not kg.label(iri)[:1].isupper():  # a fragment among the values, not a name
                return False
            if self.classes is None:  # "film" in a question is a word, not the class Film; nor is "director"
                return _local(iri) not in type_objects and iri not in predicates
            return cls in self.classes

        fuzzy_classes = fuzzy_classes if fuzzy_classes is not None else profile.fuzzy_classes
        fuzzy_classes = frozenset(fuzzy_classes) if fuzzy_classes is not None else None

        def fuzzy_key(key: str, iri, cls: str | None) -> bool:  # iri is linkable
            return len(key.replace(" ", "")) >= 4 and (fuzzy_classes is None or cls in fuzzy_classes)

        if lazy:
            self._names = _StoreNames(kg, lambda i: linkable(i, kg.entity_class(i)))
            self._fuzzy_keys_of: Callable[[], list[str]] = lambda: sorted(
                {key for key, iri, cls in kg.index.names.key_classes() if linkable(iri, cls) and fuzzy_key(key, iri, cls)})
            longest = kg.index.names.name_tokens or max_tokens  # unknown in a store from before it was kept
        else:
            names = {key: tuple(i for i in iris if linkable(i, kg.entity_class(i))) for key, iris in kg.index.names.items()}
            self._names = {k: v for k, v in names.items() if v}
            fuzzy = sorted(k for k, iris in self._names.items() if any(fuzzy_key(k, i, kg.entity_class(i)) for i in iris))
            self._fuzzy_keys_of = lambda: fuzzy
            # the longest name decides how long a span is worth trying ("Baker Island, Howland Island, ...")
            longest = max((k.count(" ") + 1 for k in self._names), default=1)
        self._fuzzy_list: list[str] | None = None
        words = set(profile.not_names) | {w for c in class_names for w in _TOKEN.findall(c.lower())}
        words |= {w for nouns in profile.class_nouns.values() for n in nouns for w in _TOKEN.findall(n.lower())}
        for info in (kg.index.relation_info or {}).values():
            words |= set(_TOKEN.findall(info.name.lower()))
        self.not_names = _NOT_NAMES | words
        self.max_tokens = min(max_tokens, longest)

    @property
    def _fuzzy_keys(self) -> list[str]:
        """The name keys a misspelling may be meant as (sorted), read on first use."""
        if self._fuzzy_list is None:
            self._fuzzy_list = self._fuzzy_keys_of()
        return self._fuzzy_list

    # ------------------------------------------------------------------ public

    def link(self, question: str) -> list[Mention]:
        """Every mention found, in the order they appear (non-overlapping)."""
        tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(question)]
        taken = [False] * len(tokens)
        mentions: list[Mention] = list(self._values(question))
        for m in mentions:  # a quoted title is one value, not a string of country names
            for i, (s, e) in enumerate(tokens):
                if s >= m.start and e <= m.end:
                    taken[i] = True
        mentions += self._exact(question, tokens, taken)
        if self.fuzzy:
            mentions += self._fuzzy(question, tokens, taken)
        return sorted(mentions, key=lambda m: m.start)

    def link_question_words(self, question: str, start: int) -> list[Mention]:
        """Exact names from ``start`` on, question words included: in "Is granite a kind of substance?" the
        word after the relation's phrasing is the object asked about, though "substance" also names a
        relation. The caller says where the phrasing ends."""
        tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(question)]
        taken = [s < start for s, _ in tokens]
        return sorted(self._exact(question, tokens, taken, skip=_NOT_NAMES), key=lambda m: m.start)

    # ------------------------------------------------------------------ passes

    def _candidates(self, iris, key: str | None = None) -> tuple[Candidate, ...]:
        """Best first: by the order of the link classes, then those whose own label is the name (not an alias
        of theirs), then by the profile's popularity property (the most tagged sense of a word, the most
        populous of two cities), then as the index lists them."""
        cands = [Candidate(i, self.kg.label(i), self.kg.entity_class(i) or "Entity") for i in iris]
        popularity = self._popularity()
        return tuple(sorted(cands, key=lambda c: (self._order.get(c.cls, len(self._order)),
                                                  key is not None and name_key(c.label) != key,
                                                  -popularity.get(c.term, 0.0))))

    def _popularity(self) -> dict[Any, float]:
        """Each entity's value of the profile's ``popularity_property`` (read once); empty without one."""
        if self._popular is None:
            self._popular = {}
            prop = self.kg.profile.popularity_property
            if prop:
                from rdflib import URIRef

                from kqa.kb.graph import sortable

                for s, _, o in self.kg.query("SELECT ?s ?p ?o WHERE { ?s ?p ?o }", {"p": URIRef(prop)}):
                    value = sortable(o)
                    if value is not None:
                        self._popular[s] = max(value, self._popular.get(s, value))
        return self._popular

    def _exact(self, question: str, tokens, taken, skip: frozenset[str] | None = None) -> list[Mention]:
        """Longest spans first: every span of up to ``max_tokens`` untaken tokens, longest to shortest."""
        found = []
        skip = self.not_names if skip is None else skip
        words = [name_key(question[s:e]) for s, e in tokens]  # a span's key is its words' keys joined
        lower_case = not any(ch.isupper() for ch in question)
        spans = [(i, j) for i in range(len(tokens)) for j in range(i + 1, min(i + self.max_tokens, len(tokens)) + 1)]
        for i, j in sorted(spans, key=lambda ij: (-(ij[1] - ij[0]), ij[0])):
            if words[i] == "the" or any(taken[i:j]):
                continue
            key = " ".join(w for w in words[i:j] if w)
            iris = self._names.get(key)
            if not iris or all(w in skip for w in key.split()):
                continue  # "kind", "part", "thing": words of the question, though WordNet names them too
            i, j = self._shortest_same(words, i, j, iris)  # "State of Kuwait" -> "Kuwait": "state" is a word
            text = question[tokens[i][0]:tokens[j - 1][1]]
            key = " ".join(w for w in words[i:j] if w)
            if len(key.replace(" ", "")) <= 3 and not self._short_ok(text, iris, lower_case):
                continue  # "us", "all": a short name links only as written (US, UAE, DRC, "the kip")
            for t in range(i, j):
                taken[t] = True
            found.append(Mention(text, tokens[i][0], tokens[j - 1][1], self._candidates(iris, key), 1.0, "exact"))
        return found

    def _shortest_same(self, words: list[str], i: int, j: int, iris) -> tuple[int, int]:
        """Drop a leading "State of", "Republic of the" when the rest names exactly the same entities."""
        for a in range(j - 1, i, -1):
            prefix = [w for w in words[i:a] if w != "the"]
            if prefix and prefix[-1] == "of" and self._names.get(" ".join(w for w in words[a:j] if w)) == iris:
                return a, j
        return i, j

    def _short_ok(self, text: str, iris, lower_case: bool = False) -> bool:
        text = re.sub(r"['’]s$", "", text)
        if not any(ch.islower() for ch in text):
            return True
        subjects = self.kg.profile.subject_classes
        if lower_case and len(text) >= 2 and text.lower() not in _COMMON_SHORT and text.lower() not in self.not_names \
                and (not subjects or any(self.kg.entity_class(i) in subjects for i in iris)):
            return True  # someone who types "what currency does the uk use" writes no capitals at all
        return any(text == self.kg.index.labels.get(iri) for iri in iris)  # "the kip", not "won" (an alias)

    def _fuzzy(self, question: str, tokens, taken) -> list[Mention]:
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        lower_case_question = not any(ch.isupper() for ch in question[1:])
        found = []
        for n in (3, 2, 1):
            for i in range(len(tokens) - n + 1):
                if any(taken[i:i + n]):
                    continue
                words = [question[s:e] for s, e in tokens[i:i + n]]
                if words[0].lower() in self.not_names or words[-1].lower() in self.not_names:
                    continue
                if not lower_case_question and not all(w[:1].isupper() for w in words):
                    continue
                text = question[tokens[i][0]:tokens[i + n - 1][1]]
                key = name_key(text)
                size = len(key.replace(" ", ""))
                if size < 4:
                    continue
                best = process.extractOne(key, self._fuzzy_keys, scorer=OSA.normalized_similarity,
                                          score_cutoff=0.7)
                if best is None:
                    continue
                match = best[0]
                distance = OSA.distance(key, match)
                allowed = 0 if size < 4 else 1 if size <= 8 else 2
                if size == 4 and sorted(key) != sorted(match):
                    allowed = 0  # four letters: a swap only ("Peur"), not a different word ("Mali"/"Bali")
                if distance == 0 or distance > allowed or key[0] != match[0]:
                    continue  # people rarely get a name's first letter wrong; "human" is not "Oman"
                for t in range(i, i + n):
                    taken[t] = True
                score = round(1.0 - distance / max(size, len(match)), 3)
                found.append(Mention(text, tokens[i][0], tokens[i + n - 1][1], self._candidates(self._names[match], match),
                                     score, "fuzzy"))
        return found

    def _values(self, question: str) -> list[Mention]:
        """Quoted strings and internet codes that are literal values of some fact ("Himno Nacional", .bz)."""
        found = []
        for match, group in [(m, 1) for m in _QUOTED.finditer(question)] + [(m, 0) for m in _TLD.finditer(question)]:
            facts = self.kg.index.values.get(name_key(match.group(group)))
            if not facts:
                continue
            by_value: dict[Any, list] = {}
            for fact in facts:
                by_value.setdefault(fact[2], []).append(fact)
            written = match.group(group)  # the value exactly as written first: ".bz" before a code "bz"
            ordered = sorted(by_value.items(), key=lambda kv: str(kv[0]) != written)
            cands = tuple(Candidate(o, str(o), "Literal", tuple(fs)) for o, fs in ordered)
            found.append(Mention(match.group(0), match.start(), match.end(), cands, 1.0, "value"))
        return found


class _StoreNames:
    """name key -> the linkable entities with that name, looked up in an on-disk graph's name index on demand
    and remembered (a question asks for dozens of spans, most of them not names); past ``size`` keys the
    memory starts afresh. Plain dict reads and writes only, so the app's threads may share it."""

    def __init__(self, kg: KnowledgeGraph, linkable: Callable[[Any], bool], size: int = 50_000):
        self.kg, self.linkable, self.size = kg, linkable, size
        self._seen: dict[str, tuple] = {}

    def get(self, key: str, default=None):
        found = self._seen.get(key)
        if found is None:
            found = tuple(i for i in self.kg.index.names.get(key, ()) if self.linkable(i))
            if len(self._seen) >= self.size:
                self._seen = {}
            self._seen[key] = found
        return found or default

    def __getitem__(self, key: str) -> tuple:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found


def _local(term) -> str:
    return re.split(r"[#/]", str(term))[-1]


__all__ = ["EntityLinker", "Mention", "Candidate"]
