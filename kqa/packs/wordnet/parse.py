"""Read Princeton WordNet 3.0's database files (as Debian's ``wordnet-base`` installs them in
/usr/share/wordnet) into synsets with their lemmas, gloss, examples, pointers and tag counts.

The format is wndb(5): one synset per line of ``data.noun``, ``data.verb``, ``data.adj``, ``data.adv``::

    synset_offset lex_filenum ss_type w_cnt word lex_id [word lex_id...] p_cnt [ptr...] [frames...] | gloss

where ``synset_offset`` is the line's own byte offset in its file, ``w_cnt`` is two hex digits, and each
pointer is ``pointer_symbol synset_offset pos source/target``. Lines that start with two spaces are the
licence header. Tag counts (how often a sense was tagged in the semantic concordance: WordNet's frequency
figure) come from ``cntlist.rev`` (cntlist(5): ``sense_key sense_number tag_cnt``), matched to synsets by
the sense key each (lemma, synset) pair has (senseidx(5)).

This file only reads; ``build`` turns synsets into a pack.

>>> synsets = load_wordnet("/usr/share/wordnet", pos=("n",))  # doctest: +SKIP
>>> synsets["n02084071"].lemmas[:2]  # doctest: +SKIP
('dog', 'domestic dog')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kqa.kb.errors import BadFileError, KqaError

WORDNET_DIR = Path("/usr/share/wordnet")
DATA_FILES = {"n": "data.noun", "v": "data.verb", "a": "data.adj", "r": "data.adv"}
SS_TYPE_NUMBER = {"n": 1, "v": 2, "a": 3, "r": 4, "s": 5}  # the digit a sense key writes for ss_type
_ADJ_MARKER = re.compile(r"\((a|p|ip)\)$")  # syntactic marker on adjective lemmas: "galore(ip)"
_QUOTED = re.compile(r'"([^"]*)"')


@dataclass(frozen=True)
class Pointer:
    symbol: str  # "@" hypernym, "@i" instance hypernym, "#p" part holonym, "!" antonym ... (wninput(5))
    target: str  # synset id: "n02083346"
    source_word: int  # 0 for a semantic pointer (synset to synset); else the lemma's number, from 1
    target_word: int


@dataclass(frozen=True)
class Synset:
    id: str  # file letter + offset: "n02084071" (adjective satellites live in the "a" file)
    pos: str  # ss_type: n, v, a, s (adjective satellite), r
    lexname: int  # lexicographer file number (lexnames(5)): 5 is noun.animal
    lemmas: tuple[str, ...]  # as a person writes them: "domestic dog", "Canis familiaris"
    lex_ids: tuple[int, ...]
    pointers: tuple[Pointer, ...]
    definition: str
    examples: tuple[str, ...]
    tag_count: int = 0  # sum of the tag counts of its senses (0: never tagged)


def wordnet_dir() -> Path:
    """The installed database, or an error that says how to install it."""
    if not (WORDNET_DIR / "data.noun").is_file():
        raise KqaError(f"WordNet's database is not installed ({WORDNET_DIR}/data.noun is missing): run "
                       "`apt-get install wordnet-base` (or `make wordnet`)")
    return WORDNET_DIR


def load_wordnet(directory: Path | str = WORDNET_DIR, *, pos: tuple[str, ...] = ("n", "v", "a")) -> dict[str, Synset]:
    """Every synset of the given parts of speech (file letters n, v, a, r), tag counts filled in."""
    directory = Path(directory)
    synsets: dict[str, Synset] = {}
    for letter in pos:
        path = directory / DATA_FILES[letter]
        if not path.is_file():
            raise BadFileError(path, "no such file", hint="install WordNet with `apt-get install wordnet-base`")
        synsets.update(parse_data_file(path, letter))
    counts = _read_counts(directory / "cntlist.rev")
    if counts:
        synsets = {sid: _with_count(s, synsets, counts) for sid, s in synsets.items()}
    return synsets


def parse_data_file(path: Path, letter: str) -> dict[str, Synset]:
    """One ``data.*`` file. A line whose offset is not its byte offset is refused: the file is not wndb."""
    out: dict[str, Synset] = {}
    offset = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.startswith(b"  "):
                try:
                    synset = parse_data_line(raw.decode("utf-8"), letter)
                except (ValueError, IndexError) as err:
                    raise BadFileError(path, f"not a WordNet data line ({err})", line=number) from None
                if int(synset.id[1:]) != offset:
                    raise BadFileError(path, f"synset offset {synset.id[1:]} is not the line's byte offset {offset}",
                                       line=number, hint="the file is not in WordNet's wndb format")
                out[synset.id] = synset
            offset += len(raw)
    return out


def parse_data_line(line: str, letter: str) -> Synset:
    body, _, gloss = line.partition(" | ")
    fields = body.split()
    offset, lexname, ss_type, w_cnt = fields[0], int(fields[1]), fields[2], int(fields[3], 16)
    lemmas, lex_ids = [], []
    i = 4
    for _ in range(w_cnt):
        word = _ADJ_MARKER.sub("", fields[i])
        lemmas.append(word.replace("_", " "))
        lex_ids.append(int(fields[i + 1], 16))
        i += 2
    p_cnt = int(fields[i])
    i += 1
    pointers = []
    for _ in range(p_cnt):
        symbol, target, target_pos, st = fields[i:i + 4]
        file_letter = "a" if target_pos == "s" else target_pos
        pointers.append(Pointer(symbol, f"{file_letter}{target}", int(st[:2], 16), int(st[2:], 16)))
        i += 4
    definition, examples = split_gloss(gloss.strip())
    return Synset(id=f"{letter}{offset}", pos=ss_type, lexname=lexname, lemmas=tuple(lemmas),
                  lex_ids=tuple(lex_ids), pointers=tuple(pointers), definition=definition, examples=examples)


def split_gloss(gloss: str) -> tuple[str, tuple[str, ...]]:
    """'a domestic dog; "the dog barked all night"' -> ('a domestic dog', ('the dog barked all night',))."""
    first_quote = gloss.find('"')
    if first_quote < 0:
        return gloss.strip(" ;"), ()
    definition = gloss[:first_quote].strip(" ;")
    return definition, tuple(e.strip() for e in _QUOTED.findall(gloss[first_quote:]) if e.strip())


def sense_key(synset: Synset, index: int, synsets: dict[str, Synset]) -> str:
    """The sense key of lemma ``index`` of ``synset`` (senseidx(5)): ``dog%1:05:00::``. A satellite
    adjective names its cluster's head: ``galore%5:00:00:abundant:00``."""
    lemma = synset.lemmas[index].replace(" ", "_").lower()
    key = f"{lemma}%{SS_TYPE_NUMBER[synset.pos]}:{synset.lexname:02d}:{synset.lex_ids[index]:02d}:"
    if synset.pos != "s":
        return key + ":"
    head = next((synsets.get(p.target) for p in synset.pointers if p.symbol == "&"), None)
    if head is None:
        return key + ":"
    return key + f"{head.lemmas[0].replace(' ', '_').lower()}:{head.lex_ids[0]:02d}"


def _read_counts(path: Path) -> dict[str, int]:
    if not path.is_file():
        return {}
    counts: dict[str, int] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) == 3 and parts[2].isdigit():
                counts[parts[0]] = int(parts[2])
    return counts


def _with_count(synset: Synset, synsets: dict[str, Synset], counts: dict[str, int]) -> Synset:
    total = sum(counts.get(sense_key(synset, i, synsets), 0) for i in range(len(synset.lemmas)))
    if not total:
        return synset
    return Synset(**{**synset.__dict__, "tag_count": total})


def load_sense_order(directory: Path | str = WORDNET_DIR, *, pos: tuple[str, ...] = ("n", "v", "a")
                     ) -> dict[tuple[str, str], tuple[str, ...]]:
    """(lower-cased lemma with spaces, file letter) -> its synset ids, most frequent sense first, from
    ``index.noun`` etc. (``lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt offset...``)."""
    names = {"n": "index.noun", "v": "index.verb", "a": "index.adj", "r": "index.adv"}
    out: dict[tuple[str, str], tuple[str, ...]] = {}
    for letter in pos:
        path = Path(directory) / names[letter]
        if not path.is_file():
            raise BadFileError(path, "no such file", hint="install WordNet with `apt-get install wordnet-base`")
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.startswith("  "):
                    continue
                fields = line.split()
                try:
                    synset_cnt, p_cnt = int(fields[2]), int(fields[3])
                    offsets = fields[4 + p_cnt + 2:4 + p_cnt + 2 + synset_cnt]
                except (ValueError, IndexError):
                    raise BadFileError(path, "not a WordNet index line", line=number) from None
                out[(fields[0].replace("_", " "), letter)] = tuple(f"{letter}{o}" for o in offsets)
    return out


__all__ = ["Pointer", "Synset", "load_wordnet", "parse_data_file", "parse_data_line", "split_gloss", "sense_key",
           "wordnet_dir", "WORDNET_DIR", "load_sense_order"]
