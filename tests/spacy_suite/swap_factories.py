"""A pytest plugin that runs spaCy's own pipeline tests against our components: every
pipe created with the factory ``tagger``, ``textcat`` or ``textcat_multilabel`` is built
by ``rnn_tagger`` (with ``attr = "tag"``, what spaCy's tagger predicts), ``rnn_textcat``
or ``rnn_textcat_multilabel`` instead, under the same name. Nothing of spaCy's test code
is copied or changed: ``python -m pytest -p swap_factories --pyargs spacy.tests.pipeline.test_tagger``
(with this folder on PYTHONPATH)."""

from spacy.language import Language

SWAP = {
    "tagger": ("rnn_tagger", {"attr": "tag"}),
    "textcat": ("rnn_textcat", {}),
    "textcat_multilabel": ("rnn_textcat_multilabel", {}),
}

_create_pipe = Language.create_pipe


def create_pipe(self, factory_name, name=None, *, config=None, **kwargs):
    if factory_name in SWAP:
        ours, extra = SWAP[factory_name]
        name = name if name is not None else factory_name
        config = {**extra, **dict(config or {})}
        config.pop("factory", None)
        factory_name = ours
    return _create_pipe(self, factory_name, name, config=config or {}, **kwargs)


Language.create_pipe = create_pipe
