"""Load a passage corpus: kqa JSONL ({"id", "title", "section", "text"}) or a folder of .txt files."""

from __future__ import annotations

from pathlib import Path

from kqa.kb.errors import BadFileError
from kqa.kb.jsonl import MAX_LINE_BYTES, read_jsonl
from kqa.kb.types import Passage


def load_corpus(path: Path | str, *, max_line_bytes: int = MAX_LINE_BYTES) -> list[Passage]:
    """Passages from a JSONL file or a folder of text files (one passage per blank-line-separated block). A
    JSONL line, or a text block, longer than ``max_line_bytes`` is refused before it is held in memory (see
    ``read_jsonl``).

    >>> load_corpus("pack/corpus.jsonl")[0].id  # doctest: +SKIP
    'af/introduction/0'
    """
    path = Path(path)
    if path.is_dir():
        return _load_text_folder(path, max_line_bytes)
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


def _load_text_folder(folder: Path, max_block_bytes: int = MAX_LINE_BYTES) -> list[Passage]:
    passages = []
    for file in sorted(folder.rglob("*.txt")):
        stem = file.relative_to(folder).with_suffix("").as_posix()
        passages += [Passage(id=f"{stem}/{i}", title=file.stem, section="", text=b)
                     for i, b in enumerate(_text_blocks(file, max_block_bytes))]
    if not passages:
        raise BadFileError(folder, "no .txt passages in this folder")
    return passages


def _text_blocks(file: Path, max_bytes: int) -> list[str]:
    """The blank-line-separated blocks of ``file``, read a line at a time: a block (one passage) over
    ``max_bytes`` is an error naming its first line, as a JSONL line over the limit is."""
    blocks: list[str] = []
    block: list[bytes] = []
    size, first = 0, 1

    def flush() -> None:
        if block:
            try:
                text = b"".join(block).decode("utf-8").strip()
            except UnicodeDecodeError:
                raise BadFileError(file, "is not UTF-8 text", line=first, hint="save it as UTF-8") from None
            if text:
                blocks.append(text)

    with file.open("rb") as handle:
        number = 0
        while line := handle.readline(max_bytes + 1):
            number += 1
            if not line.strip():
                flush()
                block, size, first = [], 0, number + 1
                continue
            size += len(line)
            if size > max_bytes:
                raise BadFileError(file, f"a passage is longer than {max_bytes:,} bytes", line=first,
                                   hint="separate passages with a blank line, or split the text into files")
            block.append(line)
    flush()
    return blocks
