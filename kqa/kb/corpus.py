"""Load a passage corpus: kqa JSONL ({"id", "title", "section", "text"}) or a folder of .txt files."""

from __future__ import annotations

from pathlib import Path

from kqa.kb.errors import BadFileError
from kqa.kb.jsonl import MAX_LINE_BYTES, read_jsonl
from kqa.kb.types import Passage


def load_corpus(path: Path | str, *, max_line_bytes: int = MAX_LINE_BYTES) -> list[Passage]:
    """Passages from a JSONL file or a folder of text files (one passage per blank-line-separated block). A
    JSONL line longer than ``max_line_bytes`` is refused (see ``read_jsonl``).

    >>> load_corpus("pack/corpus.jsonl")[0].id  # doctest: +SKIP
    'af/introduction/0'
    """
    path = Path(path)
    if path.is_dir():
        return _load_text_folder(path)
    passages: list[Passage] = []
    seen: set[str] = set()
    for number, row in read_jsonl(path, max_line_bytes=max_line_bytes):
        text = row.get("text")
        if not isinstance(text, str) or not text.strip():
            raise BadFileError(path, "a passage needs a non-empty \"text\"", line=number)
        pid = str(row.get("id") or f"{path.stem}/{number}")
        if pid in seen:
            raise BadFileError(path, f"duplicate passage id {pid!r}", line=number)
        seen.add(pid)
        passages.append(
            Passage(id=pid, title=str(row.get("title") or ""), section=str(row.get("section") or ""), text=text.strip())
        )
    if not passages:
        raise BadFileError(path, "the corpus has no passages")
    return passages


def _load_text_folder(folder: Path) -> list[Passage]:
    passages = []
    for file in sorted(folder.rglob("*.txt")):
        blocks = [b.strip() for b in file.read_text(encoding="utf-8").split("\n\n") if b.strip()]
        stem = file.relative_to(folder).with_suffix("").as_posix()
        passages += [Passage(id=f"{stem}/{i}", title=file.stem, section="", text=b) for i, b in enumerate(blocks)]
    if not passages:
        raise BadFileError(folder, "no .txt passages in this folder")
    return passages
