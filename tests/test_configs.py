"""Every shipped config passes `spacy debug config` and builds its pipeline."""

import subprocess
import sys

import pytest
from spacy.tokens import DocBin

from tests.helpers import ROOT

CONFIGS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "configs").rglob("*.cfg"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, tiny_docs):
    path = tmp_path_factory.mktemp("corpus") / "tiny.spacy"
    DocBin(docs=tiny_docs).to_disk(path)
    return path


@pytest.mark.parametrize("config", CONFIGS)
def test_config_is_valid(config, corpus):
    cmd = [
        sys.executable,
        "-m",
        "spacy",
        "debug",
        "config",
        str(ROOT / config),
        "--paths.train",
        str(corpus),
        "--paths.dev",
        str(corpus),
    ]
    if config == "configs/lm_finetune.cfg":  # sources its rnn_lm from a trained pipeline
        cmd += ["--paths.lm", str(ROOT / "tests" / "data" / "saved" / "0.1.0" / "lm")]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Config is valid" in result.stdout


def test_configs_were_found():
    assert "configs/tagger.cfg" in CONFIGS and len(CONFIGS) >= 4


def test_factory_default_model_is_the_benchmarked_one():
    """`nlp.add_pipe("rnn_tagger")` builds the model of configs/tagger.cfg."""
    from thinc.api import Config

    from spacy_rnn.pipes.tagger import DEFAULT_MODEL

    cfg = Config().from_disk(ROOT / "configs" / "tagger.cfg", interpolate=False)
    assert cfg["components"]["rnn_tagger"]["model"] == DEFAULT_MODEL


def test_textcat_factory_default_model_is_the_benchmarked_one():
    """`nlp.add_pipe("rnn_textcat")` builds the model of configs/textcat.cfg."""
    from thinc.api import Config

    from spacy_rnn.pipes.textcat import DEFAULT_MODEL

    cfg = Config().from_disk(ROOT / "configs" / "textcat.cfg", interpolate=False)
    assert cfg["components"]["rnn_textcat"]["model"] == DEFAULT_MODEL


def test_lm_factory_default_model_is_the_benchmarked_one():
    """`nlp.add_pipe("rnn_lm")` builds the model of configs/lm.cfg."""
    from thinc.api import Config

    from spacy_rnn.pipes.lm import DEFAULT_MODEL

    cfg = Config().from_disk(ROOT / "configs" / "lm.cfg", interpolate=False)
    assert cfg["components"]["rnn_lm"]["model"] == DEFAULT_MODEL


@pytest.mark.parametrize(
    "config,linear,embed",
    [
        ("configs/textcat.cfg", True, "subword-embed"),
        ("configs/ablations/textcat_no_linear.cfg", False, "subword-embed"),
        ("configs/ablations/textcat_hash_embed.cfg", True, "hashembed"),
    ],
)
def test_textcat_ablations_build_what_they_claim(config, linear, embed):
    """A model block is merged over the factory default's, so an ablation without the
    linear model must say `linear_model = null` (omitting it would keep the default's)."""
    from spacy.util import load_config, load_model_from_config

    cfg = load_config(ROOT / config, overrides={"paths.train": "x", "paths.dev": "y"})
    model = load_model_from_config(cfg, auto_fill=True).get_pipe("rnn_textcat").model
    assert model.has_ref("linear_model") == linear
    assert any(node.name == embed for node in model.get_ref("tok2vec").walk())


@pytest.mark.parametrize(
    "pretrained,base,differ",
    [
        # the transfer configs are their base configs with the encoder (and its training schedule) swapped
        (
            "configs/textcat_pretrained.cfg",
            "configs/textcat.cfg",
            {
                "paths.lm",
                "training.before_update",
                "training.optimizer.@optimizers",
                "components.rnn_textcat.model.tok2vec",
            },
        ),
        ("configs/pretrain_textcat.cfg", "configs/pretrain.cfg", {"components.rnn_lm.model"}),
        (
            "configs/lm_pretrained.cfg",
            "configs/lm.cfg",
            {"paths.lm", "initialize.components.rnn_lm", "components.rnn_lm.model"},
        ),
        (
            "configs/textcat_features.cfg",
            "configs/textcat.cfg",
            {"paths.lm", "components.rnn_textcat.model.tok2vec.embed"},
        ),
        (
            "configs/tagger_features.cfg",
            "configs/tagger.cfg",
            {"paths.lm", "components.rnn_tagger.model.tok2vec.embed"},
        ),
        # the ablations are the default less the one part they ablate
        (
            "configs/ablations/textcat_no_linear.cfg",
            "configs/textcat.cfg",
            {"components.rnn_textcat.model.linear_model", "components.rnn_textcat.model.branch_dropout"},
        ),
        (
            "configs/ablations/textcat_hash_embed.cfg",
            "configs/textcat.cfg",
            {"components.rnn_textcat.model.tok2vec.embed"},
        ),
        ("configs/ablations/textcat_ngram_bow.cfg", "configs/textcat.cfg", {"components.rnn_textcat.model"}),
    ],
)
def test_derived_configs_differ_from_their_base_only_where_they_must(pretrained, base, differ):
    """A setting changed in the base config (e.g. the default's class weights) must reach its
    copies: the transfer configs and the ablations."""
    from thinc.api import Config

    def flat(cfg, prefix=""):
        out = {}
        for key, value in cfg.items():
            name = f"{prefix}{key}"
            if any(name == d or name.startswith(d + ".") for d in differ):
                continue
            out.update(flat(value, name + ".") if isinstance(value, dict) else {name: value})
        return out

    a = flat(Config().from_disk(ROOT / pretrained, interpolate=False))
    b = flat(Config().from_disk(ROOT / base, interpolate=False))
    assert a == b


@pytest.mark.parametrize(
    "config,section,pretraining",
    [
        ("configs/tagger_pretrained.cfg", "components.rnn_tagger.model.tok2vec", "configs/pretrain.cfg"),
        ("configs/tagger_features.cfg", "components.rnn_tagger.model.tok2vec.embed.*.lm", "configs/pretrain.cfg"),
        ("configs/lm_pretrained.cfg", "components.rnn_lm.model", "configs/pretrain.cfg"),
        ("configs/textcat_pretrained.cfg", "components.rnn_textcat.model.tok2vec", "configs/pretrain_textcat.cfg"),
        (
            "configs/textcat_features.cfg",
            "components.rnn_textcat.model.tok2vec.embed.*.lm",
            "configs/pretrain_textcat.cfg",
        ),
    ],
)
def test_transfer_configs_take_the_language_model_their_pretraining_config_builds(config, section, pretraining):
    """The embedding and RNN sizes that must match (or loading the LM is an error)."""
    from thinc.api import Config

    def get(cfg, dotted):
        for key in dotted.split("."):
            cfg = cfg[key]
        return cfg

    ours = get(Config().from_disk(ROOT / config, interpolate=False), section)
    lm = get(Config().from_disk(ROOT / pretraining, interpolate=False), "components.rnn_lm.model")
    assert ours["embed"] == lm["embed"]
    for key in ("cell", "hidden_size", "num_layers", "proj_size"):
        assert ours[key] == lm[key], key
