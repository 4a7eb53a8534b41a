"""``docs/benchmarks.md`` from the benchmark's results: the machine, the goals, and one table per section,
kqa beside its peers, with a short reason wherever kqa is slower. It reads the results; it measures nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _get(results: dict[str, Any], *keys: str) -> Any:
    node: Any = results
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _num(value: Any, digits: int = 2, unit: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, dict):
        if "median" in value:
            runs = value.get("runs") or []
            return f"{_num(value['median'], digits)}{unit}" + (f" (median of {len(runs)})" if len(runs) > 1 else "")
        if "status" in value:
            return value["status"]
        return "–"
    if isinstance(value, (int, float)):
        return f"{value:,.{digits}f}{unit}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out + [""]


def _status(value: Any) -> str | None:
    return value.get("status") if isinstance(value, dict) and "status" in value else None


def render_markdown(r: dict[str, Any]) -> str:
    m = r.get("machine", {})
    lines = ["# kqa benchmarks", "",
             f"Measured by `make bench` (`python -m bench{' --quick' if r.get('quick') else ''}`) on "
             f"{r.get('generated_at')}, commit `{m.get('commit')}`, in {_num(r.get('duration_s'), 0)} s. "
             "Every figure is in `benchmarks.json` beside this file, with the sample sizes that produced it.", "",
             f"**Machine:** {m.get('cpu')}, {m.get('cores_logical')} logical cores "
             f"({m.get('cores_physical')} physical), {m.get('ram_gb')} GB RAM, {m.get('os')}, Python {m.get('python')}, "
             f"torch threads {m.get('torch_threads')}. Load average (1, 5, 15 min) at the start "
             f"{m.get('load_average_start')}, at the end {m.get('load_average_end')}: a load above the core count "
             "means other work shared the machine and the times are high and noisy.", "",
             "**Versions:** " + ", ".join(f"{k} {v}" for k, v in (m.get("versions") or {}).items() if v), "",
             "A time is the median of several runs; a latency is the p50 / p95 over questions, each question's "
             "time being its median over passes. Peers ran in the same process, on the same pack, model, "
             "passages and questions.", ""]
    runs = r.get("runs") or {}
    if len({v.get("generated_at") for v in runs.values()}) > 1:  # measured in pieces (``--merge``)
        lines += ["Measured in pieces, one section at a time: " + "; ".join(
            f"`{name}` {v.get('generated_at')}, commit `{v.get('commit')}`, load {v.get('load_average_start')} -> "
            f"{v.get('load_average_end')}" for name, v in runs.items()) + ".", ""]
    if r.get("quick"):
        lines += ["> **Smoke run (`--quick`)**: a handful of items per section; the figures say that the "
                  "benchmark works, not how fast kqa is.", ""]
    lines += _goals(r) + _build(r) + _retrieval(r) + _graph(r) + _backends(r) + _lm(r) + _serve(r) + _slower(r)
    return "\n".join(lines).rstrip() + "\n"


def _goals(r) -> list[str]:
    rows = []
    for g in r.get("goals", []):
        met = {True: "yes", False: "**no**", None: "not measured"}[g.get("met")]
        rows.append([g["goal"], _num(g.get("measured"), 2, " " + g.get("unit", "")), met])
    return ["## Goals", ""] + _table(["goal", "measured", "met"], rows) if rows else []


def _build(r) -> list[str]:
    b = r.get("build")
    if not b:
        return []
    emb = b.get("embedding", {})
    hay = b.get("haystack_embedding", {})
    corpus = b.get("corpus_embedding", {})
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in (b.get("pack_stage_s") or {}).items())
    counts = b.get("pack_counts", {})
    rows = [
        ["build the Factbook pack (`kqa build`)", _num(b.get("pack_build_s"), 1, " s"), "", stages],
        ["load the graph: parse the Turtle file", _num(b.get("graph_load_parse_s"), 2, " s"), "",
         f"{counts.get('triples', 0):,} triples"],
        ["load the graph: cached pickle (what `kqa serve` does)", _num(b.get("graph_load_cached_s"), 2, " s"), "", ""],
        ["load MiniLM", _num(b.get("embedder_load_s"), 2, " s"), "", ""],
        [f"embed passage windows, MiniLM (fixed sample of {emb.get('passages')})", _num(emb.get("kqa_passages_per_s"), 1, " /s"),
         _num(hay.get("passages_per_s") if not _status(hay) else hay, 1, " /s") + " Haystack",
         f"Haystack batch {hay.get('batch_size')} float32, kqa batch {emb.get('batch_size')} "
         f"{emb.get('precision')}; vectors differ by at most "
         f"{_num(hay.get('max_abs_diff_vs_kqa'), 6)}" if hay and not _status(hay) else ""],
        [f"embed the whole corpus ({corpus.get('passages')} passages in {corpus.get('vectors')} windows, one run)",
         _num(corpus.get("seconds"), 1, " s"), "", _num(corpus.get("vectors_per_s"), 1, " windows/s")],
        ["FAISS flat index: build, checksum, write", _num(b.get("faiss_build_or_load_cold_s"), 3, " s"), "",
         "vectors already computed"],
        ["FAISS index: load the cache (memory-mapped)", _num(b.get("faiss_load_cached_s"), 3, " s"), "", ""],
        ["BM25 index: build", _num(b.get("bm25_build_s"), 2, " s"), "", ""],
        ["BM25 index: load the cache", _num(b.get("bm25_load_cached_s"), 3, " s"), "", ""],
    ]
    return ["## Building", ""] + _table(["what", "kqa", "peer", "note"], rows)


def _lat(x: dict | None) -> tuple[str, str]:
    lat = (x or {}).get("latency") or {}
    return _num(lat.get("p50_ms"), 2), _num(lat.get("p95_ms"), 2)


def _retrieval(r) -> list[str]:
    t = r.get("retrieval")
    if not t:
        return []
    rows = []
    for key, label in (("kqa_dense", "kqa dense (MiniLM + FAISS flat)"), ("haystack", "Haystack 2 (MiniLM + InMemoryEmbeddingRetriever)"),
                       ("kqa_bm25", "kqa BM25 (bm25s)"), ("kqa_hybrid", "kqa hybrid (RRF of dense and BM25)")):
        x = t.get(key)
        if x is None:
            continue
        if _status(x):
            rows.append([label, _status(x), "", "", "", "", x.get("install", "")])
            continue
        p50, p95 = _lat(x)
        rows.append([label, p50, p95, _num(x.get("recall_at_5"), 3), _num(x.get("hit_at_5"), 3),
                     _num(x.get("mrr_at_5"), 3), x.get("passes")])
    out = ["## Retrieval", "",
           f"{t.get('questions')} test questions with gold passages, one at a time, k = {t.get('k')}, over "
           f"{t.get('passages')} passages. Latency includes embedding the question. Haystack's store holds the "
           "same vectors kqa indexed (the same model on the same text; see the embedding row above).", ""]
    out += _table(["retriever", "p50 ms", "p95 ms", "recall@5", "hit@5", "MRR@5", "passes"], rows)
    if t.get("dense_speedup_vs_haystack_p50") is not None:
        out += [f"kqa dense is **{t['dense_speedup_vs_haystack_p50']}x** Haystack's p50. Batched "
                f"(`retrieve_many`), kqa dense answers {_num(t.get('kqa_dense_batched_questions_per_s'), 1)} "
                "questions/s.", ""]
    so = t.get("search_only")
    if so:
        rows = [[name, _num(so[name]["one_at_a_time_ms_per_query"], 4), _num(so[name]["batched_ms_per_query"], 4)]
                for name in ("faiss_flat", "numpy") if name in so]
        out += [f"Search only (question vectors precomputed; {so['queries']} queries over {so['vectors']} vectors, "
                f"top {so['k']}); FAISS and numpy rank the same top 5 for {_num(so.get('same_top5_share'), 3)} "
                "of the queries:", ""]
        out += _table(["search", "ms/query, one at a time", "ms/query, batched"], rows)
    return out


def _graph(r) -> list[str]:
    g = r.get("graph")
    if not g:
        return []
    lat = g.get("latency", {})
    out = ["## Graph backend", "",
           f"{lat.get('n')} test questions of every type, warm, each question's time the median of its passes: "
           f"**p50 {_num(lat.get('p50_ms'))} ms, p95 {_num(lat.get('p95_ms'))} ms**; "
           f"{_num((g.get('answered_share') or 0) * 100, 1)}% answered. Backend load (cached graph): "
           f"{_num(g.get('backend_load_s'))} s.", ""]
    rows = [[k, v.get("n"), _num(v.get("p50_ms")), _num(v.get("p95_ms"))] for k, v in (g.get("latency_by_type") or {}).items()]
    out += _table(["question type", "n", "p50 ms", "p95 ms"], rows)
    parse, rdf, ox = g.get("parse_latency") or {}, g.get("sparql_rdflib") or {}, g.get("sparql_oxigraph") or {}
    rows = [["read the question (link entities, detect the relation)", "", _num(parse.get("p50_ms"), 3), _num(parse.get("p95_ms"), 3)],
            ["run the SPARQL: rdflib (what kqa uses)", "", *_lat(rdf)]]
    if _status(ox):
        rows.append(["run the SPARQL: pyoxigraph", ox["status"], ox.get("install", ""), ""])
    elif ox:
        rows.append(["run the SPARQL: pyoxigraph (same templates and bindings)", "", *_lat(ox)])
    rows += [["load the graph: rdflib parses Turtle", _num(g.get("load_rdflib_parse_s"), 2, " s"), "", ""],
             ["load the graph: pyoxigraph parses Turtle", _num(g.get("load_oxigraph_s"), 2, " s"), "", ""]]
    out += ["Where the time goes, and the same queries in Oxigraph"
            + (f" ({rdf.get('queries')} queries; the row counts agree for "
               f"{_num(ox.get('same_row_count_share'), 3)} of them)" if ox and not _status(ox) else "") + ":", ""]
    out += _table(["step", "time", "p50 ms", "p95 ms"], rows)
    return out


def _backends(r) -> list[str]:
    bk = r.get("backends")
    g = r.get("graph", {})
    if not bk and not g:
        return []
    rows = []
    if g.get("latency"):
        rows.append(["graph", *_lat(g), _num(g.get("backend_load_s")), _num(g.get("answered_share"), 3), g["latency"].get("n")])
    for name in ("dense", "bm25", "hybrid", "closed_book"):
        x = (bk or {}).get(name)
        if x is None:
            continue
        if _status(x):
            rows.append([name, x["status"], x.get("error", x.get("note", "")), "", "", ""])
            continue
        rows.append([name, *_lat(x), _num(x.get("load_s")), _num(x.get("answered_share"), 3), x["latency"].get("n")])
    return (["## Every backend, warm", "",
             "One question at a time through `BackendPool.get(name).answer(...)`, after one warm-up question; "
             "the language-model backends on a smaller sample. Load is the first `get` (caches in place).", ""]
            + _table(["backend", "p50 ms", "p95 ms", "load s", "answered", "questions"], rows))


def _lm(r) -> list[str]:
    lm = r.get("lm")
    if not lm:
        return []
    w, tf, cpp = lm.get("workload", {}), lm.get("transformers", {}), lm.get("llama_cpp", {})
    load = lm.get("transformers_load", {})

    def tps(x, key):
        v = (x or {}).get(key)
        return _num(v.get("tokens_per_s"), 1) if isinstance(v, dict) else (v or "–")

    rows = [[f"transformers, de-quantized, {load.get('dtype', 'float32')} (kqa's default)", tps(tf, "one_at_a_time"),
             tps(tf, "batched"),
             _num(tf.get("prompt_tokens_per_s"), 0), f"{_num(load.get('seconds'))} s ({load.get('loaded_from')})"]]
    if _status(cpp):
        rows.append(["llama.cpp (llama-cpp-python)", cpp["status"], cpp.get("install", ""), "", ""])
    elif cpp:
        rows.append(["llama.cpp, Q4_K_M as shipped (llama-cpp-python's API)", tps(cpp, "one_at_a_time"),
                     "one sequence at a time", _num(cpp.get("prompt_tokens_per_s"), 0), f"{_num(cpp.get('load_s'))} s"])
        rows.append(["llama.cpp through kqa's `LlamaCppLM` (with log-probabilities)",
                     tps(cpp, "kqa_llamacpp_lm_one_at_a_time"), "", "", ""])
    out = ["## Language model", "",
           f"gemma-3-270m, {w.get('prompts')} short question prompts, {w.get('decoding')}, up to "
           f"{w.get('new_tokens')} new tokens each; prompt processing on {w.get('long_prompts')} reader-sized "
           f"prompts (four passages, about {_num((tf.get('prompt_tokens_per_s') or {}).get('mean_prompt_tokens'), 0)} tokens).", ""]
    out += _table(["runtime", "tokens/s, one at a time", "tokens/s, batched", "prompt tokens/s", "load"], rows)
    if cpp and not _status(cpp):
        out += [f"The two runtimes write the same greedy text for {_num(cpp.get('same_greedy_text_share'), 2)} of the "
                f"prompts and the same first word for {_num(cpp.get('same_first_word_share'), 2)} (4-bit weights in "
                f"llama.cpp, the same weights de-quantized in transformers, held as {load.get('dtype', 'float32')}).", ""]
    return out + _runtimes(lm.get("runtimes"))


def _runtimes(rt) -> list[str]:
    """The default runtime's choice: each candidate's speed and its answers against float32's."""
    if not rt:
        return []
    out = ["### Which runtime is the default", "",
           f"Each candidate on the same {rt.get('questions')} {rt.get('split')} questions, one question at a time as "
           f"the app asks them, against {rt.get('reference')} (what kqa ran before): tokens/s one prompt at a time, "
           "and per backend the latency, the accuracy and the share of answers whose text is the reference's.", ""]
    rows = []
    for label, row in (rt.get("candidates") or {}).items():
        if row.get("status"):
            rows.append([label, row["status"], row.get("error", ""), "", "", "", "", "", ""])
            continue
        cb, dn = row.get("closed_book") or {}, row.get("dense") or {}
        rows.append([label, _num((row.get("one_at_a_time") or {}).get("tokens_per_s"), 1),
                     _num(row.get("speedup_vs_float32"), 2, "x"),
                     _num((cb.get("latency") or {}).get("p50_ms"), 0), _num(cb.get("accuracy"), 3),
                     _num(cb.get("same_answer_share"), 3),
                     _num((dn.get("latency") or {}).get("p50_ms"), 0), _num(dn.get("accuracy"), 3),
                     _num(dn.get("same_answer_share"), 3)])
    out += _table(["runtime", "tokens/s", "vs float32", "closed_book p50 ms", "accuracy", "same answer",
                   "dense p50 ms", "accuracy", "same answer"], rows)
    return out


def _serve(r) -> list[str]:
    s = r.get("serve")
    if not s:
        return []
    allb = s.get("all_backends") or {}
    rows = [["page served", _num(s.get("page_s"), 1, " s")],
            ["first column answered", _num(s.get("first_answer_s"), 1, " s")],
            ["every column answered", _num(s.get("all_answers_s"), 1, " s")]]
    out = ["## `kqa serve`", "",
           f"From process start (`python -m kqa.apps.cli serve`, backends {', '.join(s.get('default_backends', []))}, "
           f"caches in place) to the page, and to the answers of \"What is the capital of Peru?\" asked through the "
           "app's own API (what the Ask button calls):", ""]
    out += _table(["cold start", "time"], rows)
    states = ", ".join(f"{k} {v}" for k, v in (allb.get("states") or {}).items())
    out += [f"With every backend ({', '.join(allb.get('backends') or [])}) after each answered one question ({states}): "
            f"**peak resident memory {_num(allb.get('peak_rss_mb'), 0)} MB** (process tree, sampled every 0.2 s; "
            f"the server's own high-water mark {_num(allb.get('peak_hwm_mb'), 0)} MB), "
            f"{_num(allb.get('rss_after_mb'), 0)} MB once answered."
            + (f" Error: {allb['error']}." if allb.get("error") else ""), ""]
    if s.get("not_wired"):
        out += [f"Not wired when this ran, so not in the server: {', '.join(s['not_wired'])}.", ""]
    fresh = (r.get("demo") or {}).get("fresh_start")
    if fresh:
        build = fresh.get("pack_build_s") or _get(r, "build", "pack_build_s", "median")
        total = None if build is None or fresh.get("all_answers_s") is None else build + fresh["all_answers_s"]
        out += [f"**A first `make demo`** (`kqa serve` with an empty KQA_HOME beside the built pack: the GGUF file "
                f"de-quantized and the corpus embedded before the page opens): page after "
                f"{_num(fresh.get('page_s'), 1, ' s')}, the first question's columns all answered after "
                f"{_num(fresh.get('all_answers_s'), 1, ' s')} (per column: "
                + ", ".join(f"{k} {_num(v, 1, ' s')}" for k, v in (fresh.get("column_s") or {}).items())
                + f"); with the pack build ({_num(build, 1, ' s')}), about {_num(total, 0, ' s')} from `make demo` "
                "(installed) to the first three-column answer."
                + (f" Error: {fresh['error']}." if fresh.get("error") else ""), ""]
    room = (r.get("classroom") or {}).get("classroom")
    if room:
        rows = [[name, _num(v.get("p50_ms"), 0), _num(v.get("p95_ms"), 0), str(v.get("n")), str(v.get("errors"))]
                for name, v in (room.get("per_backend") or {}).items()]
        out += [f"**A classroom:** {room.get('clients')} clients, all connected before the first question, asking "
                f"{room.get('questions_each')} questions each at once through the app's /ask API "
                f"({_num(room.get('seconds'), 0, ' s')} in all); per column, from sending a question to its card "
                "(the updates read every 10 ms):", ""]
        out += _table(["column", "p50 ms", "p95 ms", "answers", "errors"], rows)
    return out


def _slower(r) -> list[str]:
    """Where a peer beat kqa, with the reason; only the comparisons this run measured."""
    notes = []
    ox = _get(r, "graph", "sparql_oxigraph", "latency", "p50_ms")
    rdf = _get(r, "graph", "sparql_rdflib", "latency", "p50_ms")
    if ox is not None and rdf is not None and ox < rdf:
        notes.append(f"**SPARQL: Oxigraph runs the graph backend's queries in {ox:.3f} ms at p50, rdflib in {rdf:.3f} ms.** "
                     "rdflib evaluates SPARQL in Python over Python objects; Oxigraph is compiled Rust with its own "
                     "indexes. kqa keeps rdflib in process because the graph is small (the queries are a small "
                     "part of a graph answer, see the parse row) and because any SPARQL 1.1 endpoint, Oxigraph "
                     "included, plugs in through `KnowledgeGraph.from_endpoint`.")
    oxl = _get(r, "graph", "load_oxigraph_s", "median")
    cached = _get(r, "build", "graph_load_cached_s", "median")
    if oxl is not None and cached is not None and oxl < cached:
        notes.append(f"**Graph load: Oxigraph parses the Turtle file in {oxl:.2f} s, kqa reads its cached rdflib "
                     f"graph in {cached:.2f} s.** Unpickling rdflib's Python objects is the floor of an in-process "
                     "rdflib graph.")
    np_one = _get(r, "retrieval", "search_only", "numpy", "one_at_a_time_ms_per_query", "median")
    fa_one = _get(r, "retrieval", "search_only", "faiss_flat", "one_at_a_time_ms_per_query", "median")
    if np_one is not None and fa_one is not None and np_one < fa_one:
        notes.append(f"**Search alone: numpy brute force takes {np_one:.3f} ms a query, FAISS flat {fa_one:.3f} ms.** "
                     "At a few thousand vectors both are a single matrix product; FAISS pays a call overhead. "
                     "Either is far below the time to embed the question, and FAISS is there for the HNSW and "
                     "IVF-PQ indexes that large corpora need.")
    hay = _get(r, "build", "haystack_embedding", "passages_per_s", "median")
    ours = _get(r, "build", "embedding", "kqa_passages_per_s", "median")
    if hay is not None and ours is not None and hay > ours * 1.05:
        notes.append(f"**Embedding: Haystack embeds {hay:.0f} passages/s, kqa {ours:.0f}.** Both call "
                     "sentence-transformers on the same model; the difference is batch size and sorting.")
    speed = _get(r, "lm", "llama_cpp_speedup_one_at_a_time")
    dtype = _get(r, "lm", "transformers_load", "dtype") or "float32"
    if speed is not None and speed > 1:
        notes.append(f"**Language model: llama.cpp decodes {speed}x as many tokens/s as transformers, one prompt at "
                     "a time.** It runs the 4-bit weights with kernels written for them, where transformers runs "
                     f"de-quantized weights (held as {dtype}) through PyTorch's general operators and a Python "
                     "generation loop. kqa offers it as `kqa.models.llamacpp_lm.LlamaCppLM` (`pip install "
                     "llama-cpp-python`, which compiles llama.cpp); transformers stays the default because it "
                     "installs from wheels and batches prompts.")
    if not notes:
        return []
    return ["## Where kqa is slower than a peer, and why", ""] + [f"- {n}" for n in notes] + [""]
