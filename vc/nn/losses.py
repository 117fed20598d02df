"""Adversarial losses as modules (ParallelWaveGAN's convention) and the WGAN-GP penalty."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

Logits = torch.Tensor | Sequence[torch.Tensor]

# kind -> (discriminator term on real logits, on fake logits, generator term on fake logits);
# each maps logits to per-element losses that are then averaged.
_Term = Callable[[torch.Tensor], torch.Tensor]
_KINDS: dict[str, tuple[_Term, _Term, _Term]] = {
    "lsgan": (lambda r: (r - 1) ** 2, lambda f: f**2, lambda f: (f - 1) ** 2),
    "hinge": (lambda r: F.relu(1 - r), lambda f: F.relu(1 + f), lambda f: -f),
    "ns": (lambda r: F.softplus(-r), F.softplus, lambda f: F.softplus(-f)),
    "wgan": (lambda r: -r, lambda f: f, lambda f: -f),
}


def _mean_over_scales(term: _Term, logits: Logits) -> torch.Tensor:
    """Mean of ``term`` per tensor, averaged over tensors (multi-scale discriminators)."""
    if isinstance(logits, torch.Tensor):
        logits = [logits]
    # At least float32: half-precision logits under autocast would lose the small terms.
    return torch.stack([term(x.to(torch.promote_types(x.dtype, torch.float32))).mean()
                        for x in logits]).mean()


class GANLoss(nn.Module):
    """Generator and discriminator adversarial losses of one ``kind``.

    lsgan: D (r-1)^2 + f^2, G (f-1)^2.  hinge: D relu(1-r) + relu(1+f), G -f.
    ns (non-saturating BCE with logits): D softplus(-r) + softplus(f), G softplus(-f).
    wgan: D -r + f, G -f.  The discriminator loss is the sum of its real and fake means.
    """

    def __init__(self, kind: str = "lsgan") -> None:
        super().__init__()
        if kind not in _KINDS:
            raise ValueError(f"unknown GAN loss {kind!r}; expected one of {tuple(_KINDS)}")
        self.kind = kind
        self._real, self._fake, self._gen = _KINDS[kind]

    def generator(self, fake_logits: Logits) -> torch.Tensor:
        return _mean_over_scales(self._gen, fake_logits)

    def discriminator(self, real_logits: Logits, fake_logits: Logits) -> torch.Tensor:
        return _mean_over_scales(self._real, real_logits) + _mean_over_scales(self._fake, fake_logits)

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}"


def gradient_penalty(discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     weight: float = 10.0) -> torch.Tensor:
    """WGAN-GP: ``weight * mean((||dD/dx||_2 - 1)^2)`` at random points between real and fake.

    The graph is kept (create_graph) so the penalty trains the discriminator. A tuple output
    (patch logits, class logits) is penalised on its first element.
    """
    alpha = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), device=real.device, dtype=real.dtype)
    mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    out = discriminator(mixed)
    if isinstance(out, tuple):
        out = out[0]
    (grad,) = torch.autograd.grad(out.sum(), mixed, create_graph=True)
    norm = grad.flatten(1).norm(2, dim=1)
    return weight * ((norm - 1) ** 2).mean()
