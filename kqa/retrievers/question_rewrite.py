"""Put a question the way the knowledge is written before it is retrieved for and read: a country's name
misspelled ("Argentinia"), lower-cased or given by another name ("Holland", "Burma") becomes the graph's label
for it, and a clause in front that asks nothing ("While reading about jazz last night, I wondered: what ...")
is dropped. ``name_answer`` does the same for a model's answer: "reals" is the graph's "Brazilian real", and
"Jewish", asked as a religion, its "Judaism" (a name the graph has as an entity's own label stays as it is).

The names come from the pack's graph, through ``EntityLinker`` (exact names and aliases, then close
misspellings): this file only rewrites what the linker found. It reads no answer and ranks nothing; a reader
takes ``QuestionRewriter.rewrite`` as its ``rewrite`` callable.

>>> QuestionRewriter(EntityLinker(kg)).rewrite("what currency is used in argentinia?")  # doctest: +SKIP
'what currency is used in Argentina?'
"""

from __future__ import annotations

import re
from collections import defaultdict

from kqa.kb.graph import name_key
from kqa.kb.text import clean_question
from kqa.retrievers.entity_linker import EntityLinker

_ASKING = r"(?:what|which|who|whom|whose|when|where|why|how|is|are|was|were|does|do|did|can|name|list|tell|give|in which|on which)"
# "<a clause that asks nothing>: <the question>" or "<...>, <the question>": the breaks a lead-in may end at
_BREAK = re.compile(rf"[:,;]\s*(?={_ASKING}\b)", re.I)
_STARTS_ASKING = re.compile(rf"\s*{_ASKING}\b", re.I)


def _lead_in_ends(question: str) -> list[int]:
    """Where a lead-in clause could end, latest first; none when the question starts by asking."""
    if _STARTS_ASKING.match(question):
        return []
    return [m.end() for m in _BREAK.finditer(question.split("?", 1)[0])][::-1]


def drop_lead_in(question: str) -> str:
    """The question without a clause in front that asks nothing; unchanged when it starts by asking.

    >>> drop_lead_in("Ignoring the weather for a moment, what is the capital of Peru?")
    'what is the capital of Peru?'
    >>> drop_lead_in("Which is larger, Peru or Chile?")
    'Which is larger, Peru or Chile?'
    """
    ends = _lead_in_ends(question)
    return question[ends[0]:].strip() if ends else question


def _swap_or_drop(word: str, name: str) -> bool:
    """'Yeen' for 'Yemen' (a letter dropped) or 'Peur' for 'Peru' (two swapped), not 'Mali' for 'Bali'."""
    if len(name) == len(word):
        return sorted(name) == sorted(word)
    letters = iter(name)
    return len(name) == len(word) + 1 and all(c in letters for c in word)


# short English words that are also some country's initials: never read as the initials
_SHORT_WORDS = frozenset("am an as at be by do go he hi if in is it me my no of oh ok on or so to up us we".split())
_QUOTED = re.compile(r"[\"“][^\"“”]*[\"”]")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


class QuestionRewriter:
    """Rewrites country names to the graph's labels (classes in ``classes``) and drops a lead-in clause.

    Past what the linker finds, one more pass looks for a misspelt country name the linker leaves alone
    because its first letter is the one that changed or its case is odd ("oRmania", "sEwatini"): a word
    written with a capital after its first letter, or capitalised, within one edit (two from nine letters) of
    exactly one country name, and no name itself; in four letters only a swap or a dropped letter."""

    def __init__(self, linker: EntityLinker, *, classes: frozenset[str] = frozenset({"Country"})):
        self.linker, self.classes = linker, classes
        kg = linker.kg
        # only the entities of these classes are read (one query on a store), not every name in the graph
        names: dict[str, set[str]] = defaultdict(set)  # name key -> the labels of the entities it names
        acronyms: dict[str, set[str]] = defaultdict(set)
        for iri in kg.entities_in(classes):
            label = kg.label(iri)
            for name in kg.index.aliases.get(iri) or (label,):
                names[name_key(name)].add(label)
                # names written in capitals ("USA", "UK", "UAE") -> the label, for a question typed in lower
                # case; the linker links a short name only as written, since "us" and "it" are words
                if name.isupper() and name.isalpha() and 2 <= len(name) <= 5:
                    acronyms[name.lower()].add(label)
        # the words a misspelt name may be meant as: one-word names of the classes -> their label ("burma" ->
        # "Burma"), and the longer words of their labels ("barbuda" -> "Barbuda" in "Antigua and Barbuda")
        self._words: dict[str, str] = {}
        for key, labels in sorted(names.items()):
            if len(labels) == 1 and " " not in key and len(key) >= 4:
                self._words[key] = next(iter(labels))
        for key, labels in sorted(names.items()):
            for label in sorted(labels):
                for word in _WORD.findall(label):
                    if len(word) >= 5 and " " in label:
                        self._words.setdefault(word.lower(), word)
        self._word_list = list(self._words)  # what rapidfuzz searches, built once
        self._acronyms = {k: v.pop() for k, v in acronyms.items() if len(v) == 1 and k not in _SHORT_WORDS}
        # class -> the words that name it in a question ("religion", "religions"), from the graph's class labels
        self._class_words: dict[str, set[str]] = {}
        for cls, label in (kg.index.class_names or {}).items():
            word = label.lower()
            self._class_words[cls] = {word, word + "s", word[:-1] + "ies" if word.endswith("y") else word + "es"}

    def name_answer(self, question: str, answer: str) -> str:
        """``answer`` as the graph names it, when the whole answer is a name or alias of its entities: the one
        label they share ("reals", "real" -> "Brazilian real"), or the label of the one of them in a class the
        question names ("what religion ..." "Jewish" -> "Judaism", not the ethnic group). An answer that is
        already the label of one of them, or names several things, comes back unchanged.

        >>> QuestionRewriter(EntityLinker(kg)).name_answer("What money is used in Brazil?", "reals")  # doctest: +SKIP
        'Brazilian real'
        """
        kg = self.linker.kg
        iris = kg.lookup_name(answer)
        for suffix in ("s", "es"):  # "reals", "pesos": the graph names one
            if not iris and answer.endswith(suffix) and len(answer) > len(suffix) + 2:
                iris = kg.lookup_name(answer[:-len(suffix)])
        if not iris:
            return answer
        words = set(re.findall(r"[a-z]+", question.lower()))
        asked = [i for i in iris if self._class_words.get(kg.entity_class(i) or "", set()) & words]
        labels = list(dict.fromkeys(kg.label(i) for i in (asked or iris)))
        if name_key(answer) in {name_key(label) for label in labels} or len(labels) != 1:
            return answer
        return labels[0]

    def rewrite(self, question: str) -> str:
        question = clean_question(question)  # escape codes and zero-width marks split names: fold them first
        mentions = self.linker.link(question)
        for end in _lead_in_ends(question):  # the latest break whose clause names nothing
            if not any(m.start < end for m in mentions):
                question = question[end:]
                mentions = self.linker.link(question)
                break
        out, end = [], 0
        spans = []
        for mention in mentions:
            spans.append((mention.start, mention.end))
            best = mention.candidates[0] if mention.candidates else None
            if best is None or best.cls not in self.classes or mention.text == best.label \
                    or any(c.cls not in self.classes for c in mention.candidates):
                continue  # not a country, or it may name something else too ("Quito": the city, an alias)
            out += [question[end:mention.start], best.label]
            end = mention.end
        text = "".join(out) + question[end:]
        return self._respell(text, spans) if end == 0 else text

    def _respell(self, question: str, linked: list[tuple[int, int]]) -> str:
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        out, end = [], 0
        linked = linked + [m.span() for m in _QUOTED.finditer(question)]  # a quoted title is a title
        for match in _WORD.finditer(question):
            word = match.group(0)
            if any(s <= match.start() < e for s, e in linked):
                continue
            if word.islower() and word in self._acronyms:  # "usa" -> "United States"
                out += [question[end:match.start()], self._acronyms[word]]
                end = match.end()
                continue
            if len(word) < 4:
                continue
            odd_case = any(c.isupper() for c in word[1:]) and not word.isupper()
            sentence_start = not question[:match.start()].strip() or question[:match.start()].rstrip()[-1] in ".:;!?"
            if not (odd_case or (word[0].isupper() and not sentence_start)):
                continue  # a capital a sentence starts with says nothing ("While ..." is not "Chile")
            key = word.lower()
            if key in self._words or key in self.linker.kg.index.names:
                continue
            allowed = 1 if len(key) < 9 else 2
            hits = process.extract(key, self._word_list, scorer=OSA.distance, score_cutoff=allowed, limit=5)
            meant = {self._words[h[0]] for h in hits}
            if len(meant) != 1 or (len(key) == 4 and not _swap_or_drop(key, hits[0][0])):
                continue  # none, or two names as close ("Iran" / "Iraq"); four letters: a swap or a drop only
            out += [question[end:match.start()], meant.pop()]
            end = match.end()
        return "".join(out) + question[end:]


__all__ = ["QuestionRewriter", "drop_lead_in"]
