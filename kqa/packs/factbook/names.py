"""Country labels and aliases read back from a pack's graph, for things that rewrite questions."""

from __future__ import annotations

from pathlib import Path

from kqa.kb.rdf import KQA_NS, load_rdf

_QUERY = """
SELECT ?code ?label ?alias WHERE {
  ?c a kqa:Country ; kqa:code ?code ; rdfs:label ?label .
  OPTIONAL { ?c skos:altLabel ?alias }
}"""


def country_names(graph_path: Path | str, graph=None) -> dict[str, tuple[str, tuple[str, ...]]]:
    """code -> (label, aliases) for every country in the graph."""
    from rdflib import RDFS, SKOS, Namespace


    graph = graph if graph is not None else load_rdf(graph_path)
    names: dict[str, tuple[str, list[str]]] = {}
    for code, label, alias in graph.query(_QUERY, initNs={"kqa": Namespace(KQA_NS), "rdfs": RDFS, "skos": SKOS}):
        entry = names.setdefault(str(code), (str(label), []))
        if alias is not None:
            entry[1].append(str(alias))
    return {code: (label, tuple(sorted(set(aliases)))) for code, (label, aliases) in names.items()}
