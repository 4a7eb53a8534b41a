"""Load a user's RDF file (Turtle, N-Triples, RDF/XML) into an rdflib Graph, with a clear error when it is bad."""

from __future__ import annotations

from pathlib import Path

from kqa.kb.errors import BadFileError

KQA_NS = "http://kqa.dev/ontology#"  # the namespace of kqa's own built-in packs

RDF_FORMATS = {".ttl": "turtle", ".turtle": "turtle", ".nt": "nt", ".ntriples": "nt", ".rdf": "xml",
               ".xml": "xml", ".owl": "xml", ".n3": "n3", ".jsonld": "json-ld"}


def load_rdf(path: Path | str, *, format: str | None = None):
    """Parse an RDF file; the format comes from the suffix unless given. Bad syntax names the file (and line)."""
    from rdflib import Graph

    path = Path(path)
    if not path.is_file():
        raise BadFileError(path, "no such file")
    fmt = format or RDF_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise BadFileError(path, f"unknown RDF suffix {path.suffix!r}", hint=f"use one of {sorted(RDF_FORMATS)}")
    graph = Graph()
    try:
        graph.parse(str(path), format=fmt)
    except Exception as err:  # rdflib raises many parser-specific types
        lines = getattr(err, "lines", None)  # rdflib's BadSyntax counts the lines before the error, from 0
        line = lines + 1 if isinstance(lines, int) else getattr(err, "line", None)
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        if isinstance(err, IndexError):  # rdflib's Turtle parser runs off the end of a file cut short
            message, line = "the file ends in the middle of a statement: was it cut short?", _count_lines(path)
        raise BadFileError(path, f"not valid {fmt} ({message[:200]})", line=line if isinstance(line, int) else None) from None
    if len(graph) == 0:
        raise BadFileError(path, "the RDF file holds no triples")
    return graph


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) + 1


def triple_id(s, p, o) -> str:  # rdflib terms
    """The Evidence id of one triple: ``triple:<s> <p> <o>`` in N-Triples form."""
    return f"triple:{s.n3()} {p.n3()} {o.n3()}"
