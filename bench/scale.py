"""Where kqa stops on one machine, by simulation: a generated graph of 1M and 10M triples in each store, and a
generated corpus of 1M passage vectors in FAISS IVF-PQ, memory-mapped.

    python -m bench.scale [--triples 1000000,10000000] [--memory-triples 1000000] [--passages 1000000]
                          [--work DIR] [--out docs]

Writes ``docs/scale.json`` (every figure with the settings and machine; docs/scale.md reads it). Every step runs
in its own child process, so its peak memory (the child's ``VmHWM``) is its own. Heavy: about 50 minutes
on two busy cores, peak 1.7 GB (the 10M bulk load); run it under ``flock /tmp/kqa-heavy.lock`` on a shared machine.

What is generated (deterministic, seeded):
- graph: entities with an ``rdfs:label`` (a made-up word, unique), one in five a ``skos:altLabel``, a class
  (one in ten ``kqa:Country``), and eight facts each over 40 declared ``rdf:Property``s with labels: a third
  links to other entities, a third integers, a third short strings from a shared vocabulary. About ten
  triples per entity, written as N-Triples.
- passages: no text is embedded. Embedding 1M passages with MiniLM on two cores takes about 6 hours (47.8
  a second, docs/benchmarks.md); the index does not care where its vectors came from, so the corpus is
  384-d vectors drawn around 1,000 random centres (a clustered cloud, closer to real embeddings than uniform
  noise, which is IVF's worst case), L2-normalised, and each query is a passage's vector with noise added.
  Recall@10 is against exact inner-product search over the same vectors. The float vectors are also written
  as ``vectors.npy`` (1.5 GB at 1M), as ``FaissRetriever`` keeps them for its re-rank, and the search step
  measures recall and latency over nprobe x rerank (the top candidates re-scored exactly), cold and warm.

The graph workload is what the graph retriever asks per question, through ``KnowledgeGraph``: link a name
(``lookup_name``), then the retriever's own ``LOOKUP`` template with the subject and relation bound; or
find an entity by a string value (``index.values``) and run ``INVERSE`` with the relation and value bound.
The graph backend itself (``GraphReader``: its start-up, then whole questions) is timed apart ("reader").
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SYLLABLES = ["ka", "lo", "mi", "ra", "te", "vu", "no", "si", "pa", "de", "zu", "fo", "ge", "ba", "tu", "li",
             "ma", "ro", "ne", "sa", "ki", "po", "da", "ve", "lu", "to", "ni", "ga", "be", "ru", "ho", "we",
             "ja", "ko", "mu", "ri", "se", "fa", "di", "nu", "ta", "le", "mo", "pi", "bu", "ze", "ya", "go",
             "ha", "ku", "me", "na", "so", "ti", "va", "du", "fi", "gu", "la", "bo", "pe", "wa", "xi", "yo"]
PROPERTIES = 40
FACTS_PER_ENTITY = 8
TRIPLES_PER_ENTITY = 1 + 1 + 0.2 + FACTS_PER_ENTITY  # type, label, altLabel (one in five), facts
KQA = "http://kqa.dev/ontology#"
ENT = "http://sim.kqa.dev/e/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
XSD = "http://www.w3.org/2001/XMLSchema#"
DIM, CENTRES, QUERIES, CHUNK, INTRINSIC = 384, 1000, 500, 100_000, 48


def word(i: int, syllables: int = 4) -> str:
    """A made-up word, different for every i below 64**syllables (an odd multiplier is a bijection mod 2**k)."""
    code = (i * 2654435761) % (64 ** syllables)
    parts = []
    for _ in range(syllables):
        code, digit = divmod(code, 64)
        parts.append(SYLLABLES[digit])
    return "".join(parts).capitalize()


def entity_count(triples: int) -> int:
    return int(triples / TRIPLES_PER_ENTITY)


def generate_graph(path: Path, triples: int) -> dict[str, Any]:
    """Write the N-Triples file; returns counts."""
    n = entity_count(triples)
    written = 0
    with path.open("w", encoding="utf-8", buffering=1 << 22) as out:
        for p in range(PROPERTIES):
            out.write(f"<{KQA}p{p}> <{RDF}type> <{RDF}Property> .\n<{KQA}p{p}> <{RDFS}label> \"property {word(p, 2).lower()}\" .\n"
                      f"<{KQA}p{p}> <{RDFS}comment> \"the {word(p, 2).lower()} of an entity\" .\n")
            written += 3
        for i in range(n):
            s = f"<{ENT}{i}>"
            cls = "Country" if i % 10 == 0 else f"Class{i % 10}"
            lines = [f"{s} <{RDF}type> <{KQA}{cls}> .", f'{s} <{RDFS}label> "{word(i)}" .']
            if i % 5 == 0:
                lines.append(f'{s} <{SKOS}altLabel> "Republic of {word(i)}" .')
            for j in range(FACTS_PER_ENTITY):
                p = (i + 5 * j) % PROPERTIES
                if p % 3 == 0:
                    value = f"<{ENT}{(i * 7919 + j * 104729) % n}>"
                elif p % 3 == 1:
                    value = f'"{(i * 31 + j * 17) % 1_000_003}"^^<{XSD}integer>'
                else:
                    value = f'"{word((i * 13 + j) % 50_000, 3).lower()} {word(j, 2).lower()}"'
                lines.append(f"{s} <{KQA}p{p}> {value} .")
            out.write("\n".join(lines) + "\n")
            written += len(lines)
    return {"entities": n, "triples": written, "file_bytes": path.stat().st_size}


# -------------------------------------------------------------------- children (one step each)


def _graph_workload(kg, n: int, questions: int = 400) -> dict[str, Any]:
    """Per-question latency of the retriever's two commonest shapes, through KnowledgeGraph; and a check that
    each answer is the generated fact."""
    import random

    from rdflib import Literal, URIRef

    from kqa.kb.graph import name_key
    from kqa.retrievers.graph_retriever import INVERSE, LOOKUP

    rng = random.Random(7)
    latencies, wrong = [], 0
    for q in range(questions):
        i = rng.randrange(n)
        j = rng.randrange(FACTS_PER_ENTITY)
        p = (i + 5 * j) % PROPERTIES
        start = time.perf_counter()
        if q % 2 == 0:  # "what is the <property> of <name>?"
            iris = kg.lookup_name(word(i))
            rows = kg.query(LOOKUP, {"s": iris[0], "p": URIRef(f"{KQA}p{p}")}) if iris else []
            ok = bool(iris) and iris[0] == URIRef(f"{ENT}{i}") and len(rows) >= 1
        else:  # "which country has <property> <value>?" on a string-valued property (INVERSE keeps Countries)
            i -= i % 10
            p = next(pp for pp in ((i + 5 * jj) % PROPERTIES for jj in range(FACTS_PER_ENTITY)) if pp % 3 == 2)
            jj = next(jj for jj in range(FACTS_PER_ENTITY) if (i + 5 * jj) % PROPERTIES == p)
            text = f"{word((i * 13 + jj) % 50_000, 3).lower()} {word(jj, 2).lower()}"
            facts = kg.index.values.get(name_key(text), ())
            rows = kg.query(INVERSE, {"p": URIRef(f"{KQA}p{p}"), "o": Literal(text)})
            ok = any(str(f[0]) == f"{ENT}{i}" for f in facts) and any(str(r[0]) == f"{ENT}{i}" for r in rows)
        latencies.append((time.perf_counter() - start) * 1000)
        wrong += not ok
    return {**_percentiles(latencies), "wrong": wrong}


def _percentiles(values_ms: list[float]) -> dict[str, Any]:
    import numpy as np

    v = np.asarray(values_ms)
    return {"p50_ms": round(float(np.percentile(v, 50)), 3), "p95_ms": round(float(np.percentile(v, 95)), 3),
            "n": int(v.size)}


def child_generate(path: str, triples: str) -> dict[str, Any]:
    return generate_graph(Path(path), int(triples))


def child_oxigraph(path: str, store_dir: str, n: str) -> dict[str, Any]:
    from kqa.kb.stores import open_oxigraph, store_folder

    start = time.perf_counter()
    kg = open_oxigraph(Path(path), Path(store_dir))
    seconds = time.perf_counter() - start
    folder = store_folder(Path(path), Path(store_dir))
    disk = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    return {"seconds": round(seconds, 2), "disk_bytes": disk, "workload": _graph_workload(kg, int(n))}


def child_reader(path: str, store_dir: str, n: str, questions: str = "100") -> dict[str, Any]:
    """The graph backend on the opened store: ``GraphReader(kg)``'s start-up (entity linker, relation
    detector, classes), then questions through ``answer`` ("What is the <property> of <name>?"): the first
    with a misspelt name (the linker reads the names misspellings are matched against, once), then the rest."""
    import random

    from kqa.kb.stores import open_oxigraph
    from kqa.readers.graph_reader import GraphReader

    start = time.perf_counter()
    kg = open_oxigraph(Path(path), Path(store_dir))
    opened = time.perf_counter() - start
    start = time.perf_counter()
    reader = GraphReader(kg)
    started = time.perf_counter() - start
    rng = random.Random(11)

    def ask(i: int, name: str) -> tuple[float, bool]:
        p = (i + 5 * rng.randrange(FACTS_PER_ENTITY)) % PROPERTIES
        t = time.perf_counter()
        answer = reader.answer(f"What is the property {word(p, 2).lower()} of {name}?")
        return (time.perf_counter() - t) * 1000, answer.text is not None

    i = rng.randrange(int(n))
    name = word(i)
    misspelt = name[:3] + name[4] + name[3] + name[5:]  # two letters swapped: one edit
    first_fuzzy_ms, fuzzy_answered = ask(i, misspelt)
    timed = [ask(i, word(i)) for i in (rng.randrange(int(n)) for _ in range(int(questions)))]
    return {"open_seconds": round(opened, 2), "reader_seconds": round(started, 2),
            "first_misspelt_question_ms": round(first_fuzzy_ms, 1), "misspelt_answered": fuzzy_answered,
            "questions": {**_percentiles([ms for ms, _ in timed]), "answered": sum(ok for _, ok in timed)}}


def child_shapes(path: str, store_dir: str, n: str, questions: str = "200") -> dict[str, Any]:
    """The workload's steps timed apart on the opened store: name lookup, LOOKUP, the value index, INVERSE."""
    import random

    from rdflib import Literal, URIRef

    from kqa.kb.graph import name_key
    from kqa.kb.stores import open_oxigraph
    from kqa.retrievers.graph_retriever import INVERSE, LOOKUP

    kg = open_oxigraph(Path(path), Path(store_dir))
    rng, steps = random.Random(3), {"lookup_name": [], "LOOKUP": [], "index.values": [], "INVERSE": []}
    for _ in range(int(questions)):
        i = rng.randrange(int(n))
        i -= i % 10
        p = next(pp for pp in ((i + 5 * jj) % PROPERTIES for jj in range(FACTS_PER_ENTITY)) if pp % 3 == 2)
        jj = next(jj for jj in range(FACTS_PER_ENTITY) if (i + 5 * jj) % PROPERTIES == p)
        text = f"{word((i * 13 + jj) % 50_000, 3).lower()} {word(jj, 2).lower()}"
        for step, run in (("lookup_name", lambda: kg.lookup_name(word(i))),
                          ("LOOKUP", lambda: kg.query(LOOKUP, {"s": URIRef(f"{ENT}{i}"), "p": URIRef(f"{KQA}p{p}")})),
                          ("index.values", lambda: kg.index.values.get(name_key(text))),
                          ("INVERSE", lambda: kg.query(INVERSE, {"p": URIRef(f"{KQA}p{p}"), "o": Literal(text)}))):
            start = time.perf_counter()
            run()
            steps[step].append((time.perf_counter() - start) * 1000)
    return {step: _percentiles(values) for step, values in steps.items()}


def child_memory(path: str, n: str) -> dict[str, Any]:
    from kqa.kb.graph import load_graph

    start = time.perf_counter()
    kg = load_graph(Path(path), store="memory")
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 2), "workload": _graph_workload(kg, int(n))}


def _vectors(chunk: int, n: int):
    """Rows [chunk*CHUNK, ...) of the generated corpus: (rows, 384) float32, L2-normalised. A centre plus a
    spread in a 48-d subspace plus a little isotropic noise: sentence embeddings, too, vary along far fewer
    directions than they have (isotropic noise in all 384 would make every neighbour equally far)."""
    import numpy as np

    base = np.random.default_rng(1)
    centres = base.standard_normal((CENTRES, DIM)).astype(np.float32)
    basis = base.standard_normal((INTRINSIC, DIM)).astype(np.float32) / np.sqrt(INTRINSIC)
    rng = np.random.default_rng(1000 + chunk)
    rows = min(CHUNK, n - chunk * CHUNK)
    x = (centres[rng.integers(0, CENTRES, rows)]
         + 1.0 * rng.standard_normal((rows, INTRINSIC)).astype(np.float32) @ basis * np.sqrt(DIM / INTRINSIC)
         + 0.1 * rng.standard_normal((rows, DIM)).astype(np.float32))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _queries(n: int):
    import numpy as np

    rng = np.random.default_rng(5)
    ids = np.sort(rng.choice(n, QUERIES, replace=False))
    out = []
    for chunk in sorted(set(ids // CHUNK)):
        block = _vectors(int(chunk), n)
        out.append(block[ids[ids // CHUNK == chunk] - chunk * CHUNK])
    q = np.concatenate(out) + 0.02 * rng.standard_normal((QUERIES, DIM)).astype(np.float32)  # ~0.4 of |v|
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def child_exact(n: str, out: str) -> dict[str, Any]:
    """Exact top-10 by inner product over the whole corpus, a chunk at a time (never all vectors at once)."""
    import numpy as np

    n = int(n)
    q = _queries(n)
    best_s = np.full((QUERIES, 10), -np.inf, dtype=np.float32)
    best_i = np.zeros((QUERIES, 10), dtype=np.int64)
    start = time.perf_counter()
    for chunk in range((n + CHUNK - 1) // CHUNK):
        scores = q @ _vectors(chunk, n).T  # (queries, rows)
        top = np.argpartition(-scores, 10, axis=1)[:, :10]
        s = np.take_along_axis(scores, top, 1)
        all_s, all_i = np.concatenate([best_s, s], 1), np.concatenate([best_i, top + chunk * CHUNK], 1)
        keep = np.argsort(-all_s, axis=1)[:, :10]
        best_s, best_i = np.take_along_axis(all_s, keep, 1), np.take_along_axis(all_i, keep, 1)
    np.save(out, best_i)
    return {"seconds": round(time.perf_counter() - start, 2), "flat_bytes_would_be": n * DIM * 4}


def child_ivfpq_build(n: str, path: str, nlist: str) -> dict[str, Any]:
    """kqa's IVF-PQ (faiss_retriever.build_index): 48 sub-quantizers of 8 bits, inner product; trained on a
    sample, filled a chunk at a time so the float vectors are never all in memory. ``nlist`` is given:
    kqa's rule (4*sqrt(n), 4,000 lists at 1M) trains for tens of minutes on two shared cores."""
    import faiss
    import numpy as np

    n, nlist = int(n), int(nlist)
    start = time.perf_counter()
    quantizer = faiss.IndexFlatIP(DIM)
    index = faiss.IndexIVFPQ(quantizer, DIM, nlist, 48, 8, faiss.METRIC_INNER_PRODUCT)
    sample = np.concatenate([_vectors(c, n) for c in range(min(2, (n + CHUNK - 1) // CHUNK))])
    index.train(sample[: max(40 * nlist, 10_000)])  # FAISS asks for >= 39 points a list
    trained = time.perf_counter() - start
    for chunk in range((n + CHUNK - 1) // CHUNK):
        index.add(_vectors(chunk, n))
    faiss.write_index(index, path)
    return {"seconds": round(time.perf_counter() - start, 2), "train_seconds": round(trained, 2), "nlist": nlist,
            "train_points": min(len(sample), max(40 * nlist, 10_000)), "disk_bytes": Path(path).stat().st_size}


def child_vectors(n: str, path: str) -> dict[str, Any]:
    """The float vectors beside the index, as ``FaissRetriever`` keeps them for its re-rank (``vectors.npy``),
    written a chunk at a time."""
    import numpy as np

    n = int(n)
    start = time.perf_counter()
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, DIM))
    for chunk in range((n + CHUNK - 1) // CHUNK):
        out[chunk * CHUNK : chunk * CHUNK + CHUNK] = _vectors(chunk, n)
    out.flush()
    del out
    return {"seconds": round(time.perf_counter() - start, 2), "disk_bytes": Path(path).stat().st_size}


NPROBES = (16, 32, 64, 128, 256)
RERANKS = (0, 100, 200, 400)  # candidates re-scored with the float vectors; 0: PQ order alone


def child_ivfpq_search(n: str, path: str, exact: str, vectors: str = "") -> dict[str, Any]:
    """Open memory-mapped (as FaissRetriever does), search one question at a time at each nprobe, and with
    ``vectors`` re-rank the top candidates exactly (``rerank_exact``, the float vectors memory-mapped). The
    first setting timed is nprobe 16 / rerank 100 with the vectors file dropped from the page cache (cold:
    each candidate a read from disk); then the file is read through once and the curve runs warm."""
    import faiss
    import numpy as np

    from kqa.retrievers.faiss_retriever import open_vectors, rerank_exact

    n = int(n)
    q = _queries(n)
    truth = np.load(exact)
    before = _rss_mb(("RssAnon:", "RssFile:"))  # queries and truth are made: what follows is the index's cost
    start = time.perf_counter()
    index = faiss.read_index(path, faiss.IO_FLAG_MMAP)
    floats = open_vectors(Path(vectors)) if vectors else None  # as FaissRetriever opens them
    opened = time.perf_counter() - start
    faiss.omp_set_num_threads(1)  # one question at a time, as the app serves it
    out: dict[str, Any] = {"open_seconds": round(opened, 3)}

    def run(nprobe: int, rerank: int) -> dict[str, Any]:
        index.nprobe = nprobe
        latencies, found = [], []
        for row in range(QUERIES):
            t = time.perf_counter()
            if rerank:
                _, candidates = index.search(q[row : row + 1], rerank)
                _, ids = rerank_exact(floats, q[row : row + 1], candidates, 10)
            else:
                _, ids = index.search(q[row : row + 1], 10)
            latencies.append((time.perf_counter() - t) * 1000)
            found.append(len(set(ids[0]) & set(truth[row])) / 10)
        return {**_percentiles(latencies), "recall_at_10": round(float(np.mean(found)), 4)}

    if floats is not None:
        with open(vectors, "rb") as handle:  # clean pages of a file we may read: no privilege needed
            os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        out["cold_nprobe_16_rerank_100"] = run(16, 100)
        one = _rss_mb(("RssAnon:", "RssFile:"))
        out["one_pass_rss_anon_mb"], out["one_pass_rss_file_mb"] = (round(one[0] - before[0], 1),
                                                                    round(one[1] - before[1], 1))
        t = time.perf_counter()  # the warm curve: every vector in the page cache, as on a server that has run
        for start in range(0, n, CHUNK):
            float(np.asarray(floats[start : start + CHUNK]).sum())
        out["warm_read_seconds"] = round(time.perf_counter() - t, 2)
    for nprobe in NPROBES:
        for rerank in RERANKS if floats is not None else (0,):
            out[f"nprobe_{nprobe}" + (f"_rerank_{rerank}" if rerank else "")] = run(nprobe, rerank)
    after = _rss_mb(("RssAnon:", "RssFile:"))
    # resident growth: anonymous (FAISS's own) and file-backed (the mmapped lists and vectors pages read:
    # page cache, which the kernel can drop under pressure)
    out["index_rss_anon_mb"] = round(after[0] - before[0], 1)
    out["index_rss_file_mb"] = round(after[1] - before[1], 1)
    out["index_rss_mb"] = round(sum(after) - sum(before), 1)
    return out


def _rss_mb(fields: tuple[str, ...]) -> list[float]:
    lines = Path("/proc/self/status").read_text().splitlines()
    return [next((int(line.split()[1]) / 1024 for line in lines if line.startswith(f)), 0.0) for f in fields]


CHILDREN = {"generate": child_generate, "oxigraph": child_oxigraph, "reader": child_reader, "shapes": child_shapes, "memory": child_memory, "exact": child_exact,
            "vectors": child_vectors, "ivfpq-build": child_ivfpq_build, "ivfpq-search": child_ivfpq_search}


def run_child(name: str, *args: str) -> dict[str, Any]:
    """One step in a child process: its JSON result plus wall seconds and peak resident memory."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "bench.scale", "--child", name, *args], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    stdout, _ = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"step {name} {args} failed with {proc.returncode}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["wall_seconds"] = round(time.perf_counter() - start, 2)
    result["peak_rss_mb"] = result.pop("_peak_rss_mb", None)
    print(f"{name} {' '.join(args)}: {json.dumps(result)}", file=sys.stderr, flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--triples", default="1000000,10000000", help="graph sizes (comma-separated)")
    parser.add_argument("--memory-triples", default="1000000",
                        help="sizes also loaded into rdflib's memory store (default 1M: 10M does not fit in time)")
    parser.add_argument("--passages", default="1000000", help="corpus sizes (comma-separated; 0: none)")
    parser.add_argument("--nlist", type=int, default=1024, help="IVF lists (default 1024, about sqrt(1M))")
    parser.add_argument("--work", type=Path, default=Path("/tmp/kqa-scale"), help="scratch folder (kept)")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args(argv)
    if args.child:
        result = CHILDREN[args.child[0]](*args.child[1:])
        result["_peak_rss_mb"] = _peak_rss_mb()
        print(json.dumps(result))
        return 0
    from bench.measure import machine

    args.work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"command": "python -m bench.scale " + " ".join(argv or sys.argv[1:]),
                               "machine": machine(), "graph": {}, "corpus": {}}
    memory_sizes = {int(x) for x in args.memory_triples.split(",") if x}
    for triples in (int(x) for x in args.triples.split(",") if x):
        path = args.work / f"graph-{triples}.nt"
        stores = args.work / f"stores-{triples}"
        row: dict[str, Any] = {"generate": run_child("generate", str(path), str(triples))}
        n = str(row["generate"]["entities"])
        row["oxigraph_first_load"] = run_child("oxigraph", str(path), str(stores), n)
        row["oxigraph_open"] = run_child("oxigraph", str(path), str(stores), n)
        row["graph_reader"] = run_child("reader", str(path), str(stores), n)
        row["oxigraph_steps"] = run_child("shapes", str(path), str(stores), n)
        if triples in memory_sizes:
            row["memory_load"] = run_child("memory", str(path), n)
        results["graph"][str(triples)] = row
        _write(args.out, results)
    for passages in (int(x) for x in args.passages.split(",") if x and int(x)):
        index = args.work / f"ivfpq-{passages}.faiss"
        exact = args.work / f"exact-{passages}.npy"
        floats = args.work / f"vectors-{passages}.npy"
        row = {"exact": run_child("exact", str(passages), str(exact)),
               "build": run_child("ivfpq-build", str(passages), str(index), str(min(args.nlist, passages // 39))),
               "vectors": run_child("vectors", str(passages), str(floats)),
               "search": run_child("ivfpq-search", str(passages), str(index), str(exact), str(floats))}
        results["corpus"][str(passages)] = row
        _write(args.out, results)
    return 0


def _peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, it starts afresh at exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _write(out: Path, results: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "scale.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    raise SystemExit(main())
