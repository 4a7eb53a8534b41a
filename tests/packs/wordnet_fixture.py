"""A tiny WordNet in the database's own format (wndb(5)), written by the tests: data.noun/verb/adj with
correct byte offsets and a licence header, index files listing senses in order, and cntlist.rev tag counts.

Nouns form a chain deep enough for six-hop questions (poodle -> dog -> canine -> carnivore -> mammal ->
animal -> organism -> physical entity -> entity) with sisters at each level for the "no" questions."""

from __future__ import annotations

from pathlib import Path

HEADER = "  1 This is a made-up WordNet for tests.\n  2 Lines that start with two spaces are skipped.\n"

# key: (lemmas with lex_id, lexfile, [(symbol, target key, source/target)], gloss)
NOUNS = {
    "entity": ([("entity", 0)], 3, [], "that which exists"),
    "physical": ([("physical_entity", 0)], 3, [("@", "entity", "0000")], "an entity that has physical existence"),
    "abstraction": ([("abstraction", 0)], 3, [("@", "entity", "0000")], "a general concept"),
    "organism": ([("organism", 0), ("being", 0)], 3, [("@", "physical", "0000")], "a living thing"),
    "object": ([("object", 0)], 3, [("@", "physical", "0000")], "a tangible thing"),
    "animal": ([("animal", 0), ("beast", 0)], 5, [("@", "organism", "0000")],
               'a living organism that moves; "animals roam the plain"'),
    "plant": ([("plant", 0), ("flora", 0)], 20, [("@", "organism", "0000")], "a living organism that grows roots"),
    "mammal": ([("mammal", 0)], 5, [("@", "animal", "0000")], "a warm-blooded vertebrate"),
    "bird": ([("bird", 0)], 5, [("@", "animal", "0000")], "a warm-blooded egg-laying vertebrate with feathers"),
    "carnivore": ([("carnivore", 0)], 5, [("@", "mammal", "0000")], "a mammal that eats meat"),
    "rodent": ([("rodent", 0), ("gnawer", 0)], 5, [("@", "mammal", "0000")], "a gnawing mammal"),
    "canine": ([("canine", 0), ("canid", 0)], 5, [("@", "carnivore", "0000")], "a dog-like carnivore"),
    "feline": ([("feline", 0), ("felid", 0)], 5, [("@", "carnivore", "0000")], "a cat-like carnivore"),
    "dog": ([("dog", 0), ("domestic_dog", 0)], 5, [("@", "canine", "0000"), ("%p", "tail", "0000")],
            'a domesticated canine; "the dog barked all night"; "a dog\'s life"'),
    "wolf": ([("wolf", 0)], 5, [("@", "canine", "0000"), ("#m", "pack", "0000")], "a wild canine"),
    "fox": ([("fox", 0)], 5, [("@", "canine", "0000")], "a small wild canine with a bushy tail"),
    "cat": ([("cat", 0), ("true_cat", 0)], 5, [("@", "feline", "0000")], "a feline mammal"),
    "lion": ([("lion", 0)], 5, [("@", "feline", "0000")], "a large tawny feline"),
    "poodle": ([("poodle", 0)], 5, [("@", "dog", "0000")], "a breed of dog with a curly coat"),
    "beagle": ([("beagle", 0)], 5, [("@", "dog", "0000")], "a small hound"),
    "terrier": ([("terrier", 0)], 5, [("@", "dog", "0000")], "a small lively dog"),
    "tail": ([("tail", 0)], 8, [("@", "object", "0000"), ("#p", "dog", "0000")], "the rear part of an animal"),
    "pack": ([("pack", 0)], 14, [("@", "abstraction", "0000"), ("%m", "wolf", "0000")], "a group of wolves"),
    "tree": ([("tree", 0)], 20, [("@", "plant", "0000")], "a tall woody plant"),
    "oak": ([("oak", 0), ("oak_tree", 0)], 20, [("@", "tree", "0000")], "a tree bearing acorns"),
    "cad": ([("cad", 0), ("dog", 1)], 18, [("@", "organism", "0000")], "a man who behaves badly"),
    "heat": ([("heat", 0), ("hotness", 0)], 7, [("=", "hot", "0000"), ("=", "cold", "0000")], "the presence of heat"),
}
VERBS = {
    "sleep": ([("sleep", 0)], 29, [], 'be asleep; "the cat sleeps all day"'),
    "snore": ([("snore", 0), ("saw_wood", 0)], 29, [("*", "sleep", "0000")], "breathe noisily while asleep"),
    "die": ([("die", 0)], 30, [], "stop living"),
    "kill": ([("kill", 0)], 35, [(">", "die", "0000")], "cause to die"),
}
ADJECTIVES = {  # "s" marks a satellite (its head is the "&" target)
    "hot": ([("hot", 0)], 0, "a", [("!", "cold", "0101"), ("&", "warm", "0000"), ("=", "heat", "0000")],
            'of high temperature; "hot stove"'),
    "warm": ([("warm", 0)], 0, "s", [("&", "hot", "0000")], "moderately hot"),
    "cold": ([("cold", 0)], 0, "a", [("!", "hot", "0101"), ("=", "heat", "0000")], "of low temperature"),
}
COUNTS = {"dog%1:05:00::": 42, "animal%1:05:00::": 30, "poodle%1:05:00::": 2, "hot%3:00:00::": 20,
          "warm%5:00:00:hot:00": 7, "dog%1:18:01::": 1, "sleep%2:29:00::": 9}


def _lines(spec: dict, letter: str) -> tuple[list[str], dict[str, int]]:
    """The data lines of one file, each synset at its byte offset (offsets are 8 digits, so the lines'
    lengths do not depend on them: lay them out once, then fill in)."""
    offsets: dict[str, int] = {}
    position = len(HEADER.encode())
    rendered = []
    for key, entry in spec.items():
        if letter == "a":
            lemmas, lexfile, ss_type, pointers, gloss = entry
        else:
            (lemmas, lexfile, pointers, gloss), ss_type = entry, letter
        offsets[key] = position
        ptrs = " ".join(f"{sym} {offsets_all.get(target, 0):08d} {pos_of(target)} {st}" for sym, target, st in pointers)
        words = " ".join(f"{w} {i:x}" for w, i in lemmas)
        frames = " 01 + 02 00" if letter == "v" else ""
        line = (f"{position:08d} {lexfile:02d} {ss_type} {len(lemmas):02x} {words} {len(pointers):03d}"
                f"{' ' + ptrs if ptrs else ''}{frames} | {gloss}  \n")
        rendered.append(line)
        position += len(line.encode())
    offsets_all.update(offsets)
    return rendered, offsets


offsets_all: dict[str, int] = {}


def pos_of(key: str) -> str:
    if key in NOUNS:
        return "n"
    if key in VERBS:
        return "v"
    return ADJECTIVES[key][2] if key in ADJECTIVES else "n"


def synset_id(key: str) -> str:
    letter = "n" if key in NOUNS else "v" if key in VERBS else "a"
    return f"{letter}{offsets_all[key]:08d}"


def write_wordnet(directory: Path) -> Path:
    """Write the tiny database into ``directory`` and return it."""
    directory.mkdir(parents=True, exist_ok=True)
    offsets_all.clear()
    files = {}
    for _ in range(2):  # the second pass knows every file's offsets, so cross-file pointers are right
        for name, spec, letter in (("data.noun", NOUNS, "n"), ("data.verb", VERBS, "v"), ("data.adj", ADJECTIVES, "a")):
            files[name], _ = _lines(spec, letter)
    for name, lines in files.items():
        (directory / name).write_text(HEADER + "".join(lines), encoding="utf-8")
    for name, spec, letter in (("index.noun", NOUNS, "n"), ("index.verb", VERBS, "v"), ("index.adj", ADJECTIVES, "a")):
        senses: dict[str, list[str]] = {}
        for key, entry in spec.items():
            for word, _ in entry[0]:
                senses.setdefault(word.lower(), []).append(key)
        rows = [f"{word} {letter} {len(keys)} 0 {len(keys)} 0 " + " ".join(f"{offsets_all[k]:08d}" for k in keys) + "  \n"
                for word, keys in sorted(senses.items())]
        (directory / name).write_text(HEADER + "".join(rows), encoding="utf-8")
    (directory / "cntlist.rev").write_text("".join(f"{k} 1 {v}\n" for k, v in sorted(COUNTS.items())), encoding="utf-8")
    return directory
