"""The Factbook's schema knowledge as data: the ``profile.json`` its build writes into the pack.

Relation phrasings (regular expressions over the lower-cased question with the country masked as "X", most
specific first), example questions, units, the classes a question about countries names, and which
relations are counted, ordered or asked backwards. The generic graph engine (kqa/retrievers) reads this file;
it imports nothing from here.
"""

from __future__ import annotations

from collections.abc import Mapping

from kqa.kb.profile import GraphProfile, RelationProfile
from kqa.kb.rdf import KQA_NS

# relation -> phrasings (regular expressions over the lower-cased question), in the order they are tried.
# "main_language" and "main_religion" ask for one value, in the singular ("the main religion"); a plural ("the
# major religions") is the whole set, which the graph lists principal first (value_rank below).
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
    ("main_language", r"\b(main|principal|primary|predominant|dominant|chief|national|first|most (widely |commonly )?"
                      r"(spoken|used|common))\b.*\b(language|tongue)\b|\blanguage (is )?(most|mainly|mostly|primarily)"
                      r" (widely |commonly )?(spoken|used)"),
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
    ("continent", r"\bcontinents?\b|part of the world|\blandmass\b"),
    ("map_region", r"\bregion\b|where in the world|located|^\s*where is\b"),
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
    ("main_religion", r"\b(main|principal|primary|predominant|dominant|major|chief|largest|biggest|state|official"
                      r"|national|most (common|popular|widespread|practi[cs]ed|followed))\b.*\b(religion|faith)\b"
                      r"|\b(religion|faith) (is )?(most|mainly|mostly|primarily) (common|practi[cs]ed|followed)"),
    ("religion", r"religio|faith"),
    ("ethnic_group", r"ethnic"),
)

# Short example questions per relation, added to each description as embedding prototypes.
EXAMPLES: Mapping[str, tuple[str, ...]] = {
    "capital": ("What is the capital of X?", "Which city is the seat of government of X?"),
    "currency": ("Which coins and banknotes circulate in X?", "What do people pay with in X?"),
    "official_language": ("What language is official in X?",),
    "language": ("Which languages are spoken in X?",),
    "borders": ("Which countries are next to X?",),
    "map_region": ("In which region of the world is X?",),
    "continent": ("On which continent is X?", "X lies on which continent?"),
    "main_language": ("Which language is the principal one in X?", "Which language do most people in X speak?"),
    "main_religion": ("What is the largest religion in X?", "Which faith do most people in X follow?"),
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


# What a relation's object is, for choosing among a mention's candidates.
OBJECT_CLASS = {"capital": "City", "currency": "Currency", "chief_of_state": "Person",
                "head_of_government": "Person", "highest_point": "Place", "lowest_point": "Place",
                "borders": "Country", "official_language": "Language", "language": "Language",
                "main_language": "Language", "main_religion": "Religion", "continent": "Continent"}
DEFAULT_INVERSE = {"City": "capital", "Currency": "currency", "Person": "chief_of_state", "Place": "highest_point"}
ORDERED = ("area", "land_area", "population", "gdp", "coastline", "highest_point_elevation",
           "lowest_point_elevation", "mean_elevation", "land_boundaries", "median_age", "life_expectancy",
           "airports", "independence_date")
COUNTABLE = ("borders", "official_language", "language", "religion", "ethnic_group", "natural_resource",
             "capital", "map_region", "continent", "internet_tld", "national_symbol")
# Relations whose values are written with their other names: a government type with its classes
# (parse.government_classes)
SHOW_ALIASES = ("government_type",)
# Words of country questions that are never a misspelled name ("capitol" is not "Capitola").
NOT_NAMES = tuple("capital country countries city currency language languages population area head state "
                  "government border borders".split())


def factbook_profile() -> GraphProfile:
    from kqa.packs.factbook.parse import RELATIONS

    phrasings: dict[str, list[str]] = {}
    for name, rx in PATTERNS:
        phrasings.setdefault(name, []).append(rx)
    by_name = {r.name: r for r in RELATIONS}
    order = list(dict.fromkeys([name for name, _ in PATTERNS] + [r.name for r in RELATIONS]))
    relations = {}
    for name in order:
        rel = by_name[name]
        relations[name] = RelationProfile(
            phrasings=tuple(phrasings.get(name, ())), examples=tuple(EXAMPLES.get(name, ())),
            description=rel.description, unit=rel.unit, object_class=OBJECT_CLASS.get(name),
            countable=name in COUNTABLE, ordered=name in ORDERED, show_aliases=name in SHOW_ALIASES or None)
    return GraphProfile(
        # "Which countries are in Oceania / speak Spanish?"; a language's or a religion's value may be a fragment
        # the parse left ("local", "folk"): those are linked only by a label with a capital letter, else "the
        # local language of Israel" names the language "local"
        link_classes=("Country", "City", "Person", "Place", "Currency", "Continent", "Language", "Religion"),
        proper_name_classes=("Language", "Religion"),
        fuzzy_classes=("Country", "City"),
        subject_classes=("Country",),
        class_nouns={"Country": ("country", "countries", "nation", "nations", "state", "territory")},
        default_inverse=DEFAULT_INVERSE,
        not_names=NOT_NAMES,
        relations=relations,
        # the ranked values graph_build writes (kqa:RankedValue): languages and religions, principal first
        value_rank={key: f"{KQA_NS}{key}" for key in ("about", "relation", "value", "rank")},
        source="factbook",
    )
