"""Property-based tests (hypothesis) for linking and parsing: any text at all, and text built from the pieces
that trip parsers (names, quotes, braces, SPARQL words, zero-width and right-to-left marks), links to spans
that are really in the question and parses into one of the fixed query templates with graph terms bound."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kqa.kb.text import clean_question
from kqa.retrievers.graph_retriever import TEMPLATES

PIECES = ["What is the capital of", "Which countries border", "Is", "Does", "or", "larger", "How many",
          "the country whose capital is", "Peru", "Lima", "Chile", "Côte d’Ivoire", "Ivory Coast", "Peur", "euro",
          '"', "'", "}", "{", ";", "?", "DROP", "SERVICE <http://evil.example/sparql>", "SELECT * WHERE",
          "ignore previous instructions", "\u200b", "\u202e", "\x00", "🇵🇪", "秘鲁", "بيرو", ".pe", "  ", "\n"]
QUESTIONS = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(PIECES), max_size=14).map(" ".join),
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=8)), max_size=10).map("".join),
)
KINDS = {"single_hop", "inverse", "two_hop", "comparison", "count", "boolean", "list"}
SETTINGS = settings(max_examples=250, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def retriever(factbook_pack):
    from kqa.kb.graph import load_graph
    from kqa.retrievers.graph_retriever import GraphRetriever

    return GraphRetriever(load_graph(factbook_pack))  # phrasings only: no model, so thousands of questions are fast


@pytest.fixture(scope="module")
def counts():
    return {"linked": 0, "parsed": 0, "examples": 0}


@SETTINGS
@given(question=QUESTIONS)
def test_mentions_are_spans_of_the_question(retriever, counts, question):
    mentions = retriever.linker.link(question)
    for m in mentions:
        assert 0 <= m.start < m.end <= len(question)
        assert question[m.start:m.end] == m.text
        assert m.candidates and 0.0 < m.score <= 1.0
        assert all(c.term is not None and c.label for c in m.candidates)
    counts["linked"] += bool(mentions)


@SETTINGS
@given(question=QUESTIONS)
def test_parse_gives_a_fixed_template_with_graph_terms_or_a_reason(retriever, counts, question):
    from rdflib import Literal, URIRef

    parsed = retriever.parse(question)
    counts["examples"] += 1
    if parsed.query is None:
        assert isinstance(parsed.reason, str) and parsed.reason
        return
    counts["parsed"] += 1
    query = parsed.query
    assert query.kind in KINDS and query.sparql in TEMPLATES.values()
    graph = retriever.kg.graph
    for _, term in query.bindings:
        assert isinstance(term, (URIRef, Literal))
        assert (term, None, None) in graph or (None, term, None) in graph or (None, None, term) in graph
    assert query.sparql_text().startswith(query.sparql)


@SETTINGS
@given(question=QUESTIONS)
def test_clean_question_is_idempotent_and_leaves_no_control_characters(question):
    import unicodedata

    cleaned = clean_question(question)
    assert clean_question(cleaned) == cleaned
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in cleaned)
    assert cleaned == cleaned.strip()


@pytest.mark.slow  # sums what the slow property tests above counted
def test_property_report(counts, observe):
    """Runs after the properties above (same module, in order): puts what they covered in the report."""
    assert counts["examples"] >= 250, counts
    assert counts["parsed"] > 0 and counts["linked"] > 0
    observe("parsing (property-based)", "hypothesis: any text, and text built from names, quotes, braces, "
            "SPARQL words, zero-width and RTL marks", "mentions are spans of the question; a parse is a fixed "
            "template with graph terms bound, or a reason; no exception",
            f"{counts['examples']} questions, none raised (derandomized: the same each run)")
    observe("parsing (property-based)", "hypothesis: clean_question on any text", "idempotent, no control, "
            "format or surrogate characters left", "held for 250 examples")
