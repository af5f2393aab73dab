"""What spaCy's training loop needs for our models beyond thinc's defaults."""

import math

from thinc.api import Model

from .shims import torch_parameters


def clip_gradients(model: Model, max_norm: float) -> float:
    """Scale all gradients of ``model`` so that their global L2 norm is at most
    ``max_norm`` (Pascanu et al. 2013; ``torch.nn.utils.clip_grad_norm_``).

    The norm is taken over every gradient of the model at once: thinc parameters and
    the parameters of its PyTorch shims. thinc's own ``grad_clip`` clips each tensor
    separately, which changes the direction of the update. Returns the norm before
    clipping; ``max_norm <= 0`` only measures it.
    """
    thinc_grads = []
    for node in model.walk():
        for name in node.grad_names:
            thinc_grads.append(node.get_grad(name))
    torch_grads = [
        p.grad for node in model.walk() for shim in node.shims for p in torch_parameters(shim) if p.grad is not None
    ]
    sq = sum(float((g * g).sum()) for g in thinc_grads)
    sq += sum(float(g.detach().pow(2).sum()) for g in torch_grads)
    norm = math.sqrt(sq)
    if max_norm > 0 and norm > max_norm:
        scale = max_norm / (norm + 1e-6)
        for g in thinc_grads:
            g *= scale
        for g in torch_grads:
            g.mul_(scale)
    return norm
