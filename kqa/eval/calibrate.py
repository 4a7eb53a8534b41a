"""Confidence thresholds picked on dev questions, so that each backend abstains when it is likely wrong.

A backend's answer carries a confidence (the graph's link and relation scores; a model reader's probability of
its greedy answer). ``best_threshold`` picks, from a run's dev answers, the threshold that maximises CRAG's
truthfulness (+1 right, 0 abstained, -1 wrong): answering only when the confidence is at least the threshold.
That is the point where an answer is right more often than wrong, so the threshold also bounds the share of
wrong answers. The thresholds are picked on the pack's dev split or on the dev half of a question file
(``in_dev_half``: a hash of the question id), never on the questions they are then scored on; ``kqa calibrate``
writes them to a JSON file that ``kqa eval`` and the app pass to the backends and to the router and the vote.

With ``by_relation``, each backend also gets a threshold per relation the questions are about (key
``"dense@capital"``, read by ``readers.combine.confident``), picked the same way on that relation's dev answers
where it has at least ``min_answers`` of them; a relation with fewer keeps the backend's own threshold. The
relation of a question is the one the graph's answer read it as (its recorded ``meta["relation"]``), never a
label of the question file, so the same thresholds apply to questions nobody labelled. A backend is right more
often on some relations than others (on a relation whose gold answers the knowledge words differently, every
answer is unsure however confident), which one threshold per backend cannot express.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kqa.kb.errors import KqaError
from kqa.kb.jsonl import atomic_write_text
from kqa.readers.combine import RELATION_KEY


def in_dev_half(question_id: str) -> bool:
    """A stable half of any question file, by a hash of the id: the half thresholds may be picked on."""
    return int(hashlib.sha256(question_id.encode()).hexdigest(), 16) % 2 == 0


def best_threshold(rows: Sequence[tuple[float | None, bool, bool]]) -> float:
    """The confidence threshold that maximises truthfulness over (confidence, correct, abstained) rows; 0.0
    (answer everything) when no threshold helps, the lowest of equally good ones otherwise. An answer without
    a confidence is always given.

    >>> best_threshold([(0.9, True, False), (0.8, True, False), (0.3, False, False), (0.2, False, False)])
    0.8
    """
    answered = [(c, ok) for c, ok, abstained in rows if not abstained and c is not None]
    candidates = sorted({c for c, _ in answered})
    if candidates:
        candidates.append(candidates[-1] + 0.0001)  # above every answer: abstain from all of them
    best, best_score = 0.0, sum(1 if ok else -1 for _, ok in answered)
    for t in candidates:
        score = sum(1 if ok else -1 for c, ok in answered if c >= t)
        if score > best_score:
            best, best_score = t, score
    return round(best, 4)


def calibrate(records: Iterable[Mapping[str, Any]], *, dev_half: bool = False, by_relation: bool = False,
              min_answers: int = 10, relation_from: str = "graph") -> dict[str, float]:
    """backend -> threshold from a run's answer records (answers.jsonl lines); with ``dev_half``, only the
    questions ``in_dev_half`` count. Perturbed copies (ids with "~") never count. With ``by_relation``, also
    "backend@relation" -> threshold for each relation ``relation_from``'s answers read the questions as, where
    the backend answered at least ``min_answers`` of them.

    >>> rows = [{"question_id": f"q{i}", "backend": "graph", "confidence": 1.0, "correct": i % 3 == 0,
    ...          "abstained": False, "meta": {"relation": "capital" if i % 3 == 0 else "government"}}
    ...         for i in range(30)]
    >>> calibrate(rows, by_relation=True)
    {'graph': 1.0001, 'graph@capital': 0.0, 'graph@government': 1.0001}
    """
    kept = [r for r in records if "~" not in r["question_id"]
            and not (dev_half and not in_dev_half(r["question_id"]))]
    relation_of = {r["question_id"]: (r.get("meta") or {}).get("relation") for r in kept
                   if r["backend"] == relation_from} if by_relation else {}
    rows: dict[str, list[tuple[float | None, bool, bool]]] = {}
    for r in kept:
        row = (r["confidence"], bool(r["correct"]), bool(r["abstained"]))
        rows.setdefault(r["backend"], []).append(row)
        relation = relation_of.get(r["question_id"])
        if isinstance(relation, str) and relation:
            rows.setdefault(RELATION_KEY.format(backend=r["backend"], relation=relation), []).append(row)
    return {key: best_threshold(key_rows) for key, key_rows in sorted(rows.items())
            if "@" not in key or sum(not abstained for _, _, abstained in key_rows) >= min_answers}


def write_thresholds(path: Path, thresholds: Mapping[str, float], *, source: str, questions: int) -> Path:
    atomic_write_text(path, json.dumps({"thresholds": dict(thresholds), "picked_on": source,
                                        "questions": questions}, indent=1) + "\n")
    return path


def load_thresholds(path: Path) -> dict[str, float]:
    """backend -> threshold from a file ``write_thresholds`` wrote; a clear error for anything else."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return {str(k): float(v) for k, v in data["thresholds"].items()}
    except FileNotFoundError:
        raise KqaError(f"no calibration file at {path}; run `kqa calibrate RUN_DIR` on a dev run first") from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise KqaError(f"{path} is not a calibration file (want {{\"thresholds\": {{backend: number}}}}); "
                       "write it again with `kqa calibrate RUN_DIR`") from None


__all__ = ["best_threshold", "calibrate", "in_dev_half", "load_thresholds", "write_thresholds"]
