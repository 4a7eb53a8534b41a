"""Turn one ``Answer`` into what a person reads in the app: an answer card, an evidence panel, a subgraph picture.

No QA logic lives here: it only shows what a backend put in its ``Answer``: the card from its text, confidence
and latency (and ``meta["reason"]`` for an abstention), the details from its typed ``trace`` (graph: entities,
relation, SPARQL, triples, path; corpus: retriever, passages, lines read, model; closed book: mode, votes,
samples; router and vote: what they tried and took). A backend without a trace shows its evidence and its
plain ``meta`` values, so a new backend renders without a change here. HTML is built from escaped text only.

>>> agreement_html({"graph": "Lima", "dense": "lima."}, pending=[])  # doctest: +ELLIPSIS
'<div class="kqa-agree kqa-agree-yes">...'
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

from kqa.eval.metrics import normalize_answer, split_list
from kqa.kb.text import answer_key
from kqa.kb.types import Evidence
from kqa.readers.types import Answer, ClosedBookTrace, CombineTrace, CorpusTrace, GraphTrace, Trace, Triple

TITLES = {  # backend -> (what the knowledge is, how it answers)
    "graph": ("Knowledge graph", "links entities, runs SPARQL over RDF triples"),
    "dense": ("Retrieved text · dense", "embeds the question, reads the top-k passages"),
    "bm25": ("Retrieved text · BM25", "keyword search, reads the top-k passages"),
    "hybrid": ("Retrieved text · hybrid", "dense + BM25 fused by rank, reads the top-k"),
    "closed_book": ("Model alone", "no retrieval: only what the LM's weights hold"),
}


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def title_of(backend: str) -> tuple[str, str]:
    return TITLES.get(backend, (backend, ""))


# ------------------------------------------------------------------------------------------------ traces


def local_name(iri: str) -> str:
    """``http://kqa.dev/entity/city/lima`` -> ``lima``; ``...ontology#capital`` -> ``capital``."""
    return re.split(r"[/#]", iri.rstrip("/#"))[-1] or iri


def chosen_trace(trace: Trace | None) -> GraphTrace | CorpusTrace | ClosedBookTrace | None:
    """The trace of the reader whose answer was given: through any router or vote to the backend it took."""
    while isinstance(trace, CombineTrace):
        trace = trace.chosen
    return trace


def subgraph_triples(trace: Trace | None) -> list[Triple]:
    """The triples to draw for an answer: its graph trace's triples, then its path, without repeats."""
    trace = chosen_trace(trace)
    if not isinstance(trace, GraphTrace):
        return []
    return list(dict.fromkeys((*trace.triples, *trace.path)))


def entity_names(trace: Trace | None) -> list[str]:
    """The question's entities as the graph names them (none for a backend that links nothing)."""
    trace = chosen_trace(trace)
    if not isinstance(trace, GraphTrace):
        return []
    return [n for n in dict.fromkeys(e.label for e in trace.entities) if n]


# ------------------------------------------------------------------------------------------------ picture


def draw_subgraph(triples: Sequence[tuple[str, str, str]], *, answers: Sequence[str] = (),
                  entities: Sequence[str] = (), max_edges: int = 24):
    """A small PNG (as a PIL image) of labelled triples: answer nodes in amber, the question's entities in
    indigo, other nodes grey; edges labelled with the relation. None when there is nothing to draw.
    Nodes are the labels themselves (rounded boxes), so long names stay readable."""
    if not triples:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx
    from PIL import Image

    graph = nx.DiGraph()
    for s, p, o in list(triples)[:max_edges]:
        if graph.has_edge(s, o):
            graph.edges[s, o]["relation"] += f", {p}"
        else:
            graph.add_edge(s, o, relation=p)
    wanted = {normalize_answer(a) for a in answers if a}
    for a in answers:
        wanted |= {normalize_answer(x) for x in split_list(a)}
    focus = {normalize_answer(e) for e in entities}
    names = {n: _short(n, 20) for n in graph.nodes}
    fills = {n: "#fbbf24" if normalize_answer(n) in wanted else "#a5b4fc" if normalize_answer(n) in focus
             else "#f3f4f6" for n in graph.nodes}
    # arrows stop at a circle as wide as the label's box (about 5 points a character at this font size)
    sizes = [min(70.0, 5.0 * len(names[n]) + 14) ** 2 for n in graph.nodes]

    undirected = graph.to_undirected()
    parts = [undirected.subgraph(c) for c in nx.connected_components(undirected)]
    if all(nx.is_tree(p) and max(dict(p.degree).values(), default=0) <= 2 for p in parts):
        pos = {}  # chains (a fact, a two-hop path, the two sides of a comparison) read left to right, one a row
        for row, part in enumerate(sorted(parts, key=lambda p: -len(p))):
            ends = [n for n, d in part.degree if d <= 1]
            order = nx.shortest_path(part, ends[0], ends[-1]) if len(ends) > 1 else list(part.nodes)
            pos.update({n: (i, -row) for i, n in enumerate(order)})
        width = max(len(p) for p in parts)
        size = (max(4.0, 2.2 * width), 0.2 + 0.6 * len(parts))
        rows = len(parts)
    else:
        pos = nx.spring_layout(graph, seed=7, k=1.6 / max(1, len(graph) ** 0.5))
        size = (6.4, 4.4)
        rows = 0
    fig, ax = plt.subplots(figsize=size)
    nx.draw_networkx_edges(graph, pos, ax=ax, arrows=True, arrowsize=13, edge_color="#6b7280", node_size=sizes,
                           connectionstyle="arc3,rad=0.05")
    nx.draw_networkx_edge_labels(graph, pos, ax=ax, font_size=7.5, font_color="#3730a3",
                                 edge_labels={(s, o): _short(d["relation"], 24) for s, o, d in graph.edges(data=True)},
                                 bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.9})
    for node, (x, y) in pos.items():
        ax.text(x, y, names[node], ha="center", va="center", fontsize=8.5, zorder=3,
                bbox={"boxstyle": "round,pad=0.45", "fc": fills[node], "ec": "#4b5563", "lw": 0.8})
    ax.margins(0.16, 0.12)
    if rows:
        ax.set_ylim(-rows + 0.5, 0.5)
    ax.axis("off")
    fig.tight_layout(pad=0.2)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    buffer.seek(0)
    image = Image.open(buffer)
    image.load()
    return image


def image_html(image, alt: str = "") -> str:
    """A PIL image inline (a data: URL), so the page needs no file route for it."""
    import base64

    if image is None:
        return ""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img class="kqa-subgraph" alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def _short(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ------------------------------------------------------------------------------------------------ HTML


def waiting_card(backend: str, note: str | None = None) -> str:
    """A column still waiting; ``note`` says for what (what is loading, and how far it got)."""
    name, how = title_of(backend)
    said = f'<div class="kqa-reason">{esc(note)}</div>' if note else ""
    return (f'<div class="kqa-card kqa-waiting">{_head(name, backend, how)}'
            f'<div class="kqa-answer kqa-muted">{"loading…" if note else "thinking…"}</div>{said}</div>')


def error_card(backend: str, err: BaseException) -> str:
    name, how = title_of(backend)
    return (f'<div class="kqa-card kqa-error">{_head(name, backend, how)}'
            f'<div class="kqa-answer">error</div>'
            f'<div class="kqa-reason">{esc(type(err).__name__)}: {esc(err)}</div></div>')


def answer_card(answer: Answer) -> str:
    name, how = title_of(answer.backend)
    if answer.text is None:
        reason = answer.meta.get("reason") or answer.meta.get("error") or "no reason given"
        body = (f'<div class="kqa-answer kqa-muted">abstained</div>'
                f'<div class="kqa-reason">{esc(reason)}</div>')
        kind = "kqa-abstain"
    else:
        body = f'<div class="kqa-answer">{esc(answer.text)}</div>'
        kind = "kqa-done"
    stats = [f"<span>{_confidence(answer.confidence)}</span>", f"<span>latency {_latency(answer.latency_ms)}</span>"]
    return (f'<div class="kqa-card {kind}">{_head(name, answer.backend, how)}{body}'
            f'<div class="kqa-stats">{"".join(stats)}</div></div>')


def _head(name: str, backend: str, how: str) -> str:
    return (f'<div class="kqa-head"><span class="kqa-name">{esc(name)}</span>'
            f'<code class="kqa-id">{esc(backend)}</code></div><div class="kqa-how">{esc(how)}</div>')


def _confidence(value: float | None) -> str:
    if value is None:
        return "confidence —"
    value = max(0.0, min(1.0, float(value)))
    return (f'confidence <span class="kqa-bar"><span style="width:{value * 100:.0f}%"></span></span> '
            f"{value:.2f}")


def _latency(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def details_html(answer: Answer) -> str:
    """Everything else the answer carries, in the order a reader checks it: how a combined backend chose, how
    the question was read (entities, relation, SPARQL), what it rests on (triples, passages, lines read), how
    the model reasoned (mode, votes, rationale)."""
    trace = answer.trace
    parts: list[str] = []
    if trace is not None and trace.asked_as:
        parts.append(f'<div class="kqa-row"><b>asked as</b> {esc(trace.asked_as)}</div>')
    if isinstance(trace, CombineTrace):
        parts += _combine_parts(trace)
    chosen = chosen_trace(trace)
    if isinstance(chosen, GraphTrace):
        parts += _graph_parts(chosen)
    elif isinstance(chosen, CorpusTrace):
        parts += _corpus_parts(chosen, answer)
    elif isinstance(chosen, ClosedBookTrace):
        parts += _closed_book_parts(chosen)
    if not isinstance(chosen, GraphTrace):
        parts += _passage_parts(answer, [e for e in answer.evidence if e.source != "graph"])
    sparql = chosen.sparql if isinstance(chosen, GraphTrace) else None
    if answer.rationale and answer.rationale != sparql:
        parts.append(f'<details class="kqa-rationale" open><summary>rationale</summary>'
                     f"<pre>{esc(answer.rationale)}</pre></details>")
    if trace is None:  # a backend that keeps no trace: its plain meta values, as they are
        meta = answer.meta if isinstance(answer.meta, Mapping) else {}
        rest = {k: v for k, v in meta.items() if k != "reason" and isinstance(v, (str, int, float, bool))}
        if rest:
            parts.append('<div class="kqa-meta">' + " · ".join(f"{esc(k)}: {esc(_short(str(v), 60))}"
                                                               for k, v in rest.items()) + "</div>")
    return '<div class="kqa-details">' + "".join(parts) + "</div>" if parts else ""


def _row(name: str, *chips: str, note: str | None = None, cls: str = "kqa-chip") -> str:
    shown = "".join(f'<span class="{cls}">{esc(c)}</span>' for c in chips)
    said = f' <span class="kqa-muted">({esc(note)})</span>' if note else ""
    return f'<div class="kqa-row"><b>{esc(name)}</b> {shown}{said}</div>'


def _combine_parts(trace: CombineTrace) -> list[str]:
    if trace.combiner == "router":
        note = f"tried {' → '.join(trace.tried)}" if trace.tried else None
        return [_row("routed to", trace.routed_to or "none", note=note)]
    rows = "".join(
        f'<div class="kqa-vote"><span class="kqa-vote-a">{esc(backend)}</span>'
        f'{esc(text) if text is not None else "<span class=kqa-muted>abstained</span>"}'
        f'{" ✔" if backend == trace.winner else ""}</div>' for backend, text in trace.votes.items())
    agreeing = f" · {trace.agreeing} agree" if trace.winner else ""
    return [f'<div class="kqa-sec">votes{esc(agreeing)}</div>{rows}']


def _graph_parts(trace: GraphTrace) -> list[str]:
    parts = []
    if trace.entities:
        parts.append(_row("entities", *entity_names(trace)))
    if trace.relation_label:
        parts.append(_row("relation", trace.relation_label, note=trace.relation_how, cls="kqa-chip kqa-rel"))
    if trace.query_kind:
        parts.append(_row("query", trace.query_kind))
    if trace.graph_answer:
        parts.append(_row("graph's answer", trace.graph_answer))
    if trace.sparql:
        parts.append(f'<div class="kqa-sec">SPARQL</div><pre class="kqa-sparql">{esc(trace.sparql)}</pre>')
    for extra in trace.supporting_sparql:
        parts.append(f'<details><summary>supporting query</summary><pre class="kqa-sparql">{esc(extra)}</pre>'
                     "</details>")
    triples = subgraph_triples(trace)
    if triples:
        rows = "".join(f'<div class="kqa-triple">{esc(s)} <span class="kqa-p">{esc(p)}</span> → {esc(o)}</div>'
                       for s, p, o in triples[:12])
        more = f'<div class="kqa-muted">… and {len(triples) - 12} more</div>' if len(triples) > 12 else ""
        parts.append(f'<div class="kqa-sec">{"path" if trace.path else "triples"}</div>{rows}{more}')
    return parts


def _corpus_parts(trace: CorpusTrace, answer: Answer) -> list[str]:
    parts = [_row("read by", trace.model, note=f"{trace.retriever}, top {trace.k}")]
    if trace.lines:
        rows = "".join(f'<div class="kqa-line">{highlight(_short(line, 300), answer.text)}</div>'
                       for line in trace.lines)
        parts.append(f'<div class="kqa-sec">lines read ({len(trace.lines)})</div>{rows}')
    return parts


def _closed_book_parts(trace: ClosedBookTrace) -> list[str]:
    parts = [_row("prompt", trace.mode, note=trace.model)]
    if trace.votes:
        total = sum(trace.votes.values()) or 1
        bars = "".join(
            f'<div class="kqa-vote"><span class="kqa-vote-a">{esc(k)}</span>'
            f'<span class="kqa-bar"><span style="width:{100 * v / total:.0f}%"></span></span> {esc(v)}</div>'
            for k, v in sorted(trace.votes.items(), key=lambda kv: -kv[1]))
        parts.append(f'<div class="kqa-sec">votes ({len(trace.samples)} samples)</div>{bars}')
    return parts


def _passage_parts(answer: Answer, passages: Sequence[Evidence]) -> list[str]:
    if not passages:
        return []
    items = []
    for e in passages:
        score = f'<span class="kqa-score">{e.score:.3f}</span>' if e.score is not None else ""
        name = e.id.removeprefix("passage:")
        items.append(f'<div class="kqa-passage"><div class="kqa-pid">{score}<code>{esc(name)}</code></div>'
                     f"<div>{highlight(_short(e.text, 600), answer.text)}</div></div>")
    return [f'<div class="kqa-sec">evidence ({len(passages)})</div>{"".join(items)}']


def highlight(text: str, answer: str | None) -> str:
    """Escaped ``text`` with every occurrence of the answer (or, for a list answer, of each item) marked."""
    escaped = esc(text)
    if not answer:
        return escaped
    needles = sorted({n.strip() for n in [answer, *split_list(answer)] if len(n.strip()) >= 2}, key=len, reverse=True)
    if not needles:
        return escaped
    # whole words only: "Lima" is marked in "Capital: name: Lima", not inside "climate"
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(esc(n)) for n in needles) + r")(?!\w)", re.IGNORECASE)
    return pattern.sub(lambda m: f"<mark>{m.group(0)}</mark>", escaped)


def agreement_html(texts: Mapping[str, str | None], *, pending: Sequence[str], failed: Sequence[str] = ()) -> str:
    """One line across the columns: do the backends that answered give the same answer (``answer_key``)?"""
    groups: dict[str, list[str]] = {}
    shown: dict[str, str] = {}
    for backend, text in texts.items():
        if text is None:
            continue
        key = answer_key(text)
        groups.setdefault(key, []).append(backend)
        shown.setdefault(key, text)
    silent = [b for b, t in texts.items() if t is None]
    tail = []
    if silent:
        tail.append(f"{', '.join(silent)} abstained")
    if failed:
        tail.append(f"{', '.join(failed)} failed")
    if pending:
        tail.append(f"waiting for {', '.join(pending)}")
    note = f'<span class="kqa-muted"> · {esc("; ".join(tail))}</span>' if tail else ""
    if not groups:
        return f'<div class="kqa-agree kqa-agree-none">No answers yet{note}</div>'
    if len(groups) == 1:
        (key, names), = groups.items()
        who = "all answers agree" if len(names) > 1 else f"only {names[0]} answered"
        return (f'<div class="kqa-agree kqa-agree-yes">✔ {esc(who)}: <b>{esc(shown[key])}</b>'
                f'{note}</div>')
    parts = " · ".join(f"{esc(', '.join(names))} → <b>{esc(shown[key])}</b>" for key, names in groups.items())
    return f'<div class="kqa-agree kqa-agree-no">✘ the backends disagree: {parts}{note}</div>'


CSS = """
.kqa-title h1 {margin-bottom: 0.1em}
.kqa-card {border: 1px solid #e5e7eb; border-radius: 10px; padding: 10px 14px; background: #fff;}
.kqa-card.kqa-done {border-top: 4px solid #10b981}
.kqa-card.kqa-abstain {border-top: 4px solid #9ca3af}
.kqa-card.kqa-error {border-top: 4px solid #ef4444; background: #fef2f2}
.kqa-card.kqa-waiting {border-top: 4px solid #fbbf24}
.kqa-head {display: flex; justify-content: space-between; align-items: baseline}
.kqa-name {font-weight: 700; font-size: 1.05em}
.kqa-id {font-size: 0.8em; color: #6b7280}
.kqa-how {font-size: 0.82em; color: #6b7280; margin-bottom: 6px}
.kqa-answer {font-size: 1.7em; font-weight: 700; line-height: 1.25; margin: 4px 0}
.kqa-muted {color: #9ca3af; font-weight: 400}
.kqa-reason {font-size: 0.88em; color: #b91c1c; word-break: break-word}
.kqa-abstain .kqa-reason {color: #4b5563}
.kqa-stats {display: flex; gap: 14px; font-size: 0.85em; color: #374151; margin-top: 4px}
.kqa-bar {display: inline-block; width: 60px; height: 7px; background: #e5e7eb; border-radius: 4px;
  vertical-align: middle; overflow: hidden}
.kqa-bar > span {display: block; height: 100%; background: #6366f1}
.kqa-details {font-size: 0.88em; line-height: 1.4}
.kqa-sec {font-weight: 700; margin: 8px 0 3px; color: #374151; text-transform: uppercase; font-size: 0.78em;
  letter-spacing: 0.04em}
.kqa-row {margin: 3px 0}
.kqa-chip {display: inline-block; background: #eef2ff; color: #3730a3; border-radius: 10px; padding: 0 8px;
  margin: 1px 2px; font-size: 0.95em}
.kqa-chip.kqa-rel {background: #ecfdf5; color: #065f46}
pre.kqa-sparql, .kqa-rationale pre {font-size: 0.8em; background: #f9fafb; border: 1px solid #e5e7eb;
  border-radius: 6px; padding: 6px 8px; white-space: pre-wrap; margin: 2px 0}
.kqa-triple {border-bottom: 1px solid #f3f4f6; padding: 2px 0}
.kqa-triple .kqa-p {color: #3730a3; font-style: italic; background: #eef2ff; border-radius: 4px; padding: 0 5px}
img.kqa-subgraph {max-width: 100%; height: auto; display: block; margin: 4px auto 6px; border-radius: 6px}
.kqa-passage {border-left: 3px solid #c7d2fe; padding: 2px 8px; margin: 6px 0}
.kqa-pid {font-size: 0.85em; color: #6b7280}
.kqa-score {background: #eef2ff; color: #3730a3; border-radius: 4px; padding: 0 5px; margin-right: 6px;
  font-variant-numeric: tabular-nums}
.kqa-line {border-left: 3px solid #a7f3d0; padding: 1px 8px; margin: 3px 0}
.kqa-line mark, .kqa-passage mark {background: #fde68a; padding: 0 2px; border-radius: 2px}
.kqa-vote {display: flex; gap: 8px; align-items: center}
.kqa-vote-a {min-width: 90px}
.kqa-meta {font-size: 0.8em; color: #6b7280; margin-top: 8px}
.kqa-agree {border-radius: 8px; padding: 8px 14px; font-size: 1.02em}
.kqa-agree-yes {background: #ecfdf5; color: #065f46; border: 1px solid #a7f3d0}
.kqa-agree-no {background: #fffbeb; color: #92400e; border: 1px solid #fde68a}
.kqa-agree-none {background: #f9fafb; color: #6b7280; border: 1px solid #e5e7eb}
.kqa-legend {font-size: 0.9em; color: #4b5563}
"""
