"""``ContextReader``: retrieval-augmented answering. A retriever finds the top-k passages, a line selector
keeps the few lines of them that bear on the question, and a language model reads those and writes a short
span; a question with choices is answered by the log-likelihood of each choice after them, and so is a
question answered yes or no, calibrated (``_lm_answers.choose``). Without a selector the model reads the
passages whole (worth it only for a model far larger than the default: see ``retrievers/lines``).

It is the reader of the ``dense`` backend, and of any other backend made of a passage retriever and a model
(``bm25``, ``hybrid``): the backend's name is given by the caller. The answer's evidence is the passages in
rank order, with their retrieval scores; its ``trace`` (a ``CorpusTrace``) names the retriever, ``k``, the
passages with their scores, the lines the model read and the model. This file ranks nothing (that is the retriever's job) and keeps no
index.

``hint``, when given, says what a question asks about as another kind of knowledge reads it (the app passes
the graph's reading, ``GraphRetriever.reading``: "national anthem"); the line selector ranks the lines
against the question told it (``retrievers/lines``), a question the model answers in its own words that asks
for a relation's value without naming it is read with what it asks for after it ("What song is Grenada's
anthem? (asks for the national anthem)": told so, the 270M model reads "Sultan and Prime Minister HAITHAM bin
Tarik Al Said" for who runs Oman's government, where it stopped at the title; ``told``), and the answer's
``meta["hint"]`` records the hint. A question with choices (or yes or no) is read as asked: its choices already
say what it asks for. Without a graph, or when no relation of it
fits the question, the hint is None and nothing changes.

Example::

    reader = ContextReader(FaissRetriever(...), lm, selector=LineSelector(encoder), k=5, name="dense")
    reader.answer("What is the capital of Peru?").evidence[0].id   # "passage:pe/government/3"
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence

from kqa.kb.text import clean_question
from kqa.kb.types import Evidence
from kqa.readers._lm_answers import LMReader, choice_answer, choose, greedy_answer
from kqa.models.lm import LanguageModel
from kqa.readers.prompts import (CONTENT_FREE, DIRECT_STOP, YES_NO, content_free_question, reading_prompt,
                                 yes_no_question)
from kqa.readers.types import Answer, CorpusTrace, Passage, abstain
from kqa.retrievers.base import Retriever
from kqa.retrievers.lines import Hint, LineSelector


class ContextReader(LMReader):
    """Retrieve ``k`` passages, keep their ``lines`` best lines (all of each passage without a selector),
    then read them with ``lm``."""

    def __init__(
        self,
        retriever: Retriever,
        lm: LanguageModel,
        *,
        selector: LineSelector | None = None,
        k: int = 5,
        lines: int = 1,
        name: str = "dense",
        abstain_below: float = 0.0,
        max_new_tokens: int = 16,
        rewrite: Callable[[str], str] | None = None,
        hint: Callable[[str], Hint | None] | None = None,
    ):
        self.retriever, self.lm, self.selector, self.name = retriever, lm, selector, name
        self.k, self.lines = k, lines
        self.abstain_below, self.max_new_tokens, self.rewrite = abstain_below, max_new_tokens, rewrite
        self.hint = hint  # question -> what it asks about, as another kind of knowledge reads it, or None
        self._calibration: dict[tuple[str, ...], list[float]] = {}  # content-free yes/no scores

    def _facts(self, questions: Sequence[str], retrieved: Sequence[list[Evidence]],
               hints: Sequence[Hint | None]) -> list[list[str]]:
        """What the model reads for each question: the selected lines, each after its passage's title."""
        if self.selector is None:
            return [[e.text for e in passages] for passages in retrieved]
        chosen = self.selector.select_many(questions, retrieved, m=self.lines, hints=hints)
        return [[f"{line.title} - {line.text}" if line.title else line.text for line in lines] for lines in chosen]

    def _trace(self, passages: Sequence[Evidence], lines: Sequence[str]) -> CorpusTrace:
        return CorpusTrace(retriever=self.retriever.name, k=self.k, model=self.lm.model_id,
                           passages=tuple(Passage(e.id, e.score) for e in passages), lines=tuple(lines))

    def _answer(self, items: Sequence[tuple[str, tuple[str, ...] | None]]) -> list[Answer]:
        # a question answered yes or no is scored as those two choices, calibrated (``_lm_answers.choose``)
        items = [(clean_question(q), choices or (YES_NO if yes_no_question(q) else None)) for q, choices in items]
        t = time.perf_counter()
        hints = [self.hint(q) if self.hint is not None else None for q, _ in items]
        retrieved = self.retriever.retrieve_many([q for q, _ in items], k=self.k)
        facts = self._facts([q for q, _ in items], retrieved, hints)
        retrieve_ms = (time.perf_counter() - t) * 1000 / max(len(items), 1)
        out: list[Answer | None] = [None] * len(items)
        to_generate: list[int] = []
        prompts: dict[int, str] = {}
        for i, ((question, choices), passages) in enumerate(zip(items, retrieved)):
            meta = {"model": self.lm.model_id, "k": self.k, "retriever": self.retriever.name, "facts": facts[i],
                    "hint": _label(hints[i])}
            if not passages:
                out[i] = abstain(question, self.name, "retrieval found no passages", latency_ms=retrieve_ms,
                                 trace=self._trace(passages, facts[i]), **meta)
                continue
            prompts[i] = reading_prompt(self.lm, question if choices else told(question, hints[i]), facts[i])
            if choices:
                t = time.perf_counter()
                choice = choose(self.lm, prompts[i], choices, cache=self._calibration,
                                content_free=reading_prompt(self.lm, content_free_question(question), [CONTENT_FREE]))
                out[i] = choice_answer(question, choice, backend=self.name, abstain_below=self.abstain_below,
                                       latency_ms=retrieve_ms + (time.perf_counter() - t) * 1000,
                                       evidence=tuple(passages), meta={**meta, "prompt": prompts[i]},
                                       trace=self._trace(passages, facts[i]))
            else:
                to_generate.append(i)
        if to_generate:
            t = time.perf_counter()
            generations = self.lm.generate([prompts[i] for i in to_generate], max_new_tokens=self.max_new_tokens,
                                           stop=DIRECT_STOP)
            read_ms = (time.perf_counter() - t) * 1000 / len(to_generate)  # each question's share of the batch
            for i, generation in zip(to_generate, generations):
                question = items[i][0]
                passages: list[Evidence] = retrieved[i]
                meta = {"model": self.lm.model_id, "k": self.k, "retriever": self.retriever.name,
                        "facts": facts[i], "hint": _label(hints[i]), "prompt": prompts[i], "batch": len(to_generate)}
                answer = greedy_answer(question, generation, backend=self.name, abstain_below=self.abstain_below,
                                       latency_ms=retrieve_ms + read_ms, evidence=tuple(passages), meta=meta,
                                       trace=self._trace(passages, facts[i]), facts=facts[i])
                out[i] = answer
        return out  # type: ignore[return-value]  # every slot is filled above


def told(question: str, hint: Hint | None) -> str:
    """The question as the model reads it: with what it asks for after it ("(asks for the currency)") when the
    hint says it asks for a relation's value and the question's own words do not name that relation; as asked
    otherwise (told "asks for the population" of "What is the population of ...?", or the anthem of "Whose anthem
    is ...?", the 270M model answered worse on the Factbook's test questions)."""
    if hint is None or not hint.asks_value or _words(hint.label) <= _words(question):
        return question
    return f"{question} (asks for the {hint.label})"


def _words(text: str) -> set[str]:
    """Lower-case words, a plural's final s dropped: what a label shares with a question's wording."""
    return {w[:-1] if len(w) > 3 and w.endswith("s") else w for w in re.findall(r"\w+", text.casefold())}


def _label(hint: Hint | None) -> str | None:
    """What an answer's meta records of its hint: the relation's label."""
    return hint.label if hint is not None else None
