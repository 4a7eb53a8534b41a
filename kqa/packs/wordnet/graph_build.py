"""WordNet synsets as an RDF graph, written as Turtle lines directly (rdflib's serializer takes minutes on
half a million triples; these lines take seconds) and as passages.

Every synset is ``wn:n02084071`` (part-of-speech letter + offset), typed ``kqa:Noun``/``kqa:Verb``/
``kqa:Adjective``, named by ``rdfs:label`` (its first lemma) and ``skos:altLabel`` (every other lemma), with
its gloss as ``rdfs:comment``. Relations between synsets are ``kqa:`` properties, each declared an
``rdf:Property`` with a label and a comment so a schema-agnostic engine can read them; hypernymy is an
``owl:TransitiveProperty``. One direction of each inverse pair is stored (``partOf``, not also ``hasPart``):
the other is the same triples read backwards. Lexical pointers (antonymy, derivation) join the synsets of
the two lemmas.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from kqa.kb.rdf import KQA_NS
from kqa.kb.types import Passage
from kqa.packs.wordnet.parse import Synset

WN_NS = "http://kqa.dev/wordnet/"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS_NS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS_NS = "http://www.w3.org/2004/02/skos/core#"
OWL_NS = "http://www.w3.org/2002/07/owl#"
XSD_NS = "http://www.w3.org/2001/XMLSchema#"


@dataclass(frozen=True)
class Relation:
    name: str  # local name in KQA_NS
    symbols: tuple[str, ...]  # the WordNet pointer symbols it comes from (wninput(5))
    label: str
    comment: str
    source_pos: tuple[str, ...] = ("n", "v", "a", "s", "r")  # keep pointers only from these synsets
    transitive: bool = False
    symmetric: bool = False


RELATIONS: tuple[Relation, ...] = (
    Relation("hypernym", ("@",), "kind of", "hypernymy: the subject is a kind of the object (a dog is a kind of "
             "canine); transitive", transitive=True),
    Relation("instanceOf", ("@i",), "instance of", "the subject is an instance of the object, a particular one "
             "of its kind (Paris is an instance of national capital)"),
    Relation("partOf", ("#p",), "part of", "part holonymy: the subject is a part of the object (a wheel is part "
             "of a wheeled vehicle); read backwards, the object has the subject as a part (meronymy)"),
    Relation("memberOf", ("#m",), "member of", "member holonymy: the subject is a member of the object (a dog "
             "is a member of the genus Canis); read backwards, the object's members"),
    Relation("substanceOf", ("#s",), "substance of", "substance holonymy: the subject is a substance the object "
             "is made of (water is a substance of tears); read backwards, what the object is made of"),
    Relation("antonym", ("!",), "opposite of", "antonymy: the subject is the opposite of the object (hot, cold)",
             symmetric=True),
    Relation("entails", ("*",), "entails", "verb entailment: doing the subject entails doing the object (to "
             "snore entails to sleep)"),
    Relation("causes", (">",), "causes", "verb cause: the subject causes the object (to kill causes to die)"),
    Relation("attribute", ("=",), "value of", "the adjective subject is a value of the attribute noun object "
             "(heavy is a value of weight)", source_pos=("a", "s")),
    Relation("similarTo", ("&",), "similar to", "adjective similarity: the subject means nearly the same as the "
             "object (soggy, wet)", symmetric=True),
    Relation("derivation", ("+",), "derivationally related to", "the subject and the object share a word stem "
             "(to run, runner)", symmetric=True),
)
RELATION_BY_SYMBOL = {symbol: r for r in RELATIONS for symbol in r.symbols}
TAG_COUNT = "tagCount"
CLASSES = {"n": "Noun", "v": "Verb", "a": "Adjective", "s": "Adjective", "r": "Adverb"}
LEXNAMES = (  # lexnames(5): the lexicographer file of each number
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact", "noun.attribute",
    "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling", "noun.food", "noun.group",
    "noun.location", "noun.motive", "noun.object", "noun.person", "noun.phenomenon", "noun.plant",
    "noun.possession", "noun.process", "noun.quantity", "noun.relation", "noun.shape", "noun.state",
    "noun.substance", "noun.time", "verb.body", "verb.change", "verb.cognition", "verb.communication",
    "verb.competition", "verb.consumption", "verb.contact", "verb.creation", "verb.emotion", "verb.motion",
    "verb.perception", "verb.possession", "verb.social", "verb.stative", "verb.weather", "adj.ppl",
)


def synset_iri(synset_id: str) -> str:
    return f"{WN_NS}{synset_id}"


def relation_iri(name: str) -> str:
    return f"{KQA_NS}{name}"


def edges(synsets: dict[str, Synset]) -> Iterator[tuple[str, Relation, str]]:
    """(subject id, relation, object id) for every pointer kept, each once, targets within ``synsets``."""
    seen: set[tuple[str, str, str]] = set()
    for sid, synset in synsets.items():
        for pointer in synset.pointers:
            relation = RELATION_BY_SYMBOL.get(pointer.symbol)
            if relation is None or synset.pos not in relation.source_pos or pointer.target not in synsets:
                continue
            key = (sid, relation.name, pointer.target)
            if key not in seen and pointer.target != sid:
                seen.add(key)
                yield sid, relation, pointer.target


def turtle_lines(synsets: dict[str, Synset]) -> tuple[list[str], dict[str, int]]:
    """The graph as Turtle lines, and the number of triples of each kind written."""
    counts = {"schema": 0, "label": 0, "comment": 0, "type": 0, "relation": 0, "tag_count": 0}
    lines = [
        f"@prefix rdf: <{RDF_NS}> .", f"@prefix rdfs: <{RDFS_NS}> .", f"@prefix skos: <{SKOS_NS}> .",
        f"@prefix owl: <{OWL_NS}> .", f"@prefix xsd: <{XSD_NS}> .", f"@prefix kqa: <{KQA_NS}> .",
        f"@prefix wn: <{WN_NS}> .", "",
    ]
    for relation in RELATIONS:
        kinds = ["rdf:Property"] + (["owl:TransitiveProperty"] if relation.transitive else []) + \
                (["owl:SymmetricProperty"] if relation.symmetric else [])
        lines.append(f"kqa:{relation.name} a {', '.join(kinds)} ; rdfs:label {_lit(relation.label)} ; "
                     f"rdfs:comment {_lit(relation.comment)} .")
        counts["schema"] += len(kinds) + 2
    lines.append(f"kqa:{TAG_COUNT} a rdf:Property ; rdfs:label \"tag count\" ; rdfs:comment \"how many times the "
                 "synset's words were tagged with this sense in WordNet's semantic concordance: how common the "
                 "sense is\" .")
    counts["schema"] += 3
    for cls in sorted(set(CLASSES.values())):
        lines.append(f"kqa:{cls} a rdfs:Class ; rdfs:label {_lit(cls.lower())} .")
        counts["schema"] += 2
    out_edges: dict[str, list[tuple[Relation, str]]] = {}
    for s, relation, o in edges(synsets):
        out_edges.setdefault(s, []).append((relation, o))
    for sid, synset in synsets.items():
        parts = [f"wn:{sid} a kqa:{CLASSES[synset.pos]}", f"rdfs:label {_lit(synset.lemmas[0])}"]
        counts["type"] += 1
        counts["label"] += len(synset.lemmas)
        if len(synset.lemmas) > 1:
            parts.append("skos:altLabel " + ", ".join(_lit(lemma) for lemma in synset.lemmas[1:]))
        if synset.definition:
            parts.append(f"rdfs:comment {_lit(synset.definition)}")
            counts["comment"] += 1
        if synset.tag_count:
            parts.append(f'kqa:{TAG_COUNT} "{synset.tag_count}"^^xsd:integer')
            counts["tag_count"] += 1
        by_relation: dict[str, list[str]] = {}
        for relation, target in out_edges.get(sid, ()):
            by_relation.setdefault(relation.name, []).append(f"wn:{target}")
        for name, targets in by_relation.items():
            parts.append(f"kqa:{name} " + ", ".join(targets))
            counts["relation"] += len(targets)
        lines.append(" ;\n    ".join(parts) + " .")
    return lines, counts


def _lit(text: str) -> str:
    """A Turtle string literal (the N-Triples escapes, which Turtle reads too)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


POS_WORDS = {"n": "noun", "v": "verb", "a": "adjective", "s": "adjective", "r": "adverb"}


def passage_id(synset_id: str) -> str:
    return f"wn/{synset_id}"


def synset_passage(synset: Synset) -> Passage:
    """One passage per synset, titled by its first lemma: its words, its gloss, its examples."""
    head = f"{synset.lemmas[0]} ({POS_WORDS[synset.pos]})"
    if len(synset.lemmas) > 1:
        head += f", also called {', '.join(synset.lemmas[1:])}"
    lines = [f"{head}: {synset.definition}."]
    if synset.examples:
        lines.append("Examples: " + "; ".join(f'"{e}"' for e in synset.examples) + ".")
    section = LEXNAMES[synset.lexname] if 0 <= synset.lexname < len(LEXNAMES) else POS_WORDS[synset.pos]
    return Passage(id=passage_id(synset.id), title=synset.lemmas[0], section=section, text="\n".join(lines))


__all__ = ["RELATIONS", "Relation", "WN_NS", "TAG_COUNT", "edges", "turtle_lines", "synset_iri", "relation_iri",
           "synset_passage", "passage_id", "LEXNAMES"]
