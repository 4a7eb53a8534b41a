"""Load a user's RDF file (Turtle, N-Triples, RDF/XML, N3, JSON-LD) into an rdflib Graph, with a clear error
when it is bad, and without letting a stranger's file reach anything but itself.

rdflib will fetch what a file points at: a JSON-LD ``@context`` given as a URL, an XML external entity. kqa
reads graphs that people share, so before rdflib sees a file:

- the bytes are read here and handed to rdflib as data (rdflib opens no file and no URL of its own);
- RDF/XML: a DTD may declare internal entities (Protégé writes ``<!ENTITY owl "http://...#">``), but not
  external ones (``SYSTEM``/``PUBLIC``, a file or URL), not parameter entities, not an external DTD, and no
  entity may refer to another (the "billion laughs"); all references together may expand the file at most
  ``ENTITY_EXPANSION_FACTOR`` times; elements nest at most ``max_depth`` deep;
- JSON-LD: a remote ``@context`` (a URL, anywhere in the document) or ``@import`` is refused: inline it;
  nesting deeper than Python's parser follows is refused;
- N-Triples is parsed by rdflib's Turtle parser (N-Triples is a subset of Turtle), whose time grows with the
  file, where rdflib's N-Triples parser takes minutes over one 10 MB line;
- after parsing, no term (literal or IRI) may be longer than ``max_term_chars``.

``owl:imports`` is an ordinary triple to rdflib (it is never followed), and the SPARQL kqa runs on a graph
either is a fixed template or goes through ``kb.sparql_guard`` (SERVICE and FROM refused), so nothing else
reaches the network.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from kqa.kb.errors import BadFileError

KQA_NS = "http://kqa.dev/ontology#"  # the namespace of kqa's own built-in packs

RDF_FORMATS = {".ttl": "turtle", ".turtle": "turtle", ".nt": "nt", ".ntriples": "nt", ".rdf": "xml",
               ".xml": "xml", ".owl": "xml", ".n3": "n3", ".jsonld": "json-ld"}

MAX_TERM_CHARS = 1 << 20  # 1 MiB of text in one literal or IRI: a fact, not a book
MAX_DEPTH = 1000  # nesting of XML elements or JSON objects; real graphs stay under a few dozen
ENTITY_EXPANSION_FACTOR = 10  # XML entity references may grow a file at most this many times (plus 1 MiB)

# what rdflib calls the format: N-Triples goes through the Turtle parser (see the module docstring)
_PARSER = {"turtle": "turtle", "nt": "turtle", "xml": "xml", "n3": "n3", "json-ld": "json-ld"}


def load_rdf(path: Path | str, *, format: str | None = None, data: bytes | None = None,
             max_term_chars: int = MAX_TERM_CHARS, max_depth: int = MAX_DEPTH):
    """Parse an RDF file; the format comes from the suffix unless given. Bad syntax names the file (and line);
    a file that reaches outside itself or is built to exhaust memory is refused (see the module docstring).
    ``data``: the file's bytes, when the caller has read them already."""
    from rdflib import Graph

    path = Path(path)
    if data is None:
        if not path.is_file():
            raise BadFileError(path, "no such file")
        data = path.read_bytes()
    fmt = format or RDF_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise BadFileError(path, f"unknown RDF suffix {path.suffix!r}", hint=f"use one of {sorted(RDF_FORMATS)}")
    if fmt not in _PARSER:
        raise BadFileError(path, f"unknown RDF format {fmt!r}", hint=f"use one of {sorted(_PARSER)}")
    if fmt == "xml":
        _check_xml(path, data, max_depth=max_depth)
    elif fmt == "json-ld":
        _check_jsonld(path, data, max_depth=max_depth)
    graph = Graph()
    try:
        # publicID: relative IRIs resolve against the file, as when rdflib opens it itself
        graph.parse(data=data, format=_PARSER[fmt], publicID=path.absolute().as_uri())
    except RecursionError:
        raise BadFileError(path, f"nested too deeply to parse (blank nodes, lists or objects inside one another "
                           f"more than about {max_depth} levels)") from None
    except Exception as err:  # rdflib raises many parser-specific types
        lines = getattr(err, "lines", None)  # rdflib's BadSyntax counts the lines before the error, from 0
        line = lines + 1 if isinstance(lines, int) else getattr(err, "line", None)
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        if isinstance(err, IndexError):  # rdflib's Turtle parser runs off the end of a file cut short
            message, line = "the file ends in the middle of a statement: was it cut short?", data.count(b"\n") + 1
        raise BadFileError(path, f"not valid {fmt} ({message[:200]})", line=line if isinstance(line, int) else None) from None
    if len(graph) == 0:
        raise BadFileError(path, "the RDF file holds no triples")
    for triple in graph:
        for term in triple:
            if len(term) > max_term_chars:
                raise BadFileError(path, f"holds a term of {len(term):,} characters ({str(term)[:40]!r}...); kqa "
                                   f"reads terms of at most {max_term_chars:,}")
    return graph


def _check_xml(path: Path, data: bytes, *, max_depth: int) -> None:
    """Refuse an RDF/XML file that declares external or nested entities, expands too much, or nests too deep."""
    from xml.parsers import expat

    values: dict[str, str] = {}
    depth = 0

    def refuse(problem: str, hint: str | None = None):
        raise BadFileError(path, problem, line=parser.CurrentLineNumber, hint=hint)

    def doctype(name, system_id, public_id, has_internal_subset):
        if system_id or public_id:
            refuse(f"names an external DTD ({system_id or public_id}); kqa reads nothing outside the file",
                   hint="remove the SYSTEM/PUBLIC part of the DOCTYPE")

    def entity(name, is_parameter, value, base, system_id, public_id, notation):
        if is_parameter or system_id or public_id or value is None:
            refuse(f"declares an external or parameter entity {name!r} "
                   f"({system_id or public_id or 'parameter entity'}); kqa reads nothing outside the file",
                   hint="write the text in place of the entity")
        if "&" in value:
            refuse(f"declares entity {name!r} in terms of another entity; kqa refuses nested entities, which "
                   "can expand a small file into gigabytes (the 'billion laughs')")
        values[name] = value

    def start(name, attrs):
        nonlocal depth
        depth += 1
        if depth > max_depth:
            refuse(f"nests elements more than {max_depth} deep")

    def end(name):
        nonlocal depth
        depth -= 1

    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.DefaultHandler = lambda text: None  # set, so that expat reports entity references instead of expanding
    try:
        parser.Parse(data, True)
    except expat.ExpatError as err:
        raise BadFileError(path, f"not valid XML ({expat.ErrorString(err.code)})", line=err.lineno) from None
    if values:  # no entity refers to another, so each reference grows the file by its value's length
        counts: dict[str, int] = {}
        for match in re.finditer(rb"&([A-Za-z_][\w.\-]*);", data):
            name = match.group(1).decode("utf-8", "replace")
            counts[name] = counts.get(name, 0) + 1
        expanded = sum(len(values[name]) * n for name, n in counts.items() if name in values)
        if expanded > ENTITY_EXPANSION_FACTOR * len(data) + (1 << 20):
            raise BadFileError(path, f"its entity references expand to {expanded:,} characters from a file of "
                               f"{len(data):,} bytes; kqa refuses more than {ENTITY_EXPANSION_FACTOR}x")


def _check_jsonld(path: Path, data: bytes, *, max_depth: int) -> None:
    """Refuse a JSON-LD file with a remote context (rdflib would fetch it) or nested too deep."""
    try:
        document = json.loads(data)
    except RecursionError:
        raise BadFileError(path, f"nested too deeply to parse (more than about {max_depth} levels)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BadFileError(path, f"not valid JSON ({getattr(err, 'msg', None) or err.reason})",
                           line=getattr(err, "lineno", None)) from None
    stack = [(document, 1)]
    while stack:  # iterative: a deep document must not exhaust Python's stack here
        node, depth = stack.pop()
        if depth > max_depth:
            raise BadFileError(path, f"nests objects more than {max_depth} deep")
        if isinstance(node, dict):
            context = node.get("@context")
            remote = [c for c in (context if isinstance(context, list) else [context]) if isinstance(c, str)]
            if remote or "@import" in node:
                where = remote[0] if remote else node["@import"]
                raise BadFileError(path, f"refers to a remote JSON-LD context ({str(where)[:100]}); kqa fetches "
                                   "nothing a file points at", hint="write the context into the file")
            stack.extend((value, depth + 1) for value in node.values())
        elif isinstance(node, list):
            stack.extend((value, depth + 1) for value in node)


def triple_id(s, p, o) -> str:  # rdflib terms
    """The Evidence id of one triple: ``triple:<s> <p> <o>`` in N-Triples form."""
    return f"triple:{s.n3()} {p.n3()} {o.n3()}"
