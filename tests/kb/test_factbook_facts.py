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
        ("pe", "currency", "Peruvian nuevo sol"),
        ("ja", "currency", "Japanese yen"),
        ("br", "currency", "Brazilian real"),
        ("cs", "currency", "Costa Rican colón"),
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
        ("pk", "religion", "Islam"),
        ("is", "main_religion", "Judaism"),
        ("us", "main_religion", "Protestantism"),  # the largest share that is a religion, not "unaffiliated"
        ("br", "main_language", "Portuguese"),
        ("in", "main_language", "English"),  # "English is the subsidiary official language ..."
        ("eg", "continent", "Africa"),
        ("sy", "continent", "Asia"),  # "Middle East"
        ("bf", "continent", "North America"),  # "Caribbean"
        ("gl", "continent", "North America"),  # "Northern North America"; map region "Arctic Region"
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


def test_word_forms_and_principal_order(factbook_records):
    islam = next(f for f in factbook_records["pk"].values("religion") if f.value == "Islam")
    assert "Muslim" in islam.aliases and islam.rank == 1
    # Pakistan's languages by the share the Factbook gives; Switzerland's official ones first
    assert values(factbook_records, "pk", "language")[:3] == ["Punjabi", "Pashto", "Sindhi"]
    assert values(factbook_records, "sz", "language")[:4] == ["German", "French", "Italian", "Romansh"]
    assert [f.rank for f in factbook_records["sz"].values("language")][:3] == [1, 2, 3]
    english = next(f for f in factbook_records["uk"].values("language") if f.value == "English")
    assert "English language" in english.aliases
    assert set(values(factbook_records, "rs", "continent")) == {"Asia", "Europe"}  # North Asia ... Eastern Europe
    assert "real" in next(iter(factbook_records["br"].values("currency"))).aliases


def test_graph_holds_ranked_values_and_principal_facts(pack_graph):
    pk = URIRef("http://kqa.dev/entity/country/pk")
    rows = list(pack_graph.query(
        "SELECT ?v ?k WHERE { ?n a kqa:RankedValue ; kqa:about ?c ; kqa:relation kqa:religion ; kqa:value ?v ;"
        " kqa:rank ?k } ORDER BY ?k", initNs={"kqa": KQA}, initBindings={"c": pk}))
    assert [str(v).rsplit("/", 1)[1] for v, _ in rows][:2] == ["islam", "hinduism"]
    assert [int(k) for _, k in rows][:2] == [1, 2]
    assert pack_graph.value(pk, KQA.main_religion) == URIRef("http://kqa.dev/entity/religion/islam")
    from rdflib.namespace import SKOS

    assert Literal("Muslim") in set(pack_graph.objects(URIRef("http://kqa.dev/entity/religion/islam"), SKOS.altLabel))
