"""Spot facts checked against the Factbook, through the parsed records and through graph.ttl."""

from __future__ import annotations

import datetime as dt

import pytest
from rdflib import Literal, Namespace, URIRef

KQA = Namespace("http://kqa.dev/ontology#")


def values(records, code, relation):
    return [f.value for f in records[code].values(relation)]


@pytest.mark.parametrize(
    ("code", "relation", "expected"),
    [
        ("pe", "capital", "Lima"),
        ("fr", "capital", "Paris"),
        ("us", "capital", "Washington, D.C."),
        ("np", "highest_point", "Mount Everest"),
        ("np", "highest_point_elevation", 8849.0),
        ("pe", "currency", "nuevo sol"),
        ("ja", "currency", "yen"),
        ("gm", "currency", "euro"),
        ("pe", "official_language", "Quechua"),
        ("pe", "map_region", "South America"),
        ("pe", "internet_tld", ".pe"),
        ("pe", "independence_date", dt.date(1821, 7, 28)),
        ("pe", "area", 1285216.0),
        ("pe", "coastline", 2414.0),
        ("pe", "demonym", "Peruvian"),
        ("pe", "time_zone", "UTC-5"),
        ("uk", "head_of_government", "Keir Starmer"),
        ("in", "capital", "New Delhi"),
    ],
)
def test_spot_fact(factbook_records, code, relation, expected):
    assert expected in values(factbook_records, code, relation)


def test_borders_are_stored_both_ways(factbook_records):
    spain, portugal = factbook_records["sp"], factbook_records["po"]
    assert "Portugal" in [f.value for f in spain.values("borders")]
    assert "Spain" in [f.value for f in portugal.values("borders")]
    for code, record in factbook_records.items():
        for fact in record.values("borders"):
            back = [f.object_key for f in factbook_records[fact.object_key].values("borders")]
            assert code in back, f"{code} borders {fact.object_key} but not the other way"


def test_multi_capital_and_aliases(factbook_records):
    assert set(values(factbook_records, "sf", "capital")) == {"Pretoria", "Cape Town", "Bloemfontein"}
    assert {"Burma", "Myanmar"} & ({factbook_records["bm"].label} | factbook_records["bm"].aliases)
    assert "Ivory Coast" in factbook_records["iv"].aliases
    assert "Holland" in factbook_records["nl"].aliases
    assert {"UK", "USA"} <= factbook_records["uk"].aliases | factbook_records["us"].aliases


def test_raw_factbook_string_is_kept(factbook_records):
    fact = factbook_records["np"].values("highest_point")[0]
    assert "8,849 m" in fact.raw and fact.field == "Geography/Elevation/highest point"


def test_graph_holds_typed_literals_and_provenance(pack_graph):
    peru = URIRef("http://kqa.dev/entity/country/pe")
    nepal = URIRef("http://kqa.dev/entity/country/np")
    assert (peru, KQA.capital, URIRef("http://kqa.dev/entity/city/lima")) in pack_graph
    area = pack_graph.value(peru, KQA.area)
    assert area.datatype.endswith("decimal") and float(area) == 1285216.0
    assert pack_graph.value(peru, KQA.independence_date) == Literal(dt.date(1821, 7, 28))
    assert float(pack_graph.value(nepal, KQA.highest_point_elevation)) == 8849.0
    source = URIRef("http://kqa.dev/entity/source/np/highest_point")
    assert "8,849 m" in str(pack_graph.value(source, KQA.rawText))
    # numbers compare in SPARQL, which is why they are typed
    rows = list(pack_graph.query(
        "SELECT ?c WHERE { ?c kqa:area ?a . FILTER(?a > 9000000) }", initNs={"kqa": KQA}))
    assert len(rows) >= 4  # Russia, Canada, United States, China (and Antarctica)
