"""What makes two answers the same answer."""

from __future__ import annotations

import pytest

from kqa.kb.text import answer_key


@pytest.mark.parametrize("a, b, same", [
    ("federal presidential republic (federal republic, presidential system)", "Federal presidential republic", True),
    ("The Côte d’Ivoire!", "cote d'ivoire", True),
    ("Kyiv (Kiev)", "Kyiv", True),
    ("(unknown)", "unknown", True),  # a bracket that is the whole answer stays the answer
    ("federal republic (a federation) of states", "federal republic of states", False),  # only a trailing one
    ("Lima", "Cusco", False),
])
def test_an_answer_is_the_same_with_or_without_the_other_names_a_graph_writes_after_it(a, b, same):
    assert (answer_key(a) == answer_key(b)) is same
