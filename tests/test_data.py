"""The TweetEval converter: layout -> .spacy with cats, and its errors."""
import shutil
import subprocess
import sys

import pytest
import spacy
from spacy.tokens import DocBin

from conftest import DATA_DIR, TESTS
from spacy_rnn.data import convert_tweeteval, read_tweeteval, tweeteval_docbin

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


def test_command_line(task, tmp_path):
    cmd = [sys.executable, "-m", "spacy_rnn", "convert-tweeteval", str(task), str(tmp_path / "out")]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "train.spacy").exists()
    (task / "val_labels.txt").write_text("1\n")
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 1 and "9 lines but val_labels.txt has 1" in result.stderr


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


def test_cross_validation_script_predicts_each_doc_once(task, tmp_path):
    """scripts/cv_textcat.py (how the textcat settings were chosen) runs k folds and
    scores the pooled out-of-fold predictions."""
    import json

    convert_tweeteval(task, tmp_path / "corpus")
    out = tmp_path / "cv.json"
    cmd = [
        sys.executable, str(TESTS.parent / "scripts" / "cv_textcat.py"),
        str(TESTS.parent / "configs" / "ablations" / "textcat_ngram_bow.cfg"),
        str(tmp_path / "corpus" / "train.spacy"), str(out), "--folds", "3",
        "--set", "training.max_steps=5", "training.eval_frequency=5",
        "components.rnn_textcat.model.length=1024",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads(out.read_text())
    assert record["n_predicted"] == 9 and len(record["per_fold"]) == 3
    assert 0 <= record["macro_f1"] <= 100
    assert record["overrides"]["components.rnn_textcat.model.length"] == 1024
