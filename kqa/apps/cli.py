"""The ``kqa`` command line: build and inspect packs, ask, score, serve.

Heavy libraries are imported inside each command, so ``kqa --help`` is instant. A user's mistake
(KqaError) prints one line saying what to do, with no stack trace.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kqa.kb.errors import KqaError


def _pack_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pack", default=None, metavar="NAME|DIR",
                        help="a pack name in $KQA_HOME/packs (see `kqa packs`) or a pack folder "
                             "(default: $KQA_PACK or $KQA_HOME/packs/factbook, KQA_HOME=~/.cache/kqa)")


def _pack_dir(args) -> Path:
    from kqa.apps.config import default_pack_dir, kqa_home

    if not args.pack:
        return default_pack_dir()
    value = Path(args.pack).expanduser()
    if value.is_dir() or len(value.parts) > 1 or args.pack.startswith("."):
        return value
    return kqa_home() / "packs" / args.pack  # a name


# The built-in packs `kqa build --pack NAME` makes: name -> "module:function(target, progress=...) -> Pack".
BUILDERS = {
    "factbook": "kqa.packs.factbook.build:build_factbook_pack",
    "wordnet": "kqa.packs.wordnet.build:build_wordnet_pack",
}


def cmd_build(args) -> int:
    import importlib

    from rich.console import Console

    from kqa.eval.report import print_manifest
    from kqa.kb.progress import progress_task

    console = Console()
    target = _pack_dir(args)
    if args.graph:
        from kqa.kb.graph_pack import build_graph_pack

        if args.pack is None:
            raise KqaError("--graph needs --pack NAME|DIR: where the new pack goes (`kqa build --graph films.ttl "
                           "--pack films`)")
        with progress_task(f"building a pack from {args.graph}") as task:
            pack = build_graph_pack(args.graph, target, corpus=args.corpus, questions=args.questions,
                                    profile=args.profile, progress=lambda m: task.update(label=m))
    else:
        if args.corpus or args.questions or args.profile:
            raise KqaError("--corpus, --questions and --profile go with --graph FILE")
        is_name = bool(args.pack) and not (len(Path(args.pack).parts) > 1 or args.pack.startswith(".")
                                           or Path(args.pack).expanduser().is_dir())
        if is_name and args.pack not in BUILDERS:
            raise KqaError(f"no built-in pack called {args.pack!r} (built-in: {', '.join(BUILDERS)}); to build one from "
                           f"your own graph: kqa build --graph FILE --pack {args.pack}")
        builder = target.name if target.name in BUILDERS else "factbook"
        module, function = BUILDERS[builder].split(":")
        with progress_task(f"building the {builder} pack") as task:
            pack = getattr(importlib.import_module(module), function)(target, progress=lambda m: task.update(label=m))
    counts = pack.manifest["counts"]
    console.print(f"[green]built[/] {pack.path}: {counts['triples']:,} triples, {counts['passages']:,} passages, "
                  f"{counts['questions']:,} questions in {sum(pack.manifest['stage_seconds'].values()):.1f} s")
    for warning in pack.manifest.get("warnings", ()):
        console.print(f"[yellow]warning:[/] {warning}")
    if args.verbose:
        print_manifest(pack.manifest, console)
    return 0


def cmd_packs(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from kqa.apps.config import kqa_home
    from kqa.kb.pack import list_packs

    packs = list_packs(kqa_home())
    if not packs:
        print(f"kqa: no packs in {kqa_home() / 'packs'}: `kqa build` makes the Factbook pack, "
              "`kqa build --graph FILE --pack NAME` one from your graph")
        return 0
    table = Table("name", "triples", "passages", "questions", "built", "path")
    for pack in packs:
        counts = pack.manifest.get("counts", {})
        table.add_row(pack.name, f"{counts.get('triples', 0):,}", f"{counts.get('passages', 0):,}",
                      f"{counts.get('questions', 0):,}", str(pack.manifest.get("built_at", "?")), str(pack.path))
    Console().print(table)
    return 0


def cmd_info(args) -> int:
    from rich.console import Console

    from kqa.eval.report import print_manifest
    from kqa.kb.pack import open_pack

    pack = open_pack(_pack_dir(args))
    if args.markdown:
        from kqa.eval.report import coverage_markdown

        print(coverage_markdown(pack.manifest))
        return 0
    console = Console()
    print_manifest(pack.manifest, console, path=pack.path)
    print_examples(pack, console)
    return 0


def print_examples(pack, console) -> None:
    """One question of each type from the pack's own questions: what to try with `kqa ask --pack ...`."""
    from rich.table import Table

    from kqa.kb.questions import example_questions

    table = Table(title=f"questions to try (kqa ask --pack {pack.name} \"...\")")
    for column in ("type", "question", "choices", "answer"):
        table.add_column(column)
    for q in example_questions(pack.questions_path):
        table.add_row(q.type, q.question, "; ".join(q.choices or ()), q.answers[0] if q.answers else "")
    console.print(table)


def _options(args):
    from kqa.apps.config import cache_dir, model_cache_dir
    from kqa.apps.wiring import Options

    thresholds: tuple[tuple[str, float], ...] = ()
    if getattr(args, "calibration", None):
        from kqa.eval.calibrate import load_thresholds

        thresholds = tuple(sorted(load_thresholds(args.calibration).items()))
    return Options(pack=_pack_dir(args), model_cache=model_cache_dir(), cache_dir=cache_dir(), k=args.k,
                   lines=args.lines, mode=args.mode, model=args.model, store=args.store, thresholds=thresholds,
                   runtime=args.runtime, dtype=args.dtype, base_url=args.base_url, api_key_env=args.api_key_env)


def _store_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", choices=("auto", "memory", "oxigraph"), default="auto",
                        help="where the graph is held: rdflib in memory, or Oxigraph on disk (built once under "
                             "$KQA_HOME/cache/stores, then opened in seconds); auto: Oxigraph from 64 MB of RDF")


def _backend_names(text: str) -> list[str]:
    from kqa.apps.wiring import FACTORIES

    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in FACTORIES]
    if unknown or not names:
        raise KqaError(f"unknown backend(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(FACTORIES)}")
    return names


def _model_args(parser: argparse.ArgumentParser) -> None:
    from dataclasses import fields

    from kqa.apps.wiring import MODES, PRESETS, RUNTIMES, Options
    from kqa.models.transformers_lm import DTYPES

    default = {f.name: f.default for f in fields(Options)}  # one place for defaults: Options
    parser.add_argument("--k", type=int, default=default["k"],
                        help=f"passages a corpus backend retrieves (default {default['k']})")
    parser.add_argument("--lines", type=int, default=default["lines"],
                        help=f"lines of those passages its model reads (default {default['lines']}; 0: the passages whole)")
    parser.add_argument("--mode", choices=MODES, default=default["mode"],
                        help=f"closed-book prompting (default {default['mode']})")
    parser.add_argument("--model", default=default["model"],
                        help=f"LM preset ({', '.join(PRESETS)}), a local folder, a GGUF file or a hub id; "
                             "with --runtime openai, the model name the server knows")
    parser.add_argument("--runtime", choices=RUNTIMES, default=default["runtime"],
                        help="where the model runs: transformers (default, in process), llamacpp (in process, needs "
                             "pip install llama-cpp-python), openai (an OpenAI-compatible server at --base-url)")
    parser.add_argument("--dtype", choices=DTYPES, default=default["dtype"],
                        help="--runtime transformers: the weights' type in memory (default auto: int8-mlp where "
                             "the CPU multiplies bfloat16 natively, AVX512-BF16 or AMX, and torch's int8 kernel runs, "
                             "else float32; int8-head: the output layer's weights in int8, the rest bfloat16; "
                             "int8-mlp: and the feed-forward layers'; int8: every linear layer's; float32 batches "
                             "`kqa eval` across question lengths)")
    parser.add_argument("--base-url", default=None, help="--runtime openai: the server's URL, e.g. http://127.0.0.1:8080/v1")
    parser.add_argument("--api-key-env", default=None, metavar="VAR",
                        help="--runtime openai: the environment variable holding the API key (never the key itself)")


def cmd_ask(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from kqa.apps.wiring import BackendPool

    from kqa.apps.web import MAX_QUESTION_CHARS

    if len(args.question) > MAX_QUESTION_CHARS:
        raise KqaError(f"the question is {len(args.question):,} characters long; at most {MAX_QUESTION_CHARS:,} are read")
    pool = BackendPool(_options(args))
    choices = [c.strip() for c in args.choices.split(";")] if args.choices else None
    table = Table(title=args.question, show_lines=True)
    for column in ("backend", "answer", "confidence", "latency", "rests on"):
        table.add_column(column)
    console = Console()
    for name in _backend_names(args.backends):
        with console.status(f"{name} is answering"):
            answer = pool.get(name).answer(args.question, choices)
        text = answer.text if answer.text is not None else f"[dim](abstains: {answer.meta.get('reason', '?')})[/]"
        evidence = "\n".join(e.text[:90] for e in answer.evidence[:3])
        confidence = f"{answer.confidence:.2f}" if answer.confidence is not None else "-"
        table.add_row(name, text, confidence, f"{answer.latency_ms:.0f} ms", evidence)
    console.print(table)
    return 0


def cmd_eval(args) -> int:
    from rich.console import Console

    from kqa.eval.construction import construction_costs
    from kqa.kb.progress import progress_task
    from kqa.eval.runner import run_eval
    from kqa.eval.report import REPORT, print_results
    from kqa.apps.wiring import BackendPool
    from kqa.kb.questions import load_questions

    options = _options(args)
    names = _backend_names(args.backends)
    pool = BackendPool(options)
    if args.questions in ("dev", "test", "all"):
        pack = pool.pack()
        questions = load_questions(pack.questions_path, split=None if args.questions == "all" else args.questions)
        source = f"{pack.name}:{args.questions}"
    else:
        questions = load_questions(args.questions)
        source = str(Path(args.questions).resolve())
    if args.limit:
        import random

        questions = sorted(random.Random(args.seed).sample(questions, min(args.limit, len(questions))),
                           key=lambda q: q.id)
    if args.perturb:
        from kqa.eval.perturb import perturb_all
        from kqa.kb.graph import load_graph, subject_names

        questions = list(questions) + perturb_all(questions, subject_names(load_graph(pool.pack())), seed=args.seed)
    from kqa.apps.config import kqa_home
    from kqa.apps.wiring import options_record

    tag = f"{Path(source).stem if '/' in source else source.replace(':', '-')}-{'-'.join(names)}" \
          f"{f'-n{args.limit}' if args.limit else ''}{'-perturb' if args.perturb else ''}"
    out_dir = args.out or kqa_home() / "runs" / tag
    config = {"questions": source, "limit": args.limit, "seed": args.seed, "perturb": args.perturb,
              "pack": pool.pack().fingerprint(),  # a resumed run must use the same pack files (runner)
              "options": options_record(options),
              "calibration": str(args.calibration) if args.calibration else None}
    console = Console()
    where = f" on the Ray cluster at {args.ray}" if args.ray else ""
    console.print(f"scoring {len(questions):,} questions x {len(names)} backends into {out_dir}{where}")
    backends = {}
    if args.replay:
        from kqa.apps.wiring import replayed_backends

        backends = replayed_backends(names, args.replay, options)
        config["replayed_from"] = str(args.replay)
    else:
        for name in names if not args.ray else ():  # on Ray, each worker loads its own
            with progress_task(f"loading {name}"):
                backends[name] = pool.get(name)
    # read after loading, so an index built just now counts
    construction = construction_costs(names, pack=options.pack, model=options.model, model_cache=options.model_cache,
                                      index_kind=options.index_kind, cache_dir=options.cache_dir)
    with progress_task("answering", total=len(questions) * len(names)) as task:
        common = dict(config=config, batch_size=args.batch_size, timeout_s=args.timeout or None,
                      construction=construction,
                      progress=lambda done, total, name: task.update(done=done, label=f"answering ({name})"))
        if args.ray:
            from kqa.apps.wiring import PoolBackends
            from kqa.eval.ray_runner import run_eval_ray

            result = run_eval_ray(PoolBackends(options), names, questions, out_dir, address=args.ray, **common)
        else:
            result = run_eval(backends, questions, out_dir, **common)
    print_results(result.results, console)
    console.print(f"results: {result.results_path}, report: {out_dir / REPORT}")
    return 0


def cmd_calibrate(args) -> int:
    from kqa.eval.calibrate import calibrate, in_dev_half, write_thresholds
    from kqa.eval.runner import ANSWERS, read_records

    records = read_records(Path(args.run_dir) / ANSWERS)
    if not records:
        raise KqaError(f"no answers in {args.run_dir}; run `kqa eval --questions dev --out DIR` first")
    thresholds = calibrate(records, dev_half=args.dev_half, by_relation=args.by_relation,
                           min_answers=args.min_answers)
    used = {r["question_id"] for r in records if "~" not in r["question_id"]
            and (not args.dev_half or in_dev_half(r["question_id"]))}
    out = args.out or Path(args.run_dir) / "calibration.json"
    source = f"{args.run_dir}{' (dev half)' if args.dev_half else ''}"
    write_thresholds(out, thresholds, source=source, questions=len(used))
    for backend, threshold in thresholds.items():
        print(f"{backend}: abstain below confidence {threshold:.4f}")
    print(f"kqa: wrote {out} (picked on {len(used)} questions); use it with `kqa eval --calibration {out}`")
    return 0


def cmd_report(args) -> int:
    from kqa.eval.report import write_report

    print(f"kqa: wrote {write_report(args.run_dir)}")
    return 0


def cmd_sparql(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from kqa.kb.graph import PREFIXES, load_graph
    from kqa.kb.pack import open_pack
    from kqa.kb.sparql_guard import check_readonly, run_readonly

    from kqa.apps.config import cache_dir

    check_readonly(args.query, prefixes=PREFIXES)  # a refused query is one line, before the graph loads
    kg = load_graph(open_pack(_pack_dir(args)), cache_dir=cache_dir(), store=args.store)
    result = run_readonly(kg.graph, args.query, prefixes=PREFIXES, timeout_s=args.timeout, max_rows=args.limit)
    table = Table(*result.columns, title=f"{result.form}: {len(result.rows)} row(s)"
                  + (f", the first {args.limit}" if result.truncated else ""))
    for row in result.rows:
        table.add_row(*("" if term is None else str(term) for term in row))
    Console().print(table)
    return 0


def cmd_serve(args) -> int:
    from kqa.apps.config import kqa_home
    from kqa.apps.model_process import ModelPool
    from kqa.apps.web import serve
    from kqa.kb.pack import open_pack

    options = _options(args)
    open_pack(options.pack)  # a missing pack is one clear line, before the server starts
    names = _backend_names(args.backends)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"kqa: serving on {args.host}: anyone who can reach this machine can use the app", file=sys.stderr)
    pool = ModelPool(options)  # the model's backends answer in a child process, so the graph never waits for it
    if not args.no_prepare:
        from kqa.apps.web import prepare

        took = prepare(pool, names, say=lambda m: print(m, file=sys.stderr))
        print("kqa: ready: " + ", ".join(f"{n} {s:.1f} s" for n, s in took.items()), file=sys.stderr)
    print(f"kqa: open http://{args.host}:{args.port} (Ctrl+C stops)")
    serve(pool, names, host=args.host, port=args.port, runs_dir=args.runs or kqa_home() / "runs",
          timeout_s=args.timeout or None)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kqa", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="build a knowledge pack: the Factbook (default), another built-in "
                                     f"({', '.join(BUILDERS)}), or one from your own graph (--graph)")
    _pack_arg(p)
    p.add_argument("--graph", type=Path, default=None, help="your RDF file (Turtle, N-Triples, RDF/XML)")
    p.add_argument("--corpus", type=Path, default=None,
                   help="with --graph: passages, JSONL or a folder of .txt (default: the graph written as text)")
    p.add_argument("--questions", type=Path, default=None,
                   help="with --graph: a question file (default: questions generated from the graph's schema)")
    p.add_argument("--profile", type=Path, default=None,
                   help="with --graph: a profile.json (default: one beside the graph file, if any)")
    p.add_argument("-v", "--verbose", action="store_true", help="print the manifest after building")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("packs", help="list the packs in $KQA_HOME/packs")
    p.set_defaults(func=cmd_packs)

    p = sub.add_parser("info", help="show a pack's manifest: counts, build times, parse coverage")
    _pack_arg(p)
    p.add_argument("--markdown", action="store_true", help="print the parse coverage table as Markdown")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("ask", help="ask one question; every backend answers side by side")
    p.add_argument("question")
    p.add_argument("--backends", default="graph,dense,closed_book", help="comma-separated (default graph,dense,closed_book)")
    p.add_argument("--choices", default=None, help="multiple choice: options separated by ';'")
    _pack_arg(p)
    _model_args(p)
    _store_arg(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", help="score backends over a question set; resumable, writes results.json, CSV, plots")
    p.add_argument("--backends", default="graph,dense,closed_book", help="comma-separated (default graph,dense,closed_book)")
    p.add_argument("--questions", default="test", help="a pack split (dev, test, all) or a question file (default test)")
    p.add_argument("--limit", type=int, default=None, help="score a seeded sample of N questions")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--perturb", action="store_true", help="also re-ask each question with robustness probes")
    p.add_argument("--out", type=Path, default=None, help="run folder (default $KQA_HOME/runs/<questions>-<backends>)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--ray", default=None, metavar="ADDRESS",
                   help="answer on a Ray cluster: 'auto' (the cluster this machine is in) or its address; one actor "
                        "per backend per node, every node reading the same pack path (pip install 'kqa[ray]')")
    p.add_argument("--timeout", type=float, default=120.0,
                   help="seconds a backend may take per question before it counts as an error (default 120; 0: none)")
    p.add_argument("--replay", type=Path, default=None, metavar="RUN_DIR",
                   help="answer from the answers a run recorded (no model runs): thresholds, router and vote "
                        "scored again over them")
    p.add_argument("--calibration", type=Path, default=None,
                   help="confidence thresholds from `kqa calibrate`: backends abstain below them")
    _pack_arg(p)
    _model_args(p)
    _store_arg(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("calibrate", help="pick each backend's confidence threshold from a dev run's answers")
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR",
                   help="a `kqa eval` folder over dev questions (the pack's dev split or a question file)")
    p.add_argument("--dev-half", action="store_true",
                   help="use only the dev half of its questions (a hash of the id), so the other half stays unseen")
    p.add_argument("--by-relation", action="store_true",
                   help="also a threshold per backend and relation the graph read the questions as (used by the "
                        "router and the vote)")
    p.add_argument("--min-answers", type=int, default=10,
                   help="with --by-relation: answers a relation needs for its own threshold (default 10)")
    p.add_argument("--out", type=Path, default=None, help="where to write the thresholds (default RUN_DIR/calibration.json)")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("report", help="write RUN_DIR/report.md from a scoring run's results.json")
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a folder `kqa eval` wrote (it holds results.json)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("sparql", help="run a read-only SPARQL query (SELECT, ASK, CONSTRUCT, DESCRIBE) on the pack's graph")
    p.add_argument("query", help="the query; prefixes kqa:, rdf:, rdfs:, skos: and xsd: are declared")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds before the query is stopped (default 10)")
    p.add_argument("--limit", type=int, default=100, help="rows shown at most (default 100)")
    _pack_arg(p)
    _store_arg(p)
    p.set_defaults(func=cmd_sparql)

    p = sub.add_parser("serve", help="start the web app: one question, every backend side by side")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--backends", default="graph,dense,closed_book",
                   help="comma-separated, one column each (default graph,dense,closed_book)")
    p.add_argument("--runs", type=Path, default=None,
                   help="scoring runs: Batch writes here, Tradeoff shows the latest (default $KQA_HOME/runs)")
    p.add_argument("--timeout", type=float, default=300.0,
                   help="seconds Ask waits for each backend, loading included (default 300; 0: no limit)")
    p.add_argument("--no-prepare", action="store_true",
                   help="open the page at once and load each backend on its first question (by default every "
                        "backend loads and answers a warm-up question first, so the first real one is fast)")
    _pack_arg(p)
    _model_args(p)
    _store_arg(p)
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KqaError as err:
        print(f"kqa: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `kqa info | head`
        return 0
    except KeyboardInterrupt:
        print("kqa: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
