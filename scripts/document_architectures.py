"""Write docs/architectures.md from the code: each component's settings (the factory's
default config and its docstring) and each registered architecture's arguments (its
signature's defaults and its docstring), so the reference cannot drift from the code.

    python scripts/document_architectures.py docs/architectures.md

tests/test_docs.py checks that the file is up to date and that every setting and argument
is described.
"""

import inspect
import re
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import spacy
from spacy.language import Language
from spacy.util import registry

FACTORIES = ["rnn_tagger", "rnn_textcat", "rnn_textcat_multilabel", "rnn_lm"]
INTRO = """# Architectures and settings

Generated from the code by `python scripts/document_architectures.py docs/architectures.md`
(tests/test_docs.py keeps it up to date): the settings of each component come from its
factory's default config and docstring, the arguments of each architecture from its
signature and docstring.

```
Doc ─ embed (MultiHashEmbed / CharacterEmbed / CharRNNEmbed / SubwordEmbed / ConcatEmbed) ─► List[Floats2d]
    ─ RNN layer: one torch nn.LSTM/GRU/RNN over packed sequences ─► List[Floats2d]   (RNNEncoder.v1)
        ├─ softmax per token ─────────────────────────────────────► rnn_tagger       (RNNTagger.v1)
        └─ pooling → ReLU → logits (+ n-gram linear model) ───────► rnn_textcat      (RNNTextCat.v1)
Doc ─ word ids ─ embedding → unidirectional RNN layers → softmax over the vocabulary ─► rnn_lm   (RNNLanguageModel.v1)
```

Where the code lives: `spacy_rnn/modules/` (pure torch), `spacy_rnn/shims.py`,
`spacy_rnn/layers/` (thinc layers), `spacy_rnn/models/` (building logic),
`spacy_rnn/architectures.py` (the registered functions below), `spacy_rnn/pipes/` (the
components).
"""


def described(doc: str) -> Tuple[str, Dict[str, str]]:
    """A docstring's prose and its ``name: text`` (or ``a, b: text``) descriptions."""
    prose, items, current = [], {}, None
    for line in inspect.cleandoc(doc or "").splitlines():
        match = re.match(r"^([A-Za-z_][\w]*(?:, [A-Za-z_][\w]*)*): (.+)$", line)
        if match:
            current = match.group(1).split(", ")
            for name in current:
                items[name] = match.group(2).strip()
        elif current and line.startswith("    "):
            for name in current:
                items[name] += " " + line.strip()
        else:
            current = None
            prose.append(line)
    md = lambda text: text.replace("``", "`")  # noqa: E731  (docstrings are RST)
    return md("\n".join(prose).strip()), {name: md(text) for name, text in items.items()}


def cell(value) -> str:
    if isinstance(value, dict):
        return f"`{value.get('@architectures') or value.get('@scorers') or '{...}'}`"
    return f"`{value!r}`".replace("'", '"').replace("None", "null").replace("True", "true").replace("False", "false")


def factory_section(name: str) -> List[str]:
    meta = Language.get_factory_meta(name)
    prose, items = described(registry.factories.get(name).__doc__)
    lines = [f"## `{name}`", "", prose, "", "| setting | default | meaning |", "|---|---|---|"]
    for key, value in meta.default_config.items():
        lines.append(f"| `{key}` | {cell(value)} | {items.get(key, '')} |")
    return lines + [""]


def architecture_section(name: str) -> List[str]:
    func = registry.architectures.get(name)
    prose, items = described(func.__doc__)
    lines = [f"### `{name}`", "", prose, ""]
    params = [p for p in inspect.signature(func).parameters.values()]
    if params:
        lines += ["| argument | default | meaning |", "|---|---|---|"]
        for p in params:
            default = "—" if p.default is inspect.Parameter.empty else cell(p.default)
            label = f"`*{p.name}`" if p.kind is inspect.Parameter.VAR_POSITIONAL else f"`{p.name}`"
            lines.append(f"| {label} | {default} | {items.get(p.name, '')} |")
    return lines + [""]


def render() -> str:
    spacy.blank("en")  # loads the entry points
    lines = [INTRO, "# Components", ""]
    for name in FACTORIES:
        lines += factory_section(name)
    lines += ["# Architectures", ""]
    for name in sorted(n for n in registry.architectures.get_all() if n.startswith("spacy_rnn.")):
        lines += architecture_section(name)
    return "\n".join(lines).rstrip() + "\n"


def missing() -> List[str]:
    """Settings and arguments without a description (what tests/test_docs.py forbids)."""
    spacy.blank("en")
    out = []
    for name in FACTORIES:
        _, items = described(registry.factories.get(name).__doc__)
        out += [f"{name}.{key}" for key in Language.get_factory_meta(name).default_config if key not in items]
    for name in (n for n in registry.architectures.get_all() if n.startswith("spacy_rnn.")):
        func = registry.architectures.get(name)
        _, items = described(func.__doc__)
        out += [f"{name}.{p}" for p in inspect.signature(func).parameters if p not in items]
    return out


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(render())
    print(f"wrote {sys.argv[1]}")
