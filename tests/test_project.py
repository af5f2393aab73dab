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


def test_quick_workflow_runs_end_to_end(project_dir, tmp_path):
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
        "quick",
        str(project_dir),
        "--vars.data_dir",
        str(tmp_path / "data"),
        "--vars.quick_steps",
        "5",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=project_dir)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    metrics = json.loads((project_dir / "metrics" / "tagger-quick.json").read_text())
    assert 0.0 <= metrics["pos_acc"] <= 1.0
    assert (project_dir / "training" / "tagger-quick" / "model-best" / "rnn_tagger").is_dir()
    metrics = json.loads((project_dir / "metrics" / "textcat-quick.json").read_text())
    assert 0.0 <= metrics["cats_macro_f"] <= 1.0
    assert (project_dir / "training" / "textcat-quick" / "model-best" / "rnn_textcat").is_dir()
    metrics = json.loads((project_dir / "metrics" / "lm-quick.json").read_text())
    assert metrics["test"]["ppl"] > 1.0 and metrics["test"]["predicted_tokens"] > 0


def test_asset_checksums_match_the_local_corpora():
    """The checksums in project.yml are those of the copies in ../shared/data (UD
    English EWT v2.15, TweetEval); skipped where the data is not beside the checkout."""
    import hashlib

    import srsly

    if not DATA_DIR.is_dir():
        pytest.skip(f"the real corpora are not at {DATA_DIR}")
    assets = srsly.read_yaml(ROOT / "project.yml")["assets"]
    assert len(assets) == 3 + 7 * (3 + 5) + 3  # EWT, TweetEval emotion, offensive, emoji and 5 stance targets, EWT LM
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
