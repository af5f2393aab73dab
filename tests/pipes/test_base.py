"""A damaged saved component fails loudly at load time, naming the component, the file
and the problem, for every component (the cases of tests/helpers.py)."""

import json
import shutil

import pytest
import spacy

from tests.helpers import ALL_CASES, build

OURS = [case for case in ALL_CASES if not case.name.startswith("tagger+")]


@pytest.fixture(scope="module", params=OURS, ids=lambda case: case.name)
def saved(request, tmp_path_factory):
    case = request.param
    nlp = build(case, steps=2)
    path = tmp_path_factory.mktemp(case.name) / "pipeline"
    nlp.to_disk(path)
    return case, nlp.pipe_names[0], path


def copy(saved, tmp_path):
    case, name, path = saved
    shutil.copytree(path, tmp_path / "p")
    return name, tmp_path / "p"


def test_the_intact_pipeline_loads(saved, tmp_path):
    name, path = copy(saved, tmp_path)
    assert spacy.load(path).pipe_names == [name]


def test_a_missing_cfg_is_an_error_naming_component_and_file(saved, tmp_path):
    name, path = copy(saved, tmp_path)
    (path / name / "cfg").unlink()
    with pytest.raises(ValueError, match=rf"{name}.*the file 'cfg' is missing.*{name}/cfg"):
        spacy.load(path)


def test_a_missing_model_file_is_an_error(saved, tmp_path):
    name, path = copy(saved, tmp_path)
    (path / name / "model").unlink()
    with pytest.raises(ValueError, match=rf"{name}.*the file 'model' is missing"):
        spacy.load(path)


@pytest.mark.parametrize("keep", [0.5, 0.0])
def test_a_truncated_model_file_is_an_error(saved, tmp_path, keep):
    name, path = copy(saved, tmp_path)
    model = path / name / "model"
    data = model.read_bytes()
    model.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ValueError, match=rf"{name}.*model file is truncated or damaged.*{name}/model"):
        spacy.load(path)


def test_a_cfg_that_does_not_match_the_model_is_an_error(saved, tmp_path):
    """cfg emptied of its labels / vocabulary (e.g. replaced by another component's)."""
    name, path = copy(saved, tmp_path)
    cfg_path = path / name / "cfg"
    cfg = json.loads(cfg_path.read_text())
    key = "words" if "words" in cfg else "labels"
    cfg[key] = []
    cfg_path.write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match=rf"{name}.*saved model has \d+ output rows but cfg has no"):
        spacy.load(path)


def test_a_damaged_cfg_is_an_error(saved, tmp_path):
    name, path = copy(saved, tmp_path)
    (path / name / "cfg").write_text('{"labels": [')
    with pytest.raises(ValueError, match=rf"{name}.*'cfg' cannot be read"):
        spacy.load(path)


def test_truncated_bytes_are_an_error(saved):
    case, name, path = saved
    nlp = spacy.load(path)
    data = nlp.get_pipe(name).to_bytes()
    with pytest.raises(ValueError, match=rf"{name}.*truncated or damaged"):
        nlp.get_pipe(name).from_bytes(data[: len(data) // 2])
