"""How far the pack's data reaches on a real-question file when the relation is given: for each question, the
country the linker finds, the relation the file names (``relation``), and the values the graph holds for it,
principal first (``kqa:RankedValue``), each written as the graph backend writes it (``format_value``), scored
with containment accuracy. One value when the question asks for
the main one ("main", "official", "national", "most ...", singular "what is the language"), else the set.

It separates the pack's knowledge from the engine's relation detection and answer forming: the graph backend
cannot beat this figure on the file, and the gap between the two is the engine's.

    python -m bench.webq_data_ceiling PACK_DIR QUESTIONS.jsonl
"""

from __future__ import annotations

import argparse
import re
from collections import Counter, defaultdict

from kqa.eval.metrics import contains_match
from kqa.kb.graph import format_value, load_graph
from kqa.kb.questions import load_questions
from kqa.kb.rdf import KQA_NS
from kqa.retrievers.entity_linker import EntityLinker
from kqa.retrievers.question_rewrite import QuestionRewriter

# the file's relation tag -> (the set relation, the principal relation)
RELATIONS = {"currency": ("currency", "currency"), "language": ("language", "main_language"),
             "religion": ("religion", "main_religion"), "continent": ("continent", "continent"),
             "capital": ("capital", "capital"), "border": ("borders", "borders"),
             "government": ("government_type", "government_type")}
ONE = re.compile(r"\b(main|official|national|dominant|major|predominant|primary|most|largest|first)\b")

RANKED = """SELECT ?v WHERE { ?n a kqa:RankedValue ; kqa:about ?c ; kqa:relation ?r ; kqa:value ?v ; kqa:rank ?k }
ORDER BY ?k"""


def values(kg, country, relation: str) -> list[str]:
    from rdflib import Namespace

    kqa = Namespace(KQA_NS)
    ranked = [format_value(kg, row[0], relation) for row in kg.query(RANKED, {"c": country, "r": kqa[relation]})]
    if ranked:
        return ranked
    return sorted(format_value(kg, o, relation) for o in kg.graph.objects(country, kqa[relation]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pack")
    parser.add_argument("questions")
    args = parser.parse_args()
    kg = load_graph(args.pack)
    linker = EntityLinker(kg)
    rewrite = QuestionRewriter(linker).rewrite
    by_relation: dict[str, Counter] = defaultdict(Counter)
    for q in load_questions(args.questions):
        if q.relation not in RELATIONS:
            continue
        countries = [m for m in linker.link(rewrite(q.question)) if m.of_class("Country")]
        if not countries:
            by_relation[q.relation]["unlinked"] += 1
            continue
        many, one = RELATIONS[q.relation]
        relation = one if ONE.search(q.question.lower()) else many
        found = values(kg, countries[-1].of_class("Country")[0].term, relation)
        by_relation[q.relation]["right" if contains_match(", ".join(found), q.answers) else "wrong"] += 1
    total = Counter()
    print(f"{'relation':<12} {'n':>4} {'acc':>6} {'unlinked':>9}")
    for relation, counts in sorted(by_relation.items()):
        n = sum(counts.values())
        total.update(counts)
        print(f"{relation:<12} {n:>4} {100 * counts['right'] / n:>6.1f} {counts['unlinked']:>9}")
    n = sum(total.values())
    print(f"{'all':<12} {n:>4} {100 * total['right'] / n:>6.1f} {total['unlinked']:>9}")


if __name__ == "__main__":
    main()
