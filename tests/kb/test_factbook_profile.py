"""The Factbook profile's phrasings send a question to the relation it asks about (the first that matches)."""

from __future__ import annotations

import re

import pytest

from kqa.kb.profile import VALUE_RANK_KEYS, profile_from_json
from kqa.packs.factbook.profile import factbook_profile


def _first(question: str) -> str | None:
    return next((name for name, rx in factbook_profile().patterns() if re.search(rx, question.lower())), None)


@pytest.mark.parametrize("question, relation", [
    ("On which continent is X?", "continent"),
    ("What part of the world is X in?", "continent"),
    ("In which region of the world is X?", "map_region"),
    ("What is the principal language of X?", "main_language"),
    ("Which language is most widely spoken in X?", "main_language"),
    ("Which languages are spoken in X?", "language"),  # the plural: the whole set, principal first
    ("What is the official language of X?", "official_language"),
    ("What is the largest religion in X?", "main_religion"),
    ("What are the main religions in X?", "religion"),
])
def test_phrasings_route_the_new_relations(question, relation):
    assert _first(question) == relation


def test_the_profile_names_the_ranked_value_predicates_and_round_trips():
    profile = factbook_profile()
    assert set(profile.value_rank) == set(VALUE_RANK_KEYS)
    assert profile_from_json(profile.to_json()).value_rank == profile.value_rank
