"""`kqa build --graph` on a user's file: the pack it writes, its generated questions, clear errors on bad files,
and the README's "Bring your own graph" commands run as written on the films graph."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from kqa.kb.errors import BadFileError, KqaError
from kqa.kb.graph_pack import build_graph_pack
from kqa.kb.pack import list_packs, open_pack
from kqa.kb.questions import load_questions
from tests.graph.graphs import FILMS

README = Path(__file__).parents[2] / "README.md"


@pytest.fixture()
def films_file(tmp_path):
    path = tmp_path / "films.ttl"
    path.write_text(FILMS, encoding="utf-8")
    return path


def test_a_graph_alone_makes_a_pack_with_a_corpus_and_questions(films_file, tmp_path):
    pack = build_graph_pack(films_file, tmp_path / "home" / "packs" / "films")
    assert open_pack(pack.path).name == "films"
    counts = pack.manifest["counts"]
    assert counts["triples"] == 103 and counts["relations"] == 11
    assert set(counts["questions_by_type"]) == {"single_hop", "inverse", "two_hop", "count", "boolean", "comparison"}
    questions = load_questions(pack.questions_path)
    assert {q.split for q in questions} == {"dev", "test"}
    asked = {q.question: q.answers for q in questions}
    assert asked["What is the director of Alien?"] == ("Ridley Scott",)
    corpus = [json.loads(line) for line in pack.corpus_path.read_text().splitlines()]
    alien = next(p for p in corpus if p["title"] == "Alien")
    assert "Alien — director — Ridley Scott." in alien["text"]
    assert [p.name for p in list_packs(tmp_path / "home")] == ["films"]


def test_generated_questions_are_answered_by_the_engine(films_file, tmp_path):
    from kqa.eval.metrics import score_answer
    from kqa.kb.graph import load_graph
    from kqa.models.embedder import HashingEncoder
    from kqa.readers.graph_reader import GraphReader

    pack = build_graph_pack(films_file, tmp_path / "films")
    reader = GraphReader(load_graph(pack), encode=lambda texts: HashingEncoder().encode(list(texts)))
    questions = load_questions(pack.questions_path)
    right = [score_answer(q, reader.answer(q.question).text).correct for q in questions]
    assert sum(right) / len(right) >= 0.9


def test_a_bad_turtle_file_names_its_line(tmp_path):
    bad = tmp_path / "bad.ttl"
    bad.write_text(FILMS + "\nex:oops ex:director .\n", encoding="utf-8")
    with pytest.raises(BadFileError, match=r"bad\.ttl:\d+"):
        build_graph_pack(bad, tmp_path / "pack")
    assert not (tmp_path / "pack").exists()


def test_a_graph_without_labels_is_refused_with_what_to_do(tmp_path):
    bare = tmp_path / "bare.nt"
    bare.write_text("<http://e.org/a> <http://e.org/knows> <http://e.org/b> .\n", encoding="utf-8")
    with pytest.raises(KqaError, match="no resource has a label.*label_predicates"):
        build_graph_pack(bare, tmp_path / "pack")


def test_rdf_xml_and_a_profile_beside_the_graph(tmp_path):
    from rdflib import Graph

    graph = Graph().parse(data=FILMS, format="turtle")
    xml = tmp_path / "films.rdf"
    graph.serialize(destination=str(xml), format="xml")
    (tmp_path / "profile.json").write_text(json.dumps({"relations": {"runtime": {"unit": "min"}}}))
    pack = build_graph_pack(xml, tmp_path / "films")
    assert (pack.path / "profile.json").is_file()
    assert any(q.answers == ("155 min",) for q in load_questions(pack.questions_path))


def _readme_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Bring your own graph", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```(?:bash|sh)?\n(.*?)```", section, re.S).group(1)
    return [line.strip() for line in block.splitlines() if line.strip().startswith("kqa ")]


@pytest.mark.slow
def test_the_readme_commands_run_on_the_films_graph(films_file, tmp_path):
    commands = _readme_commands()
    assert [c.split()[1] for c in commands] == ["build", "packs", "ask", "eval"]
    env = {**os.environ, "KQA_HOME": str(tmp_path / "home")}
    outputs = []
    for command in commands:
        args = [films_file.name if a == "films.ttl" else a for a in shlex.split(command)[1:]]
        result = subprocess.run([sys.executable, "-m", "kqa.apps.cli", *args], capture_output=True, text=True,
                                env=env, cwd=films_file.parent, timeout=600)
        assert result.returncode == 0, (command, result.stderr[-2000:])
        outputs.append(result.stdout)
    assert "films" in outputs[1] and "Ridley Scott" in outputs[2]
    results = json.loads((tmp_path / "home" / "runs" / "films-all-graph" / "results.json").read_text())
    assert results["metrics"]["graph"]["accuracy"] >= 0.9


def test_info_and_packs_show_a_users_pack(films_file, tmp_path):
    build_graph_pack(films_file, tmp_path / "home" / "packs" / "films")
    env = {**os.environ, "KQA_HOME": str(tmp_path / "home")}
    for args in (["info", "--pack", "films"], ["packs"]):
        result = subprocess.run([sys.executable, "-m", "kqa.apps.cli", *args], capture_output=True, text=True,
                                env=env, timeout=120)
        assert result.returncode == 0 and "films" in result.stdout, result.stderr
    info = subprocess.run([sys.executable, "-m", "kqa.apps.cli", "info", "--pack", "films"], capture_output=True,
                          text=True, env=env, timeout=120).stdout
    assert "11 relations" in info and "generated from the schema" in info


def test_build_of_an_unknown_built_in_pack_says_what_to_do(tmp_path):
    result = subprocess.run([sys.executable, "-m", "kqa.apps.cli", "build", "--pack", "nosuchpack"],
                            capture_output=True, text=True, env={**os.environ, "KQA_HOME": str(tmp_path)}, timeout=120)
    assert result.returncode == 2 and "--graph FILE --pack nosuchpack" in result.stderr
    assert not (tmp_path / "packs" / "nosuchpack").exists()
