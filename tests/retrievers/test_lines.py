"""Line selection: passages cut into lines or sentences, embedded by what they are about, best first."""

from __future__ import annotations

import numpy as np
import pytest

from kqa.kb.types import Evidence, Passage
from kqa.retrievers.base import passage_evidence
from kqa.retrievers.lines import Hint, LineSelector, passage_units, sub_field_key, unit_key

PERU = Passage("pe/government/0", "Peru", "Government",
               "Country name: conventional long form: Republic of Peru\nCapital: name: Lima\n"
               "Executive branch: chief of state: President Jose JERI (since 10 October 2025)\n"
               "Legislative branch: legislative structure: unicameral")
CHILE = Passage("ci/government/0", "Chile", "Government", "Capital: name: Santiago\nGovernment type: presidential republic")


def test_units_are_lines_without_the_title_line_or_sentences_of_prose():
    assert passage_units(passage_evidence(PERU, 1.0)) == PERU.text.splitlines()
    prose = Evidence("passage:x", "Lima is the capital. It lies on the coast! Is it dry? Yes.", "corpus", 1.0)
    assert passage_units(prose) == ["Lima is the capital.", "It lies on the coast!", "Is it dry?", "Yes."]


def test_a_label_value_line_is_keyed_by_title_and_label_and_prose_by_its_first_words():
    assert unit_key("Peru", "Capital: name: Lima") == "Peru: Capital: name"
    assert unit_key(None, "Capital: name: Lima") == "Capital: name"
    long_prose = "Note: " + " ".join(f"w{i}" for i in range(40)) + ": end"
    assert unit_key("Peru", long_prose).split() == ["Peru:", "Note:", *[f"w{i}" for i in range(23)]]


def test_the_best_lines_come_first_with_their_passage_and_title(hashing_encoder):
    selector = LineSelector(hashing_encoder)
    evidence = [passage_evidence(PERU, 0.9), passage_evidence(CHILE, 0.8)]
    [lines] = selector.select_many(["Peru capital name"], [evidence], m=2)
    assert [(line.passage_id, line.title, line.text) for line in lines][0] == (
        "passage:pe/government/0", "Peru", "Capital: name: Lima")
    assert len(lines) == 2 and lines[0].score >= lines[1].score


def test_vectors_are_cached_and_the_cache_is_bounded(hashing_encoder):
    calls = []

    class Counting:
        model_id, dim = "counting", hashing_encoder.dim

        def encode(self, texts, **kwargs):
            calls.append(list(texts))
            return hashing_encoder.encode(texts)

    evidence = [passage_evidence(PERU, 1.0)]
    selector = LineSelector(Counting())
    selector.select("capital of Peru", evidence)
    # one pass for the question, the labels and the innermost labels; one for the whole lines
    assert [len(c) for c in calls] == [9, 4] and calls[0][0] == "capital of Peru"
    assert calls[1][0].startswith("Peru: ") and all(c.count(":") >= 2 for c in calls[1])
    calls.clear()
    selector.select("president of Peru", evidence)
    assert calls == [["president of Peru"]]  # the second question finds the passage's texts cached
    calls.clear()
    selector = LineSelector(Counting(), cache_size=3)
    selector.select("capital of Peru", evidence)
    selector.select("president of Peru", evidence)
    # thirteen texts, a cache of three: the second question re-embeds what was evicted
    assert [len(c) for c in calls] == [9, 4, 9, 4]
    assert len(selector.encoder) == 3


def test_bounded_scoring_picks_exactly_the_lines_that_scoring_every_line_picks(hashing_encoder):
    """Oracle: the selector embeds whole lines best bound first and stops early; the lines it picks, their order
    and their scores are those of embedding and scoring every line, and it embeds fewer than all of them."""
    import random

    import numpy as np

    from kqa.retrievers.lines import passage_units, unit_key

    rng = random.Random(5)
    words = "capital name lima currency sol language spanish border chile area total land water people city".split()
    countries = ["Peru", "Chile", "Bolivia", "Ecuador", "Brazil", "Colombia"]
    passages = [Passage(f"{c.lower()[:2]}/p/{i}", c, "Section", "\n".join(
        f"{' '.join(rng.sample(words, 2)).title()}: {' '.join(rng.sample(words, rng.randint(1, 6)))}"
        for _ in range(rng.randint(4, 14)))) for i, c in enumerate(countries)]
    whole_embedded = []

    class Counting:
        model_id, dim = "counting", hashing_encoder.dim

        def encode(self, texts, **kwargs):
            whole_embedded.extend(t for t in texts if t.count(":") >= 2)
            return hashing_encoder.encode(texts)

    selector = LineSelector(Counting(), cache_size=0)  # nothing cached: every question embeds what it needs
    total = 0
    for trial in range(40):
        evidence = [passage_evidence(p, rng.random()) for p in rng.sample(passages, 4)]
        question = " ".join(rng.sample(words + countries, 4))
        m = rng.choice([1, 2, 3])
        units = [(e, u) for e in evidence for u in passage_units(e)]
        q = hashing_encoder.encode([question])[0]
        about = hashing_encoder.encode([unit_key(e.title, u) for e, u in units])
        whole = hashing_encoder.encode([f"{e.title}: {u}" for e, u in units])
        prior = np.array([e.score for e, _ in units], dtype=np.float32)
        prior = prior / prior.max()
        expected = 0.75 * (about @ q) + 0.25 * (whole @ q) + 0.25 * prior
        best = np.argsort(-expected, kind="stable")[:m]
        got = selector.select(question, evidence, m=m)
        assert [(line.passage_id, line.text) for line in got] == [(units[i][0].id, units[i][1]) for i in best]
        assert [line.score for line in got] == [float(expected[i]) for i in best]
        total += len(units)
    assert len(whole_embedded) < 0.8 * total


def test_no_passages_or_no_lines_wanted_select_nothing(hashing_encoder):
    selector = LineSelector(hashing_encoder)
    assert selector.select_many(["q1", "q2"], [[], [passage_evidence(PERU, 1.0)]], m=0) == [[], []]
    with pytest.raises(ValueError):
        selector.select_many(["q1"], [], m=3)


@pytest.mark.real_model
def test_minilm_picks_the_line_a_question_asks_about(minilm):
    selector = LineSelector(minilm)
    evidence = [passage_evidence(PERU, 0.6), passage_evidence(CHILE, 0.5)]
    cases = {"Which city is the capital of Peru?": "Capital: name: Lima",
             "Who is Peru's head of state?": PERU.text.splitlines()[2],
             "Does Peru have one legislative chamber or two?": PERU.text.splitlines()[3],
             "What is the capital of Chile?": "Capital: name: Santiago"}
    chosen = selector.select_many(list(cases), [evidence] * len(cases), m=1)
    assert [lines[0].text for lines in chosen] == list(cases.values())


def test_a_nested_line_is_also_about_its_innermost_label(hashing_encoder):
    assert sub_field_key("Jamaica", "Exchange rates: Currency: Jamaican dollars (JMD) per US dollar -") == \
        "Jamaica: Currency"
    assert sub_field_key("Peru", "Population: 34,352,720 (2024 est.)") is None  # one label: nothing more
    assert sub_field_key("Peru", "Lima is the capital. It lies on the coast.") is None

    class Keyed:  # "money" is "currency"; "budget" is mostly money too; "exchange" is something else
        model_id, dim = "keyed", 4

        def encode(self, texts, **kwargs):
            def row(t):
                t = t.lower()
                money = 1.0 if "currency" in t or "money" in t else 0.85 if "budget" in t else 0.0
                return [money, float("exchange" in t), 0.5 if "budget" in t else 0.0, 0.1]
            rows = np.array([row(t) for t in texts])
            return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    money = Passage("jm/economy/2", "Jamaica", "Economy",
                    "Budget: revenues: $4.041 billion\nExchange rates: Currency: Jamaican dollars (JMD) per US dollar -")
    (line,) = LineSelector(Keyed(), passage_weight=0.0).select("which money circulates in Jamaica?",
                                                               [passage_evidence(money, 1.0)], m=1)
    assert line.text.startswith("Exchange rates: Currency")


def test_a_name_question_demotes_lines_whose_value_is_a_figure(hashing_encoder):
    from kqa.retrievers.lines import is_figure

    assert is_figure("Budget: revenues: $77.003 billion (2023 est.)") and is_figure("Maritime claims: 12 nm")
    assert is_figure("Capital: geographic coordinates: 45 25 N, 75 42 W")
    assert not is_figure("Exchange rates: Currency: Chilean pesos (CLP) per US dollar -")
    assert not is_figure("Elevation: highest point: Mount Tarlenheim 2,310 m")
    money = Passage("xx/economy/0", "Ruritania", "Economy",
                    "Budget: money: $12 billion\nCurrency: money: crowns (RUC) per US dollar -")
    evidence = [passage_evidence(money, 1.0)]
    asked = "Ruritania money"
    plain = LineSelector(hashing_encoder, figure_penalty=0.0).select(asked, evidence, m=2)
    typed = LineSelector(hashing_encoder).select(asked, evidence, m=2)
    assert plain[0].text.startswith("Budget")  # its label and whole line are nearer the question
    assert typed[0].text.startswith("Currency")  # but a figure cannot name a currency
    assert typed[1].score == pytest.approx(plain[0].score - 0.15, abs=1e-5)
    from kqa.kb.text import wants_a_figure

    assert wants_a_figure("What day did Ruritania become a sovereign state?")  # a date: no penalty
    assert not wants_a_figure("What money will I pay with in Ruritania?")
    how_much = LineSelector(hashing_encoder).select("How much money does Ruritania have", evidence, m=1)
    assert how_much[0].text.startswith("Budget")  # a figure asked: no penalty


FILM = Passage("alien/0", "Alien", "Credits", "Who stars: Sigourney Weaver\nDirector: Ridley Scott")


def test_a_hint_names_the_field_a_question_has_none_of_the_words_of(hashing_encoder):
    """"directed" is not "Director" to a bag of words: alone the question picks the line it shares words with;
    told it asks about the director (what a graph reads it as), the selector picks the director's line."""
    selector = LineSelector(hashing_encoder)
    evidence = [passage_evidence(FILM, 1.0)]
    assert selector.select("Who directed Alien?", evidence, m=1)[0].text == "Who stars: Sigourney Weaver"
    told = selector.select("Who directed Alien?", evidence, m=1, hint=Hint("director"))
    assert told[0].text == "Director: Ridley Scott"
    # no hint, or a None one, is the selector without hints
    plain = selector.select_many(["Who directed Alien?"] * 2, [evidence] * 2, m=2)
    assert selector.select_many(["Who directed Alien?"] * 2, [evidence] * 2, m=2, hints=[None, None]) == plain
    with pytest.raises(ValueError):
        selector.select_many(["Who directed Alien?"], [evidence], hints=[Hint("director"), None])


def test_a_hint_about_a_subject_leaves_other_passages_to_the_question(hashing_encoder):
    """The subject's own line of the field is not retrieved, a neighbour's is: a hint about no one reads the neighbour's
    (Aliens' director for Alien), a hint about its subject ranks the neighbour's passage on the question alone."""
    selector = LineSelector(hashing_encoder)
    evidence = [passage_evidence(Passage("alien/0", "Alien", "Credits", "Release: 1979"), 0.8),
                passage_evidence(Passage("aliens/0", "Aliens", "Credits", "Director: James Cameron"), 0.8)]
    assert selector.select("Who directed Alien?", evidence, m=1)[0].text == "Release: 1979"
    assert selector.select("Who directed Alien?", evidence, m=1, hint=Hint("director"))[0].title == "Aliens"
    about = selector.select("Who directed Alien?", evidence, m=1, hint=Hint("director", ("alien",)))[0]
    assert (about.title, about.text) == ("Alien", "Release: 1979")  # names match titles in any case
