"""Robustness probes: re-ask each question with seeded changes the pack was never built on.

After the essay's point on out-of-distribution robustness: a system tuned to the phrasings it was built on
can fall apart when people ask differently. Each probe keeps the gold answers and changes only the words:

- ``typo``: one character swapped, dropped or doubled in the subject's name;
- ``case``: the whole question in lower case;
- ``paraphrase``: a template the pack never used, for single-hop questions;
- ``distractor``: an irrelevant clause in front;
- ``alias``: another name of the subject (Burma for Myanmar, Holland for the Netherlands) instead of its label.

A perturbed question's id is the original's plus ``~<probe>``; ``robustness_table`` compares each backend's
accuracy on the perturbed questions with its accuracy on the same questions unchanged.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from kqa.kb.types import Question

PROBES = ("typo", "case", "paraphrase", "distractor", "alias")

PARAPHRASES: dict[str, str] = {
    "capital": "Tell me which city serves as {c}'s seat of government.",
    "currency": "If I travel to {c}, what money will I pay with?",
    "official_language": "Which tongue has official status in {c}?",
    "map_region": "Which part of the globe is {c} found in?",
    "chief_of_state": "Who currently serves as {c}'s head of state?",
    "head_of_government": "Who runs the government in {c} these days?",
    "independence_date": "What day did {c} become a sovereign state?",
    "area": "How many square kilometres does {c} cover?",
    "population": "Roughly how many inhabitants does {c} have?",
    "highest_point": "Which summit is the top of {c}?",
    "coastline": "How many kilometres of coast does {c} have?",
    "national_anthem": "What song is {c}'s anthem?",
    "internet_tld": "Which domain ending do websites from {c} use?",
    "demonym": "How do you describe someone from {c} as an adjective?",
    "time_zone": "Which UTC offset is used in the capital of {c}?",
    "legislature": "What is {c}'s parliament named?",
    "gdp": "What is {c}'s GDP in US dollars?",
}
DISTRACTORS = (
    "While reading about the history of jazz last night, I wondered: ",
    "My cousin, who collects stamps and likes tea, asked me this: ",
    "Ignoring the weather for a moment, ",
)


def _typo(name: str, rng: random.Random) -> str:
    words = [w for w in name.split() if len(w) >= 5]
    if not words:
        return name
    word = rng.choice(words)
    i = rng.randrange(1, len(word) - 1)
    op = rng.choice(("swap", "drop", "double"))
    if op == "swap":
        changed = word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
    elif op == "drop":
        changed = word[:i] + word[i + 1 :]
    else:
        changed = word[:i] + word[i] + word[i:]
    return name.replace(word, changed, 1)


def _good_alias(label: str, aliases: Sequence[str]) -> str | None:
    plain = [a for a in aliases if re.fullmatch(r"[A-Za-z .'-]{3,30}", a) and a.lower() != label.lower()
             and label.lower() not in a.lower()]
    return min(plain, key=len) if plain else None


def perturb(question: Question, probe: str, names: dict[str, tuple[str, tuple[str, ...]]],
            rng: random.Random) -> Question | None:
    """One perturbed copy of ``question``, or None where the probe does not apply to it."""
    label, aliases = names.get(question.subject or "", ("", ()))
    text = question.question
    if probe == "case":
        new = text.lower()
    elif probe == "distractor":
        new = rng.choice(DISTRACTORS) + text[0].lower() + text[1:]
    elif probe == "typo":
        if not label or label not in text:
            return None
        new = text.replace(label, _typo(label, rng), 1)
    elif probe == "alias":
        alias = _good_alias(label, aliases)
        if not label or label not in text or alias is None:
            return None
        new = text.replace(label, alias, 1)
    elif probe == "paraphrase":
        if question.type != "single_hop" or question.relation not in PARAPHRASES or not label:
            return None
        new = PARAPHRASES[question.relation].format(c=label)
    else:
        raise ValueError(f"unknown probe {probe!r}; choose from {PROBES}")
    if new == text:
        return None
    return replace(question, id=f"{question.id}~{probe}", question=new)


def perturb_all(questions: Sequence[Question], names: dict[str, tuple[str, tuple[str, ...]]], *,
                seed: int = 7, probes: Sequence[str] = PROBES) -> list[Question]:
    """Every applicable probe of every question, seeded: the same input gives the same questions."""
    rng = random.Random(seed)
    out = []
    for question in questions:
        for probe in probes:
            changed = perturb(question, probe, names, rng)
            if changed is not None:
                out.append(changed)
    return out


def probe_of(question_id: str) -> str:
    return question_id.split("~", 1)[1] if "~" in question_id else "original"


def robustness_table(records: Sequence[dict[str, Any]], backends: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per backend and probe: accuracy on the originals of the perturbed questions, on the perturbed ones, and
    the drop between them (positive = worse when perturbed)."""
    correct = {(r["backend"], r["question_id"]): bool(r["correct"]) for r in records}
    table: dict[str, dict[str, Any]] = {}
    for backend in backends:
        rows = {}
        for probe in PROBES:
            pairs = [(correct[(backend, qid.split("~")[0])], ok) for (b, qid), ok in correct.items()
                     if b == backend and probe_of(qid) == probe and (backend, qid.split("~")[0]) in correct]
            if pairs:
                before = sum(a for a, _ in pairs) / len(pairs)
                after = sum(b for _, b in pairs) / len(pairs)
                rows[probe] = {"n": len(pairs), "original": round(before, 4), "perturbed": round(after, 4),
                               "drop": round(before - after, 4)}
        table[backend] = rows
    return table
