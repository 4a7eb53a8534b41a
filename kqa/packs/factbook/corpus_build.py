"""Cut the Factbook's own prose into passages of about 100-250 words, one section at a time.

Each field is written as the Factbook writes it ("Capital: name: Lima"), HTML removed; fields of a section
are packed into passages in order, never across sections, and a field repeated word for word in an
earlier section (the Factbook prints "Climate" under Geography and Environment) is kept once. Passage ids
are stable: ``<code>/<section slug>/<n>``. Nothing here is generated from the triples.
"""

from __future__ import annotations

import re

from kqa.packs.factbook.parse import FactbookEntry, iter_sections
from kqa.kb.types import Passage

MIN_WORDS = 100
MAX_WORDS = 250


def _section_slug(section: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", section.lower()).strip("-")


def _field_line(path: str, text: str) -> str:
    parts = [p.strip() for p in path.split("/") if p.strip()]
    # "Real GDP (purchasing power parity)/Real GDP (purchasing power parity) 2024" reads once.
    if len(parts) > 1 and parts[-1].startswith(parts[-2]):
        parts = parts[:-2] + [parts[-1]]
    return f"{': '.join(parts)}: {text}"


def _split_long(line: str, limit: int) -> list[str]:
    """A field longer than a passage is cut at sentence ends (or at words, for a run-on list)."""
    sentences = re.split(r"(?<=[.;!?])\s+", line)
    chunks, current = [], []
    for sentence in sentences:
        words = sentence.split()
        while len(words) > limit:  # one sentence longer than a passage
            if current:
                chunks.append(" ".join(current))
                current = []
            chunks.append(" ".join(words[:limit]))
            words = words[limit:]
        if len(current) + len(words) > limit and current:
            chunks.append(" ".join(current))
            current = []
        current += words
    if current:
        chunks.append(" ".join(current))
    return chunks


def build_passages(entry: FactbookEntry, title: str) -> list[Passage]:
    """The passages of one country, in the Factbook's order."""
    passages: list[Passage] = []
    seen_texts: set[str] = set()
    for section, fields in iter_sections(entry):
        slug = _section_slug(section)
        lines: list[str] = []
        for path, text in fields:
            if not text or text in seen_texts:
                continue
            seen_texts.add(text)
            line = _field_line(path, text)
            lines += _split_long(line, MAX_WORDS) if len(line.split()) > MAX_WORDS else [line]
        chunks: list[list[str]] = []
        current: list[str] = []
        count = 0
        for line in lines:
            n = len(line.split())
            if current and count + n > MAX_WORDS:
                chunks.append(current)
                current, count = [], 0
            current.append(line)
            count += n
            if count >= MIN_WORDS * 1.5:
                chunks.append(current)
                current, count = [], 0
        if current:
            # A short tail joins the previous passage of the section when that stays under the limit.
            if chunks and count < MIN_WORDS and sum(len(x.split()) for x in chunks[-1]) + count <= MAX_WORDS:
                chunks[-1] += current
            else:
                chunks.append(current)
        for i, chunk in enumerate(chunks):
            # one field a line, as a person reads the Factbook
            passages.append(Passage(id=f"{entry.code}/{slug}/{i}", title=title, section=section, text="\n".join(chunk)))
    return passages
