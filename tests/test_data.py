"""The TweetEval converter: layout -> .spacy with cats, and its errors."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin

from spacy_rnn.data import convert_tweeteval, read_texts, read_tweeteval, text_shards, tweeteval_docbin
from tests.helpers import DATA_DIR, TESTS

TINY = TESTS / "data" / "tweeteval_tiny"


@pytest.fixture
def task(tmp_path):
    path = tmp_path / "task"
    shutil.copytree(TINY, path)
    return path


def test_converts_each_split_with_one_positive_cat(task, tmp_path):
    paths = convert_tweeteval(task, tmp_path / "out")
    assert [p.name for p in paths] == ["train.spacy", "dev.spacy", "test.spacy"]
    nlp = spacy.blank("en")
    docs = list(DocBin().from_disk(tmp_path / "out" / "dev.spacy").get_docs(nlp.vocab))
    assert len(docs) == 9
    assert docs[0].text == "I love this , what a happy day"
    assert docs[0].cats == {"anger": 0.0, "joy": 1.0, "sadness": 0.0}
    assert all(sum(d.cats.values()) == 1.0 for d in docs)


def test_mismatched_line_counts_raise(task):
    (task / "train_labels.txt").write_text("0\n1\n")
    with pytest.raises(ValueError, match="train_text.txt has 9 lines but train_labels.txt has 2"):
        list(read_tweeteval(task, "train"))


@pytest.mark.parametrize("label", ["7", "joy", ""])
def test_unknown_label_ids_raise(task, label):
    lines = (task / "test_labels.txt").read_text().splitlines()
    lines[4] = label
    (task / "test_labels.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="line 5 has the label .* not an id in mapping.txt"):
        tweeteval_docbin(task, "test")


def test_bad_mapping_or_missing_files_raise(task, tmp_path):
    (task / "mapping.txt").write_text("0 anger\n")
    with pytest.raises(ValueError, match=r"mapping.txt line 1 is not"):
        list(read_tweeteval(task, "train"))
    with pytest.raises(ValueError, match="mapping.txt not found"):
        list(read_tweeteval(tmp_path, "train"))
    shutil.copy(TINY / "mapping.txt", task / "mapping.txt")
    (task / "val_text.txt").unlink()
    with pytest.raises(ValueError, match="val_text.txt not found"):
        convert_tweeteval(task, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing half-written
    with pytest.raises(ValueError, match="unknown split"):
        list(read_tweeteval(task, "validation"))


@pytest.mark.parametrize("name,sizes", [("emotion", (3257, 374, 1421)), ("offensive", (11916, 1324, 860))])
def test_real_tweeteval_tasks(name, sizes):
    path = DATA_DIR / "tweeteval" / name
    if not path.is_dir():
        pytest.skip(f"TweetEval is not at {path}")
    for split, size in zip(("train", "val", "test"), sizes):
        items = list(read_tweeteval(path, split))
        assert len(items) == size


def _tiny_corpus(task, tmp_path):
    """emotion-like and stance-like (two targets) tiny corpora in the converter's layout."""
    convert_tweeteval(task, tmp_path / "corpus" / "emotion")
    stance = tmp_path / "stance"
    for target in ("abortion", "climate"):
        shutil.copytree(task, stance / target)
        (stance / target / "mapping.txt").write_text("0\tnone\n1\tagainst\n2\tfavor\n")
    convert_tweeteval(stance, tmp_path / "corpus" / "stance")
    return tmp_path / "corpus"


def test_selection_script_predicts_each_held_out_doc_once(task, tmp_path):
    """scripts/select_textcat.py (how the textcat defaults are chosen): k-fold CV on the
    train split of the tasks in --cv, train -> val for the others, official metrics."""
    import json

    corpus = _tiny_corpus(task, tmp_path)
    out = tmp_path / "select.json"
    cmd = [
        sys.executable,
        str(TESTS.parent / "scripts" / "select_textcat.py"),
        str(TESTS.parent / "configs" / "ablations" / "textcat_ngram_bow.cfg"),
        str(out),
        "--tasks",
        "emotion",
        "stance",
        "--cv",
        "stance",
        "--folds",
        "3",
        "--corpus",
        str(corpus),
        "--set",
        "training.max_steps=4",
        "training.eval_frequency=2",
        "components.rnn_textcat.model.length=1024",
        "--models",
        "best",
        "last",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads(out.read_text())
    assert record["tasks"]["emotion"]["n"] == 9  # the val split
    assert record["tasks"]["stance"]["n"] == 18  # each target's 9 train docs, once each
    assert sum(record["tasks"]["stance"]["pred_counts"].values()) == 18
    # model-last scored from the same trainings
    assert sum(record["tasks"]["stance"]["pred_counts_last"].values()) == 18
    assert 0 <= record["mean_last"] <= 100
    assert 0 <= record["mean"] <= 100
    assert record["overrides"]["components.rnn_textcat.model.length"] == 1024


def test_benchmark_script_scores_every_system_on_every_task(task, tmp_path):
    import json

    corpus = _tiny_corpus(task, tmp_path)
    out = tmp_path / "bench.json"
    bow = str(TESTS.parent / "configs" / "ablations" / "textcat_ngram_bow.cfg")
    cmd = [
        sys.executable,
        str(TESTS.parent / "scripts" / "benchmark_textcat.py"),
        str(out),
        "--tasks",
        "emotion",
        "stance",
        "--corpus",
        str(corpus),
        "--training",
        str(tmp_path / "training"),
        "--systems",
        f"a={bow}",
        f"b={bow}@a",
    ]
    env = {**os.environ, "SPACY_RNN_BENCHMARK_OVERRIDES": "--training.max_steps 4 --training.eval_frequency 2"}
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    record = json.loads(out.read_text())
    for name in ("a", "b"):
        assert sum(record["tasks"]["stance"][name]["pred_counts"].values()) == 18  # both targets' test docs
        assert record["tasks"]["emotion"][name]["infer_wps"] > 0
        assert 0 <= record["mean"][name] <= 100
    assert record["tasks"]["emotion"]["b"]["budget_of"] == "a"


def plot_label_curve(curve: Path, images: Path) -> None:
    """Run scripts/plots.py --label-curve on ``curve``; it must succeed."""
    cmd = [sys.executable, str(TESTS.parent / "scripts" / "plots.py"), str(images), "--label-curve", str(curve)]
    plots = subprocess.run(cmd, capture_output=True, text=True, cwd=images.parent)
    assert plots.returncode == 0, plots.stderr[-2000:]


def test_label_curve_trains_each_fraction_and_plots_it(task, tmp_path):
    """scripts/label_curve.py: the first round(fraction * n) train docs per system, scored
    on test by benchmark_textcat.py; plots.py --label-curve draws it."""
    import json

    corpus = _tiny_corpus(task, tmp_path)
    bow = str(TESTS.parent / "configs" / "ablations" / "textcat_ngram_bow.cfg")
    out = tmp_path / "curve.json"
    cmd = [sys.executable, str(TESTS.parent / "scripts" / "label_curve.py"), str(out), "--fractions", "0.5", "1"]
    cmd += ["--systems", f"a={bow}", f"b={bow}", "--options", "b=--training.seed 1", "--corpus", str(corpus)]
    cmd += ["--training", str(tmp_path / "training")]
    env = {**os.environ, "SPACY_RNN_BENCHMARK_OVERRIDES": "--training.max_steps 4 --training.eval_frequency 2"}
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    record = json.loads(out.read_text())
    assert record["n_train"] == 9
    assert [(r["n"], r["system"]) for r in record["rows"]] == [(4, "a"), (4, "b"), (9, "a"), (9, "b")]
    config = (tmp_path / "training" / "0.5" / "b" / "emotion" / "model-best" / "config.cfg").read_text()
    assert "limit = 4" in config and "seed = 1" in config  # the fraction and the system's own options
    plot_label_curve(out, tmp_path / "img")
    assert (tmp_path / "img" / "label_curve_emotion.png").stat().st_size > 0


def test_label_curve_of_a_tagger_trains_on_nested_random_subsets(tiny_docs, tmp_path):
    """scripts/label_curve.py --tagging: a seeded random half of the train docs (all of
    them at 100 %), UPOS on test and on the test words unseen in that fraction."""
    import json

    DocBin(docs=tiny_docs).to_disk(tmp_path / "train.spacy")
    data = [str(tmp_path / "train.spacy")] * 3  # train = dev = test
    out = tmp_path / "curve.json"
    cmd = [sys.executable, str(TESTS.parent / "scripts" / "label_curve.py"), str(out), "--fractions", "0.5", "1"]
    cmd += ["--tagging", *data, "--systems", f"a={TESTS.parent / 'configs' / 'tagger.cfg'}", "--training"]
    cmd += [str(tmp_path / "training"), "--options", "a=--training.max_steps 4 --training.eval_frequency 2"]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    record = json.loads(out.read_text())
    assert record["task"] == "pos" and record["n_train"] == 20
    half, full = record["rows"]
    assert (half["n"], full["n"]) == (10, 20)
    subset = list(
        DocBin().from_disk(tmp_path / "training" / "pos" / "0.5" / "train.spacy").get_docs(spacy.blank("en").vocab)
    )
    texts = [d.text for d in tiny_docs]
    assert len(subset) == 10 and texts[:10] != [d.text for d in subset]  # drawn, not the first ten
    assert all(d.text in texts for d in subset)
    assert not (tmp_path / "training" / "pos" / "1" / "train.spacy").exists()  # 100 %: train itself
    assert full["n_unseen"] == 0 < half["n_unseen"]  # test = train: nothing unseen at 100 %
    assert all(0 <= row["score"] <= 100 and row["train_s"] > 0 for row in (half, full))
    config = (tmp_path / "training" / "pos" / "0.5" / "a" / "model-best" / "config.cfg").read_text()
    assert "max_steps = 4" in config
    plot_label_curve(out, tmp_path / "img")
    import matplotlib.pyplot as plt

    height, width = plt.imread(tmp_path / "img" / "label_curve_pos.png").shape[:2]
    assert width > 2 * height  # two panels side by side: all test words, and the unseen ones


def test_a_task_with_targets_is_converted_target_by_target(task, tmp_path):
    stance = tmp_path / "stance"
    for target in ("abortion", "climate"):
        shutil.copytree(task, stance / target)
    paths = convert_tweeteval(stance, tmp_path / "out")
    assert sorted(str(p.relative_to(tmp_path / "out")) for p in paths) == sorted(
        f"{t}/{s}.spacy" for t in ("abortion", "climate") for s in ("train", "dev", "test")
    )
    (stance / "climate" / "test_labels.txt").write_text("9\n" * 9)
    with pytest.raises(ValueError, match="climate/test_labels.txt line 1"):
        convert_tweeteval(stance, tmp_path / "out2")
    assert not (tmp_path / "out2").exists()  # nothing half-written
    with pytest.raises(ValueError, match="no subfolder .* has one"):
        convert_tweeteval(tmp_path / "out", tmp_path / "out3")


def test_emoji_mapping_takes_the_name_as_the_label(task):
    (task / "mapping.txt").write_text("0\t❤\t_red_heart_\t\n1\t😍\t_smiling_face_\t\n2\t😂\t_joy_\t\n")
    from spacy_rnn.data import read_tweeteval_mapping

    assert read_tweeteval_mapping(task) == {0: "red_heart", 1: "smiling_face", 2: "joy"}


def test_official_scores():
    from spacy_rnn.data import official_score

    golds = ["none", "against", "favor", "against", "favor", "none"]
    preds = ["none", "against", "against", "against", "favor", "favor"]
    labels = ["none", "against", "favor"]
    # against: p 2/3 r 1 f 0.8; favor: p 1/2 r 1/2 f 0.5; none: p 1 r 1/2 f 2/3
    assert official_score("stance", golds, preds, labels) == pytest.approx((0.8 + 0.5) / 2)
    assert official_score("emotion", golds, preds, labels) == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert official_score("sentiment", golds, preds, labels) == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert official_score("irony", ["irony", "non_irony"], ["irony", "irony"], ["irony", "non_irony"]) == pytest.approx(
        2 / 3
    )
    with pytest.raises(ValueError, match="unknown task"):
        official_score("sarcasm", golds, preds, labels)
    with pytest.raises(ValueError, match="not among"):
        official_score("stance", golds, preds, ["none", "pro", "con"])


@pytest.mark.parametrize(
    "name,sizes",
    [("emoji", (45000, 5000, 50000)), ("stance/abortion", (587, 66, 280)), ("stance/climate", (355, 40, 169))],
)
def test_more_real_tweeteval_tasks(name, sizes):
    path = DATA_DIR / "tweeteval" / name
    if not path.is_dir():
        pytest.skip(f"TweetEval is not at {path}")
    for split, size in zip(("train", "val", "test"), sizes):
        assert len(list(read_tweeteval(path, split))) == size


def _docs(folder):
    nlp = spacy.blank("en")
    return [d.text for p in sorted(folder.glob("shard-*.spacy")) for d in DocBin().from_disk(p).get_docs(nlp.vocab)]


def test_unlabelled_text_from_files_folders_and_jsonl(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("a one\n\na two\na three\n")
    (corpus / "b.jsonl").write_text('{"text": "b one", "meta": 1}\n{"text": "  "}\n{"text": "b two"}\n')
    (corpus / "notes.md").write_text("not read\n")
    assert list(read_texts([corpus])) == ["a one", "a two", "a three", "b one", "b two"]
    assert list(read_texts([corpus], interleave=True)) == ["a one", "b one", "a two", "b two", "a three"]
    (tmp_path / "c.jsonl").write_text('{"body": "c"}\nnot json\n')
    assert next(read_texts([tmp_path / "c.jsonl"], field="body")) == "c"
    with pytest.raises(ValueError, match="c.jsonl line 1 has no string field 'text'"):
        list(read_texts([tmp_path / "c.jsonl"]))
    with pytest.raises(ValueError, match="c.jsonl line 2 is not JSON"):
        list(read_texts([tmp_path / "c.jsonl"], field="body"))
    with pytest.raises(ValueError, match="missing.txt not found"):
        list(read_texts([tmp_path / "missing.txt"]))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no .txt or .jsonl files"):
        list(read_texts([tmp_path / "empty"]))


def test_text_shards_hold_out_every_nth_doc_within_the_word_budget(tmp_path):
    lines = [f"doc {i} has five words" for i in range(1, 101)]  # 5 tokens each
    (tmp_path / "in.txt").write_text("\n".join(lines))
    counts = text_shards(
        [tmp_path / "in.txt"],
        tmp_path / "train",
        shard_size=7,
        dev_dir=tmp_path / "dev",
        dev_every=10,
        dev_docs=3,
        progress=False,
    )
    train, dev = _docs(tmp_path / "train"), _docs(tmp_path / "dev")
    assert dev == [lines[9], lines[19], lines[29]]
    assert train == [t for t in lines if t not in dev] and not set(train) & set(dev)
    assert counts == {"docs": 97, "tokens": 485, "shards": 14, "dev_docs": 3, "dev_tokens": 15}
    words = json.loads((tmp_path / "train" / "word_counts.json").read_text())
    assert list(words)[:4] == ["doc", "five", "has", "words"]  # most frequent first (ties: a-z)
    assert words["doc"] == 97 and "10" not in words and words["11"] == 1  # the held-out docs not counted
    counts = text_shards([tmp_path / "in.txt"], tmp_path / "train", max_words=12, progress=False)
    assert _docs(tmp_path / "train") == lines[:3] and counts["tokens"] == 15  # old shards replaced
    with pytest.raises(ValueError, match="dev_every"):
        text_shards([tmp_path / "in.txt"], tmp_path / "x", dev_every=0)
    with pytest.raises(ValueError, match="fewer than 500 documents"):
        text_shards([tmp_path / "in.txt"], tmp_path / "x", dev_dir=tmp_path / "y", dev_every=500, progress=False)
