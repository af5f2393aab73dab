"""spacy_rnn.cli: ``spacy-rnn`` / ``python -m spacy_rnn`` commands and their errors."""

import json
import shutil
import subprocess
import sys

import pytest
import spacy

from tests.helpers import TESTS, lm_nlp, train_lm


def run(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "spacy_rnn", *map(str, args)], capture_output=True, text=True, **kwargs
    )


def said(result) -> str:
    """What a command printed, with wasabi's line wrapping undone."""
    return " ".join((result.stdout + result.stderr).split())


@pytest.fixture(scope="module")
def lm_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("lm") / "model"
    train_lm(lm_nlp(), steps=300).to_disk(path)
    return path


def test_help_lists_the_commands_and_the_console_script_works():
    result = run("--help")
    assert result.returncode == 0
    for command in ("convert-tweeteval", "convert-lines", "convert-text", "evaluate", "generate", "annotate"):
        assert command in result.stdout
    script = shutil.which("spacy-rnn")
    if script:  # installed with pip install -e .
        assert subprocess.run([script, "--help"], capture_output=True, text=True).returncode == 0


def test_convert_tweeteval_reports_bad_files(tmp_path):
    task = tmp_path / "task"
    shutil.copytree(TESTS / "data" / "tweeteval_tiny", task)
    result = run("convert-tweeteval", task, tmp_path / "out")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "out" / "train.spacy").exists() and "wrote" in said(result)
    (task / "val_labels.txt").write_text("1\n")
    result = run("convert-tweeteval", task, tmp_path / "out")
    assert result.returncode == 1 and "9 lines but val_labels.txt has 1" in said(result)


def test_convert_lines(tmp_path):
    (tmp_path / "in.txt").write_text("the cat sat .\na dog\n")
    result = run("convert-lines", tmp_path / "in.txt", tmp_path / "out.spacy")
    assert result.returncode == 0 and "2 docs" in said(result)
    assert run("convert-lines", tmp_path / "missing.txt", tmp_path / "x.spacy").returncode == 1


def test_convert_text_with_a_held_out_folder(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("\n".join(f"line {i} ." for i in range(10)))
    (tmp_path / "in" / "b.jsonl").write_text('{"text": "from json"}\n')
    result = run(
        "convert-text",
        tmp_path / "in",
        "--output",
        tmp_path / "train",
        "--dev-output",
        tmp_path / "dev",
        "--dev-every",
        "5",
        "--interleave",
    )
    assert result.returncode == 0, said(result)
    assert "9 docs" in said(result) and "held out" in said(result) and "2 docs" in said(result)
    result = run("convert-text", tmp_path / "nothing.txt", "--output", tmp_path / "x")
    assert result.returncode == 1 and "nothing.txt not found" in said(result)


def test_generate(lm_dir, tmp_path):
    result = run("generate", lm_dir, "the cat", "--greedy", "--output", tmp_path / "samples.txt")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "the cat sat on the mat ."
    assert (tmp_path / "samples.txt").read_text() == "the cat sat on the mat .\n"
    result = run("generate", lm_dir, "the cat", "--top-p", "0")
    assert result.returncode == 1 and "top_p" in said(result)


def test_evaluate_shows_the_perplexity(lm_dir, tmp_path):
    from spacy.tokens import DocBin

    nlp = spacy.load(lm_dir)
    DocBin(docs=[nlp.make_doc("the cat sat on the mat ."), nlp.make_doc("a dog lay on a log .")]).to_disk(
        tmp_path / "d.spacy"
    )
    result = run("evaluate", lm_dir, tmp_path / "d.spacy", "--output", tmp_path / "m.json")
    assert result.returncode == 0, result.stdout + result.stderr
    scores = json.loads((tmp_path / "m.json").read_text())
    assert "perplexity" in said(result) and f"{scores['lm_ppl']:.2f}" in said(result)
    assert run("evaluate", lm_dir, tmp_path / "nope.spacy").returncode == 1
