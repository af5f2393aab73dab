"""``python -m spacy_rnn COMMAND ...``: the same commands as the ``spacy-rnn`` script."""

from .cli import app

app(prog_name="python -m spacy_rnn")
