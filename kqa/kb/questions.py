"""Load question files: kqa JSONL (the pack's own), NQ-open style and CommonsenseQA-style multiple choice.

The format is told from each line's keys, so a user's file needs no flag:

- kqa: ``{"id", "question", "answers": [...], "type", ...}`` (see ``Question``)
- NQ-open: ``{"question": "...", "answer": ["...", ...]}``, with ``id`` and ``relation`` kept when present
- CommonsenseQA, ARC and OpenBookQA as released: ``{"id", "question": {"stem", "choices": [{"label", "text"},
  ...]}, "answerKey": "A"}`` (ARC's labels may be digits, "1".."4"; OpenBookQA's extra fields are ignored)
- the same as Hugging Face datasets export them, flat: ``{"id", "question": "...", "choices": {"label": [...],
  "text": [...]}, "answerKey": "A"}`` (OpenBookQA's export names the question ``question_stem``)

A line that fits none of these raises BadFileError naming the file and the line.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kqa.kb.errors import BadFileError
from kqa.kb.jsonl import MAX_LINE_BYTES, read_jsonl
from kqa.kb.types import Question

_TUPLE_FIELDS = ("answers", "choices", "gold_triples", "gold_passages", "answer_list")


def load_questions(path: Path | str, *, split: str | None = None,
                   max_line_bytes: int = MAX_LINE_BYTES) -> list[Question]:
    """Every question in ``path``; with ``split``, only those of that split ("dev" or "test"). A line longer
    than ``max_line_bytes`` is refused (see ``read_jsonl``)."""
    path = Path(path)
    questions = []
    for number, row in read_jsonl(path, max_line_bytes=max_line_bytes):
        questions.append(_parse_row(row, path, number))
    if not questions:
        raise BadFileError(path, "the question file is empty")
    if split is not None:
        splits = {q.split for q in questions}
        if split not in splits:
            raise BadFileError(path, f"no questions in split {split!r}", hint=f"splits here: {sorted(map(str, splits))}")
        questions = [q for q in questions if q.split == split]
    return questions


def example_questions(path: Path | str, *, per_type: int = 1) -> list[Question]:
    """What to show a person first: ``per_type`` questions of each type, types in the file's order, each the
    question about the most familiar subject (the lowest ``popularity`` rank; dev questions before test ones,
    so a test question is not shown off), so the words are ones people know ("What kind of thing is a dog?")."""
    by_type: dict[str, list[Question]] = {}
    for q in load_questions(path):
        by_type.setdefault(q.type or "question", []).append(q)

    def familiar(q: Question) -> tuple:
        return (q.split == "test", q.popularity is None, q.popularity or 0, q.id)

    return [q for group in by_type.values() for q in sorted(group, key=familiar)[:per_type]]


def _parse_row(row: dict[str, Any], path: Path, number: int) -> Question:
    stem = path.stem
    question = row.get("question", row.get("question_stem"))
    if isinstance(question, dict):  # CommonsenseQA, ARC, OpenBookQA
        return _commonsense(row, path, number)
    if "answerKey" in row or "choices" in row and "answers" not in row:  # their flat export
        return _flat_choices(row, path, number)
    if not isinstance(question, str) or not question.strip():
        raise BadFileError(path, 'each line needs a non-empty "question"', line=number)
    if "answers" in row:  # kqa
        answers = _strings(row["answers"], path, number, "answers")
        values = {k: row[k] for k in Question.__dataclass_fields__ if k in row}
        for key in _TUPLE_FIELDS:
            if values.get(key) is not None:
                values[key] = tuple(str(x) for x in values[key])
        values["answers"] = answers
        values.setdefault("id", f"{stem}/{number}")
        values["id"] = str(values["id"])
        try:
            return Question(**values)
        except TypeError as err:
            raise BadFileError(path, f"bad question fields ({err})", line=number) from None
    if "answer" in row:  # NQ-open
        answers = _strings(row["answer"], path, number, "answer")
        relation = row.get("relation")
        return Question(id=str(row.get("id", f"{stem}/{number}")), question=question.strip(), answers=answers,
                        relation=str(relation) if relation is not None else None)
    raise BadFileError(path, 'a question needs "answers" (kqa), "answer" (NQ-open) or "choices" and "answerKey" '
                       '(CommonsenseQA, ARC, OpenBookQA)', line=number)


def _strings(value: Any, path: Path, number: int, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Iterable) or not value or not all(isinstance(v, (str, int, float)) for v in value):
        raise BadFileError(path, f'"{key}" must be a non-empty list of strings', line=number)
    return tuple(str(v) for v in value)


def _commonsense(row: dict[str, Any], path: Path, number: int) -> Question:
    q = row["question"]
    stem, choices = q.get("stem"), q.get("choices", row.get("choices"))
    if not isinstance(stem, str) or not stem.strip() or not isinstance(choices, list) or not choices:
        raise BadFileError(path, 'multiple-choice lines need "question": {"stem": "...", "choices": [{"label", '
                           '"text"}, ...]}', line=number)
    try:
        labels = {str(c["label"]): str(c["text"]) for c in choices}
    except (KeyError, TypeError):
        raise BadFileError(path, 'each choice needs "label" and "text"', line=number) from None
    return _choice_question(row, stem, labels, path, number)


def _flat_choices(row: dict[str, Any], path: Path, number: int) -> Question:
    """The flat export: ``"question": "...", "choices": {"label": [...], "text": [...]}``."""
    stem, choices = row.get("question", row.get("question_stem")), row.get("choices")
    if not isinstance(stem, str) or not stem.strip():
        raise BadFileError(path, 'each line needs a non-empty "question"', line=number)
    if not isinstance(choices, dict) or not isinstance(choices.get("label"), list) or \
            not isinstance(choices.get("text"), list) or not choices["label"]:
        raise BadFileError(path, '"choices" must be {"label": [...], "text": [...]}', line=number)
    if len(choices["label"]) != len(choices["text"]):
        raise BadFileError(path, f'"choices" has {len(choices["label"])} labels but {len(choices["text"])} texts',
                           line=number)
    labels = {str(label): str(text) for label, text in zip(choices["label"], choices["text"])}
    return _choice_question(row, stem, labels, path, number)


def _choice_question(row: dict[str, Any], stem: str, labels: dict[str, str], path: Path, number: int) -> Question:
    key = row.get("answerKey")
    if key is None or str(key).strip() == "":
        raise BadFileError(path, 'a multiple-choice line needs "answerKey" (the label of the right choice); '
                           'an unlabelled test file cannot be scored', line=number)
    key = str(key).strip()
    if key not in labels:
        raise BadFileError(path, f'"answerKey" {key!r} is not one of the choice labels {sorted(labels)}', line=number)
    return Question(id=str(row.get("id", f"{path.stem}/{number}")), question=stem.strip(), answers=(labels[key],),
                    choices=tuple(labels.values()), type="multiple_choice")
