"""Carrying a pretrained language model (``RNNLanguageModel.v2``) into other tasks, as thinc
layers over docs (``Model[List[Doc], List[Floats2d]]``, a tok2vec or an embedding):

- ``lm_encoder`` (fine-tuning, ULMFiT): the LM's embedding and RNN stacks, trained further
  with the task. Out: per token ``[forward; backward]`` top-layer states. Layers can be
  frozen from the bottom (``attrs["frozen"]``: 0 none, 1 the embedding, 2 the embedding and
  the first RNN layer, ...), which ``spacy_rnn.gradual_unfreezing.v1`` lowers as training
  goes on.
- ``lm_features`` (ELMo): the LM's embedding and stacks frozen; out: a learned mix of its
  layers' ``[forward; backward]`` states, ``gamma * sum_l softmax(w)_l * h_l``, to be
  concatenated to a task's own embeddings (``spacy_rnn.ConcatEmbed.v1``).

Both are built from the sizes in their config and take the LM's weights at ``initialize``
from ``attrs["lm_path"]`` (a pipeline directory with an ``rnn_lm``); the trained pipeline
then holds the weights itself and never reads that path again. An LM whose embedding or
RNN sizes differ from the config's is an error naming both.
"""

from dataclasses import asdict
from typing import Callable, List, Optional, Tuple

from spacy.tokens import Doc
from thinc.api import ArgsKwargs, Model, torch2xp, xp2torch
from thinc.types import Floats2d

from ..modules.bilm import STACK_NAMES, BiLMOptions, BiRNNStacks
from ..shims import LazyShim, torch_module


def _stacks_shim(options: BiLMOptions) -> LazyShim:
    cfg = {**asdict(options), "adaptive_cutoffs": list(options.adaptive_cutoffs), "input_size": None}
    return LazyShim(BiRNNStacks.from_config, cfg, "input_size")


def lm_encoder(
    embed: Model[List[Doc], List[Floats2d]], options: BiLMOptions, *, lm_path: Optional[str] = None, frozen: int = 0
) -> Model[List[Doc], List[Floats2d]]:
    """Fine-tune a pretrained LM as a tok2vec (see the module docstring). Out: one
    ``(len(doc), n_directions * output_size)`` array per doc."""
    return Model(
        "lm-encoder",
        _encoder_forward,
        init=_init,
        layers=[embed],
        shims=[_stacks_shim(options)],
        dims={"nO": len(options.directions) * options.output_size, "nE": None},
        attrs={
            "lm_path": lm_path,
            "frozen": frozen,
            "dropout_rate": 0.0,
            "kind": "encoder",
            "window": 0,
            "bidirectional": options.direction == "both",
        },
    )


def lm_features(
    embed: Model[List[Doc], List[Floats2d]], options: BiLMOptions, *, lm_path: Optional[str] = None
) -> Model[List[Doc], List[Floats2d]]:
    """Frozen LM states as features (see the module docstring). Out: one ``(len(doc),
    n_directions * output_size)`` array per doc."""
    model = Model(
        "lm-features",
        _features_forward,
        init=_init,
        layers=[embed],
        shims=[_stacks_shim(options)],
        dims={"nO": len(options.directions) * options.output_size, "nE": None, "nL": options.num_layers},
        params={"mix": None, "gamma": None},
        attrs={"lm_path": lm_path, "kind": "features", "n_directions": len(options.directions)},
    )
    return model


def _init(model: Model, X: Optional[List[Doc]] = None, Y=None) -> None:
    embed = model.layers[0]
    embed.initialize(X=X)
    width = embed.get_dim("nO") if embed.has_dim("nO") else None
    if width is None and X:
        width = embed.predict(X[:1])[0].shape[1]
    if width is None:
        raise ValueError(f"{model.name}: the width of its embedding layer is unknown: initialize it with docs.")
    model.set_dim("nE", width, force=True)
    shim = model.shims[0]
    if not shim.is_built:
        shim.build(width)
    if model.has_param("mix") is None:  # declared, not yet allocated (lm_features)
        model.set_param("mix", model.ops.alloc1f(model.get_dim("nL")))
        model.set_param("gamma", model.ops.asarray1f([1.0]))
    if model.attrs.get("lm_path"):
        copy_lm_weights(model, model.attrs["lm_path"])


def _describe_embed(embed: Model) -> List[Tuple[str, List[Tuple[str, tuple]]]]:
    return [
        (node.name, [(name, tuple(node.get_param(name).shape)) for name in node.param_names if node.has_param(name)])
        for node in embed.walk()
    ]


def copy_lm_weights(model: Model, lm_path: str) -> None:
    """Copy the embedding and RNN weights of the ``rnn_lm`` (an ``RNNLanguageModel.v2``)
    in the pipeline at ``lm_path`` into ``model``: an ``lm_encoder``, an ``lm_features`` or
    another ``RNNLanguageModel.v2`` (its output layer, over its own vocabulary, is left as
    it is)."""
    import spacy

    nlp = spacy.load(lm_path)
    lms = [
        pipe for _, pipe in nlp.pipeline if getattr(getattr(pipe, "model", None), "attrs", {}).get("lm_input") == "docs"
    ]
    if not lms:
        raise ValueError(
            f"{model.name}: the pipeline at {lm_path} has no rnn_lm with a spacy_rnn.RNNLanguageModel.v2 model "
            f"(components: {nlp.pipe_names}); pretrain one with configs/pretrain.cfg."
        )
    lm_model = lms[0].model
    ours, theirs = _describe_embed(model.layers[0]), _describe_embed(lm_model.layers[0])
    if ours != theirs:
        raise ValueError(
            f"{model.name}: the language model at {lm_path} has the embedding {theirs}, but this config's embedding "
            f"is {ours}: set the embedding of the config to the one the language model was pretrained with."
        )
    model.layers[0].from_bytes(lm_model.layers[0].to_bytes())
    module, lm_module = torch_module(model.shims[0]), torch_module(lm_model.shims[0])
    mine, pretrained = module.options, lm_module.options
    sizes = ("cell", "hidden_size", "num_layers", "proj_size")
    if any(getattr(mine, k) != getattr(pretrained, k) for k in sizes) or not set(mine.directions) <= set(
        pretrained.directions
    ):
        raise ValueError(
            f"{model.name}: the language model at {lm_path} has "
            + ", ".join(f"{k} = {getattr(pretrained, k)!r}" for k in (*sizes, "direction"))
            + "; this config has "
            + ", ".join(f"{k} = {getattr(mine, k)!r}" for k in (*sizes, "direction"))
            + ": they must match (direction: the config's directions among the model's)."
        )
    state = {_plain_name(k): v for k, v in lm_module.state_dict().items()}
    rows = [pretrained.directions.index(d) for d in mine.directions]
    new_state = {"start": state["start"][rows]}
    for direction in mine.directions:
        prefix = f"stacks.{STACK_NAMES[direction]}."
        new_state.update({k: v for k, v in state.items() if k.startswith(prefix)})
    # the names in this module: weight-dropped weights live under torch's parametrizations
    names = {_plain_name(k): k for k in module.state_dict()}
    missing, unexpected = module.load_state_dict({names.get(k, k): v for k, v in new_state.items()}, strict=False)
    not_copied = [k for k in missing if not k.startswith("output.")]
    if unexpected or not_copied:
        raise ValueError(
            f"{model.name}: the weights of the language model at {lm_path} do not fit this model "
            f"(not in this model: {unexpected}; not in the language model: {not_copied})."
        )


def _plain_name(key: str) -> str:
    """A state-dict key without torch's parametrization wrapping (weight dropout):
    ``a.parametrizations.weight_hh_l0.original`` -> ``a.weight_hh_l0``, so an LM trained
    with weight dropout loads into a model without it (features) and back."""
    head, sep, rest = key.partition("parametrizations.")
    if not sep or not rest.endswith(".original"):
        return key
    return head + rest[: -len(".original")]


def _encoder_forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[List[Floats2d], Callable]:
    ops, embed, shim = model.ops, model.layers[0], model.shims[0]
    if not shim.is_built:
        raise ValueError("lm-encoder: not initialized: call initialize() first.")
    lengths = [len(doc) for doc in docs]
    frozen = int(model.attrs["frozen"])
    vectors, backprop_embed = embed(docs, is_train and frozen == 0)
    Xt = xp2torch(
        ops.flatten(vectors) if sum(lengths) else ops.alloc2f(0, model.get_dim("nE")),
        requires_grad=is_train,
        device=shim.device,
    )
    kwargs = {"top_only": True, "frozen": max(0, frozen - 1)}
    Yt, torch_backprop = shim(ArgsKwargs(args=(Xt, lengths), kwargs=kwargs), is_train)
    Ys = (
        ops.unflatten(torch2xp(Yt, ops=ops), lengths)
        if sum(lengths)
        else [ops.alloc2f(0, model.get_dim("nO")) for _ in docs]
    )

    def backprop(dYs: List[Floats2d]) -> List:
        if not sum(lengths):
            return []
        dYt = xp2torch(ops.flatten(dYs), device=shim.device)
        dX = torch_backprop(ArgsKwargs(args=(Yt,), kwargs={"grad_tensors": dYt})).args[0]
        if frozen == 0 and dX is not None:
            backprop_embed(ops.unflatten(torch2xp(dX, ops=ops), lengths))
        return []

    return Ys, backprop


def _layers_of(xp, H, n_directions: int, n_layers: int, size: int) -> List:
    """Regroup per-token states ``[dir 1: layer 1 .. L; dir 2: layer 1 .. L]`` into L
    arrays of ``[dir 1; dir 2]`` states, one per layer."""
    return [
        xp.concatenate(
            [H[:, (d * n_layers + k) * size : (d * n_layers + k + 1) * size] for d in range(n_directions)], axis=1
        )
        for k in range(n_layers)
    ]


def _features_forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[List[Floats2d], Callable]:
    ops, embed, shim = model.ops, model.layers[0], model.shims[0]
    if not shim.is_built:
        raise ValueError("lm-features: not initialized: call initialize() first.")
    lengths = [len(doc) for doc in docs]
    width, n_layers, n_directions = model.get_dim("nO"), model.get_dim("nL"), model.attrs["n_directions"]
    if not sum(lengths):
        return [ops.alloc2f(0, width) for _ in docs], lambda dYs: []
    X = ops.flatten(embed.predict(docs))  # frozen: neither the embedding nor the RNN is trained
    args = ArgsKwargs(args=(xp2torch(X, device=shim.device), lengths), kwargs={"top_only": False})
    H = torch2xp(shim.predict(args), ops=ops)
    layers = _layers_of(ops.xp, H, n_directions, n_layers, width // n_directions)
    mix, gamma = model.get_param("mix"), model.get_param("gamma")
    weights = ops.softmax(mix[None])[0]
    mixed = sum(w * layer for w, layer in zip(weights, layers))
    Y = gamma[0] * mixed

    def backprop(dYs: List[Floats2d]) -> List:
        dY = ops.flatten(dYs)
        d_weights = ops.asarray1f([float(gamma[0] * (dY * layer).sum()) for layer in layers])
        model.inc_grad("gamma", ops.asarray1f([float((dY * mixed).sum())]))
        model.inc_grad("mix", weights * (d_weights - (weights * d_weights).sum()))  # through the softmax
        return []

    return ops.unflatten(ops.asarray2f(Y), lengths), backprop
