"""project.yml stays runnable: the `quick` workflow (convert -> train -> evaluate)
runs end to end through `spacy project run` on the tiny fixture corpus."""

import json
import shutil
import subprocess
import sys

import pytest

from tests.helpers import DATA_DIR, FIXTURE_CONLLU, ROOT, TESTS


@pytest.fixture
def project_dir(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "project.yml", project / "project.yml")
    shutil.copytree(ROOT / "configs", project / "configs")
    shutil.copytree(ROOT / "scripts", project / "scripts")
    return project


QUICK = "training.max_steps=6 training.eval_frequency=3 corpora.train.limit=200 corpora.dev.limit=200"


def test_the_main_job_runs_end_to_end_on_a_quick_setting(project_dir, tmp_path):
    """`spacy project run all` with the README's quick overrides, on the fixture corpora:
    every step runs and writes what it promises (metrics, samples, plots)."""
    data = tmp_path / "data" / "ud-english-ewt"
    data.mkdir(parents=True)
    for split in ("train", "dev", "test"):
        shutil.copy(FIXTURE_CONLLU, data / f"en_ewt-ud-{split}.conllu")
    for task in ("emotion", "offensive", "emoji", "stance/abortion", "stance/climate"):
        shutil.copytree(TESTS / "data" / "tweeteval_tiny", tmp_path / "data" / "tweeteval" / task)
    cmd = [
        sys.executable,
        "-m",
        "spacy",
        "project",
        "run",
        "all",
        str(project_dir),
        "--vars.data_dir",
        str(tmp_path / "data"),
        "--vars.train_set",
        QUICK,
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=project_dir)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    metrics = project_dir / "metrics"
    assert 0.0 <= json.loads((metrics / "tagger.json").read_text())["pos_acc"] <= 1.0
    assert 0.0 <= json.loads((metrics / "textcat" / "emotion.json").read_text())["cats_macro_f"] <= 1.0
    lm = json.loads((metrics / "lm.json").read_text())
    assert lm["test"]["ppl"] > 1.0 and lm["test"]["predicted_tokens"] > 0
    assert len((metrics / "lm_samples.txt").read_text().splitlines()) == 4
    plots = sorted(p.name for p in (metrics / "plots").glob("*.png"))
    assert {
        "curve_tagger.png",
        "curve_lm.png",
        "curve_textcat_emotion.png",
        "confusion_tagger.png",
        "confusion_textcat-emotion.png",
    } <= set(plots)
    log = (project_dir / "training" / "tagger" / "log.jsonl").read_text().splitlines()
    assert json.loads(log[-1])["step"] == 6  # the quick overrides reached spacy train


def test_the_pretrained_workflow_runs_on_a_quick_setting_and_its_pipelines_stand_alone(project_dir, tmp_path):
    """`spacy project run pretrained` (pretrain on a user's text file -> tagger and textcat
    fine-tuned from the language models; the textcat's LM trained further on the task's
    train texts first, then fine-tuned or read as frozen features), quick overrides, on
    the fixture corpora; the trained pipelines load and predict after the language models
    are deleted."""
    import spacy

    data = tmp_path / "data"
    (data / "ud-english-ewt").mkdir(parents=True)
    for split in ("train", "dev"):
        shutil.copy(FIXTURE_CONLLU, data / "ud-english-ewt" / f"en_ewt-ud-{split}.conllu")
    # test: the same sentences with every word form unseen in train ("Thezz")
    conllu = [line.split("\t") for line in FIXTURE_CONLLU.read_text().splitlines()]
    unseen = ["\t".join(r[:1] + [r[1] + "zz"] + r[2:]) if len(r) == 10 else r[0] for r in conllu]
    (data / "ud-english-ewt" / "en_ewt-ud-test.conllu").write_text("\n".join(unseen) + "\n")
    for task in ("emotion", "offensive", "emoji", "stance/abortion"):
        shutil.copytree(TESTS / "data" / "tweeteval_tiny", data / "tweeteval" / task)
    texts = (TESTS / "data" / "tweeteval_tiny" / "train_text.txt").read_text().splitlines()
    lines = [f"{texts[i % len(texts)]} number {i % 7}" for i in range(300)]  # a user's unlabelled text
    lines[200:210] = [f"{line} zebrafish" for line in lines[200:210]]  # a word only after the first 100 docs
    (tmp_path / "mine.txt").write_text("\n".join(lines))
    cmd = [sys.executable, "-m", "spacy", "project", "run", "pretrained", str(project_dir)]
    cmd += ["--vars.data_dir", str(data), "--vars.train_set", QUICK, "--vars.pretrain_budget", "600"]
    cmd += ["--vars.unlabelled", str(tmp_path / "mine.txt"), "--vars.unlabelled_tweets", str(tmp_path / "mine.txt")]
    cmd += ["--vars.textcat_lm", "training/lm-finetune/emotion/model-best", "--vars.lm_dev_every", "3"]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=project_dir)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    training = project_dir / "training"
    for lm in ("pretrain", "pretrain-textcat"):
        assert json.loads((training / lm / "log.jsonl").read_text().splitlines()[-1])["step"] == 6
    assert (training / "lm-finetune" / "emotion" / "model-best" / "rnn_lm").is_dir()  # 3 epochs of one batch
    for lm in ("pretrain", "pretrain-textcat"):  # the vocabulary of the whole streamed corpus
        assert "zebrafish" in spacy.load(training / lm / "model-best").get_pipe("rnn_lm").words
    lm_scores = json.loads((project_dir / "metrics" / "lm_pretrained.json").read_text())  # EWT LM from `pretrain`
    assert lm_scores["test"]["ppl"] > 1.0 and lm_scores["test"]["predicted_tokens"] > 0
    for lm in ("pretrain", "pretrain-textcat", "lm-finetune"):
        shutil.rmtree(training / lm)
    lm_nlp = spacy.load(training / "lm-pretrained" / "model-best")
    assert lm_nlp("I like it")._.logprob < 0
    for tagger_run in ("tagger-pretrained", "tagger-features"):  # fine-tuned, frozen features
        tagger = spacy.load(training / tagger_run / "model-best")
        assert all(t.pos_ for t in tagger("The quick brown fox jumps"))
    bench = json.loads((project_dir / "metrics" / "benchmark_tagger_pretrained.json").read_text())
    assert [row["model"] for row in bench] == [
        "rnn_tagger",
        "rnn_tagger_pretrained",
        "rnn_tagger_features",
        "spacy_cnn",
    ]
    n_test = sum(len(r) == 10 and r[0].isdigit() for r in conllu)
    for row in bench:  # every test token is unseen in train
        assert row["oov_tokens"] == n_test and row["pos_acc_oov"] == row["pos_acc"]
    for textcat_run in ("textcat-pretrained", "textcat-features"):  # fine-tuned, frozen features
        textcat = spacy.load(training / textcat_run / "emotion" / "model-best")
        assert sum(textcat("I am so happy today").cats.values()) == pytest.approx(1.0, abs=1e-5)


def test_project_commands_are_documented(project_dir):
    """docs/project.md is what `spacy project document` writes for project.yml."""
    cmd = [
        sys.executable,
        "-m",
        "spacy",
        "project",
        "document",
        str(project_dir),
        "--output",
        str(project_dir / "p.md"),
    ]
    assert subprocess.run(cmd, capture_output=True, text=True).returncode == 0
    assert (project_dir / "p.md").read_text() == (ROOT / "docs" / "project.md").read_text()


def test_asset_checksums_match_the_local_corpora():
    """The checksums in project.yml are those of the copies in ../shared/data (UD
    English EWT v2.15, TweetEval); skipped where the data is not beside the checkout."""
    import hashlib

    import srsly

    if not DATA_DIR.is_dir():
        pytest.skip(f"the real corpora are not at {DATA_DIR}")
    assets = srsly.read_yaml(ROOT / "project.yml")["assets"]
    assert len(assets) == 3 + 7 * (3 + 5) + 5  # EWT; TweetEval emotion, offensive, emoji, 5 stance targets; unlabelled
    prefix = "${vars.data_dir}/"
    for asset in assets:
        assert asset["dest"].startswith(prefix)
        local = DATA_DIR / asset["dest"][len(prefix) :]
        assert hashlib.md5(local.read_bytes()).hexdigest() == asset["checksum"], local


def test_make_ewt_lm_rebuilds_the_distributed_benchmark(tmp_path):
    """scripts/make_ewt_lm.py turns the EWT assets into byte-identical copies of
    ../shared/data/ewt-lm (skipped where the data is absent)."""
    import hashlib

    ewt, ewt_lm = DATA_DIR / "ud-english-ewt", DATA_DIR / "ewt-lm"
    if not ewt.is_dir() or not ewt_lm.is_dir():
        pytest.skip(f"the real corpora are not at {DATA_DIR}")
    cmd = [sys.executable, str(ROOT / "scripts" / "make_ewt_lm.py"), str(ewt), str(tmp_path)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "checksum differs" not in result.stdout
    for split in ("train", "valid", "test"):
        built = hashlib.md5((tmp_path / f"{split}.txt").read_bytes()).hexdigest()
        assert built == hashlib.md5((ewt_lm / f"{split}.txt").read_bytes()).hexdigest()


def test_plots_pool_several_pipelines_into_one_confusion_matrix(tmp_path):
    """scripts/plots.py --confusion NAME=M1:D1,M2:D2 (a task with one model per target)."""
    import importlib.util

    from spacy_rnn.data import convert_tweeteval

    spec = importlib.util.spec_from_file_location("plots", ROOT / "scripts" / "plots.py")
    plots = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plots)
    convert_tweeteval(TESTS / "data" / "tweeteval_tiny", tmp_path / "corpus")
    model = TESTS / "data" / "saved" / "0.1.0" / "classify"
    test, dev = tmp_path / "corpus" / "test.spacy", tmp_path / "corpus" / "dev.spacy"
    one = plots.predictions(model, test)
    other = plots.predictions(model, dev)
    assert plots.pooled_predictions([(model, test), (model, dev)]) == (one[0] + other[0], one[1] + other[1])
    assert len(one[0]) == 9 and len(other[0]) == 9 and set(one[1]) <= {"anger", "joy", "sadness"}
    out = tmp_path / "plots"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "plots.py"),
            str(out),
            "--training",
            str(tmp_path / "none"),
            "--confusion",
            f"pooled={model}:{test},{model}:{dev}",
            f"absent={model}:{tmp_path / 'x.spacy'}",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    assert (out / "confusion_pooled.png").stat().st_size > 0
    assert not (out / "confusion_absent.png").exists() and "skipped absent" in run.stdout
