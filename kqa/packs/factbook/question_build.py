"""Generate the pack's questions from the parsed facts: every question type, several phrasings per relation,
gold answers with aliases, gold triples and gold passages, popularity, time sensitivity and a dev/test split.

The split is by country (a hash of its code), so that no country's facts are asked in both splits; a
question that names two countries (comparison, boolean) takes both from the same split. Generation is seeded
and deterministic: the same Factbook gives the same questions.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import defaultdict
from collections.abc import Iterable

from kqa.packs.factbook.parse import RELATION_BY_NAME, CountryRecord, Fact, strip_accents
from kqa.packs.factbook.graph_build import fact_triple, literal_display, triple_id
from kqa.kb.types import Passage, Question

# Phrasings per relation; "{c}" is the country. Several per relation, picked at random per question.
SINGLE_HOP: dict[str, tuple[str, ...]] = {
    "capital": ("What is the capital of {c}?", "Which city is the capital of {c}?", "Name the capital city of {c}.",
                "{c}'s capital is which city?"),
    "currency": ("What currency is used in {c}?", "What is the currency of {c}?", "Which currency does {c} use?"),
    "official_language": ("What is an official language of {c}?", "Name an official language of {c}.",
                          "Which language is official in {c}?"),
    "map_region": ("In which region of the world is {c}?", "On which Factbook map region is {c} located?",
                   "Where in the world is {c}: which region?"),
    "government_type": ("What type of government does {c} have?", "What is the form of government of {c}?"),
    "chief_of_state": ("Who is the chief of state of {c}?", "Who is the head of state of {c}?"),
    "head_of_government": ("Who is the head of government of {c}?", "Who leads the government of {c}?"),
    "independence_date": ("When did {c} gain independence?", "What is the independence date of {c}?",
                          "On what date did {c} become independent?"),
    "area": ("What is the total area of {c}?", "How large is {c} in square kilometres?"),
    "population": ("What is the population of {c}?", "How many people live in {c}?"),
    "gdp": ("What is the GDP of {c} at the official exchange rate?", "What is the gross domestic product of {c}?"),
    "highest_point": ("What is the highest point in {c}?", "What is the tallest mountain in {c}?",
                      "Which peak is the highest point of {c}?"),
    "highest_point_elevation": ("How high is the highest point of {c}?",
                                "What is the elevation of the highest point in {c}?"),
    "lowest_point": ("What is the lowest point in {c}?", "Where is the lowest elevation in {c}?"),
    "coastline": ("How long is the coastline of {c}?", "What is the length of {c}'s coastline?"),
    "national_anthem": ("What is the national anthem of {c}?", "What is the title of {c}'s national anthem?"),
    "internet_tld": ("What is the internet country code of {c}?", "What top-level domain does {c} use?"),
    "demonym": ("What is the nationality adjective for {c}?", "What adjective describes people from {c}?"),
    "time_zone": ("What time zone is the capital of {c} in?", "What is the UTC offset of {c}'s capital?"),
    "legislature": ("What is the name of {c}'s legislature?", "What is the national parliament of {c} called?"),
    "legislature_structure": ("Is the legislature of {c} unicameral or bicameral?",
                              "Does {c} have a unicameral or a bicameral legislature?"),
    "legal_system": ("What legal system does {c} have?", "What kind of legal system is used in {c}?"),
    "national_symbol": ("What is a national symbol of {c}?", "Name a national symbol of {c}."),
    "median_age": ("What is the median age in {c}?", "What is the median age of the population of {c}?"),
    "life_expectancy": ("What is the life expectancy at birth in {c}?", "How long do people in {c} live on average?"),
    "airports": ("How many airports does {c} have?", "What is the number of airports in {c}?"),
    "mean_elevation": ("What is the mean elevation of {c}?",),
}

INVERSE: dict[str, tuple[str, ...]] = {
    "capital": ("{v} is the capital of which country?", "Which country has {v} as its capital?",
                "Of which country is {v} the capital?"),
    "internet_tld": ("Which country uses the internet country code {v}?", "Whose top-level domain is {v}?"),
    "national_anthem": ('Which country\'s national anthem is "{v}"?', 'Whose national anthem is "{v}"?'),
    "chief_of_state": ("{v} is the chief of state of which country?", "Which country has {v} as head of state?"),
    "head_of_government": ("{v} is the head of government of which country?",
                           "Which country's government is led by {v}?"),
    "highest_point": ("In which country is {v} the highest point?", "{v} is the highest point of which country?"),
    "currency": ("Which country uses the {v} as its currency?", "The {v} is the currency of which country?"),
}

# Two hops: from a bridge value to its country, then a relation of that country.
BRIDGES: dict[str, str] = {
    "capital": "the country whose capital is {v}",
    "internet_tld": "the country whose internet country code is {v}",
    "national_anthem": 'the country whose national anthem is "{v}"',
}
SECOND_HOP: dict[str, str] = {
    "currency": "What currency is used in {b}?",
    "official_language": "What is an official language of {b}?",
    "map_region": "In which region of the world is {b}?",
    "chief_of_state": "Who is the chief of state of {b}?",
    "head_of_government": "Who is the head of government of {b}?",
    "highest_point": "What is the highest point in {b}?",
    "capital": "What is the capital of {b}?",
    "government_type": "What type of government does {b} have?",
    "demonym": "What is the nationality adjective for {b}?",
}

COMPARISON: dict[str, tuple[tuple[str, ...], bool]] = {  # relation -> (phrasings, larger wins)
    "area": (("Which is larger by area, {a} or {b}?", "Which country is bigger, {a} or {b}?"), True),
    "population": (("Which has more people, {a} or {b}?", "Which country is more populous, {a} or {b}?"), True),
    "coastline": (("Which has the longer coastline, {a} or {b}?",), True),
    "highest_point_elevation": (("Which country has the higher highest point, {a} or {b}?",
                                 "Whose highest point is higher, {a} or {b}?"), True),
    "gdp": (("Which has the larger economy by GDP, {a} or {b}?",), True),
    "independence_date": (("Which became independent earlier, {a} or {b}?",), False),
}

MC_RELATIONS = ("capital", "currency", "map_region", "highest_point", "official_language", "demonym")
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                "twelve", "thirteen", "fourteen", "fifteen", "sixteen")

# How many questions of each type to draw (before the split); about 2,750 in all.
TARGETS = {"single_hop": 1000, "inverse": 300, "two_hop": 300, "comparison": 250, "count": 150, "boolean": 300,
           "list": 150, "multiple_choice": 300}


def country_split(code: str) -> str:
    """dev or test, by a hash of the country code: stable across builds and machines."""
    return "test" if int(hashlib.sha256(code.encode()).hexdigest(), 16) % 2 else "dev"


def _match_key(text: str) -> str:
    return re.sub(r"\s+", " ", strip_accents(text).lower()).strip()


def answer_forms(fact: Fact) -> tuple[str, ...]:
    """The gold answer of a fact first, then its aliases (numbers also as the Factbook writes them)."""
    relation = RELATION_BY_NAME[fact.relation]
    first = literal_display(fact, relation) if not relation.object_class else str(fact.value)
    forms = [first, *fact.aliases]
    if relation.datatype in ("integer", "decimal"):
        number = float(fact.value)
        raw_number = re.search(r"\$?-?\d[\d,]*(?:\.\d+)?(?:\s*(?:million|billion|trillion))?", fact.raw)
        if raw_number:
            forms.append(raw_number.group(0))
        plain = f"{int(number)}" if number == int(number) else f"{number:.6f}".rstrip("0").rstrip(".")
        forms += [plain, f"{int(number):,}" if number == int(number) else plain]
    if relation.datatype == "date":
        value = fact.value
        if hasattr(value, "year"):
            forms += [value.isoformat(), f"{value.strftime('%B')} {value.day}, {value.year}", str(value.year)]
    if relation.name == "time_zone":
        forms.append(str(fact.value).replace("UTC", "UTC "))
    return tuple(dict.fromkeys(f for f in forms if f))


def _contains_any(text: str, forms: Iterable[str]) -> bool:
    key = _match_key(text)
    for form in forms:
        f = _match_key(form)
        if len(f) >= 2 and re.search(rf"(?<![\w]){re.escape(f)}(?![\w])", key):
            return True
    return False


class QuestionGenerator:
    """Draws questions from records; see ``generate``."""

    def __init__(self, records: dict[str, CountryRecord], passages: dict[str, list[Passage]], seed: int = 13):
        self.records = records
        self.passages = passages
        self.rng = random.Random(seed)
        ranked = sorted(records, key=lambda c: -max((f.value for f in records[c].values("population")), default=0))
        self.popularity = {code: i + 1 for i, code in enumerate(ranked)}
        self.split = {code: country_split(code) for code in records}
        self.counter: dict[str, int] = defaultdict(int)
        # value label -> countries having it, per relation (for inverse and two-hop questions)
        self.by_value: dict[tuple[str, str], list[str]] = defaultdict(list)
        for code, record in records.items():
            for fact in record.facts:
                self.by_value[(fact.relation, _match_key(str(fact.value)))].append(code)

    # ------------------------------------------------------------------ helpers

    def _id(self, kind: str, relation: str, code: str) -> str:
        key = f"{kind}/{relation}/{code}"
        self.counter[key] += 1
        return f"{key}/{self.counter[key] - 1}"

    def _gold_passages(self, code: str, forms: Iterable[str], must_also: Iterable[str] = ()) -> tuple[str, ...]:
        forms, must_also = list(forms), list(must_also)
        out = []
        for p in self.passages.get(code, []):
            if _contains_any(p.text, forms) and (not must_also or _contains_any(p.text, must_also)):
                out.append(f"passage:{p.id}")
        return tuple(out)

    def _triples(self, facts: Iterable[Fact]) -> tuple[str, ...]:
        return tuple(triple_id(*fact_triple(f)) for f in facts)

    def _label(self, code: str) -> str:
        return self.records[code].label

    def _country_forms(self, codes: Iterable[str]) -> tuple[str, ...]:
        forms: list[str] = []
        for code in codes:
            forms += [self.records[code].label, *sorted(self.records[code].aliases)]
        return tuple(dict.fromkeys(forms))

    def _question(self, kind: str, relation: str, code: str, text: str, answers: tuple[str, ...], *,
                  facts: Iterable[Fact], hops: int = 1, gold_passages: tuple[str, ...] = (),
                  choices: tuple[str, ...] | None = None, answer_list: tuple[str, ...] = (),
                  time_sensitive: bool | None = None) -> Question:
        rel = RELATION_BY_NAME.get(relation)
        return Question(
            id=self._id(kind, relation, code), question=text, answers=answers, choices=choices, type=kind,
            relation=relation, hops=hops, subject=code, gold_triples=self._triples(facts),
            gold_passages=gold_passages, popularity=self.popularity[code],
            time_sensitive=bool(rel and rel.time_sensitive) if time_sensitive is None else time_sensitive,
            split=self.split[code], answer_list=answer_list,
        )

    # ------------------------------------------------------------------ question types

    def single_hop(self, n: int) -> list[Question]:
        per_relation = max(1, n // len(SINGLE_HOP))
        out = []
        for relation, phrasings in SINGLE_HOP.items():
            codes = [c for c in sorted(self.records) if self.records[c].values(relation)]
            for code in self.rng.sample(codes, min(per_relation, len(codes))):
                facts = self.records[code].values(relation)
                forms = tuple(dict.fromkeys(f for fact in facts for f in answer_forms(fact)))
                text = self.rng.choice(phrasings).format(c=self._label(code))
                out.append(self._question("single_hop", relation, code, text, forms, facts=facts,
                                          gold_passages=self._gold_passages(code, forms)))
        return out

    def inverse(self, n: int) -> list[Question]:
        candidates = []
        for relation in INVERSE:
            for code in sorted(self.records):
                for fact in self.records[code].values(relation):
                    candidates.append((relation, code, fact))
        out = []
        seen = set()
        for relation, code, fact in self.rng.sample(candidates, len(candidates)):
            if len(out) >= n:
                break
            owners = self.by_value[(relation, _match_key(str(fact.value)))]
            key = (relation, _match_key(str(fact.value)))
            if key in seen or len(owners) > 3:  # "which country uses the euro" has 30 answers: not this type
                continue
            seen.add(key)
            if any(self.split[o] != self.split[code] for o in owners):
                continue
            text = self.rng.choice(INVERSE[relation]).format(v=fact.value)
            facts = [f for o in owners for f in self.records[o].values(relation) if _match_key(str(f.value)) == key[1]]
            forms = self._country_forms(owners)
            gold = tuple(p for o in owners for p in self._gold_passages(o, forms, answer_forms(fact)))
            out.append(self._question("inverse", relation, code, text, forms, facts=facts, gold_passages=gold))
        return out

    def two_hop(self, n: int) -> list[Question]:
        candidates = []
        for bridge in BRIDGES:
            for code in sorted(self.records):
                bridge_facts = self.records[code].values(bridge)
                if len(bridge_facts) != 1:
                    continue
                owners = self.by_value[(bridge, _match_key(str(bridge_facts[0].value)))]
                if owners != [code]:
                    continue
                for relation in SECOND_HOP:
                    if relation != bridge and self.records[code].values(relation):
                        candidates.append((bridge, relation, code, bridge_facts[0]))
        out = []
        for bridge, relation, code, bridge_fact in self.rng.sample(candidates, min(n, len(candidates))):
            phrase = BRIDGES[bridge].format(v=bridge_fact.value)
            text = SECOND_HOP[relation].format(b=phrase)
            facts = self.records[code].values(relation)
            forms = tuple(dict.fromkeys(f for fact in facts for f in answer_forms(fact)))
            # Gold passages support either hop, as HotpotQA's supporting facts do: the bridge passage is the
            # one a single-shot retriever can find from the question's words.
            # The bridge as the question writes it (".hk", not the "HK" of an abbreviation).
            written = re.compile(rf"(?<!\w){re.escape(strip_accents(str(bridge_fact.value)).lower())}(?!\w)")
            bridge_passages = [f"passage:{p.id}" for p in self.passages.get(code, [])
                               if written.search(strip_accents(p.text).lower())]
            gold = bridge_passages + list(self._gold_passages(code, forms))
            out.append(self._question("two_hop", relation, code, text, forms, facts=[bridge_fact, *facts], hops=2,
                                      gold_passages=tuple(dict.fromkeys(gold))))
        return out

    def comparison(self, n: int) -> list[Question]:
        out = []
        codes_by_split = defaultdict(list)
        for code in sorted(self.records):
            codes_by_split[self.split[code]].append(code)
        per_relation = max(1, n // len(COMPARISON))
        for relation, (phrasings, larger_wins) in COMPARISON.items():
            made = 0
            tries = 0
            while made < per_relation and tries < per_relation * 50:
                tries += 1
                split = self.rng.choice(sorted(codes_by_split))
                a, b = self.rng.sample(codes_by_split[split], 2)
                fa, fb = self.records[a].values(relation), self.records[b].values(relation)
                if not fa or not fb:
                    continue
                va, vb = _sortable(fa[0]), _sortable(fb[0])
                if va == vb or (isinstance(va, float) and max(va, vb) < 1.05 * min(va, vb)):
                    continue  # close calls depend on an estimate's year, not on knowledge
                winner = a if (va > vb) == larger_wins else b
                text = self.rng.choice(phrasings).format(a=self._label(a), b=self._label(b))
                out.append(self._question("comparison", relation, a, text, self._country_forms([winner]),
                                          facts=[fa[0], fb[0]], hops=2, choices=(self._label(a), self._label(b))))
                made += 1
        return out

    def count(self, n: int) -> list[Question]:
        phrasings = {
            "borders": ("How many countries border {c}?", "How many neighbouring countries does {c} have?"),
            "official_language": ("How many official languages does {c} have?",),
        }
        out = []
        for relation, texts in phrasings.items():
            codes = [c for c in sorted(self.records) if self.records[c].values(relation)]
            share = n * 2 // 3 if relation == "borders" else n // 3
            for code in self.rng.sample(codes, min(share, len(codes))):
                facts = self.records[code].values(relation)
                k = len(facts)
                forms = (str(k),) + ((NUMBER_WORDS[k],) if k < len(NUMBER_WORDS) else ())
                text = self.rng.choice(texts).format(c=self._label(code))
                out.append(self._question("count", relation, code, text, forms, facts=facts))
        return out

    def boolean(self, n: int) -> list[Question]:
        out = []
        border_codes = [c for c in sorted(self.records) if self.records[c].values("borders")]
        for _ in range(n * 3):
            if len(out) >= n:
                break
            code = self.rng.choice(border_codes)
            record = self.records[code]
            yes = self.rng.random() < 0.5
            kind = self.rng.choice(("borders", "borders", "capital"))
            if kind == "borders":
                facts = record.values("borders")
                if yes:
                    fact = self.rng.choice(facts)
                    other = str(fact.object_key)
                    gold = [fact]
                else:
                    region = {f.value for f in record.values("map_region")}
                    near = [c for c in sorted(self.records) if c != code and self.split[c] == self.split[code]
                            and {f.value for f in self.records[c].values("map_region")} & region
                            and c not in {f.object_key for f in facts}]
                    if not near:
                        continue
                    other = self.rng.choice(near)
                    gold = facts
                if self.split[other] != self.split[code]:
                    continue
                text = self.rng.choice(("Does {a} border {b}?", "Is {a} a neighbour of {b}?",
                                        "Do {a} and {b} share a land border?")).format(a=self._label(code),
                                                                                      b=self._label(other))
            else:
                facts = record.values("capital")
                if not facts:
                    continue
                if yes:
                    city = self.rng.choice(facts).value
                else:
                    others = [f.value for c in sorted(self.records) if self.split[c] == self.split[code] and c != code
                              for f in self.records[c].values("capital")]
                    city = self.rng.choice(others)
                    if any(_match_key(city) == _match_key(str(f.value)) for f in facts):
                        continue
                gold = facts
                text = self.rng.choice(("Is {v} the capital of {c}?", "Is the capital of {c} {v}?")).format(
                    v=city, c=self._label(code))
            out.append(self._question("boolean", kind, code, text, ("yes",) if yes else ("no",), facts=gold,
                                      choices=("yes", "no")))
        return out

    def list_questions(self, n: int) -> list[Question]:
        phrasings = {
            "borders": ("Which countries border {c}?", "Name all the countries that share a border with {c}."),
            "official_language": ("What are the official languages of {c}?",),
        }
        out = []
        for relation, texts in phrasings.items():
            codes = [c for c in sorted(self.records) if len(self.records[c].values(relation)) >= 2]
            share = n * 2 // 3 if relation == "borders" else n // 3
            for code in self.rng.sample(codes, min(share, len(codes))):
                facts = self.records[code].values(relation)
                members = tuple(str(f.value) for f in facts)
                text = self.rng.choice(texts).format(c=self._label(code))
                out.append(self._question("list", relation, code, text, (", ".join(members),), facts=facts,
                                          answer_list=members, gold_passages=self._gold_passages(code, members)))
        return out

    def multiple_choice(self, n: int) -> list[Question]:
        out = []
        per_relation = max(1, n // len(MC_RELATIONS))
        for relation in MC_RELATIONS:
            codes = [c for c in sorted(self.records) if self.records[c].values(relation)]
            pool = sorted({str(f.value) for c in codes for f in self.records[c].values(relation)})
            for code in self.rng.sample(codes, min(per_relation, len(codes))):
                facts = self.records[code].values(relation)
                gold = str(facts[0].value)
                taken = {_match_key(str(f.value)) for f in facts}
                distractors = self.rng.sample([v for v in pool if _match_key(v) not in taken], 3)
                choices = [gold, *distractors]
                self.rng.shuffle(choices)
                text = SINGLE_HOP[relation][0].format(c=self._label(code))
                forms = answer_forms(facts[0])
                out.append(self._question("multiple_choice", relation, code, text, forms, facts=facts[:1],
                                          choices=tuple(choices), gold_passages=self._gold_passages(code, forms)))
        return out

    def generate(self, targets: dict[str, int] | None = None) -> list[Question]:
        targets = {**TARGETS, **(targets or {})}
        return [
            *self.single_hop(targets["single_hop"]),
            *self.inverse(targets["inverse"]),
            *self.two_hop(targets["two_hop"]),
            *self.comparison(targets["comparison"]),
            *self.count(targets["count"]),
            *self.boolean(targets["boolean"]),
            *self.list_questions(targets["list"]),
            *self.multiple_choice(targets["multiple_choice"]),
        ]


def _sortable(fact: Fact) -> float:
    value = fact.value
    if hasattr(value, "toordinal"):
        return float(value.toordinal())
    if fact.year_only:
        return float(__import__("datetime").date(int(value), 7, 1).toordinal())
    return float(value)
