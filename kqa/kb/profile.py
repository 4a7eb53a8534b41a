"""What a pack knows about its graph that the graph does not say: a ``profile.json`` in the pack folder.

The graph engine reads the schema from the graph itself (labels, comments, how each predicate is used). A
profile only adds to that, as data a pack's builder writes:

```json
{"label_predicates": ["http://example.org/title"],      # more predicates that name entities
 "link_classes": ["Country", "City"],                    # link only these classes (default: every class)
 "fuzzy_classes": ["Country"],                           # misspellings tried only for these
 "subject_classes": ["Country"],                         # what questions are about (default: any class)
 "class_nouns": {"Country": ["country", "nation"]},     # words that name a class in a question
 "default_inverse": {"City": "capital"},                 # relation into a value of a class, when unsure
 "popularity_property": "http://...#population",         # prior among same-named entities
 "ranking_property": "http://...#population",            # orders a set answer
 "value_rank": {"about": "http://...#about",             # nodes that rank one subject's values of a
                "relation": "http://...#relation",       # relation: ?n about ?s; relation ?p; value ?o;
                "value": "http://...#value",             # rank 1, 2, ... (1 = principal); a set answer
                "rank": "http://...#rank"},              # lists ranked values first, by rank
 "transitive": ["http://...#partOf"],                    # besides owl:TransitiveProperty
 "not_names": ["oil"],                                   # words never read as a name (nor misspelt one)
 "proper_name_classes": ["Language"],                    # linked only by a label with a capital letter
 "relations": {"capital": {"phrasings": ["\\bcapital\\b"], "examples": ["What is the capital of X?"],
                           "reverse_phrasings": ["\\bwhose capital is x\\b"],
                           "description": "capital city", "unit": "km", "object_class": "City",
                           "countable": true, "ordered": false, "show_aliases": false}},
 "choice_relatedness": false}
```

``relations`` is keyed by the predicate's local name and kept in order: phrasings (regular expressions over
the lower-cased question, the entity replaced by "X") are tried in that order, most specific first.
``reverse_phrasings`` are wordings that ask the relation backwards: the named entity is the relation's object
and the answer its subjects ("name a kind of x" asks for the subjects of "hypernym x"; "how many kinds of x"
counts them). They say where the entity stands (the lower-cased "x"), so they are tried before every forward
phrasing. A unit "USD" is written before the number ("$74,080"); any other unit after it ("1,285,216 sq km").
``show_aliases``: the relation's values are written, in answers and evidence, with their other names
(skos:altLabel) after them in brackets, for values whose names say different things people ask with: the
Factbook's "federal presidential republic (federal republic, presidential system)".

``choice_relatedness``: a multiple-choice question whose query answer no choice names is answered by
relatedness in the graph (``readers.graph_choice_reader``, as one that no query answers) instead of abstaining.
It suits a graph of concepts (WordNet), where choices are concepts near the question's; not a graph of facts
(the Factbook), where a choice that is not the graph's answer is wrong however close it lies.

This file holds data and reads it; it knows nothing of questions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kqa.kb.errors import BadFileError

PROFILE = "profile.json"
VALUE_RANK_KEYS = ("about", "relation", "value", "rank")


@dataclass(frozen=True)
class RelationProfile:
    """What a pack says about one relation, beyond the graph."""

    phrasings: tuple[str, ...] = ()
    reverse_phrasings: tuple[str, ...] = ()  # the entity is the object, the answer the subjects: see the module doc
    examples: tuple[str, ...] = ()
    description: str | None = None
    unit: str | None = None
    object_class: str | None = None
    countable: bool | None = None  # None: read from the graph (several objects per subject)
    ordered: bool | None = None  # None: read from the graph (numeric or date objects)
    show_aliases: bool | None = None  # true: a value is written with its other names: "federal republic (federation)"


@dataclass(frozen=True)
class GraphProfile:
    """A pack's additions to what the engine reads from the graph; the empty profile adds nothing."""

    label_predicates: tuple[str, ...] = ()
    link_classes: tuple[str, ...] | None = None
    fuzzy_classes: tuple[str, ...] | None = None
    subject_classes: tuple[str, ...] | None = None
    class_nouns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    default_inverse: Mapping[str, str] = field(default_factory=dict)
    popularity_property: str | None = None
    ranking_property: str | None = None
    value_rank: Mapping[str, str] = field(default_factory=dict)  # keys VALUE_RANK_KEYS: see the module doc
    transitive: tuple[str, ...] = ()
    not_names: tuple[str, ...] = ()
    # classes whose entities are linked only where their label starts with a capital letter: a proper name
    # ("Spanish"), not a fragment a parser left among the values ("local", "folk")
    proper_name_classes: tuple[str, ...] = ()
    relations: Mapping[str, RelationProfile] = field(default_factory=dict)
    choice_relatedness: bool = False  # no choice names the query answer: relatedness, not abstention
    source: str | None = None  # the file it came from, for messages

    @property
    def empty(self) -> bool:
        return self.source is None

    def patterns(self) -> list[tuple[str, str]]:
        """(relation, regular expression) in the order they are tried."""
        return [(name, rx) for name, rel in self.relations.items() for rx in rel.phrasings]

    def reverse_patterns(self) -> list[tuple[str, str]]:
        """(relation, regular expression) for the wordings that ask a relation backwards, in order."""
        return [(name, rx) for name, rel in self.relations.items() for rx in rel.reverse_phrasings]

    def examples(self) -> dict[str, tuple[str, ...]]:
        return {name: rel.examples for name, rel in self.relations.items() if rel.examples}

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("label_predicates", "link_classes", "fuzzy_classes", "subject_classes", "popularity_property",
                    "ranking_property", "transitive", "not_names", "proper_name_classes"):
            value = getattr(self, key)
            if value:
                out[key] = list(value) if isinstance(value, tuple) else value
        if self.class_nouns:
            out["class_nouns"] = {k: list(v) for k, v in self.class_nouns.items()}
        if self.default_inverse:
            out["default_inverse"] = dict(self.default_inverse)
        if self.value_rank:
            out["value_rank"] = dict(self.value_rank)
        if self.choice_relatedness:
            out["choice_relatedness"] = True
        rels = {}
        for name, rel in self.relations.items():
            entry = {k: (list(v) if isinstance(v, tuple) else v) for k, v in rel.__dict__.items() if v not in (None, ())}
            rels[name] = entry
        if rels:
            out["relations"] = rels
        return out


def load_profile(pack_dir: Path | str | None) -> GraphProfile:
    """The profile in ``pack_dir`` (a pack folder, or the folder of a graph file); the empty profile when
    there is none. A file that is not valid JSON, or has a wrong field, is a BadFileError."""
    if pack_dir is None:
        return GraphProfile()
    path = Path(pack_dir).expanduser()
    path = path / PROFILE if path.is_dir() else path.parent / PROFILE
    if not path.is_file():
        return GraphProfile()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BadFileError(path, f"not valid JSON ({err})", hint="fix it, or delete it to read the graph alone") \
            from None
    return profile_from_json(data, source=str(path))


def profile_from_json(data: Mapping[str, Any], *, source: str = "memory") -> GraphProfile:
    """A GraphProfile from the JSON form above; unknown keys and bad regular expressions are errors."""
    known = set(GraphProfile.__dataclass_fields__) - {"source"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise BadFileError(Path(source), f"unknown profile key(s) {unknown}", hint=f"known keys: {sorted(known)}")
    relations: dict[str, RelationProfile] = {}
    for name, entry in (data.get("relations") or {}).items():
        bad = sorted(set(entry) - set(RelationProfile.__dataclass_fields__))
        if bad:
            raise BadFileError(Path(source), f"relation {name!r}: unknown key(s) {bad}")
        for rx in (*entry.get("phrasings", ()), *entry.get("reverse_phrasings", ())):
            try:
                re.compile(rx)
            except re.error as err:
                raise BadFileError(Path(source), f"relation {name!r}: bad phrasing {rx!r} ({err})") from None
        relations[name] = RelationProfile(**{k: tuple(v) if isinstance(v, list) else v for k, v in entry.items()})

    if not isinstance(data.get("choice_relatedness", False), bool):
        raise BadFileError(Path(source), "choice_relatedness must be true or false")
    value_rank = dict(data.get("value_rank") or {})
    if value_rank and set(value_rank) != set(VALUE_RANK_KEYS):
        raise BadFileError(Path(source), f"value_rank has keys {sorted(value_rank)}",
                           hint=f"give exactly these predicate IRIs: {list(VALUE_RANK_KEYS)}")

    def tup(key):
        value = data.get(key)
        return tuple(value) if value is not None else None

    return GraphProfile(
        label_predicates=tup("label_predicates") or (),
        link_classes=tup("link_classes"),
        fuzzy_classes=tup("fuzzy_classes"),
        subject_classes=tup("subject_classes"),
        class_nouns={k: tuple(v) for k, v in (data.get("class_nouns") or {}).items()},
        default_inverse=dict(data.get("default_inverse") or {}),
        popularity_property=data.get("popularity_property"),
        ranking_property=data.get("ranking_property"),
        value_rank=value_rank,
        transitive=tup("transitive") or (),
        not_names=tup("not_names") or (),
        proper_name_classes=tup("proper_name_classes") or (),
        relations=relations,
        choice_relatedness=data.get("choice_relatedness", False),
        source=source,
    )


def write_profile(path: Path | str, profile: GraphProfile) -> Path:
    path = Path(path)
    path.write_text(json.dumps(profile.to_json(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


__all__ = ["GraphProfile", "RelationProfile", "load_profile", "profile_from_json", "write_profile", "PROFILE", "VALUE_RANK_KEYS"]
