"""Questions generated from WordNet's relations, each with its gold answers (every lemma of the answer
synset), the triples and passages it rests on, its hop count, and a dev/test split by subject synset.

A word in a question always names its most frequent sense (the first synset ``index.noun`` lists for it),
so "What kind of thing is a dog?" asks about the domestic dog, not a cad. Types:

- ``kind_of``: "What kind of thing is a poodle?" (hypernym or instance-of, 1 hop)
- ``kinds``: "Name a kind of dog." (the inverse: any hyponym)
- ``is_a``: "Is a poodle a kind of animal?" at 1 to 6 hops, with as many "no" questions whose class is a
  sister of a true ancestor at the same depth (a sibling or cousin of the subject's line)
- ``part_of``: "What is a wheel a part of?" / "What is a wolf a member of?"; ``parts``: "Name a part of a car."
- ``opposite``: "What is the opposite of hot?" (antonymy, between the two words themselves)
- ``common_kind``: "What do a poodle and a beagle have in common?" (their lowest common hypernym: 2 hops)
- ``count``: "How many kinds of dog does WordNet list?" (direct hyponyms)
- ``entails``: "What must you do when you snore?"
- ``multiple_choice``: "What kind of thing is a poodle?" with three distractors drawn from the sister terms
  of the answer, and "Which of these is a kind of dog?" with distractors from the sisters of dog.

``popularity`` is the subject synset's rank by its tag count (1 = the most often tagged sense): WordNet's
own frequency figure, so head and tail words can be compared.
"""

from __future__ import annotations

import random
import zlib
from collections import defaultdict, deque
from collections.abc import Iterable

from kqa.kb.rdf import triple_id as _triple_id
from kqa.kb.types import Question
from kqa.packs.wordnet.graph_build import passage_id, relation_iri, synset_iri
from kqa.packs.wordnet.parse import Synset

MAX_HOPS = 6
DEV_SHARE = 3  # in 10: a tenth of subjects' crc32 decides dev (0-2) or test (3-9)


def _triple(s: str, relation: str, o: str) -> str:
    from rdflib import URIRef

    return _triple_id(URIRef(synset_iri(s)), URIRef(relation_iri(relation)), URIRef(synset_iri(o)))


def split_of(synset_id: str) -> str:
    return "dev" if zlib.crc32(synset_id.encode()) % 10 < DEV_SHARE else "test"


def with_article(word: str) -> str:
    if word[:1].isupper() or any(c.isupper() for c in word):
        return word  # a proper name: "Paris", "Canis familiaris"
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


class QuestionGenerator:
    """Generates the question set from parsed synsets and each lemma's sense order."""

    def __init__(self, synsets: dict[str, Synset], senses: dict[tuple[str, str], tuple[str, ...]], *,
                 seed: int = 13, per_type: int = 400):
        self.s, self.senses, self.seed, self.per_type = synsets, senses, seed, per_type
        self.hyper: dict[str, list[str]] = defaultdict(list)
        self.hypo: dict[str, list[str]] = defaultdict(list)
        self.instance_of: dict[str, list[str]] = defaultdict(list)
        self.pointers: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for sid, synset in synsets.items():
            for p in synset.pointers:
                if p.target not in synsets:
                    continue
                if p.symbol == "@":
                    self.hyper[sid].append(p.target)
                    self.hypo[p.target].append(sid)
                elif p.symbol == "@i":
                    self.instance_of[sid].append(p.target)
                else:
                    self.pointers[sid][p.symbol].append(p.target)
        ranked = sorted(synsets, key=lambda sid: (-synsets[sid].tag_count, sid))
        self.rank = {sid: i + 1 for i, sid in enumerate(ranked)}
        self._names: dict[str, str | None] = {}

    # ---------------------------------------------------------------- helpers

    def name(self, sid: str) -> str | None:
        """A lemma of ``sid`` whose most frequent sense (in its part of speech) is ``sid``; None if none is."""
        if sid not in self._names:
            letter = sid[0]
            self._names[sid] = next((lemma for lemma in self.s[sid].lemmas
                                     if self.senses.get((lemma.lower(), letter), ())[:1] == (sid,)), None)
        return self._names[sid]

    def answers(self, sids: Iterable[str]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(lemma for sid in sids for lemma in self.s[sid].lemmas))

    def ancestors(self, sid: str) -> dict[str, int]:
        """Every hypernym of ``sid`` (along hypernymy only) with its shortest distance."""
        dist = {sid: 0}
        queue = deque([sid])
        while queue:
            node = queue.popleft()
            for parent in self.hyper.get(node, ()):
                if parent not in dist:
                    dist[parent] = dist[node] + 1
                    queue.append(parent)
        del dist[sid]
        return dist

    def path_up(self, sid: str, ancestor: str) -> list[str]:
        """The synsets from ``sid`` up to ``ancestor`` along a shortest hypernym chain (both ends included)."""
        prev: dict[str, str | None] = {sid: None}
        queue = deque([sid])
        while queue:
            node = queue.popleft()
            if node == ancestor:
                break
            for parent in self.hyper.get(node, ()):
                if parent not in prev:
                    prev[parent] = node
                    queue.append(parent)
        chain = [ancestor]
        while prev.get(chain[-1]) is not None:
            chain.append(prev[chain[-1]])  # type: ignore[arg-type]
        return chain[::-1]

    def chain_triples(self, chain: list[str]) -> tuple[str, ...]:
        return tuple(_triple(a, "hypernym", b) for a, b in zip(chain, chain[1:]))

    def _order(self, candidates: list[str], salt: str) -> list[str]:
        """Candidates shuffled, then tagged and untagged senses interleaved so both head and tail appear."""
        rng = random.Random(f"{self.seed}-{salt}")
        tagged = [c for c in candidates if self.s[c].tag_count > 0]
        untagged = [c for c in candidates if self.s[c].tag_count == 0]
        rng.shuffle(tagged)
        rng.shuffle(untagged)
        out = []
        for i in range(max(len(tagged), len(untagged))):
            out += [x[i] for x in (tagged, untagged) if i < len(x)]
        return out

    def _question(self, qid: str, text: str, answers: tuple[str, ...], *, type: str, relation: str, hops: int,
                  subject: str, triples: Iterable[str], passages: Iterable[str], **extra) -> Question:
        return Question(id=qid, question=text, answers=answers, type=type, relation=relation, hops=hops,
                        subject=subject, gold_triples=tuple(dict.fromkeys(triples)),
                        gold_passages=tuple(f"passage:{passage_id(p)}" for p in dict.fromkeys(passages)),
                        popularity=self.rank[subject], split=split_of(subject), **extra)

    # ---------------------------------------------------------------- the types

    def generate(self) -> list[Question]:
        out: list[Question] = []
        for make in (self.kind_of, self.kinds, self.is_a, self.part_of, self.parts, self.opposite,
                     self.common_kind, self.count, self.entails, self.multiple_choice):
            out += make()
        return out

    def _nouns(self) -> list[str]:
        return [sid for sid in self.s if sid[0] == "n"]

    def kind_of(self) -> list[Question]:
        out = []
        for sid in self._order([x for x in self._nouns() if self.hyper.get(x) or self.instance_of.get(x)], "kind"):
            word = self.name(sid)
            if word is None:
                continue
            relation = "hypernym" if self.hyper.get(sid) else "instanceOf"
            targets = self.hyper.get(sid) or self.instance_of[sid]
            out.append(self._question(
                f"wn-kind-{sid}", f"What kind of thing is {with_article(word)}?", self.answers(targets),
                type="kind_of", relation=relation, hops=1, subject=sid,
                triples=[_triple(sid, relation, t) for t in targets], passages=[sid, *targets]))
            if len(out) >= self.per_type:
                break
        return out

    def kinds(self) -> list[Question]:
        out = []
        for sid in self._order([x for x in self._nouns() if 2 <= len(self.hypo.get(x, ())) <= 40], "kinds"):
            word = self.name(sid)
            if word is None:
                continue
            children = sorted(self.hypo[sid], key=lambda c: (-self.s[c].tag_count, c))
            out.append(self._question(
                f"wn-kinds-{sid}", f"Name a kind of {word}.", self.answers(children), type="kinds",
                relation="hypernym", hops=1, subject=sid, triples=[_triple(c, "hypernym", sid) for c in children],
                passages=[sid, *children[:5]]))
            if len(out) >= self.per_type:
                break
        return out

    def is_a(self) -> list[Question]:
        """Per hop count, as many "yes" as "no" questions; a "no" names a sister of the true ancestor at that
        depth that is no ancestor of the subject under any of its senses."""
        per_hop = self.per_type // 2
        made: dict[tuple[int, str], int] = defaultdict(int)
        out = []
        candidates = self._order([x for x in self._nouns() if self.hyper.get(x) and not self.instance_of.get(x)],
                                 "is_a")
        for i, sid in enumerate(candidates):
            word = self.name(sid)
            if word is None:
                continue
            hops = 1 + i % MAX_HOPS
            if made[(hops, "yes")] >= per_hop:
                continue
            ups = self.ancestors(sid)
            at = sorted(a for a, d in ups.items() if d == hops and self.name(a))
            if not at:
                continue
            ancestor = at[0]
            chain = self.path_up(sid, ancestor)
            # a sister of the ancestor: another child of the ancestor's own parent
            grand = self.hyper.get(ancestor, [])
            sisters = sorted(x for g in grand for x in self.hypo.get(g, ()) if x != ancestor and x not in ups
                             and self.name(x) and not self._any_sense_above(self.name(x), ups, sid))
            if not sisters:
                continue
            sister = sisters[zlib.crc32(sid.encode()) % len(sisters)]
            a_word, s_word = self.name(ancestor), self.name(sister)
            if a_word is None or s_word is None or s_word.lower() == word.lower():
                continue
            out.append(self._question(
                f"wn-isa-{hops}-yes-{sid}", f"Is {with_article(word)} a kind of {a_word}?", ("yes",), type="is_a",
                relation="hypernym", hops=hops, subject=sid, triples=self.chain_triples(chain),
                passages=chain))
            out.append(self._question(
                f"wn-isa-{hops}-no-{sid}", f"Is {with_article(word)} a kind of {s_word}?", ("no",), type="is_a",
                relation="hypernym", hops=hops, subject=sid,
                triples=(*self.chain_triples(chain),
                         *(_triple(sister, "hypernym", g) for g in grand if sister in self.hypo.get(g, ()))),
                passages=[sid, sister]))
            made[(hops, "yes")] += 1
            if all(made[(h, "yes")] >= per_hop for h in range(1, MAX_HOPS + 1)):
                break
        return out

    def _any_sense_above(self, word: str, ups: dict[str, int], sid: str) -> bool:
        """Whether some noun sense of ``word`` is an ancestor (or the subject itself): then "no" is wrong."""
        return any(s in ups or s == sid for s in self.senses.get((word.lower(), "n"), ()))

    def part_of(self) -> list[Question]:
        out = []
        for symbol, relation, phrase in (("#p", "partOf", "a part of"), ("#m", "memberOf", "a member of")):
            pool = [x for x in self._nouns() if self.pointers[x].get(symbol)]
            made = 0
            for sid in self._order(pool, relation):
                word = self.name(sid)
                if word is None:
                    continue
                wholes = self.pointers[sid][symbol]
                out.append(self._question(
                    f"wn-{relation}-{sid}", f"What is {with_article(word)} {phrase}?", self.answers(wholes),
                    type="part_of", relation=relation, hops=1, subject=sid,
                    triples=[_triple(sid, relation, w) for w in wholes], passages=[sid, *wholes]))
                made += 1
                if made >= self.per_type // 2:
                    break
        return out

    def parts(self) -> list[Question]:
        out = []
        for sid in self._order([x for x in self._nouns() if self.pointers[x].get("%p")], "parts"):
            word = self.name(sid)
            if word is None:
                continue
            parts = self.pointers[sid]["%p"]
            out.append(self._question(
                f"wn-parts-{sid}", f"Name a part of {with_article(word)}.", self.answers(parts), type="parts",
                relation="partOf", hops=1, subject=sid, triples=[_triple(p, "partOf", sid) for p in parts],
                passages=[sid, *parts[:5]]))
            if len(out) >= self.per_type // 2:
                break
        return out

    def opposite(self) -> list[Question]:
        """Antonymy is between words: "hot" -> "cold", not every lemma of their synsets."""
        pairs = []
        for sid, synset in self.s.items():
            for p in synset.pointers:
                if p.symbol == "!" and p.source_word and p.target_word and p.target in self.s:
                    pairs.append((sid, p.source_word - 1, p.target, p.target_word - 1))
        out = []
        by_subject = {sid: (sid, i, t, j) for sid, i, t, j in pairs}
        for sid in self._order(sorted(by_subject), "opposite"):
            _, i, target, j = by_subject[sid]
            word, letter = self.s[sid].lemmas[i], sid[0]
            if self.senses.get((word.lower(), letter), ())[:1] != (sid,):
                continue
            answer = self.s[target].lemmas[j]
            answers = tuple(dict.fromkeys([answer, *self.s[target].lemmas]))
            out.append(self._question(
                f"wn-opposite-{sid}", f"What is the opposite of {word}?", answers, type="opposite",
                relation="antonym", hops=1, subject=sid, triples=[_triple(sid, "antonym", target)],
                passages=[sid, target]))
            if len(out) >= self.per_type:
                break
        return out

    def common_kind(self) -> list[Question]:
        """Two sisters (one hypernym each, the same one): what they have in common is that parent."""
        out = []
        pool = [x for x in self._nouns() if len(self.hyper.get(x, ())) == 1 and not self.instance_of.get(x)]
        for sid in self._order(pool, "common"):
            word = self.name(sid)
            parent = self.hyper[sid][0]
            sisters = sorted(x for x in self.hypo.get(parent, ()) if x != sid and len(self.hyper.get(x, ())) == 1
                             and self.name(x))
            if word is None or not sisters:
                continue
            other = sisters[zlib.crc32(sid.encode()) % len(sisters)]
            o_word = self.name(other)
            if o_word is None or o_word.lower() == word.lower():
                continue
            out.append(self._question(
                f"wn-common-{sid}", f"What do {with_article(word)} and {with_article(o_word)} have in common?",
                self.answers([parent]), type="common_kind", relation="hypernym", hops=2, subject=sid,
                triples=[_triple(sid, "hypernym", parent), _triple(other, "hypernym", parent)],
                passages=[sid, other, parent]))
            if len(out) >= self.per_type:
                break
        return out

    def count(self) -> list[Question]:
        out = []
        for sid in self._order([x for x in self._nouns() if 2 <= len(self.hypo.get(x, ())) <= 12], "count"):
            word = self.name(sid)
            if word is None:
                continue
            children = self.hypo[sid]
            out.append(self._question(
                f"wn-count-{sid}", f"How many kinds of {word} does WordNet list?", (str(len(children)),),
                type="count", relation="hypernym", hops=1, subject=sid,
                triples=[_triple(c, "hypernym", sid) for c in children], passages=[sid]))
            if len(out) >= self.per_type // 2:
                break
        return out

    def entails(self) -> list[Question]:
        out = []
        for sid in self._order([x for x in self.s if x[0] == "v" and self.pointers[x].get("*")], "entails"):
            word = self.name(sid)
            if word is None:
                continue
            targets = self.pointers[sid]["*"]
            out.append(self._question(
                f"wn-entails-{sid}", f"What must you do when you {word}?", self.answers(targets), type="entails",
                relation="entails", hops=1, subject=sid, triples=[_triple(sid, "entails", t) for t in targets],
                passages=[sid, *targets]))
            if len(out) >= self.per_type // 2:
                break
        return out

    def multiple_choice(self) -> list[Question]:
        out = []
        rng = random.Random(f"{self.seed}-choices")
        pool = [x for x in self._nouns() if len(self.hyper.get(x, ())) == 1 and not self.instance_of.get(x)]
        for sid in self._order(pool, "mc-up"):
            word, parent = self.name(sid), self.hyper[sid][0]
            ups = self.ancestors(sid)
            sisters = [x for g in self.hyper.get(parent, ()) for x in self.hypo.get(g, ())
                       if x != parent and x not in ups]
            choice = self._choices(self.s[parent].lemmas[0], sisters, word, rng)
            if word is None or choice is None:
                continue
            out.append(self._question(
                f"wn-mc-up-{sid}", f"What kind of thing is {with_article(word)}?", (self.s[parent].lemmas[0],),
                type="multiple_choice", relation="hypernym", hops=1, subject=sid,
                triples=[_triple(sid, "hypernym", parent)], passages=[sid, parent], choices=choice))
            if len(out) >= self.per_type:
                break
        down = 0
        for sid in self._order([x for x in self._nouns() if self.hypo.get(x) and self.hyper.get(x)], "mc-down"):
            word = self.name(sid)
            children = sorted(c for c in self.hypo[sid] if self.name(c))
            if word is None or not children:
                continue
            child = children[zlib.crc32(sid.encode()) % len(children)]
            below = set(self._descendants(sid))
            cousins = [x for g in self.hyper[sid] for sister in self.hypo.get(g, ()) if sister != sid
                       for x in self.hypo.get(sister, ()) if x not in below]
            choice = self._choices(self.name(child) or "", cousins, word, rng)
            if choice is None:
                continue
            out.append(self._question(
                f"wn-mc-down-{sid}", f"Which of these is a kind of {word}?", (self.name(child) or "",),
                type="multiple_choice", relation="hypernym", hops=1, subject=sid,
                triples=[_triple(child, "hypernym", sid)], passages=[sid, child], choices=choice))
            down += 1
            if down >= self.per_type // 2:
                break
        return out

    def _descendants(self, sid: str) -> Iterable[str]:
        stack = [sid]
        while stack:
            node = stack.pop()
            yield node
            stack += self.hypo.get(node, ())

    def _choices(self, answer: str, pool: list[str], word: str | None, rng: random.Random) -> tuple[str, ...] | None:
        """The answer and three distractors (first lemmas of ``pool``, distinct words), shuffled; None when
        there are too few."""
        taken = {answer.lower(), (word or "").lower()}
        distractors = []
        for sid in sorted(set(pool)):
            lemma = self.s[sid].lemmas[0]
            if lemma.lower() not in taken:
                taken.add(lemma.lower())
                distractors.append(lemma)
        if len(distractors) < 3 or not answer:
            return None
        picked = rng.sample(distractors, 3) + [answer]
        rng.shuffle(picked)
        return tuple(picked)


__all__ = ["QuestionGenerator", "split_of", "with_article"]
