"""Prompts for the readers, and getting the answer back out of what a model wrote.

Base models get few-shot text (``Question: ... / Answer: ...``); instruct models get the same examples as
chat turns rendered with their own chat template (``lm.render_chat``). The examples are fixed, few and
deliberately about chemistry, literature and arithmetic, not about countries, so they leak no answer to the
Factbook questions kqa is scored on. Nothing here runs a model.

Example::

    extract_answer("Lima is in Peru. So the answer is Lima.")   # "Lima"
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kqa.kb.types import Evidence
from kqa.readers.lm import LanguageModel

DIRECT_INSTRUCTION = "Answer each question with a short answer: a name, a number or a few words."
DIRECT_EXAMPLES: tuple[tuple[str, str], ...] = (
    ("What is the chemical symbol for gold?", "Au"),
    ("Who wrote the play Romeo and Juliet?", "William Shakespeare"),
    ("How many legs does a spider have?", "8"),
)

# Chain-of-thought exemplars (Wei et al. 2022): a short rationale that ends in one fixed phrase, so the answer
# can be read from the end of whatever the model writes.
COT_INSTRUCTION = "Answer each question. Think step by step, then finish with \"So the answer is ...\"."
COT_EXAMPLES: tuple[tuple[str, str], ...] = (
    ("What is the chemical symbol of the element named after the planet Uranus?",
     "The element named after Uranus is uranium. The chemical symbol of uranium is U. So the answer is U."),
    ("Which is longer, a marathon or a half marathon?",
     "A marathon is 42.2 km. A half marathon is 21.1 km. 42.2 km is more than 21.1 km. "
     "So the answer is a marathon."),
    ("How many sides do two triangles have together?",
     "A triangle has 3 sides. Two triangles have 2 x 3 = 6 sides. So the answer is 6."),
)

READING_INSTRUCTION = ("Answer the question from the passages. Answer with a short span copied from the "
                       "passages, or \"unknown\" if they do not say.")
READING_EXAMPLE = (
    ("The Thames is a river that flows through southern England, including London. At 346 km, it is the "
     "longest river entirely in England.",),
    "How long is the Thames?",
    "346 km",
)

ANSWER_TRIGGER = "So the answer is"  # the exemplars' closing phrase; also the second-stage trigger
COT_STOP = ("\n\n", "\nQuestion:")  # a rationale may span lines; the next exemplar would start here
DIRECT_STOP = ("\n",)
PASSAGE_CHARS = 700  # per passage in a reading prompt: 4 passages stay well inside a small model's context


def _few_shot(instruction: str, examples: Sequence[tuple[str, str]], question: str) -> str:
    shots = "".join(f"Question: {q}\nAnswer: {a}\n\n" for q, a in examples)
    return f"{instruction}\n\n{shots}Question: {question}\nAnswer:"


def _chat(lm: LanguageModel, instruction: str, examples: Sequence[tuple[str, str]], question: str) -> str:
    messages = [{"role": "system", "content": instruction}]
    for q, a in examples:
        messages += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    messages.append({"role": "user", "content": question})
    return lm.render_chat(messages)


def direct_prompt(lm: LanguageModel, question: str) -> str:
    """A few-shot prompt whose answer is the next line; for an instruct model, chat turns."""
    if lm.is_chat:
        return _chat(lm, DIRECT_INSTRUCTION, DIRECT_EXAMPLES, question)
    return _few_shot(DIRECT_INSTRUCTION, DIRECT_EXAMPLES, question)


def cot_prompt(lm: LanguageModel, question: str) -> str:
    """A few-shot chain-of-thought prompt (Wei et al. 2022)."""
    if lm.is_chat:
        return _chat(lm, COT_INSTRUCTION, COT_EXAMPLES, question)
    return _few_shot(COT_INSTRUCTION, COT_EXAMPLES, question)


def format_passages(passages: Sequence[Evidence], *, max_chars: int = PASSAGE_CHARS) -> str:
    lines = []
    for i, passage in enumerate(passages, 1):
        text = " ".join(passage.text.split())
        if len(text) > max_chars:
            text = text[:max_chars].rsplit(" ", 1)[0] + " ..."
        lines.append(f"[{i}] {text}")
    return "\n".join(lines)


def reading_prompt(lm: LanguageModel, question: str, passages: Sequence[Evidence]) -> str:
    """A reading-comprehension prompt: one worked example, then the retrieved passages and the question."""
    example_passages, example_question, example_answer = READING_EXAMPLE
    example = f"Passages:\n[1] {example_passages[0]}\nQuestion: {example_question}"
    current = f"Passages:\n{format_passages(passages)}\nQuestion: {question}"
    if lm.is_chat:
        return lm.render_chat([
            {"role": "system", "content": READING_INSTRUCTION},
            {"role": "user", "content": example}, {"role": "assistant", "content": example_answer},
            {"role": "user", "content": current},
        ])
    return f"{READING_INSTRUCTION}\n\n{example}\nAnswer: {example_answer}\n\n{current}\nAnswer:"


def choice_continuation(lm: LanguageModel, choice: str) -> str:
    """How a choice continues an answer prompt: after "Answer:" a space; at a chat turn's start, none."""
    return choice if lm.is_chat else f" {choice}"


def clean_answer(text: str) -> str | None:
    """One line of model output as a short answer: trimmed, with no trailing period or wrapping quotes."""
    text = text.strip().splitlines()[0].strip() if text.strip() else ""
    if text.endswith(".") and not re.search(r"(?:\b[A-Z]\.){2,}$", text):  # keep "U.S." and "D.C." whole
        text = text[:-1]
    text = text.strip().strip("\"'*").strip()
    return text or None


def extract_answer(rationale: str) -> str | None:
    """The answer at the end of a chain-of-thought rationale ("... So the answer is X."), else None."""
    for line in reversed([line.strip() for line in rationale.strip().splitlines() if line.strip()]):
        # The last sentence that states the answer wins; earlier ones may be intermediate steps.
        matches = [m for m in re.finditer(r"the\s+(?:final\s+)?answer\s+is\s*:?\s*", line, re.IGNORECASE)]
        if matches:
            tail = line[matches[-1].end():]
            tail = re.split(r"(?<=[a-z0-9)])\.\s", tail, maxsplit=1)[0]  # stop at the end of that sentence
            return clean_answer(tail)
    return None
