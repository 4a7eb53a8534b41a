"""The Gradio app: one question, every backend side by side, each column filled as soon as its backend finishes.

Tabs: **Ask** (one question, a column per backend, a line saying whether they agree), **Batch** (score a
question set with ``kqa.eval.runner.run_eval``), **Tradeoff** (the latest scoring run: cost to construct
against accuracy), **Explore** (one country: its triples, its passages, what the model alone says).

The app holds no QA logic: it asks a ``BackendPool`` for backends, calls ``Backend.answer`` and renders the
``Answer`` (``kqa.apps.web_render``). Each backend has its own lane of threads (``Lanes``), so a slow language
model never holds up the graph's answer, and a backend that raises shows its error in its own column only.
``kqa serve`` passes a ``kqa.apps.model_process.ModelPool``: the model's backends answer in a niced child
process, so they take neither the cores nor the GIL from the web server and the graph.

Gradio is imported inside the functions that need it, so importing this module (or ``kqa.apps.cli``) is quick.
The server binds 127.0.0.1 by default, makes no share link and sends no analytics.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kqa.apps import web_render as render
from kqa.apps.wiring import MODES, PRESETS, BackendPool, options_record
from kqa.readers.types import Answer

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before any gradio import: never phone home

ASK_CONCURRENCY = 32  # questions in progress at once; each mostly waits on a backend's lane
MAX_QUESTION_CHARS = 2000  # longer text is refused with a message: a language model would read it for minutes
FIRST_UPDATE_S = 0.2  # how long the first update of a question waits for a column that answers at once
TIMEOUT_S = 300.0  # per question and backend, loading included (de-quantizing a GGUF on first use takes ~40 s)

# (question type, question, choices): shown when no pack is built yet; otherwise ``pack_examples`` reads the pack's
EXAMPLES: tuple[tuple[str, str, str], ...] = (
    ("single hop", "What is the capital of Peru?", ""),
    ("inverse", "Lima is the capital of which country?", ""),
    ("two hop", "What currency is used in the country whose capital is Lima?", ""),
    ("comparison", "Which is larger by area, Peru or Chile?", ""),
    ("count", "How many countries border Germany?", ""),
    ("boolean", "Does Spain border Portugal?", ""),
    ("list", "Which countries border Austria?", ""),
    ("multiple choice", "What is the capital of Peru?", "Paris; Lima; Quito; Bogota"),
)

EXPLORE_QUESTIONS = (  # (relation the graph holds, question put to the model alone)
    ("capital", "What is the capital of {name}?"),
    ("currency", "What currency is used in {name}?"),
    ("borders", "Which countries border {name}?"),
)


# ------------------------------------------------------------------------------------------------ Ask


def pack_examples(pool: BackendPool) -> tuple[tuple[str, str, str], ...]:
    """(question type, question, choices) for the Ask tab: one of each type from the chosen pack's own
    questions (``kb.questions.example_questions``), so WordNet shows "What kind of thing is a ...?" and the
    Factbook its country questions; ``EXAMPLES`` when the pack is not built."""
    from kqa.kb.errors import KqaError
    from kqa.kb.questions import example_questions

    try:
        questions = example_questions(pool.pack().questions_path)
    except KqaError:
        return EXAMPLES
    return tuple((q.type.replace("_", " "), q.question, "; ".join(q.choices or ())) for q in questions)



@dataclass(frozen=True)
class Column:
    """What one backend's column shows at one moment."""

    backend: str
    state: str  # "waiting" | "done" | "error"
    card: str  # HTML
    details: str = ""  # HTML
    image: Any = None  # PIL image of the subgraph (also inline in ``details``), or None
    text: str | None = None  # the answer text (None: waiting, abstained or failed)


def parse_choices(text: str | None) -> tuple[str, ...] | None:
    """'Paris; Lima; Quito' (or one per line) -> ('Paris', 'Lima', 'Quito'); blank -> None."""
    if not text or not text.strip():
        return None
    parts = [p.strip() for line in text.splitlines() for p in line.split(";")]
    return tuple(p for p in parts if p) or None


def runtimes(pool: BackendPool) -> list[str]:
    """The model runtimes a person can pick in the app: in-process transformers always, llama.cpp where it is
    installed, a server only where ``kqa serve --base-url`` named one (the page never takes a URL to call)."""
    from kqa.models.llamacpp_lm import llama_cpp_available

    found = ["transformers", *(["llamacpp"] if llama_cpp_available() else []),
             *(["openai"] if pool.options.base_url else [])]
    return list(dict.fromkeys([pool.options.runtime, *found]))


def changed_options(pool: BackendPool, **chosen: Any) -> dict[str, Any]:
    """Only the options that differ from the pool's, so that default settings share loaded backends."""
    return {k: v for k, v in chosen.items() if v is not None and getattr(pool.options, k, None) != v}


def render_column(answer: Answer, *, picture: bool = True) -> Column:
    """The column for a finished answer; the picture is drawn from its graph trace's triples, when it has any
    (``picture=False``: not yet, ``add_picture`` draws it)."""
    column = Column(backend=answer.backend, state="done", card=render.answer_card(answer),
                    details=render.details_html(answer), text=answer.text)
    return add_picture(column, answer) if picture else column


def add_picture(column: Column, answer: Answer) -> Column:
    """``column`` with the picture of the triples ``answer`` rests on above its details; as it was when there
    are none. Drawing takes tens of milliseconds, a hundred times the graph's answer."""
    triples = render.subgraph_triples(answer.trace)
    if not triples:
        return column
    image = render.draw_subgraph(triples, answers=[answer.text] if answer.text else [],
                                 entities=render.entity_names(answer.trace))
    if image is None:
        return column
    picture = render.image_html(image, alt="the triples this answer rests on")
    legend = '<div class="kqa-legend">indigo: entities in the question · amber: the answer</div>'
    return replace(column, details=picture + legend + column.details, image=image)


def stream_answers(pool: BackendPool, backends: Sequence[str], question: str,
                   choices: Sequence[str] | None = None, overrides: Mapping[str, Any] | None = None, *,
                   timeout_s: float | None = TIMEOUT_S) -> Iterator[dict[str, Column]]:
    """Every column's state: first with what finished within ``FIRST_UPDATE_S`` (the graph's answer, as a rule)
    and the rest waiting, then once more each time a backend finishes (in the order they finish), and once
    more when a column's picture is drawn (the answer does not wait for it). A backend
    that raises, while loading or answering, gets an error column; the rest go on. One that has not finished
    ``timeout_s`` seconds after the question (loading included) gets an error column saying so, and its late
    answer is dropped; so is a picture not drawn by then."""
    from kqa.readers.time_limit import BackendTimeoutError

    overrides = dict(overrides or {})
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    loading = {name for name in backends if not _loaded(pool, name, overrides)}
    notes = {name: _loading_note(pool, name, overrides) if name in loading else None for name in backends}

    def run(name: str) -> tuple[Answer, Column]:
        answer = pool.get(name, **overrides).answer(question, choices)
        return answer, render_column(answer, picture=False)

    # in the lanes before the first update goes out: a fast column does not wait for the page to show "waiting"
    futures: dict[Future, str] = {LANES.submit(name, run, name): name for name in backends}
    pictures: dict[Future, str] = {}
    columns = {name: Column(name, "waiting", render.waiting_card(name, notes[name])) for name in backends}
    pending = set(futures)
    first = True
    try:
        while pending or first:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            # while a column loads, look again every second so that it shows how far the loading got
            if any(futures.get(f) in loading for f in pending):
                left = 1.0 if left is None else min(left, 1.0)
            if first:  # the first update waits a moment for a column that answers at once: one update fewer
                left = FIRST_UPDATE_S if left is None else min(left, FIRST_UPDATE_S)
            done, pending = wait(pending, timeout=left, return_when=FIRST_COMPLETED)
            if not done and deadline is not None and time.monotonic() >= deadline:  # time is up for the rest
                for future in pending:
                    if future in futures:
                        name = futures[future]
                        err = BackendTimeoutError(f"{name} gave no answer within {timeout_s:g} s")
                        columns[name] = Column(name, "error", render.error_card(name, err))
                yield dict(columns)
                return
            for future in done:
                if future in pictures:
                    try:
                        columns[pictures[future]] = future.result()
                    except Exception:  # noqa: BLE001 - a picture that cannot be drawn: the column stays as it is
                        pass
                    continue
                name = futures[future]
                try:
                    answer, columns[name] = future.result()
                except Exception as err:  # noqa: BLE001 - one backend's failure stays in its column
                    columns[name] = Column(name, "error", render.error_card(name, err))
                else:
                    if render.subgraph_triples(answer.trace):
                        picture = LANES.submit(PICTURES, pool.offload, add_picture, columns[name], answer)
                        pictures[picture] = name
                        pending.add(picture)
            changed = bool(done)
            for future in pending:
                name = futures.get(future)
                if name not in loading:
                    continue
                note = _loading_note(pool, name, overrides)
                if note != notes[name]:
                    notes[name], changed = note, True
                    columns[name] = Column(name, "waiting", render.waiting_card(name, note))
            if changed or first:
                yield dict(columns)
                first = False
    finally:
        for future in pending:
            future.cancel()  # still queued in its lane: never run; already running: its answer is dropped


def _loaded(pool: BackendPool, name: str, overrides: Mapping[str, Any]) -> bool:
    try:
        return pool.is_loaded(name, **overrides)
    except Exception:  # noqa: BLE001 - an unknown backend: its run says so in its column
        return True


def _loading_note(pool: BackendPool, name: str, overrides: Mapping[str, Any]) -> str | None:
    """What a column that is not loaded yet waits for ("loading the FAISS index ...: embedding passages: 2,100
    of 6,098 (34%), 41 s"); None once it is loaded, or while nothing long is under way (it is only thinking)."""
    if _loaded(pool, name, overrides):
        return None
    return "; ".join(pool.progress()) or None


class Lanes:
    """One queue per backend, each with its own number of workers, shared by every question the app is
    asked: a backend that answers in a millisecond (the graph) never waits behind a language model that
    takes a second, and the backends that read with the one shared model take their turns at it rather
    than all at once. The app's answers stream column by column, so each column shows when its own lane
    gets to it."""

    def __init__(self, workers: Mapping[str, int], default: int = 1):
        self.workers, self.default = dict(workers), default
        self._executors: dict[str, ThreadPoolExecutor] = {}
        self._lock = threading.Lock()

    def submit(self, backend: str, fn, *args) -> Future:
        with self._lock:
            if backend not in self._executors:
                self._executors[backend] = ThreadPoolExecutor(
                    max_workers=self.workers.get(backend, self.default), thread_name_prefix=f"kqa-{backend}")
            executor = self._executors[backend]
        return executor.submit(fn, *args)


# the graph's lookups take milliseconds and are thread-safe: several at once; the LM backends share one model
# that runs one call at a time (TransformersLM holds a lock), so one worker each keeps their queues in order;
# the pictures of answered columns are drawn one at a time, after their answers (matplotlib holds the GIL; a
# ModelPool draws them in its niced child, so they wait while the app is busy)
PICTURES = "pictures"
LANES = Lanes({"graph": 8}, default=1)


WARM_UP_QUESTION = "What is the capital of France?"


def prepare(pool: BackendPool, backends: Sequence[str], *, say=print) -> dict[str, float]:
    """Load every backend and answer one question with each, before the page opens, so that the first
    question a person asks is as fast as the tenth: the FAISS index is built, the model de-quantized and its
    prompts' fixed part cached (``PrefixStore``), each answer's column drawn (matplotlib imported), with
    progress in the terminal. The backends that read with the language model load one after another beside
    the others (under ``kqa serve`` in their own process, so the two loads share the cores rather than wait in
    turn). A backend that fails to load is reported and left out of the warm-up (its column shows the error).
    Then what was loaded is moved out of the garbage collector's sight (``gc.freeze``): a full collection
    walked every object of the graph, stopping the whole app for over half a second. Returns seconds per
    backend."""
    import gc

    from kqa.apps.model_process import uses_model
    from kqa.kb.progress import progress_task

    took: dict[str, float] = {}

    def warm(names: list[str]) -> None:
        for name in names:
            start = time.perf_counter()
            try:
                with progress_task(f"preparing {name}"):
                    render_column(pool.get(name).answer(WARM_UP_QUESTION))
            except Exception as err:  # noqa: BLE001 - the app still opens; this column will show the error
                say(f"kqa: {name} did not load: {type(err).__name__}: {err}")
                continue
            took[name] = time.perf_counter() - start

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kqa-prepare") as beside:
        models = beside.submit(warm, [n for n in backends if uses_model(n)])
        warm([n for n in backends if not uses_model(n)])
        models.result()
    gc.collect()
    gc.freeze()  # loaded for good: the collector no longer walks these objects
    return {name: took[name] for name in backends if name in took}


def agreement(columns: Mapping[str, Column]) -> str:
    texts = {name: c.text for name, c in columns.items() if c.state == "done"}
    pending = [name for name, c in columns.items() if c.state == "waiting"]
    failed = [name for name, c in columns.items() if c.state == "error"]
    return render.agreement_html(texts, pending=pending, failed=failed)


# ------------------------------------------------------------------------------------------------ lookups


def knowledge_graph(pool: BackendPool):
    """The graph backend's KnowledgeGraph when it exposes one, else the pack's graph loaded once per pool."""
    try:
        backend = pool.get("graph")
    except Exception:  # noqa: BLE001 - no graph backend wired: load the graph file directly
        backend = None
    for holder in (backend, getattr(backend, "retriever", None), getattr(backend, "reader", None)):
        for attr in ("kg", "knowledge_graph", "graph"):
            kg = getattr(holder, attr, None) if holder is not None else None
            if kg is not None and hasattr(kg, "lookup_name") and hasattr(kg, "labels"):
                return kg

    return pool.graph()


def entity_facts(pool: BackendPool, name: str) -> tuple[str, str, list[tuple[str, str]], str]:
    """(label, country code, [(relation, value)], the SPARQL used) for the entity called ``name``."""
    from kqa.kb.errors import KqaError

    kg = knowledge_graph(pool)
    iris = kg.lookup_name(name)
    if not iris:
        raise KqaError(f"no entity called {name!r} in the graph; try a country name such as Peru")
    iri = next((i for i in iris if kg.entity_class(i) in (kg.profile.subject_classes or ())), iris[0])
    sparql = "SELECT ?p ?o WHERE { ?s ?p ?o }"
    relations = kg.index.relations
    rows = [(render.local_name(str(p)), kg.label(o)) for p, o in kg.query(sparql, {"s": iri}) if p in relations]
    rows.sort(key=lambda r: r[0])
    shown = f"SELECT ?p ?o WHERE {{\n  <{iri}> ?p ?o .\n}}"
    return kg.label(iri), render.local_name(str(iri)), rows, shown


def run_sparql(pool: BackendPool, text: str, *, timeout_s: float = 10.0,
               max_rows: int = 200) -> tuple[list[str], list[list[str]], str]:
    """(headers, rows, a note) for a query typed in the Explore tab: read-only, on the pack's graph only, under
    a time limit (``kqa.kb.sparql_guard``); a refused or failed query raises KqaError saying why."""
    from kqa.kb.graph import PREFIXES
    from kqa.kb.sparql_guard import check_readonly, run_readonly

    check_readonly(text, prefixes=PREFIXES)
    kg = knowledge_graph(pool)
    result = run_readonly(kg.graph, text, prefixes=PREFIXES, timeout_s=timeout_s, max_rows=max_rows)
    rows = [["" if term is None else str(term) for term in row] for row in result.rows]
    note = f"{result.form}: {len(rows)} row(s)" + (f" (the first {max_rows})" if result.truncated else "")
    return list(result.columns), rows, note


def entity_passages(pool: BackendPool, code: str) -> list:
    from kqa.kb.corpus import load_corpus

    corpus = pool.shared(("corpus", str(pool.options.pack)), lambda: load_corpus(pool.pack().corpus_path))
    return [p for p in corpus if p.id.startswith(code + "/")]


def latest_run(runs_dir: Path | None) -> Path | None:
    """The newest folder under ``runs_dir`` (or ``runs_dir`` itself) that holds a results.json."""
    if runs_dir is None or not Path(runs_dir).is_dir():
        return None
    found = [p.parent for p in Path(runs_dir).glob("**/results.json")]
    return max(found, key=lambda p: (p / "results.json").stat().st_mtime) if found else None


METRIC_COLUMNS = ("n", "accuracy", "exact_match", "f1", "wrong_rate", "abstention_rate", "errors")


def metrics_rows(results: Mapping[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """results.json -> a table a person reads: one row per backend, metrics then latency then any
    construction figures the run recorded."""
    metrics = results.get("metrics") or {}
    timing = results.get("timing") or {}
    construction = results.get("construction") or results.get("cost") or {}
    extra: list[str] = []
    for name in results.get("backends") or metrics:
        for key, value in (construction.get(name) or {}).items() if isinstance(construction, Mapping) else ():
            if isinstance(value, (int, float, str)) and key not in extra:
                extra.append(key)
    headers = ["backend", *METRIC_COLUMNS, "latency p50 (ms)", *extra]
    rows = []
    for name in results.get("backends") or metrics:
        m = metrics.get(name) or {}
        cost = construction.get(name) or {} if isinstance(construction, Mapping) else {}
        rows.append([name, *(m.get(c) for c in METRIC_COLUMNS), (timing.get(name) or {}).get("latency_p50_ms"),
                     *(cost.get(c) for c in extra)])
    return headers, rows


# ------------------------------------------------------------------------------------------------ the app


def build_app(pool: BackendPool, backends: Sequence[str], *, runs_dir: Path | str | None = None,
              timeout_s: float | None = TIMEOUT_S):
    """The Blocks app. ``runs_dir`` is where Batch writes runs and Tradeoff reads the latest one
    (default ``$KQA_HOME/runs``, where ``kqa eval`` writes too); ``timeout_s`` is how long Ask waits for
    each backend."""
    import gradio as gr

    backends = list(backends)
    runs_dir = _runs_dir(runs_dir)
    examples = pack_examples(pool)

    with gr.Blocks(title="kqa: one question, three kinds of knowledge") as app:
        gr.Markdown(
            "# kqa: one question, three kinds of knowledge\n"
            "The same question answered from a **knowledge graph** (hard to build, easy to reason over), "
            "from **retrieved text** read by a small language model (easy to build, harder to reason over), and "
            "by the **language model alone** (nothing to build; only as good as what its weights remember).",
            elem_classes="kqa-title")
        with gr.Tab("Ask"):
            with gr.Row(equal_height=True):
                question = gr.Textbox(label="Question", value=examples[0][1], scale=5, autofocus=True,
                                      elem_id="kqa-question")
                choices = gr.Textbox(label="Choices (optional, separated by ;)", scale=2,
                                     placeholder="Paris; Lima; Quito; Bogota", elem_id="kqa-choices")
                ask = gr.Button("Ask", variant="primary", scale=0, min_width=140, elem_id="kqa-ask")
            with gr.Accordion("Options", open=False):
                with gr.Row():
                    k = gr.Slider(1, 20, value=pool.options.k, step=1, label="k (passages retrieved)")
                    mode = gr.Radio(list(MODES), value=pool.options.mode, label="prompt mode (model alone)")
                    presets = list(dict.fromkeys([pool.options.model, *PRESETS]))
                    model = gr.Dropdown(presets, value=pool.options.model, label="language model",
                                        allow_custom_value=True)
                    runtime = gr.Dropdown(runtimes(pool), value=pool.options.runtime, label="model runtime",
                                          elem_id="kqa-runtime")
            gr.Examples([[q, c] for _, q, c in examples], inputs=[question, choices],
                        example_labels=[f"{t}: {q}" + (f" [{c}]" if c else "") for t, q, c in examples],
                        label="One question of each type", examples_per_page=len(examples))
            agree = gr.HTML(render.agreement_html({}, pending=[]), elem_id="kqa-agreement")
            cards, details = [], []
            with gr.Row(equal_height=False):
                for name in backends:
                    with gr.Column(min_width=260, elem_id=f"kqa-col-{name}"):
                        cards.append(gr.HTML(render.waiting_card(name).replace("thinking…", "—"),
                                             elem_id=f"kqa-card-{name}"))
                        details.append(gr.HTML("", elem_id=f"kqa-details-{name}"))

            def on_ask(question_text: str, choices_text: str, k_value: float, mode_value: str, model_value: str,
                       runtime_value: str | None = None):
                if not question_text or not question_text.strip():
                    raise gr.Error("Type a question first.")
                if len(question_text) > MAX_QUESTION_CHARS:
                    raise gr.Error(f"The question is {len(question_text):,} characters long; at most "
                                   f"{MAX_QUESTION_CHARS:,} are read.")
                overrides = changed_options(pool, k=int(k_value), mode=mode_value, model=model_value,
                                            runtime=runtime_value)
                shown: dict[str, Column] = {}
                for columns in stream_answers(pool, backends, question_text.strip(), parse_choices(choices_text),
                                              overrides, timeout_s=timeout_s):
                    out: list[Any] = [agreement(columns)]
                    for name in backends:
                        column = columns[name]
                        if shown.get(name) is column:
                            out += [gr.skip(), gr.skip()]
                            continue
                        shown[name] = column
                        out += [column.card, column.details]
                    yield out

            outputs = [agree]
            for card, detail in zip(cards, details):
                outputs += [card, detail]
            inputs = [question, choices, k, mode, model, runtime]
            # many questions at once: each waits on its backends' lanes (``Lanes``), not on other questions
            ask.click(on_ask, inputs, outputs, show_progress="hidden", concurrency_limit=ASK_CONCURRENCY,
                      concurrency_id="ask", api_name="ask")
            question.submit(on_ask, inputs, outputs, show_progress="hidden", concurrency_limit=ASK_CONCURRENCY,
                            concurrency_id="ask")

        with gr.Tab("Batch"):
            _batch_tab(gr, pool, backends, runs_dir, k, mode, model, runtime)
        with gr.Tab("Tradeoff"):
            _tradeoff_tab(gr, pool, runs_dir)
        with gr.Tab("Explore"):
            _explore_tab(gr, pool, backends)
    return app


def _batch_tab(gr, pool: BackendPool, backends: list[str], runs_dir: Path, k, mode, model, runtime) -> None:
    gr.Markdown("Score the backends on a question set. Answers are written as they come; the table and plots "
                "come from `kqa.eval.runner`, the same scorer as `kqa eval`.")
    with gr.Row():
        source = gr.Radio(["pack: dev", "pack: test", "uploaded file"], value="pack: dev", label="questions")
        upload = gr.File(label="question file (kqa JSONL, NQ-open or CommonsenseQA)", file_types=[".jsonl"],
                         type="filepath")
        sample = gr.Number(value=50, precision=0, minimum=0, label="sample size (0 = all)")
        seed = gr.Number(value=13, precision=0, label="seed")
    chosen = gr.CheckboxGroup(backends, value=backends, label="backends")
    run = gr.Button("Run", variant="primary")
    status = gr.Markdown()
    table = gr.Dataframe(label="metrics", interactive=False)
    plots = gr.Gallery(label="plots", columns=3, height="auto")
    files = gr.File(label="download results", file_count="multiple", interactive=False)

    def on_run(source_value, upload_path, sample_value, seed_value, chosen_backends, k_value, mode_value,
               model_value, runtime_value, progress=gr.Progress()):
        from kqa.eval.construction import construction_costs
        from kqa.eval.runner import run_eval
        from kqa.kb.errors import KqaError
        from kqa.kb.questions import load_questions

        if not chosen_backends:
            raise gr.Error("Choose at least one backend.")
        try:
            if source_value == "uploaded file":
                if not upload_path:
                    raise gr.Error("Upload a question file first.")
                path, split = Path(upload_path), None
            else:
                path, split = pool.pack().questions_path, source_value.split(": ")[1]
            questions = load_questions(path, split=split)
            n = int(sample_value or 0)
            if 0 < n < len(questions):
                keep = sorted(random.Random(int(seed_value or 0)).sample(range(len(questions)), n))
                questions = [questions[i] for i in keep]
            overrides = changed_options(pool, k=int(k_value), mode=mode_value, model=model_value,
                                        runtime=runtime_value)
            progress(0, desc="loading backends")
            loaded = {name: pool.get(name, **overrides) for name in chosen_backends}
            out_dir = runs_dir / f"{dt.datetime.now():%Y%m%d-%H%M%S}-app"
            config = {"source": str(path), "split": split, "sample": n, "seed": int(seed_value or 0),
                      "options": options_record(pool.options.with_(**overrides))}
            used = pool.options.with_(**overrides)
            construction = construction_costs(list(loaded), pack=used.pack, model=used.model,
                                              model_cache=used.model_cache, index_kind=used.index_kind,
                                              cache_dir=used.cache_dir)
            result = run_eval(loaded, questions, out_dir, config=config, construction=construction,
                              progress=lambda done, total, message: progress((done, total), desc=message))
        except KqaError as err:
            raise gr.Error(str(err)) from None
        headers, rows = metrics_rows(result.results)
        pngs = sorted(str(p) for p in out_dir.glob("*.png"))
        downloads = [str(out_dir / f) for f in ("results.json", "answers.csv", "answers.jsonl")
                     if (out_dir / f).exists()]
        note = f"{len(questions)} questions × {len(loaded)} backends → `{out_dir}`"
        return note, gr.update(value=rows, headers=headers), pngs, downloads

    run.click(on_run, [source, upload, sample, seed, chosen, k, mode, model, runtime], [status, table, plots, files],
              concurrency_limit=1, concurrency_id="batch", api_name="batch")


def _tradeoff_tab(gr, pool: BackendPool, runs_dir: Path) -> None:
    gr.Markdown("What each kind of knowledge costs to construct against how well it answers, from the latest "
                f"scoring run under `{runs_dir}` (`kqa eval` or the Batch tab).")
    refresh = gr.Button("Load the latest run")
    where = gr.Markdown()
    table = gr.Dataframe(label="accuracy and cost by backend", interactive=False)
    build = gr.Dataframe(label="what the pack cost to build (from its manifest)", interactive=False)
    plots = gr.Gallery(label="plots", columns=3, height="auto")

    def on_refresh():
        build_rows = []
        try:
            manifest = pool.pack().manifest
            counts = manifest.get("counts") or {}
            for stage, seconds in (manifest.get("stage_seconds") or {}).items():
                build_rows.append([stage, seconds])
            for key in ("triples", "passages", "questions"):
                if key in counts:
                    build_rows.append([key, counts[key]])
        except Exception:  # noqa: BLE001 - a missing pack only empties this table
            pass
        build_update = gr.update(value=build_rows or None, headers=["stage / count", "seconds / number"])
        run = latest_run(runs_dir)
        if run is None:
            return (f"No scoring run under `{runs_dir}` yet: run `kqa eval` or use the Batch tab.",
                    None, build_update, [])
        results = json.loads((run / "results.json").read_text(encoding="utf-8"))
        headers, rows = metrics_rows(results)
        note = f"Run `{run.name}`: {results.get('questions', '?')} questions, finished " \
               f"{(results.get('timing') or {}).get('finished_at', '?')}"
        return note, gr.update(value=rows, headers=headers), build_update, sorted(str(p) for p in run.glob("*.png"))

    refresh.click(on_refresh, None, [where, table, build, plots], api_name="tradeoff")


def _explore_tab(gr, pool: BackendPool, backends: list[str]) -> None:
    gr.Markdown("Look up one country: its facts in the graph, its passages in the corpus, and what the model "
                "alone says about it.")
    with gr.Row(equal_height=True):
        name = gr.Textbox(label="Country", value="Peru", scale=4)
        go = gr.Button("Look up", variant="primary", scale=1)
    with gr.Row():
        with gr.Column():
            facts = gr.Dataframe(label="facts in the knowledge graph", interactive=False, wrap=True)
            sparql = gr.Code(label="SPARQL", language="sql", interactive=False)
        with gr.Column():
            passages = gr.HTML(label="passages")
        with gr.Column():
            model_table = gr.Dataframe(label="the model alone vs the graph", interactive=False, wrap=True)

    def on_lookup(text: str):
        from kqa.kb.errors import KqaError

        if not text or not text.strip():
            raise gr.Error("Type a country name.")
        try:
            label, code, rows, query = entity_facts(pool, text.strip())
        except KqaError as err:
            raise gr.Error(str(err)) from None
        found = entity_passages(pool, code)
        items = "".join(f'<div class="kqa-passage"><div class="kqa-pid"><code>{render.esc(p.id)}</code> '
                        f"{render.esc(p.section)}</div><div>{render.esc(p.text[:400])}</div></div>"
                        for p in found[:15])
        passages_html = (f'<div class="kqa-details"><div class="kqa-sec">{len(found)} passages about '
                         f"{render.esc(label)}</div>{items}</div>")
        facts_update = gr.update(value=[list(r) for r in rows], headers=["relation", "value"])
        graph_says = {}
        for relation, value in rows:
            graph_says.setdefault(relation, []).append(value)
        waiting = [[q.format(name=label), "…", "; ".join(graph_says.get(r, []))] for r, q in EXPLORE_QUESTIONS]
        yield facts_update, query, passages_html, gr.update(value=waiting, headers=["question", "model says",
                                                                                     "graph says"])
        if "closed_book" not in backends:
            return
        answered = []
        for relation, template in EXPLORE_QUESTIONS:
            question = template.format(name=label)
            try:
                answer = pool.get("closed_book").answer(question)
                said = answer.text if answer.text is not None else f"(abstained: {answer.meta.get('reason', '')})"
            except Exception as err:  # noqa: BLE001 - the model's failure shows in its cell
                said = f"(error: {type(err).__name__}: {err})"
            answered.append([question, said, "; ".join(graph_says.get(relation, []))])
            rows_now = answered + waiting[len(answered):]
            yield gr.skip(), gr.skip(), gr.skip(), gr.update(value=rows_now)

    go.click(on_lookup, [name], [facts, sparql, passages, model_table], concurrency_limit=2, api_name="explore")
    name.submit(on_lookup, [name], [facts, sparql, passages, model_table], concurrency_limit=2)

    with gr.Accordion("Your own SPARQL (read-only: SELECT, ASK, CONSTRUCT, DESCRIBE; 10 s at most)", open=False):
        typed = gr.Code(value="SELECT ?capital WHERE {\n  ?country rdfs:label \"Peru\" ;\n"
                              "           kqa:capital/rdfs:label ?capital .\n}", language="sql", interactive=True,
                        label="query (prefixes kqa:, rdf:, rdfs:, skos:, xsd: are declared)", elem_id="kqa-sparql")
        run = gr.Button("Run query", elem_id="kqa-sparql-run")
        run_note = gr.Markdown()
        run_rows = gr.Dataframe(label="rows", interactive=False, wrap=True)

    def on_query(text: str):
        from kqa.kb.errors import KqaError

        try:
            headers, rows, note = run_sparql(pool, text or "")
        except KqaError as err:
            raise gr.Error(str(err)) from None
        return note, gr.update(value=rows or None, headers=headers)

    run.click(on_query, [typed], [run_note, run_rows], concurrency_limit=1, concurrency_id="sparql",
              api_name="sparql")


def _runs_dir(runs_dir: Path | str | None) -> Path:
    from kqa.apps.config import kqa_home

    return Path(runs_dir) if runs_dir is not None else kqa_home() / "runs"


def theme():
    import gradio as gr

    # system fonts only: the page loads nothing from outside the server
    return gr.themes.Soft(primary_hue="indigo", neutral_hue="slate",
                          font=["ui-sans-serif", "system-ui", "Segoe UI", "Helvetica", "Arial", "sans-serif"],
                          font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"])


def serve(pool: BackendPool, backends: Sequence[str], host: str = "127.0.0.1", port: int = 7860, *,
          runs_dir: Path | str | None = None, block: bool = True, timeout_s: float | None = TIMEOUT_S):
    """Start the app on ``host:port`` (no share link). With ``block=False`` the server runs in a thread and
    the Blocks is returned; call ``.close()`` on it to stop."""
    runs = _runs_dir(runs_dir)
    runs.mkdir(parents=True, exist_ok=True)
    app = build_app(pool, backends, runs_dir=runs, timeout_s=timeout_s)
    app.queue(default_concurrency_limit=2, max_size=256)  # a class of 30, each with a few questions queued
    app.launch(server_name=host, server_port=port, share=False, inbrowser=False, prevent_thread_lock=not block,
               quiet=not block, show_error=True, ssr_mode=False, mcp_server=False, pwa=False,
               allowed_paths=[str(runs)], theme=theme(), css=render.CSS)
    return app
