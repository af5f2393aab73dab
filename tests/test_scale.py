"""spacy_rnn.scale: annotation on a real local Ray cluster (``ray.init(num_cpus=2)``):
the same results as ``nlp.pipe``, every doc once, a killed worker retried, bad lines
reported as by the local engine."""

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import spacy

ray = pytest.importorskip("ray", reason="the ray extra is not installed")

from spacy_rnn.annotate import annotate, errors_path  # noqa: E402
from spacy_rnn.scale import annotate_dataset  # noqa: E402
from tests.helpers import ANNOTATE_TEXTS as TEXTS  # noqa: E402
from tests.helpers import expected_records as expected  # noqa: E402
from tests.helpers import read_jsonl, write_jsonl  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


@pytest.mark.parametrize("name", ["tagger", "textcat", "lm"])
def test_ray_results_equal_nlp_pipe_exactly(models, tmp_path, name):
    texts = TEXTS * 9
    ids = [f"d{i}" for i in range(len(texts))]
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": t, "id": i} for t, i in zip(texts, ids)])
    summary = annotate(models[name], src, tmp_path / "out.jsonl", engine="ray", workers=2, batch_size=4, progress=False)
    assert (summary.docs, summary.annotated, summary.failed) == (len(texts), len(texts), 0)
    assert read_jsonl(tmp_path / "out.jsonl") == expected(models[name], texts, ids, batch_size=4)
    assert 0 <= summary.first_result_s <= summary.seconds


def annotator_pids():
    """PIDs of this machine's Ray Data workers running PipelineAnnotator."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if b"PipelineAnnotator" in cmdline:
                pids.append(int(proc.name))
    return pids


def test_ten_thousand_docs_come_back_once_each_even_when_a_worker_is_killed(models, tmp_path):
    n = 10_000
    src = tmp_path / "in.txt"
    src.write_text("".join(f"{TEXTS[i % len(TEXTS)]} {i}\n" for i in range(n)), encoding="utf8")
    out = tmp_path / "out.jsonl"
    partial = out.with_name("out.jsonl.partial")
    result = {}

    def run():
        result["summary"] = annotate(models["tagger"], src, out, engine="ray", workers=2, batch_size=50, progress=False)

    thread = threading.Thread(target=run)
    thread.start()
    killed = None
    deadline = time.time() + 300
    while thread.is_alive() and time.time() < deadline:
        pids = annotator_pids()
        written = partial.exists() and partial.stat().st_size > 0
        if written and len(pids) == 2:  # mid-run: results are arriving, both workers up
            killed = pids[0]
            os.kill(killed, signal.SIGKILL)
            break
        time.sleep(0.05)
    thread.join(timeout=600)
    assert killed is not None, "the run ended before a worker could be killed"
    summary = result["summary"]
    assert (summary.docs, summary.annotated, summary.failed) == (n, n, 0)
    ids = [r["id"] for r in read_jsonl(out)]
    assert ids == [f"in.txt:{i}" for i in range(1, n + 1)]  # complete, in order, no duplicates
    assert killed not in annotator_pids()


def test_bad_lines_are_reported_as_by_the_local_engine(models, tmp_path):
    lines = [{"text": "the cat sat ."}, "{oops", {"text": ""}, {"text": " ".join(["w"] * 100_000)}, {"text": "a mat"}]
    src = write_jsonl(tmp_path / "in.jsonl", lines)
    local = annotate(models["tagger"], src, tmp_path / "local.jsonl", progress=False)
    distributed = annotate(models["tagger"], src, tmp_path / "ray.jsonl", engine="ray", progress=False)
    assert (distributed.annotated, distributed.failed) == (local.annotated, local.failed) == (2, 3)
    assert read_jsonl(tmp_path / "ray.jsonl") == read_jsonl(tmp_path / "local.jsonl")
    by_line = lambda path: sorted(read_jsonl(path), key=lambda e: e["line"])  # noqa: E731
    assert by_line(errors_path(tmp_path / "ray.jsonl")) == by_line(errors_path(tmp_path / "local.jsonl"))
    with pytest.raises(ValueError, match="exists"):
        annotate(models["tagger"], src, tmp_path / "ray.jsonl", engine="ray", progress=False)


def test_annotate_dataset_on_a_users_dataset(models):
    texts = ["the cat sat on the mat .", "I love this", "a"]
    ds = ray.data.from_items([{"text": t, "id": f"x{i}", "meta": json.dumps({"i": i})} for i, t in enumerate(texts)])
    rows = annotate_dataset(ds, models["textcat"], workers=1, batch_size=8).take_all()
    nlp = spacy.load(models["textcat"])
    assert [r["id"] for r in rows] == ["x0", "x1", "x2"]
    assert [r["error"] for r in rows] == [None] * 3
    for row, doc in zip(rows, nlp.pipe(texts, batch_size=8)):
        record = json.loads(row["result"])
        assert record["cats"] == {k: float(v) for k, v in doc.cats.items()}
        assert record["meta"] == {"i": int(row["id"][1:])}
        assert row["tokens"] == len(doc)
