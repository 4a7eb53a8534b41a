"""Router and vote over scripted backends."""

from __future__ import annotations

from kqa.kb.types import Question
from kqa.readers.combine import RouterReader, VoteReader
from kqa.readers.types import Answer


class Scripted:
    def __init__(self, name, answers, confidence=0.9):
        self.name, self.answers, self.confidence, self.calls = name, answers, confidence, 0

    def answer(self, question, choices=None):
        self.calls += 1
        text = self.answers.get(question)
        return Answer(question=question, text=text, backend=self.name, confidence=self.confidence if text else None,
                      evidence=(), latency_ms=1.0, meta={} if text else {"reason": "scripted"})

    def answer_many(self, questions):
        return [self.answer(q.question) for q in questions]


def qs(*texts):
    return [Question(id=t, question=t, answers=("x",)) for t in texts]


def test_router_takes_the_first_backend_that_answers():
    graph = Scripted("graph", {"a": "Lima"})
    dense = Scripted("dense", {"a": "Cusco", "b": "Quito"})
    closed = Scripted("closed_book", {"a": "Paris", "b": "Bogota", "c": "Oslo"})
    router = RouterReader([graph, dense, closed])
    answers = router.answer_many(qs("a", "b", "c", "d"))
    assert [a.text for a in answers] == ["Lima", "Quito", "Oslo", None]
    assert [a.meta.get("routed_to") for a in answers[:3]] == ["graph", "dense", "closed_book"]
    assert answers[3].meta["reason"] == "every backend abstained" and answers[3].backend == "router"
    assert dense.calls == 3 and closed.calls == 2  # later backends see only what earlier ones left
    single = RouterReader([graph, dense, closed]).answer("a")
    assert single.text == "Lima"


def test_router_goes_on_below_a_backends_threshold_and_abstains_when_none_is_confident():
    unsure = Scripted("graph", {"a": "Lima"}, confidence=0.2)
    sure = Scripted("dense", {"a": "Cusco"}, confidence=0.9)
    assert RouterReader([unsure, sure], thresholds={"graph": 0.5}).answer("a").text == "Cusco"
    assert RouterReader([unsure, sure], thresholds={"dense": 0.95}).answer("a").text == "Lima"  # graph: no threshold
    none = RouterReader([unsure, sure], thresholds={"graph": 0.5, "dense": 0.95}).answer("a")
    assert none.text is None and none.meta["reason"] == "no backend was confident enough"
    assert none.meta["candidate"] == "Lima" and none.meta["tried"] == ["graph", "dense"]
    many = RouterReader([unsure, sure], thresholds={"graph": 0.5, "dense": 0.95}).answer_many(qs("a", "b"))
    assert [a.text for a in many] == [None, None]


def test_vote_majority_and_ties():
    answers = VoteReader([Scripted("graph", {"a": "Lima", "b": "Quito"}),
                          Scripted("dense", {"a": "lima.", "b": "Bogota"}),
                          Scripted("closed_book", {"a": "Paris", "b": "Caracas"})]).answer_many(qs("a", "b", "c"))
    assert answers[0].text == "Lima" and answers[0].confidence == 0.6  # (0.9 + 0.9) / 3 backends
    assert answers[1].text == "Quito" and answers[1].meta["winner_from"] == "graph"  # a three-way tie
    assert answers[2].text is None


def test_a_value_written_with_its_other_names_is_the_same_answer_as_the_value():
    graph = Scripted("graph", {"a": "federal presidential republic (federal republic, presidential system)"},
                     confidence=0.6)
    dense = Scripted("dense", {"a": "Federal presidential republic"}, confidence=0.5)
    closed = Scripted("closed_book", {"a": "federal republic"}, confidence=0.9)
    vote = VoteReader([graph, dense, closed]).answer("a")
    assert vote.meta["agreeing"] == 2 and vote.meta["winner_from"] == "graph"  # 0.6 + 0.5 beat 0.9
    assert vote.text.startswith("federal presidential republic (")


def test_vote_weighs_by_confidence_and_drops_answers_below_their_threshold():
    graph = Scripted("graph", {"a": "Lima", "b": "Quito"}, confidence=0.95)
    dense = Scripted("dense", {"a": "Cusco", "b": "Bogota"}, confidence=0.4)
    closed = Scripted("closed_book", {"a": "cusco", "b": "Bogota"}, confidence=0.3)
    a, b = VoteReader([graph, dense, closed]).answer_many(qs("a", "b"))
    assert a.text == "Lima" and a.confidence == round(0.95 / 3, 4)  # 0.95 beats 0.4 + 0.3 = 0.7
    assert a.meta["agreeing"] == 1 and a.meta["winner_from"] == "graph"
    assert b.text == "Quito"
    strict = VoteReader([graph, dense, closed], thresholds={"graph": 0.99, "closed_book": 0.5})
    assert strict.answer("a").text == "Cusco"  # graph and closed_book below their thresholds: dense alone
    assert VoteReader([graph], thresholds={"graph": 0.99}).answer("a").meta["reason"] == \
        "no backend was confident enough"


def test_rewriting_reader_asks_the_rewritten_question_and_keeps_the_asked_one():
    from kqa.readers.combine import RewritingReader

    graph = Scripted("graph", {"capital of Peru": "Lima"})
    reader = RewritingReader(graph, lambda q: q.replace("Peur", "Peru"))
    one = reader.answer("capital of Peur")
    assert one.text == "Lima" and one.question == "capital of Peur" and one.meta["asked_as"] == "capital of Peru"
    many = reader.answer_many(qs("capital of Peur", "capital of Chile"))
    assert [a.text for a in many] == ["Lima", None] and reader.name == "graph"
    assert reader.answers is graph.answers  # the wrapped backend's attributes show through


def test_threshold_reader_abstains_below_its_threshold_and_keeps_the_candidate():
    from kqa.readers.combine import ThresholdReader

    graph = Scripted("graph", {"a": "Lima"}, confidence=0.9)
    assert ThresholdReader(graph, 0.9).answer("a").text == "Lima"
    below = ThresholdReader(graph, 0.95).answer_many(qs("a", "b"))
    assert below[0].text is None and below[0].meta["candidate"] == "Lima" and below[0].backend == "graph"
    assert below[1].text is None and "candidate" not in below[1].meta  # abstained already: no confidence


def test_router_and_vote_use_a_backends_threshold_for_the_relation_the_graph_read():
    class Reading(Scripted):  # a graph that says which relation it read the question as
        def answer(self, question, choices=None):
            answer = super().answer(question, choices)
            return Answer(question=question, text=answer.text, backend=self.name, confidence=answer.confidence,
                          evidence=(), latency_ms=1.0, meta={**answer.meta, "relation": question.split()[0]})

    graph = Reading("graph", {"government a": "republic", "capital a": "Lima"}, confidence=1.0)
    dense = Scripted("dense", {"government a": "monarchy", "capital a": "Cusco", "anthem a": "Himno"},
                     confidence=0.6)
    thresholds = {"graph@government": 1.0001, "dense": 0.9, "dense@anthem": 0.5}
    router = RouterReader([graph, dense], thresholds=thresholds)
    answers = router.answer_many(qs("government a", "capital a", "anthem a"))
    assert [a.text for a in answers] == [None, "Lima", "Himno"]  # dense below its 0.9 on government
    assert answers[0].meta["candidate"] == "republic"
    assert [router.answer(q).text for q in ("government a", "capital a", "anthem a")] == [None, "Lima", "Himno"]
    vote = VoteReader([graph, dense], thresholds={"graph@government": 1.0001, "dense@capital": 0.9})
    assert [vote.answer(q).text for q in ("government a", "capital a")] == ["monarchy", "Lima"]
