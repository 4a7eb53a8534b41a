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

from kqa.kb.text import wants_a_figure
from kqa.models.lm import LanguageModel

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

READING_INSTRUCTION = ("Answer each question with the shortest span copied from its fact: a name, a number or "
                       "a date, nothing more.")
# Worked examples (fact, question, answer) about a made-up country, so they teach the format and leak no
# Factbook answer. Each has its own fact, laid out as the question's fact will be: with one block of facts
# for all of them, gemma-3-270m copied the examples' answers ("Ruritanian crown" as Taiwan's currency) and,
# reading the best line, answered 64% of 300 dev single-hop questions; with a fact each, 71%; with the
# examples below, 77%. They show what a small model gets wrong most: titles, trailing figures and asides go;
# one fact answers a name or a figure depending on the question; "X or Y" picks one; a sub-label
# ("total:", "adjective:") is not part of the answer.
READING_EXAMPLES: tuple[tuple[str, str, str], ...] = (
    ("Ruritania - Capital: name: Strelsau", "What is the capital of Ruritania?", "Strelsau"),
    ("Ruritania - Executive branch: chief of state: King Rudolf ELPHBERG (since 3 May 2011)",
     "Who is the chief of state of Ruritania?", "Rudolf Elphberg"),
    ("Ruritania - Elevation: highest point: Mount Tarlenheim 2,310 m", "What is the highest point in Ruritania?",
     "Mount Tarlenheim"),
    ("Ruritania - Elevation: highest point: Mount Tarlenheim 2,310 m",
     "How high is the highest point of Ruritania?", "2,310 m"),
    ("Ruritania - Nationality: adjective: Ruritanian", "What adjective describes people from Ruritania?",
     "Ruritanian"),
    ("Ruritania - Exchange rates: Currency: Ruritanian crowns (RUC) per US dollar -",
     "Which currency does Ruritania use?", "Ruritanian crown"),
    ("Ruritania - Legislative branch: legislative structure: unicameral",
     "Is the legislature of Ruritania unicameral or bicameral?", "unicameral"),
    ("Ruritania - Population: total: 4,512,300 (2024 est.)", "How many people live in Ruritania?", "4,512,300"),
    ("Ruritania - Internet country code: .rt", "What is the internet country code of Ruritania?", ".rt"),
    ("Ruritania - Legal system: civil law system based on the Austrian model; judicial review by the Supreme Court",
     "What legal system does Ruritania have?", "civil law system based on the Austrian model"),
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


def shorten(text: str, max_chars: int = PASSAGE_CHARS) -> str:
    """``text`` on one line, cut at a word boundary to at most about ``max_chars`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= max_chars else text[:max_chars].rsplit(" ", 1)[0] + " ..."


def reading_prompt(lm: LanguageModel, question: str, facts: Sequence[str]) -> str:
    """A reading prompt: worked examples, each a fact, a question and its answer, then ``facts`` (the lines
    or passages that the retrieval chose, best first) and the question. For an instruct model, chat turns."""
    def block(lines: Sequence[str]) -> str:
        return "\n".join(f"Fact: {shorten(line)}" for line in lines)

    if lm.is_chat:
        messages = [{"role": "system", "content": READING_INSTRUCTION}]
        for fact, q, a in READING_EXAMPLES:
            messages += [{"role": "user", "content": f"{block([fact])}\nQuestion: {q}"},
                         {"role": "assistant", "content": a}]
        return lm.render_chat([*messages, {"role": "user", "content": f"{block(facts)}\nQuestion: {question}"}])
    shots = "".join(f"{block([fact])}\nQuestion: {q}\nAnswer: {a}\n\n" for fact, q, a in READING_EXAMPLES)
    return f"{READING_INSTRUCTION}\n\n{shots}{block(facts)}\nQuestion: {question}\nAnswer:"


def choice_continuation(lm: LanguageModel, choice: str) -> str:
    """How a choice continues an answer prompt: after "Answer:" a space; at a chat turn's start, none."""
    return choice if lm.is_chat else f" {choice}"


YES_NO = ("yes", "no")
CONTENT_FREE = "N/A"  # the content-free input of contextual calibration (Zhao et al. 2021)
# English function words: what a content-free question keeps of the question's wording
_FUNCTION_WORDS = frozenset(
    "is are was were am be been do does did can could will would shall should may might must has have had "
    "a an the of in on at to for by with from as and or not no it its this that these those there than "
    "what which who whom whose how when where why".split())
_AUXILIARY = re.compile(r"^(?:is|are|was|were|am|do|does|did|can|could|will|would|shall|should|may|might|must|"
                        r"has|have|had)\b", re.IGNORECASE)


def yes_no_question(question: str) -> bool:
    """Whether ``question`` is answered yes or no: it opens with an auxiliary verb ("Is a poodle a kind of
    dog?", "Does Peru border Chile?") and offers no alternatives ("Is it A or B?" wants A or B).

    >>> yes_no_question("Is Lima the capital of Peru?"), yes_no_question("Is the legislature unicameral or bicameral?")
    (True, False)
    """
    question = question.strip()
    return _AUXILIARY.match(question) is not None and re.search(r"\bor\b", question, re.IGNORECASE) is None


def content_free_question(question: str) -> str:
    """``question`` with every word but the function words put as "N/A" (a run of them as one): the
    content-free input of contextual calibration (Zhao et al. 2021) shaped like the question, so a model's
    lean towards yes on any question of that form is measured and can be taken off.

    >>> content_free_question("Is a machine shop a kind of test bed?")
    'Is a N/A a N/A of N/A?'
    """
    out: list[str] = []
    for token in re.findall(r"[\w'-]+|[^\w\s]", question):
        if re.match(r"\w", token) and token.lower() not in _FUNCTION_WORDS:
            token = CONTENT_FREE
            if out and out[-1] == CONTENT_FREE:
                continue
        out.append(token)
    return re.sub(r" ([?.,!;:])", r"\1", " ".join(out))


def is_yes_no(choices: Sequence[str]) -> bool:
    """Whether ``choices`` are the two words yes and no, in any order and case."""
    return len(choices) == 2 and {c.strip().lower() for c in choices} == set(YES_NO)


_TRAILING_MEASURE = re.compile(r"\s+-?\d[\d,.]*(?:\s*(?:m|km|sq km|ft|mi))?$")  # the unit may be cut off


def clean_answer(text: str, question: str | None = None) -> str | None:
    """One line of model output as a short answer: trimmed, with no trailing period, wrapping quotes or
    trailing asides in parentheses ("National Assembly (Majlis)", "1 (2025)", "Xi (since 14 March" ->
    "National Assembly", "1", "Xi"), unless the whole answer is in parentheses. Given the ``question``, a
    name followed by a measure the question did not ask for keeps the name ("What is the highest point in
    Slovenia?" "Triglav 2,864 m" -> "Triglav"): a small reader copies the whole fact."""
    text = text.strip().splitlines()[0].strip() if text.strip() else ""
    if text.endswith(".") and not re.search(r"(?:\b[A-Z]\.){2,}$", text):  # keep "U.S." and "D.C." whole
        text = text[:-1]
    while (shorter := re.sub(r"\s+\([^()]*\)?$", "", text)) != text and shorter.strip():  # even cut off
        text = shorter
    text = text.strip().strip("\"'*").strip()
    if question is not None and not wants_a_figure(question):
        name = _TRAILING_MEASURE.sub("", text)
        if re.search(r"[^\W\d]", name):  # something is left besides the figure
            text = name
    return text or None


_CODE = re.compile(r"[A-Z]{2,5}")


def spell_out(answer: str, facts: Sequence[str]) -> str:
    """An abbreviation the reader copied from a fact that defines it, as the words it stands for: "CUP" from
    "Currency: Cuban pesos (CUP) per US dollar" is "Cuban pesos". People ask for and write the name; a small
    reader copies the code after it as readily as the name. Anything else comes back unchanged.

    >>> spell_out("CUP", ["Cuba - Exchange rates: Currency: Cuban pesos (CUP) per US dollar -"])
    'Cuban pesos'
    """
    if not _CODE.fullmatch(answer):
        return answer
    for fact in facts:
        match = re.search(rf"([^:;,()]+?)\s*\({re.escape(answer)}\)", fact)
        if match:
            words = match.group(1).split()[-4:]  # the name just before the code, not the clause it ends
            name = " ".join(words).strip(" -")
            if re.search(r"[^\W\d]", name):
                return name
    return answer


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
