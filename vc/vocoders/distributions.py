"""Output distributions of autoregressive vocoders: mu-law classes and discretized logistic mixtures.

Mu-law (WaveNet, van den Oord et al. 2016): audio in [-1, 1] is companded and quantised
to ``2 ** bits`` classes; the network predicts a softmax over them.

Discretized mixture of logistics (PixelCNN++, Salimans et al. 2017, as r9y9's
wavenet_vocoder uses it for 16-bit audio): the network predicts, per sample, ``K``
mixture logits, ``K`` means and ``K`` log scales, laid out on the channel axis as
``[logits | means | log scales]`` (``3 * K`` channels). A sample's likelihood is the
mixture's probability mass on its quantisation bin of width ``2 / (num_classes - 1)``;
the two edge bins take the tails, so the mass over all bins sums to one.

Sampling draws all its randomness up front as noise tensors (:func:`mol_noise`,
:func:`gumbel_noise`), from an optional ``torch.Generator``: the same generator state
gives the same samples, whichever way the logits were computed.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# Uniform draws are kept this far from 0 and 1 so that the logs below stay finite.
_EPS = 1e-5


def mulaw_compress(x: torch.Tensor, mu: int) -> torch.Tensor:
    """Mu-law companding of audio in [-1, 1]: sign(x) ln(1 + mu |x|) / ln(1 + mu), still in [-1, 1]."""
    return torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)


def mulaw_expand(y: torch.Tensor, mu: int) -> torch.Tensor:
    """Inverse of :func:`mulaw_compress`."""
    return torch.sign(y) * torch.expm1(y.abs() * math.log1p(mu)) / mu


def mulaw_encode(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Audio [...] in [-1, 1] -> int64 class indices [...] in [0, 2 ** bits)."""
    mu = 2 ** bits - 1
    y = mulaw_compress(x.clamp(-1.0, 1.0), mu)
    return ((y + 1) / 2 * mu + 0.5).long()


def mulaw_decode(classes: torch.Tensor, bits: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Class indices [...] -> audio [...] in [-1, 1] (the centre of each class's companded bin)."""
    mu = 2 ** bits - 1
    return mulaw_expand(classes.to(dtype) / mu * 2 - 1, mu)


def discretized_mix_logistic_nll(logits: torch.Tensor, target: torch.Tensor, num_classes: int = 65536,
                                 log_scale_min: float = -7.0) -> torch.Tensor:
    """Negative log-likelihood [B, T] of audio ``target`` [B, T] in [-1, 1] under ``logits`` [B, 3K, T].

    The bin of ``x`` is ``[x - h, x + h]`` with ``h = 1 / (num_classes - 1)``; the lowest
    bin extends to -inf and the highest to +inf. Where a bin's mass underflows (below
    1e-5), the density at its centre times the bin width stands in for it, as in PixelCNN++.
    Compute it in float32 or better: the bin masses are differences of nearby CDF values.
    """
    k = logits.shape[1] // 3
    logit_probs, means, log_scales = logits.split(k, dim=1)
    log_scales = log_scales.clamp_min(log_scale_min)
    y = target.unsqueeze(1)
    half_bin = 1.0 / (num_classes - 1)
    centered = y - means
    inv_scale = torch.exp(-log_scales)
    plus_in = inv_scale * (centered + half_bin)
    min_in = inv_scale * (centered - half_bin)
    log_cdf_plus = plus_in - F.softplus(plus_in)  # log sigmoid: mass of (-inf, x + h], the lowest bin
    log_one_minus_cdf_min = -F.softplus(min_in)  # log(1 - sigmoid): mass of [x - h, inf), the highest bin
    cdf_delta = torch.sigmoid(plus_in) - torch.sigmoid(min_in)
    mid_in = inv_scale * centered
    log_pdf_mid = mid_in - log_scales - 2 * F.softplus(mid_in)
    log_interior = torch.where(cdf_delta > 1e-5, torch.log(cdf_delta.clamp_min(1e-12)),
                               log_pdf_mid - math.log((num_classes - 1) / 2))
    log_probs = torch.where(y < -1 + half_bin, log_cdf_plus,
                            torch.where(y > 1 - half_bin, log_one_minus_cdf_min, log_interior))
    return -torch.logsumexp(log_probs + F.log_softmax(logit_probs, dim=1), dim=1)


def _uniform(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device | str | None,
             dtype: torch.dtype) -> torch.Tensor:
    """U(_EPS, 1 - _EPS) drawn on the generator's device (it must match), then moved to ``device``."""
    where = generator.device if generator is not None else device
    u = torch.rand(shape, generator=generator, device=where, dtype=dtype)
    return (u * (1 - 2 * _EPS) + _EPS).to(device)


def gumbel_noise(shape: tuple[int, ...], generator: torch.Generator | None = None,
                 device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Standard Gumbel noise of ``shape``: argmax(logits + noise) samples softmax(logits)."""
    return -torch.log(-torch.log(_uniform(shape, generator, device, dtype)))


def mol_noise(shape: tuple[int, ...], mixtures: int, generator: torch.Generator | None = None,
              device: torch.device | str | None = None,
              dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """The randomness of :func:`sample_mol` for samples of ``shape`` (e.g. (B, T)):
    Gumbel noise (shape[0], mixtures, *shape[1:]) and standard logistic noise ``shape``."""
    gumbel = gumbel_noise((shape[0], mixtures, *shape[1:]), generator, device, dtype)
    u = _uniform(tuple(shape), generator, device, dtype)
    return gumbel, torch.log(u) - torch.log1p(-u)


def sample_mol(logits: torch.Tensor, gumbel: torch.Tensor, logistic: torch.Tensor,
               log_scale_min: float = -7.0) -> torch.Tensor:
    """Samples [B, ...] in [-1, 1] from ``logits`` [B, 3K, ...] given :func:`mol_noise`'s draws.

    The component is the argmax of its logit plus Gumbel noise (a draw from the mixture
    weights); the sample is that component's mean plus its scale times logistic noise.
    """
    k = logits.shape[1] // 3
    logit_probs, means, log_scales = logits.split(k, dim=1)
    pick = (logit_probs + gumbel).argmax(dim=1, keepdim=True)
    mean = means.gather(1, pick).squeeze(1)
    log_scale = log_scales.gather(1, pick).squeeze(1).clamp_min(log_scale_min)
    return torch.addcmul(mean, log_scale.exp(), logistic).clamp(-1.0, 1.0)


def sample_discretized_mix_logistic(logits: torch.Tensor, log_scale_min: float = -7.0,
                                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Samples [B, ...] from ``logits`` [B, 3K, ...], drawing the noise from ``generator``."""
    k = logits.shape[1] // 3
    shape = (logits.shape[0], *logits.shape[2:])
    gumbel, logistic = mol_noise(shape, k, generator, logits.device, logits.dtype)
    return sample_mol(logits, gumbel, logistic, log_scale_min)


def sample_categorical(logits: torch.Tensor, gumbel: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Class indices [B, ...] drawn from softmax(logits / temperature), logits [B, C, ...],
    by the Gumbel-max trick with ``gumbel`` noise of the logits' shape."""
    return torch.add(gumbel, logits, alpha=1.0 / temperature).argmax(dim=1)
