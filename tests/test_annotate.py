"""spacy_rnn.annotate: the local engine of ``spacy-rnn annotate`` (reading, annotating in
input order, failures reported per line, outputs that never mix two runs)."""

import json
import subprocess
import sys

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin

from spacy_rnn.annotate import (
    Failure,
    Record,
    annotate,
    annotate_local,
    annotate_records,
    errors_path,
    read_records,
)
from tests.helpers import ANNOTATE_TEXTS as TEXTS
from tests.helpers import expected_records as expected
from tests.helpers import read_jsonl, write_jsonl


@pytest.mark.parametrize("name", ["tagger", "textcat", "lm"])
def test_results_equal_nlp_pipe_exactly(models, tmp_path, name):
    texts = TEXTS * 7
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": t, "id": f"d{i}"} for i, t in enumerate(texts)])
    summary = annotate(models[name], src, tmp_path / "out.jsonl", batch_size=4, progress=False)
    assert (summary.docs, summary.annotated, summary.failed) == (len(texts), len(texts), 0)
    got = read_jsonl(tmp_path / "out.jsonl")
    assert got == expected(models[name], texts, [f"d{i}" for i in range(len(texts))], batch_size=4)
    key = {"tagger": "pos", "textcat": "cats", "lm": "surprisal"}[name]
    assert all(key in record for record in got)
    assert summary.errors is None and not errors_path(tmp_path / "out.jsonl").exists()
    assert 0 <= summary.first_result_s <= summary.seconds
    assert summary.words == sum(len(r.get("words", r["text"].split())) for r in got)


def test_two_processes_give_the_same_output_in_input_order(models, tmp_path):
    texts = [f"{t} {i}" for i in range(40) for t in TEXTS[:2]]
    src = tmp_path / "in.txt"
    src.write_text("\n".join(texts) + "\n", encoding="utf8")
    annotate(models["tagger"], src, tmp_path / "one.jsonl", batch_size=8, progress=False)
    annotate(models["tagger"], src, tmp_path / "two.jsonl", batch_size=8, n_process=2, progress=False)
    one, two = read_jsonl(tmp_path / "one.jsonl"), read_jsonl(tmp_path / "two.jsonl")
    assert one == two
    assert [r["id"] for r in one] == [f"in.txt:{i}" for i in range(1, len(texts) + 1)]


def test_bad_lines_are_reported_with_line_and_reason_and_the_rest_is_annotated(models, tmp_path):
    long_text = " ".join(["word"] * 100_000)
    lines = [
        {"text": "the cat sat on the mat ."},
        "{not json",
        {"body": "no text field"},
        {"text": "   "},
        {"text": 42},
        {"text": long_text},
        "[1, 2]",
        {"text": "a dog lay on a log .", "meta": {"source": "x"}},
    ]
    src = write_jsonl(tmp_path / "in.jsonl", lines)
    out = tmp_path / "out.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "spacy_rnn", "annotate", str(models["tagger"]), str(src), str(out), "--no-progress"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "6 lines could not be annotated" in result.stdout
    records = read_jsonl(out)
    assert [r["text"] for r in records] == ["the cat sat on the mat .", "a dog lay on a log ."]
    assert records[1]["meta"] == {"source": "x"}
    errors = read_jsonl(errors_path(out))
    assert [e["line"] for e in errors] == [2, 3, 4, 5, 6, 7]
    reasons = [e["reason"] for e in errors]
    assert reasons[0].startswith("invalid JSON")
    assert reasons[1] == "no field 'text'"
    assert reasons[2] == "empty text"
    assert reasons[3] == "field 'text' is not a string"
    assert reasons[4] == "100000 tokens, over the limit of 20000 (--max-tokens)"
    assert reasons[5] == "not a JSON object but list"


def test_a_doc_the_pipeline_fails_on_is_reported_and_its_batch_is_kept(models, tmp_path):
    @Language.component("spacy_rnn_test_fails_on_boom")
    def fails_on_boom(doc):
        if "boom" in doc.text:
            raise ValueError("boom is not a word")
        return doc

    nlp = spacy.load(models["tagger"])
    nlp.add_pipe("spacy_rnn_test_fails_on_boom")
    records = [Record(i, str(i), "in", i + 1, t) for i, t in enumerate(["the cat", "boom boom", "a mat"])]
    results = annotate_records(nlp, records, batch_size=8)
    assert isinstance(results[1], Failure) and results[1].reason == "ValueError: boom is not a word"
    assert results[1].line == 2
    assert [r.record["text"] for r in (results[0], results[2])] == ["the cat", "a mat"]
    assert results[0].record == expected(models["tagger"], ["the cat"], ["0"])[0]


def test_an_existing_output_is_never_mixed_with_a_new_run(models, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in TEXTS])
    out = tmp_path / "out.jsonl"
    annotate(models["tagger"], src, out, progress=False)
    first = out.read_text()
    write_jsonl(src, [{"text": "only one"}])
    with pytest.raises(ValueError, match="exists; choose another OUTPUT or pass --overwrite"):
        annotate(models["tagger"], src, out, progress=False)
    assert out.read_text() == first
    annotate(models["tagger"], src, out, progress=False, overwrite=True)
    assert [r["text"] for r in read_jsonl(out)] == ["only one"]


@Language.component("spacy_rnn_test_interrupted_on_boom")
def interrupted_on_boom(doc):
    if "boom" in doc.text:
        raise KeyboardInterrupt  # as if the user pressed Ctrl-C here
    return doc


def test_a_crash_keeps_the_work_done_in_the_partial_output(models, tmp_path):
    nlp = spacy.load(models["tagger"])
    nlp.add_pipe("spacy_rnn_test_interrupted_on_boom")
    nlp.to_disk(tmp_path / "model")
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in TEXTS + ["boom", "after"]])
    out = tmp_path / "out.jsonl"
    with pytest.raises(KeyboardInterrupt):
        annotate(tmp_path / "model", src, out, batch_size=2, progress=False)
    assert not out.exists()
    partial = out.with_name("out.jsonl.partial")
    assert [r["text"] for r in read_jsonl(partial)] == TEXTS[:4]  # the batches before the crash
    with pytest.raises(ValueError, match="out.jsonl.partial exists"):
        annotate(models["tagger"], src, out, progress=False)


def test_lines_that_are_not_utf8_are_reported(models, tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(b"the cat\n\xff\xfe not utf-8\na mat\n")
    summary = annotate(models["tagger"], src, tmp_path / "out.jsonl", progress=False)
    assert (summary.annotated, summary.failed) == (2, 1)
    (error,) = read_jsonl(errors_path(tmp_path / "out.jsonl"))
    assert error["line"] == 2 and error["reason"].startswith("not UTF-8")


def test_inputs_text_jsonl_docbin_directory_and_glob(models, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("the cat sat\n\nhome\n", encoding="utf8")
    write_jsonl(folder / "b.jsonl", [{"text": "a mat", "id": 7, "meta": [1, 2]}])
    nlp = spacy.blank("en")
    DocBin(docs=[Doc(nlp.vocab, words=["New", "York-based", "firm"], spaces=[True, True, False])]).to_disk(
        folder / "c.spacy"
    )
    items = list(read_records(sorted(folder.iterdir())))
    assert [type(i).__name__ for i in items] == ["Record", "Failure", "Record", "Record", "Record"]
    assert [i.seq for i in items] == [0, 1, 2, 3, 4]
    assert items[1].reason == "empty text" and items[1].line == 2
    assert (items[3].id, items[3].meta) == ("7", [1, 2])
    assert items[4].words == ["New", "York-based", "firm"]
    summary = annotate(models["tagger"], folder, tmp_path / "dir.jsonl", progress=False)
    records = read_jsonl(tmp_path / "dir.jsonl")
    assert [r["id"] for r in records] == ["a.txt:1", "a.txt:3", "7", "c.spacy:1"]
    assert records[3]["words"] == ["New", "York-based", "firm"]  # the DocBin's tokens are kept
    assert summary.failed == 1
    annotate(models["tagger"], str(folder / "*.txt"), tmp_path / "glob.jsonl", progress=False)
    assert [r["id"] for r in read_jsonl(tmp_path / "glob.jsonl")] == ["a.txt:1", "a.txt:3"]
    with pytest.raises(ValueError, match="no input files"):
        annotate(models["tagger"], tmp_path / "nothing*.txt", tmp_path / "x.jsonl", progress=False)


def test_docbin_and_parquet_outputs_hold_the_same_annotations(models, tmp_path):
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    src = write_jsonl(tmp_path / "in.jsonl", [{"text": t, "meta": {"n": i}} for i, t in enumerate(TEXTS)])
    annotate(models["lm"], src, tmp_path / "out.jsonl", progress=False)
    annotate(models["lm"], src, tmp_path / "shards", fmt="spacy", progress=False)
    annotate(models["lm"], src, tmp_path / "out.parquet", progress=False)
    records = read_jsonl(tmp_path / "out.jsonl")
    nlp = spacy.load(models["lm"])
    docs = [d for p in sorted((tmp_path / "shards").glob("*.spacy")) for d in DocBin().from_disk(p).get_docs(nlp.vocab)]
    assert [d.text for d in docs] == TEXTS
    assert [d._.logprob for d in docs] == [r["logprob"] for r in records]
    assert [[t._.surprisal for t in d] for d in docs] == [r["surprisal"] for r in records]
    rows = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert [json.loads(r.pop("meta")) for r in rows] == [r.pop("meta") for r in records]
    assert rows == records
    with pytest.raises(ValueError, match="pass --format"):
        annotate(models["lm"], src, tmp_path / "out.csv", progress=False)


def test_the_local_engine_streams(models):
    """Memory does not grow with the input: the first results come back after reading
    about one batch, not the whole input."""
    pulled = []

    def source():
        for i in range(10_000):
            pulled.append(i)
            yield Record(i, str(i), "gen", i + 1, "the cat sat")

    results = annotate_local(models["tagger"], source(), batch_size=16)
    first = next(results)
    assert first.seq == 0 and len(pulled) <= 16
    for _ in range(40):
        next(results)
    assert len(pulled) <= 64


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"engine": "spark"}, "unknown engine 'spark'"),
        ({"batch_size": 0}, "batch_size must be at least 1"),
        ({"max_tokens": -1}, "max_tokens must be 0"),
        ({"fmt": "csv"}, "unknown output format 'csv'"),
    ],
)
def test_wrong_options_are_named(models, tmp_path, kwargs, message):
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": "a"}])
    with pytest.raises(ValueError, match=message):
        annotate(models["tagger"], src, tmp_path / "out.jsonl", progress=False, **kwargs)
