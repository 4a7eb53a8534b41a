"""Build the WordNet pack from Princeton WordNet 3.0 as Debian's ``wordnet-base`` installs it: parse the
database, write the graph (Turtle), a passage per synset, the questions and a ``profile.json`` that tells a
schema-agnostic graph engine how questions phrase WordNet's relations. Written atomically (``kb.pack.write_pack``): an interrupted build leaves the previous pack, or nothing.

Nouns, verbs and adjectives are kept (adverbs add little but size: 3,621 synsets with few relations).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

from kqa.kb.jsonl import write_jsonl
from kqa.kb.pack import CORPUS, GRAPH, QUESTIONS, Pack, Progress, _Timer, write_pack

PROFILE = "profile.json"
PARTS_OF_SPEECH = ("n", "v", "a")


def build_wordnet_pack(target: Path | str, *, source: Path | str | None = None, progress: Progress | None = None,
                       seed: int = 13, per_type: int = 400) -> Pack:
    """Build the WordNet pack into ``target`` from the database in ``source`` (default: /usr/share/wordnet)."""
    from kqa.packs.wordnet.graph_build import RELATIONS, synset_passage, turtle_lines
    from kqa.packs.wordnet.parse import load_sense_order, load_wordnet, wordnet_dir
    from kqa.packs.wordnet.question_build import QuestionGenerator

    say = progress or (lambda message: None)
    target = Path(target).expanduser()
    directory = Path(source) if source is not None else wordnet_dir()
    seconds: dict[str, float] = {}

    def stage(name: str, message: str):
        say(message)
        return _Timer(seconds, name)

    with stage("parse", "parsing WordNet's database files"):
        synsets = load_wordnet(directory, pos=PARTS_OF_SPEECH)
        senses = load_sense_order(directory, pos=PARTS_OF_SPEECH)
    with stage("corpus", "writing a passage per synset"):
        passages = [synset_passage(s) for s in synsets.values()]
    with stage("graph", "building the knowledge graph"):
        lines, triple_counts = turtle_lines(synsets)
    with stage("questions", "generating questions"):
        questions = QuestionGenerator(synsets, senses, seed=seed, per_type=per_type).generate()

    def write_parts(folder: Path) -> None:
        with stage("write", "writing the pack"):
            (folder / GRAPH).write_text("\n".join(lines) + "\n", encoding="utf-8")
            write_jsonl(folder / CORPUS, (p.to_json() for p in passages))
            write_jsonl(folder / QUESTIONS, (q.to_json() for q in questions))
            (folder / PROFILE).write_text(json.dumps(profile(), indent=2), encoding="utf-8")

    relation_counts = Counter(p.symbol for s in synsets.values() for p in s.pointers)

    def manifest() -> dict[str, Any]:  # called once the parts are written, so the write stage counts
        return {
            "name": "wordnet",
            "source": {"package": "wordnet-base (Debian)", "version": "WordNet 3.0", "path": str(directory),
                       "license": "WordNet 3.0 license (Princeton University; BSD-like: use, copy, modify and "
                                  "distribute with the copyright notice kept)"},
            "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "seed": seed,
            "stage_seconds": {k: round(v, 3) for k, v in seconds.items()},
            "counts": {
                "synsets": len(synsets),
                "synsets_by_pos": dict(Counter(s.pos for s in synsets.values())),
                "tagged_synsets": sum(1 for s in synsets.values() if s.tag_count),
                "triples": sum(triple_counts.values()),
                **{f"{k}_triples": v for k, v in triple_counts.items()},
                "passages": len(passages),
                "passage_words_mean": round(sum(len(p.text.split()) for p in passages) / max(len(passages), 1), 1),
                "questions": len(questions),
                "questions_by_type": dict(Counter(q.type for q in questions)),
                "questions_by_split": dict(Counter(q.split for q in questions)),
                "is_a_by_hops": dict(sorted(Counter(q.hops for q in questions if q.type == "is_a").items())),
            },
            "relations": [
                {"name": r.name, "description": r.comment, "object": "synset",
                 "pointers": sum(relation_counts[s] for s in r.symbols)} for r in RELATIONS
            ],
        }

    pack = write_pack(target, write_parts, manifest)
    say(f"pack written to {target}")
    return pack


def profile() -> dict[str, Any]:
    """What a generic graph engine cannot read off the graph: how questions phrase each relation (regular
    expressions over the lower-cased question), which property ranks
    same-named synsets (the tag count: the most frequent sense first), which relation is transitive, and which
    words of a question are its wording, not a synset ("kind", "part")."""
    from kqa.kb.rdf import KQA_NS
    from kqa.packs.wordnet.graph_build import RELATIONS, TAG_COUNT

    phrasings = {
        "hypernym": (["\\bkinds? of\\b", "\\btypes? of\\b", "\\bsorts? of\\b", "\\bin common\\b"],
                     ["What kind of thing is a poodle?", "Name a kind of dog.", "Is a poodle a kind of animal?"]),
        # "what kind of thing is Einstein?": a person is an instance of physicist, not a kind of anything;
        # after hypernym, so it is tried when the word has no hypernym
        "instanceOf": (["\\binstances? of\\b", "\\bexamples? of\\b", "\\b(?:kinds?|types?|sorts?) of\\b"],
                       ["What is Paris an instance of?"]),
        "partOf": (["\\bparts? of\\b", "\\bpart of\\b", "\\bmade up of\\b"], ["What is a wheel a part of?",
                                                                             "Name a part of a car."]),
        "memberOf": (["\\bmembers? of\\b", "\\bbelongs? to\\b"], ["What is a wolf a member of?"]),
        "substanceOf": (["\\bmade of\\b", "\\bsubstance\\b", "\\bingredient\\b"], ["What is bread made of?"]),
        "antonym": (["\\bopposite\\b", "\\bantonym\\b", "\\bcontrary\\b"], ["What is the opposite of hot?"]),
        "entails": (["\\bentails?\\b", "\\bmust you (also )?do\\b", "\\bwhat else\\b"],
                    ["What must you do when you snore?"]),
        "causes": (["\\bcauses?\\b", "\\bmakes? .* happen\\b", "\\bresults? in\\b"], ["What does killing cause?"]),
        "attribute": (["\\battribute\\b", "\\bvalue of\\b", "\\bdescribes?\\b"], ["What is heavy a value of?"]),
        "similarTo": (["\\bsimilar\\b", "\\bsynonym\\b", "\\bmeans the same\\b"], ["What is similar to wet?"]),
        "derivation": (["\\bderived\\b", "\\bderivation\\b", "\\brelated word\\b"], ["What word is related to run?"]),
    }
    # the same relations asked backwards: the named word is the object, the answer its subjects ("name a kind
    # of dog": the synsets whose hypernym is dog; "what is bread made of": the substances of bread)
    of_x = "(?:an? |the )?x\\b"
    reverse = {
        "hypernym": [f"\\b(?:kinds?|types?|sorts?) of {of_x}"],
        "instanceOf": [f"\\b(?:instances?|examples?) of {of_x}"],
        "partOf": [f"\\bparts? of {of_x}"],
        "memberOf": [f"\\bmembers? of {of_x}"],
        "substanceOf": ["\\bx (?:is |are )?made of\\b", f"\\b(?:substances?|ingredients?) of {of_x}"],
    }
    relations = {}
    for relation in RELATIONS:
        rx, examples = phrasings[relation.name]
        relations[relation.name] = {"phrasings": rx, "reverse_phrasings": reverse.get(relation.name),
                                    "examples": examples, "description": relation.comment,
                                    "object_class": None, "countable": True}
        relations[relation.name] = {k: v for k, v in relations[relation.name].items() if v is not None}
    return {
        "link_classes": ["Noun", "Verb", "Adjective"],
        "subject_classes": ["Noun", "Verb", "Adjective"],
        "class_nouns": {"Noun": ["thing", "noun"], "Verb": ["verb", "action"], "Adjective": ["adjective"]},
        # words of the questions' wording that WordNet also names ("kind", "part", "must"): never an entity
        "not_names": "kind kinds type types sort sorts thing things part parts member members instance instances "
                     "example examples opposite antonym synonym common name list wordnet must else made".split(),
        "popularity_property": f"{KQA_NS}{TAG_COUNT}",
        "ranking_property": f"{KQA_NS}{TAG_COUNT}",
        "transitive": [f"{KQA_NS}{r.name}" for r in RELATIONS if r.transitive],
        # choices are concepts near the question's: when none names the query's answer, the nearest one
        "choice_relatedness": True,
        "relations": relations,
    }


__all__ = ["build_wordnet_pack", "profile", "PROFILE"]
