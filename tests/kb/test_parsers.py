"""The Factbook field parsers on the strings the Factbook writes, including the ones they must refuse."""

from __future__ import annotations

import datetime as dt

import pytest

from kqa.packs.factbook import parse as fb


@pytest.mark.parametrize(("text", "value"), [
    ("1,285,216 sq km", 1285216.0), ("1.284 million sq km", 1284000.0), ("$257.145 billion (2024 est.)", 257145e6),
    ("-40 m", -40.0), ("32,768,614 (2025 est.)", 32768614.0),
])
def test_numbers(text, value):
    assert fb.parse_number(text) == value


def test_capitals():
    assert [v for v, *_ in fb._parse_capital("Gitega (political capital), Bujumbura (commercial capital)")] == \
        ["Gitega", "Bujumbura"]
    assert [v for v, *_ in fb._parse_capital("Washington, DC")] == ["Washington, D.C."]
    assert [v for v, *_ in fb._parse_capital("Chisinau in Romanian (Kishinev in Russian)")] == ["Chisinau"]
    with pytest.raises(fb.ParseError):
        fb._parse_capital("none")


def test_currencies():
    assert fb._parse_currency("Algerian dinars (DZD) per US dollar -")[0][:1] == ("Algerian dinar",)
    label, aliases, key = fb._parse_currency("Communaute Financiere Africaine francs (XOF) per US dollar -")[0]
    assert (label, key) == ("West African CFA franc", "XOF") and "CFA franc" in aliases
    assert fb._parse_currency("baht per US dollar -")[0][0] == "baht"
    assert fb._parse_currency("the US dollar is used")[0][2] == "USD"
    # two names of one currency: the first is the label, the second (with the first's adjective) an alias
    label, aliases, _ = fb._parse_currency("Ruritanian crowns/thalers per US dollar -")[0]
    assert label == "Ruritanian crown" and {"Ruritanian thaler", "thaler"} <= set(aliases) and label not in aliases
    # two currencies: only the first is the country's
    label, aliases, _ = fb._parse_currency("Ruritanian crowns or Euros per US dollar -")[0]
    assert label == "Ruritanian crown" and not any("euro" in a.lower() for a in aliases)
    with pytest.raises(fb.ParseError):
        fb._parse_currency("see entry for the West Bank")


def test_people_dates_points():
    label, aliases, _ = fb._parse_person("President Jos\u00e9 Enrique JER\u00cd Or\u00e9 (since 10 October 2025)")[0]
    assert label == "Jos\u00e9 Enrique Jer\u00ed Or\u00e9" and "Jer\u00ed" in aliases
    assert fb._parse_person("King CHARLES III (since 8 September 2022)")[0][0] == "Charles III"
    assert fb._parse_date("28 July 1821 (from Spain)")[0][0] == dt.date(1821, 7, 28)
    assert fb._parse_date("1776 (from Great Britain)")[0][0] == 1776
    with pytest.raises(fb.ParseError):
        fb._parse_date("none (territory of the US)")
    assert fb._parse_point("Mount Everest (highest peak in Asia) 8,849 m") == ("Mount Everest", 8849.0)
    with pytest.raises(fb.ParseError):
        fb._parse_point_name("unnamed elevation 675 m")


def test_languages_and_lists():
    text = "Spanish (official) 82.9%, Quechua (official) 13.6%, Aymara (official) 1.6%, Ashaninka 0.3%, other 0.5%"
    assert [v for v, *_ in fb._parse_official_languages(text)] == ["Spanish", "Quechua", "Aymara"]
    assert [v for v, *_ in fb._parse_languages(text)] == ["Spanish", "Quechua", "Aymara", "Ashaninka"]
    assert [v for v, *_ in fb._parse_list("Catholic 76%, Evangelical Christian 15.7%, other 3.2% (2017 est.)")] == \
        ["Catholic", "Evangelical Christian"]
    with pytest.raises(fb.ParseError):
        fb._parse_official_languages("Japanese")


def test_clean_text_and_names():
    assert fb.clean_text("Rep&uacute;blica<br>del <em>Per&uacute;</em>") == "Rep\u00fablica del Per\u00fa"
    assert fb.normalize_name("The Gambia") == fb.normalize_name("gambia")
    assert fb.normalize_name("C\u00f4te d\u2019Ivoire") == fb.normalize_name("Cote d'Ivoire")


@pytest.mark.parametrize("text, value, classes", [
    ("federal presidential republic", "federal presidential republic", ("federal republic", "presidential system")),
    ("semi-presidential republic", "semi-presidential republic", ("semi-presidential system",)),
    ("parliamentary democracy under a constitutional monarchy; a Commonwealth realm",
     "parliamentary democracy under a constitutional monarchy", ("parliamentary system",)),
    ("federation of monarchies", "federation of monarchies", ()),  # a federation, not a republic
    ("communist party-led state", "communist party-led state", ("communist state", "single-party state")),
    ("constitutional federal republic", "constitutional federal republic", ()),  # its own words say it
])
def test_a_government_type_is_the_phrase_with_the_classes_it_names_as_other_names(text, value, classes):
    assert fb._PARSERS["government_type"](text) == [(value, classes, None)]
