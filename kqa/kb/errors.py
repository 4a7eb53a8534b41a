"""One exception type for a user's mistake: it says what went wrong and what to do next."""

from __future__ import annotations

from pathlib import Path


class KqaError(Exception):
    """A problem the user can fix (missing file, bad line, unknown name). The CLI prints it without a trace."""


class BadFileError(KqaError):
    """A file that cannot be read as what it should be; names the file and, where there is one, the line."""

    def __init__(self, path: Path | str, problem: str, *, line: int | None = None, hint: str | None = None):
        where = f"{path}:{line}" if line is not None else str(path)
        message = f"{where}: {problem}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)
        self.path = Path(path)
        self.line = line
