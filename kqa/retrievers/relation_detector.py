"""Which relation a question asks about: hand-written phrasings first, then embedding similarity to the
relations' descriptions and a few example questions, for wordings no phrasing foresaw.

The question reaches ``detect`` with its entity mentions replaced by "X" ("What money do they use in X?"),
so a country's name cannot vote for a relation. Phrasings are tried in a fixed order, most specific first
("time zone of the capital" before "capital", "elevation of the highest point" before "highest point").
When none fits, the question is embedded and compared with every relation's prototypes; below
``threshold`` no relation fits and the caller abstains.

The encoder is any callable from a list of texts to an (n, d) array of L2-normalised rows, so a test can
pass a fake in one line; the app passes the bundled MiniLM (``kqa.models.embedder.load_embedder``).

>>> RelationDetector(DESCRIPTIONS).detect("Which currency does X have?")[0].relation
'currency'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

Encode = Callable[[Sequence[str]], np.ndarray]  # texts -> (n, d) float32, rows L2-normalised

# relation -> phrasings (regular expressions over the lower-cased question), in the order they are tried.
PATTERNS: tuple[tuple[str, str], ...] = (
    ("time_zone", r"time ?zone|\butc\b|\bgmt\b|time difference|what time is it"),
    ("highest_point_elevation", r"(how high|elevation|height|how tall|altitude)\b.*\b(highest point|tallest "
                                r"mountain|highest mountain|highest peak)|higher highest point|highest point is higher"
                                r"|highest point.*\b(how high|elevation|altitude)"),
    ("lowest_point_elevation", r"(elevation|how low|how deep|depth|altitude)\b.*\blowest point|lowest point is lower"),
    ("mean_elevation", r"(mean|average) (elevation|altitude|height)"),
    ("highest_point", r"highest (point|mountain|peak|summit)|tallest (mountain|peak)|highest elevation"),
    ("lowest_point", r"lowest (point|elevation|place|spot)"),
    ("land_boundaries", r"(total )?length of (its |the )?land (borders|boundaries)|land boundaries"),
    ("official_language", r"official(ly)? (language|tongue)s?|languages? (is |are )?official"),
    ("language", r"\blanguages?\b|\bspeak\b|\bspoken\b|\btongue\b"),
    ("land_area", r"\bland area\b"),
    ("gdp", r"\bgdp\b|gross domestic product|economy|economic output"),
    ("life_expectancy", r"life expectancy|live on average|how long do (people|they|residents)|lifespan"),
    ("median_age", r"median age"),
    ("demonym", r"nationality adjective|demonym|adjective|what (are|is) (people|someone|a person) from .* called"
                r"|nationality of (people|someone) from"),
    ("population", r"population|populous|how many (people|inhabitants|residents|citizens)|inhabitants"
                   r"|more people|fewer people|people live|number of people"),
    ("area", r"\barea\b|square (kilo)?met|sq km|how (large|big) is|size of|\bbigger\b|\bsmaller\b|\blarger\b"),
    ("coastline", r"\bcoast(line|al)?\b|\bshoreline\b"),
    ("currency", r"currenc|money|legal tender|\bcoins?\b|banknotes?|pay with|\bcash\b"),
    ("borders", r"\bborders?\b|bordering|neighbou?r|share a (land )?(border|boundary)|adjacent to|next to"),
    ("map_region", r"\bregion\b|continent|part of the world|where in the world|located|^\s*where is\b"),
    ("government_type", r"(type|form|kind|system) of government|government type|political system|regime type"),
    ("head_of_government", r"head of (the )?government|prime minister|premier|leads? the government"
                           r"|government is (led|headed|run) by|leader of the government"),
    ("chief_of_state", r"chief of state|head of state|\bpresident\b|monarch|\bking\b|\bqueen\b|\bsovereign\b"),
    ("capital", r"\bcapital\b|seat of government"),
    ("independence_date", r"independen"),
    ("national_anthem", r"\banthem\b|national song"),
    ("internet_tld", r"internet (country )?code|top[- ]level domain|\btld\b|domain (name|suffix|ending)"),
    ("legislature_structure", r"unicameral|bicameral|how many (chambers|houses)"),
    ("legislature", r"legislature|parliament|national assembly|\bcongress\b|legislative body"),
    ("legal_system", r"legal system|system of law|law system|kind of law"),
    ("national_symbol", r"national (symbol|animal|emblem)"),
    ("national_colors", r"national colou?rs"),
    ("airports", r"airports?\b|airfields?"),
    ("natural_resource", r"natural resources?|resources"),
    ("religion", r"religio|faith"),
    ("ethnic_group", r"ethnic"),
)

# Short example questions per relation, added to each description as embedding prototypes.
EXAMPLES: Mapping[str, tuple[str, ...]] = {
    "capital": ("What is the capital of X?", "Which city is the seat of government of X?"),
    "currency": ("What money do they use in X?", "What do people pay with in X?"),
    "official_language": ("What language is official in X?",),
    "language": ("What languages do people speak in X?",),
    "borders": ("Which countries are next to X?",),
    "map_region": ("On which continent is X?",),
    "government_type": ("What political system does X have?",),
    "chief_of_state": ("Who is the president or monarch of X?",),
    "head_of_government": ("Who is the prime minister of X?",),
    "independence_date": ("When did X become independent?",),
    "area": ("How big is X?",),
    "population": ("How many people live in X?",),
    "gdp": ("How big is the economy of X?",),
    "highest_point": ("What is the tallest mountain in X?",),
    "highest_point_elevation": ("How tall is the highest mountain in X?",),
    "lowest_point": ("What is the lowest place in X?",),
    "coastline": ("How long is the coast of X?",),
    "national_anthem": ("What is the national song of X?",),
    "internet_tld": ("What is the web domain of X?",),
    "demonym": ("What are people from X called?",),
    "time_zone": ("What time zone is X in?",),
    "legislature": ("What is the parliament of X called?",),
    "median_age": ("What is the median age in X?",),
    "life_expectancy": ("How long do people in X live?",),
    "airports": ("How many airports are there in X?",),
}


@dataclass(frozen=True)
class RelationMatch:
    """One relation a question may ask about."""

    relation: str  # local name: "currency"
    score: float  # 1.0 for a phrasing; cosine similarity for an embedding match
    method: str  # "pattern" | "embedding"
    matched: str  # the words that matched, or the closest prototype


class RelationDetector:
    """Maps a question (entities masked as "X") to relations, best first; see the module docstring."""

    def __init__(self, relations: Mapping[str, str], *, encode: Encode | None = None, threshold: float = 0.6,
                 patterns: Sequence[tuple[str, str]] = PATTERNS, examples: Mapping[str, Sequence[str]] = EXAMPLES):
        self.relations = dict(relations)  # name -> description
        self.patterns = [(name, re.compile(rx)) for name, rx in patterns if name in self.relations]
        self.encode = encode
        self.threshold = threshold
        self._prototypes: list[tuple[str, str]] = []
        for name, description in self.relations.items():
            self._prototypes.append((name, f"{name.replace('_', ' ')}: {description}"))
            self._prototypes += [(name, ex) for ex in examples.get(name, ())]
        self._vectors: np.ndarray | None = None  # (n_prototypes, d), L2-normalised; computed on first use

    def detect(self, question: str, *, allowed: Sequence[str] | None = None, embed: bool = True) -> list[RelationMatch]:
        """Relations that fit, best first: every phrasing that matches (in pattern order), else the best
        embedding match above ``threshold``; [] when nothing fits."""
        text = question.lower().replace("’", "'")
        out = []
        for name, rx in self.patterns:
            if allowed is not None and name not in allowed:
                continue
            match = rx.search(text)
            if match:
                out.append(RelationMatch(name, 1.0, "pattern", match.group(0)))
        if out or not embed or self.encode is None:
            return out
        return self.embedding_matches(question, allowed=allowed)[:1]

    def embedding_matches(self, question: str, *, allowed: Sequence[str] | None = None) -> list[RelationMatch]:
        """Every relation whose best prototype is at least ``threshold`` similar, best first."""
        if self.encode is None:
            return []
        if self._vectors is None:
            self._vectors = np.asarray(self.encode([p for _, p in self._prototypes]), dtype=np.float32)
        query = np.asarray(self.encode([question]), dtype=np.float32)[0]  # (d,)
        sims = self._vectors @ query  # (n_prototypes,)
        best: dict[str, tuple[float, str]] = {}
        for (name, proto), sim in zip(self._prototypes, sims.tolist()):
            if allowed is not None and name not in allowed:
                continue
            if sim > best.get(name, (-2.0, ""))[0]:
                best[name] = (sim, proto)
        ranked = sorted(best.items(), key=lambda kv: -kv[1][0])
        return [RelationMatch(n, round(s, 4), "embedding", p) for n, (s, p) in ranked if s >= self.threshold]


def _descriptions() -> dict[str, str]:
    from kqa.packs.factbook.parse import RELATIONS

    return {r.name: r.description for r in RELATIONS}


DESCRIPTIONS: Mapping[str, str] = _descriptions()

__all__ = ["RelationDetector", "RelationMatch", "PATTERNS", "EXAMPLES", "DESCRIPTIONS", "Encode"]
