"""Autoregressive WaveNet vocoder (van den Oord et al. 2016) conditioned on log-mel features.

The network predicts each sample from the samples before it and the upsampled features:

    previous samples [B, T] -> input embedding -> causal dilated WaveNetBlocks (local
    conditioning c [B, C, T]) -> sum of skips * sqrt(1 / layers) -> ReLU, 1x1, ReLU, 1x1
    -> logits [B, out, T]

With ``output: mol`` the logits parametrise a discretized mixture of logistics over
16-bit audio (3 * mixtures channels; r9y9's wavenet_vocoder preset, whose sizes are the
defaults here); with ``output: mulaw`` a softmax over 2 ** mulaw_bits mu-law classes.
Training is teacher-forced: the input at t is the true sample t - 1 (0 at t = 0).

Generation runs sample by sample. ``method="incremental"`` is Fast WaveNet's queue
method (Paine et al. 2016): every layer keeps the inputs its dilated conv still needs,
so a new sample costs one step of every layer (see :class:`_Incremental`).
``method="naive"`` recomputes a forward pass over the last ``receptive_field`` inputs for
every sample, as a reference; both draw the same noise and agree to float rounding.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Iterator, Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from vc.errors import ConfigError
from vc.models.registry import build_network, register_model
from vc.nn.wavenet import ConvUpsampler, WaveNetBlock, cycle_dilations, receptive_field
from vc.train.model import StepContext
from vc.vocoders.base import UpsampleParams, VocoderModel
from vc.vocoders.distributions import (
    discretized_mix_logistic_nll,
    gumbel_noise,
    mol_noise,
    mulaw_decode,
    mulaw_encode,
    sample_categorical,
    sample_mol,
)

MOL_CLASSES = 65536  # MoL bin width 2 / (MOL_CLASSES - 1): 16-bit audio
GROUP = "wavenet"  # the one optimiser group: upsampler and network together
CHUNK = 256  # generation steps per chunk of precomputed conditioning and noise (rounded up to the largest dilation)


@dataclass
class WaveNetParams:
    """``model_params`` of ``model: wavenet``; the defaults are r9y9's MoL preset (3.7 M parameters at 80 mels)."""

    output: Literal["mol", "mulaw"] = "mol"
    mulaw_bits: int = 8  # 8 or 10; output: mulaw only
    mixtures: int = 10  # logistic components; output: mol only
    log_scale_min: float = -7.0  # floor of the components' log scales (mol)
    layers: int = 24
    stacks: int = 4  # dilations 1, 2, ... 2 ** (layers / stacks - 1), repeated stacks times
    residual_channels: int = 128
    gate_channels: int = 256
    skip_channels: int = 128
    kernel_size: int = 3
    dropout: float = 0.05
    upsample: UpsampleParams = field(default_factory=UpsampleParams)


def check_params(p: WaveNetParams) -> None:
    """Raise ConfigError naming ``model_params.<key>`` for values the network cannot use."""
    if p.output not in ("mol", "mulaw"):
        raise ConfigError(f"model_params.output: {p.output!r} is not one of 'mol', 'mulaw'")
    if p.mulaw_bits not in (8, 10):
        raise ConfigError(f"model_params.mulaw_bits: must be 8 or 10, got {p.mulaw_bits}")
    minimum = {"mixtures": 1, "layers": 1, "stacks": 1, "residual_channels": 1, "gate_channels": 2,
               "skip_channels": 1, "kernel_size": 2}
    for key, least in minimum.items():
        if getattr(p, key) < least:
            raise ConfigError(f"model_params.{key}: must be >= {least}, got {getattr(p, key)}")
    if not 0 <= p.dropout < 1:
        raise ConfigError(f"model_params.dropout: must be in [0, 1), got {p.dropout}")
    if not math.isfinite(p.log_scale_min):
        raise ConfigError(f"model_params.log_scale_min: must be finite, got {p.log_scale_min}")


class WaveNet(nn.Module):
    """Input embedding, causal WaveNetBlocks and the output head.

    ``classes``: None for a scalar input (a sample in [-1, 1] through a 1x1 conv), else
    the number of input classes (an embedding of the previous sample's class).
    """

    def __init__(self, cond_channels: int, out_channels: int, classes: int | None, layers: int, stacks: int,
                 residual_channels: int, gate_channels: int, skip_channels: int, kernel_size: int,
                 dropout: float) -> None:
        super().__init__()
        self.dilations = build_network("layers", cycle_dilations, layers, stacks)
        self.kernel_size = kernel_size
        self.input = (nn.Conv1d(1, residual_channels, 1) if classes is None
                      else nn.Embedding(classes, residual_channels))
        self.blocks = nn.ModuleList(
            build_network("gate_channels", WaveNetBlock, residual_channels, gate_channels, skip_channels,
                          cond_channels, kernel_size, d, True, dropout)
            for d in self.dilations)
        self.head = nn.Sequential(nn.ReLU(), nn.Conv1d(skip_channels, skip_channels, 1), nn.ReLU(),
                                  nn.Conv1d(skip_channels, out_channels, 1))

    def embed(self, inputs: torch.Tensor) -> torch.Tensor:
        """Previous samples [B, T] (float, or int64 classes) -> [B, T, residual]."""
        if isinstance(self.input, nn.Embedding):
            return self.input(inputs)
        return F.linear(inputs.unsqueeze(-1), self.input.weight[:, :, 0], self.input.bias)

    def forward(self, inputs: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """Inputs [B, T], sample-rate conditioning c [B, C, T] -> logits [B, out, T].

        The blocks' function in the form of :func:`fast_weights`, computed time-major
        ([B, T, channels]) with matmuls, which the CPU runs fastest (no layout reorders
        around each conv; bf16 matmuls on AMX): one matmul per layer for its conv taps and
        conditioning together, one for its residual, one at the end for every layer's skip.
        """
        dtype = _matmul_dtype(c)
        c_t = c.transpose(1, 2).to(dtype)
        x = self.embed(inputs)
        layers = len(self.blocks)
        gates, skip_w, skip_b = [], [], 0
        for l, block in enumerate(self.blocks):
            w = fast_weights(block, l, layers)
            h = _dropout(x.to(dtype), block.dropout, self.training)
            taps = _Taps.apply(h, c_t, block.dilation, self.kernel_size)
            s_a, s_b = torch.sigmoid(F.linear(taps, torch.cat([w.conv, w.cond], dim=1), w.bias)).chunk(2, dim=-1)
            gates.append(torch.addcmul(s_b, s_a, s_b, value=-2.0))
            skip_w.append(w.skip_w)
            skip_b = skip_b + w.skip_b
            if l + 1 < layers:  # the last residual output is never read
                x = x + F.linear(gates[-1], w.res_w, w.res_b)
        skips = F.linear(torch.cat(gates, dim=-1), torch.cat(skip_w, dim=1), skip_b)
        h = F.linear(F.relu(skips), self.head[1].weight[:, :, 0], self.head[1].bias)
        return F.linear(F.relu(h), self.head[3].weight[:, :, 0], self.head[3].bias).transpose(1, 2)


class FastWeights(NamedTuple):
    """One block's weights in the form :func:`fast_weights` computes ([out, in] like F.linear)."""

    conv: torch.Tensor  # [G, k * R], taps oldest first
    cond: torch.Tensor  # [G, C]
    bias: torch.Tensor  # [G]
    res_w: torch.Tensor  # [R, G / 2]
    res_b: torch.Tensor  # [R]
    skip_w: torch.Tensor  # [S, G / 2]
    skip_b: torch.Tensor  # [S]


def fast_weights(block: WaveNetBlock, layer: int, layers: int) -> FastWeights:
    """Block ``layer`` of ``layers`` as weights of the same function in a cheaper form.

    * The gate: tanh(a) = 2 sigmoid(2a) - 1, so with the tanh half of the conv doubled,
      ``g = sigmoid(b) - 2 sigmoid(2a) sigmoid(b) = -tanh(a) sigmoid(b)`` is one sigmoid of
      the whole pre-activation and one addcmul; the 1x1 weights take the sign.
    * The residual stream is kept unscaled, ``x_l / sqrt(0.5) ** l``, so a residual update
      is one add: the conv weights carry ``sqrt(0.5) ** l``, the residual ones its inverse.
    * The skip weights carry the ``sqrt(1 / layers)`` of the skip sum.
    """
    scale = math.sqrt(0.5) ** layer  # the block reads x_l = scale * (unscaled stream)
    gate, r = block.conv.out_channels, block.residual_channels
    double = torch.ones(gate, device=block.conv.weight.device, dtype=block.conv.weight.dtype)
    double[: gate // 2] = 2.0
    out_w, out_b, norm = block.out.weight[:, :, 0], block.out.bias, math.sqrt(1.0 / layers)
    return FastWeights(
        conv=block.conv.weight.permute(0, 2, 1).flatten(1) * (double[:, None] * scale),
        cond=block.cond.weight[:, :, 0] * double[:, None], bias=block.conv.bias * double,
        res_w=out_w[:r] * (-1 / scale), res_b=out_b[:r] / scale,
        skip_w=out_w[r:] * -norm, skip_b=out_b[r:] * norm)


class _Taps(torch.autograd.Function):
    """x [B, T, R], c [B, T, C] -> [B, T, k * R + C]: row t holds x[t - (k - 1 - j) * dilation]
    for tap j = 0..k-1 (zero before the start), then c[t]; a causal dilated conv is then
    one matmul. The backward adds the shifted gradient blocks, where autograd's slicing
    would zero-fill and copy a full-size gradient per tap."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, c: torch.Tensor, dilation: int, k: int) -> torch.Tensor:
        batch, steps, r = x.shape
        out = x.new_empty(batch, steps, k * r + c.shape[-1])
        for j in range(k):
            shift = min((k - 1 - j) * dilation, steps)
            out[:, :shift, j * r:(j + 1) * r] = 0
            out[:, shift:, j * r:(j + 1) * r] = x[:, : steps - shift]
        out[..., k * r:] = c
        ctx.dilation, ctx.k, ctx.r = dilation, k, r
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, None, None]:
        k, r, steps = ctx.k, ctx.r, grad.shape[1]
        grad_x = grad[..., (k - 1) * r: k * r].clone()
        for j in range(k - 1):
            shift = min((k - 1 - j) * ctx.dilation, steps)
            grad_x[:, : steps - shift] += grad[:, shift:, j * r:(j + 1) * r]
        return grad_x, grad[..., k * r:], None, None


def _matmul_dtype(x: torch.Tensor) -> torch.dtype:
    """The dtype matmuls on ``x``'s device run in: autocast's, if on, else ``x``'s."""
    kind = x.device.type
    return torch.get_autocast_dtype(kind) if torch.is_autocast_enabled(kind) else x.dtype


def _dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Inverted dropout with drop probability round(p * 2**16) / 2**16.

    The mask comes from 16-bit slices of random int64 draws: on CPU that is about ten
    times faster than the per-element Bernoulli draws of F.dropout, which otherwise take a
    sixth of a training step. Draws from the global generator, like F.dropout.
    """
    if not training or p == 0:
        return x
    threshold = round(p * 2 ** 16)
    words = torch.empty(-(-x.numel() // 4), dtype=torch.int64, device=x.device).random_(-2 ** 63, None)
    keep = words.view(torch.int16)[: x.numel()].view(x.shape) >= threshold - 2 ** 15
    return x * keep * (1.0 / (1.0 - threshold / 2 ** 16))


@register_model("wavenet")
class WaveNetVocoder(VocoderModel):
    """WaveNet on upsampled log-mel. One optimiser group, ``"wavenet"`` (upsampler and network).

    Batches: {"feats": [B, dim, frames + 2 * context_frames], "audio": [B, frames * hop]}.
    """

    Params = WaveNetParams

    def __init__(self, dim: int, params: WaveNetParams | None = None) -> None:
        super().__init__()
        self.params = p = params or WaveNetParams()
        check_params(p)
        self.mol = p.output == "mol"
        self.classes = 2 ** p.mulaw_bits
        self.out_channels = 3 * p.mixtures if self.mol else self.classes
        self.upsampler = build_network("upsample", ConvUpsampler, dim, p.upsample.scales, p.upsample.context_frames)
        self.wavenet = WaveNet(dim, self.out_channels, None if self.mol else self.classes, p.layers, p.stacks,
                               p.residual_channels, p.gate_channels, p.skip_channels, p.kernel_size, p.dropout)

    @property
    def receptive_field(self) -> int:
        return receptive_field(self.params.kernel_size, self.wavenet.dilations)

    # ---- training ------------------------------------------------------------------------------

    def optimizer_groups(self) -> dict[str, list[nn.Module]]:
        return {GROUP: [self.upsampler, self.wavenet]}

    def ema_networks(self) -> list[str]:
        return ["upsampler", "wavenet"]  # r9y9 synthesises with averaged weights (train.ema_decay)

    def network_inputs(self, audio: torch.Tensor) -> torch.Tensor:
        """Audio [B, T] in [-1, 1] -> what the network reads for it: itself (mol) or its mu-law classes."""
        return audio if self.mol else mulaw_encode(audio, self.params.mulaw_bits)

    def initial_input(self, batch: int, device: torch.device | str | None = None) -> torch.Tensor:
        """The input of step 0, [B, 1]: a zero sample (class of 0 for mu-law)."""
        return self.network_inputs(torch.zeros(batch, 1, device=device))

    def teacher_inputs(self, audio: torch.Tensor) -> torch.Tensor:
        """Audio [B, T] -> the inputs that predict it: [0, audio[0], ..., audio[T - 2]] (as network inputs)."""
        inputs = self.network_inputs(audio)
        return torch.cat([self.initial_input(len(audio), audio.device), inputs[:, :-1]], dim=1)

    def forward(self, audio_in: torch.Tensor, c_up: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits [B, out, T] from previous-sample inputs [B, T] (see
        :meth:`teacher_inputs`) and sample-rate conditioning [B, dim, T]."""
        return self.wavenet(audio_in, c_up)

    def loss(self, logits: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """Mean NLL per sample (mol) or cross-entropy over mu-law classes, in float32."""
        logits = logits.float()
        if self.mol:
            return discretized_mix_logistic_nll(logits, audio, MOL_CLASSES, self.params.log_scale_min).mean()
        return F.cross_entropy(logits, mulaw_encode(audio, self.params.mulaw_bits))

    def _batch_loss(self, batch: dict[str, torch.Tensor], ctx: StepContext | None) -> torch.Tensor:
        audio = batch["audio"]
        with ctx.autocast() if ctx is not None else contextlib.nullcontext():
            logits = self(self.teacher_inputs(audio), self.upsampler(batch["feats"]))
        return self.loss(logits, audio)

    def train_step(self, batch: dict[str, torch.Tensor], ctx: StepContext) -> dict[str, float]:
        loss = self._batch_loss(batch, ctx)
        ctx.update(GROUP, loss)
        return {"loss": loss.item()}

    @torch.no_grad()
    def validation_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        return {"loss": self._batch_loss(batch, None).item()}

    # ---- generation ----------------------------------------------------------------------------

    @property
    def chunk(self) -> int:
        """Steps per chunk of noise (both methods) and of precomputed conditioning (incremental)."""
        largest = max(self.wavenet.dilations)
        return -(-max(CHUNK, largest) // largest) * largest

    def draw_noise(self, batch: int, steps: int, generator: torch.Generator | None,
                   device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One chunk's sampling noise: Gumbel [B, mixtures or classes, steps] and, for mol,
        logistic [B, steps]. Both generation methods draw it chunk by chunk in this order."""
        if self.mol:
            return mol_noise((batch, steps), self.params.mixtures, generator, device)
        return gumbel_noise((batch, self.classes, steps), generator, device), None

    def incremental_forward(self, audio_in: torch.Tensor, c_up: torch.Tensor) -> torch.Tensor:
        """:meth:`forward` computed step by step through the incremental generator's queues
        (teacher-forced: the given inputs replace the samples). Logits [B, out, T]."""
        if audio_in.shape != (c_up.shape[0], c_up.shape[-1]):
            raise ValueError(f"inputs {list(audio_in.shape)} do not match conditioning {list(c_up.shape)}")
        with torch.inference_mode():
            return _Incremental(self, c_up).teacher_forced(audio_in)

    @torch.inference_mode()
    def generate(self, c_up: torch.Tensor, generator: torch.Generator | None = None,
                 method: Literal["incremental", "naive"] = "incremental", temperature: float = 1.0,
                 prompt: torch.Tensor | None = None) -> torch.Tensor:
        """Sample audio [B, T] in [-1, 1] from sample-rate conditioning c_up [B, dim, T].

        ``prompt`` [B, P] (P <= T): audio to continue; the first P samples are the prompt.
        ``temperature`` divides the mu-law logits (mol needs 1.0). Noise comes from
        ``generator`` (on any device): the same seed gives the same audio with either method.
        """
        if method not in ("incremental", "naive"):
            raise ValueError(f"method must be 'incremental' or 'naive', got {method!r}")
        if temperature <= 0 or (self.mol and temperature != 1.0):
            raise ValueError(f"temperature must be > 0 (and 1.0 for output 'mol'), got {temperature}")
        batch, steps = c_up.shape[0], c_up.shape[-1]
        first = self.initial_input(batch, c_up.device)
        inputs = first if prompt is None else torch.cat([first, self.network_inputs(prompt)], dim=1)
        if inputs.shape[1] > steps + 1:
            raise ValueError(f"prompt has {inputs.shape[1] - 1} samples, more than the {steps} to generate")
        with _eval_mode(self):
            if method == "naive":
                samples = self._naive(inputs, c_up, generator, temperature)
            else:
                samples = _Incremental(self, c_up).generate(inputs, steps, generator, temperature)
        audio = samples if self.mol else mulaw_decode(samples, self.params.mulaw_bits, c_up.dtype)
        if prompt is not None:
            audio[:, :prompt.shape[1]] = prompt
        return audio

    def _naive(self, inputs: torch.Tensor, c_up: torch.Tensor, generator: torch.Generator | None,
               temperature: float) -> torch.Tensor:
        """Sliding-window generation: a forward pass over the last receptive_field inputs per sample.
        ``inputs`` [B, n] are the given inputs of steps 0..n-1; returns the inputs of steps 1..T."""
        batch, steps = c_up.shape[0], c_up.shape[-1]
        seq = inputs.new_zeros(batch, steps + 1)
        seq[:, :inputs.shape[1]] = inputs
        field, chunk = self.receptive_field, self.chunk
        for t0 in range(0, steps, chunk):
            gumbel, logistic = self.draw_noise(batch, min(chunk, steps - t0), generator, c_up.device)
            for t in range(max(t0, inputs.shape[1] - 1), min(t0 + chunk, steps)):
                start = max(0, t - field + 1)
                logits = self.wavenet(seq[:, start:t + 1], c_up[:, :, start:t + 1])[:, :, -1]
                if self.mol:
                    seq[:, t + 1] = sample_mol(logits, gumbel[..., t - t0], logistic[:, t - t0],
                                               self.params.log_scale_min)
                else:
                    seq[:, t + 1] = sample_categorical(logits, gumbel[..., t - t0], temperature)
        return seq[:, 1:]

    def inference(self, feats: torch.Tensor, generator: torch.Generator | None = None,
                  method: Literal["incremental", "naive"] = "incremental", temperature: float = 1.0) -> torch.Tensor:
        """Normalised features [B, dim, frames] (no context frames) -> audio [B, frames * hop_length]."""
        with torch.inference_mode(), _eval_mode(self):
            c_up = self.upsampler(self.upsampler.pad(feats))
        return self.generate(c_up, generator, method, temperature)


@contextlib.contextmanager
def _eval_mode(module: nn.Module) -> Iterator[None]:
    """Dropout off inside, the previous mode restored after."""
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)


class _Incremental:
    """Fast WaveNet generation for one batch: prepared weights, state buffers, per-step views.

    **Queues.** Layer l (dilation d, kernel k) needs its inputs at t, t - d, ..., t - (k-1)d.
    Its input history is stored phase-major, ``[d, B, Q, R]`` with time ``t = q * d + p``
    at ``[p, :, q]``: the k taps of step t are then ``k`` consecutive slots, so one
    ``[B, k * R]`` strided view feeds one matmul with no gather. Each chunk of ``chunk``
    steps (a multiple of every dilation) fills slots ``k - 1 ..``; the last ``k - 1`` slots
    are copied to the front before the next chunk.

    **Work per step** (each a single ATen call on preallocated buffers, ``out=``):
    every layer does one addmm for its conv, a sigmoid and an addcmul for the gate, and
    one addmm for the residual; the skips of all layers are summed by one matmul over the
    gate outputs of every layer. Precomputed outside the sample loop: every layer's
    conditioning projection plus conv bias for a whole chunk (one matmul), and for d > 1
    the contribution of the k - 1 past taps to the next d steps (one matmul per d steps;
    those inputs are all known when the block starts), so per step only the newest tap's
    weights are read: at batch 1 the loop is bound by reading weights.

    **Weights** are :func:`fast_weights` (one sigmoid and one addcmul per gate, an unscaled
    residual stream so no addmm needs a beta). A constant 1 after each layer's gate output
    carries the 1x1 biases, and the last layer's residual output, never read, is skipped.
    """

    def __init__(self, model: WaveNetVocoder, c_up: torch.Tensor) -> None:
        net = model.wavenet
        weight = net.head[1].weight
        self.device, self.dtype = weight.device, weight.dtype
        self.mol, self.log_scale_min, self.model = model.mol, model.params.log_scale_min, model
        self.batch, self.chunk = c_up.shape[0], model.chunk
        self._prepare_weights(net)
        self._allocate(model.out_channels)
        # Conditioning time-major [T_pad, B, C], padded to whole chunks for the chunk matmul.
        steps = c_up.shape[-1]
        pad = -steps % self.chunk
        self.cond = F.pad(c_up.to(self.dtype), (0, pad)).permute(2, 0, 1).contiguous()
        self._build_views()

    # ---- setup -------------------------------------------------------------------------------

    def _prepare_weights(self, net: WaveNet) -> None:
        """:func:`fast_weights` laid out for ``input @ weight`` with a trailing bias row where a
        constant 1 column carries it."""
        blocks, k = net.blocks, net.kernel_size
        self.layers, self.k, self.dilations = len(blocks), k, net.dilations
        self.residual, self.gate = blocks[0].residual_channels, blocks[0].conv.out_channels
        self.w_full, self.w_past, self.w_cur, self.w_res, skips, conds, biases = [], [], [], [], [], [], []
        for l, block in enumerate(blocks):
            w = fast_weights(block, l, self.layers)
            taps = w.conv.T.contiguous()  # [k * R, G]
            self.w_full.append(taps)
            self.w_past.append(taps[: (k - 1) * self.residual])
            self.w_cur.append(taps[(k - 1) * self.residual:])
            self.w_res.append(torch.cat([w.res_w.T, w.res_b[None]]))
            skips.append(torch.cat([w.skip_w.T, w.skip_b[None]]))
            conds.append(w.cond)
            biases.append(w.bias)
        self.w_cond = torch.cat(conds).T.contiguous()  # [C, L * G]
        self.b_cond = torch.cat(biases)
        self.w_skip = torch.cat(skips)  # [L * (G/2 + 1), S]
        self.w1, self.b1 = net.head[1].weight[:, :, 0].T.contiguous(), net.head[1].bias
        self.w2, self.b2 = net.head[3].weight[:, :, 0].T.contiguous(), net.head[3].bias
        if isinstance(net.input, nn.Embedding):
            self.embedding = net.input.weight
        else:
            self.w_in, self.b_in = net.input.weight[:, :, 0].T.contiguous(), net.input.bias  # [1, R], [R]

    def _allocate(self, out_channels: int) -> None:
        b, g, r, chunk, layers = self.batch, self.gate, self.residual, self.chunk, self.layers
        new = {"device": self.device, "dtype": self.dtype}
        self.history = [torch.zeros(d, b, chunk // d + self.k - 1, r, **new) for d in self.dilations]
        self.past = [torch.empty(d, b, g, **new) if d > 1 else None for d in self.dilations]
        self.projected = torch.empty(chunk, b, layers, g, **new)  # conditioning + conv bias, per chunk
        self.z = torch.ones(b, layers, g // 2 + 1, **new)  # gate outputs; the last column stays 1
        self.skip = torch.empty(b, self.w_skip.shape[1], **new)
        self.hidden = torch.empty(b, self.w1.shape[1], **new)
        self.logits = torch.empty(b, out_channels, **new)
        self.chunk_logits = torch.empty(chunk, b, out_channels, **new)
        if self.mol:
            self.seq = torch.zeros(chunk + 1, b, 1, **new)  # seq[tau]: input of step tau of the chunk
            mixtures = out_channels // 3
            self.noise = torch.empty(chunk, b, mixtures, **new), torch.empty(chunk, b, 1, **new)
            self.scratch = torch.empty(b, mixtures, **new)
            self.pick = torch.empty(b, 1, device=self.device, dtype=torch.long)
            self.picked = torch.empty(b, 2, 1, **new)  # the chosen component's mean and log scale
        else:
            self.seq = torch.zeros(chunk + 1, b, device=self.device, dtype=torch.long)
            self.noise = torch.empty(chunk, b, out_channels, **new), None
            self.scratch = torch.empty(b, out_channels, **new)

    def _build_views(self) -> None:
        """Per chunk step: the views every op reads and writes, made once (a few bulk
        ``unbind`` calls per layer) and reused by every chunk."""
        k, g, b, r, chunk = self.k, self.gate, self.batch, self.residual, self.chunk
        z = [self.z[:, l, : g // 2] for l in range(self.layers)]
        z_ext = [self.z[:, l] for l in range(self.layers)]
        xs, convs, self.blocks_due = [], [], [[] for _ in range(chunk)]
        for l, (hist, d) in enumerate(zip(self.history, self.dilations)):
            slots = hist.shape[2]
            phases = [hist[p].unbind(1) for p in range(d)]  # phases[p][q]: the input at slot q, [B, R]
            xs.append([phases[tau % d][tau // d + k - 1] for tau in range(chunk)])
            projected = self.projected[:, :, l]  # [chunk, B, G]
            if d == 1:  # all k taps are consecutive slots: the whole conv in one matmul per step
                pre = projected
                inputs = hist.as_strided((chunk, b, k * r), (r, slots * r, 1)).unbind(0)
                weight = self.w_full[l]
            else:  # block starts: the past taps of the next d steps, all known by then
                pre = self.past[l]
                past = hist.as_strided((chunk // d, d * b, (k - 1) * r), (r, slots * r, 1)).unbind(0)
                cond = projected.reshape(chunk // d, d * b, g).unbind(0)
                for i in range(chunk // d):
                    self.blocks_due[i * d].append((pre.view(d * b, g), cond[i], past[i], self.w_past[l]))
                inputs, weight = xs[l], self.w_cur[l]
            # The conv adds into its pre-activation row in place (row tau of the chunk's
            # projection, or phase tau % d of the block); the gate reads the row's two halves.
            rows = list(zip(pre.unbind(0), pre[..., : g // 2].unbind(0), pre[..., g // 2:].unbind(0)))
            convs.append([(rows[tau % len(rows)][0], inputs[tau], weight, *rows[tau % len(rows)][1:], z[l])
                          for tau in range(chunk)])
        self.x0 = xs[0]
        self.seq_rows, self.logit_rows = self.seq.unbind(0), self.chunk_logits.unbind(0)
        self.noise_rows = [n.unbind(0) if n is not None else None for n in self.noise]
        self.layer_steps = [[(*convs[l][tau], xs[l][tau], z_ext[l], self.w_res[l], xs[l + 1][tau])
                             for l in range(self.layers - 1)] for tau in range(chunk)]
        self.last_steps = convs[-1]

    # ---- the loop ----------------------------------------------------------------------------

    def _start_chunk(self, t0: int, previous: int) -> None:
        """Carry the queues and the last input over from the previous chunk (of ``previous``
        steps), and project this chunk's conditioning for every layer at once."""
        if t0:
            keep = self.k - 1
            for hist in self.history:
                hist[:, :, :keep] = hist[:, :, -keep:].clone()
            self.seq[0] = self.seq[previous]
        cond = self.cond[t0: t0 + self.chunk].reshape(-1, self.cond.shape[-1])
        torch.addmm(self.b_cond, cond, self.w_cond, out=self.projected.view(cond.shape[0], -1))

    def _steps(self, start: int, stop: int, sample: bool, keep_logits: bool, temperature: float) -> None:
        """Run chunk steps start..stop-1: logits from seq[tau], then (if ``sample``) seq[tau + 1]."""
        z_all, w_skip, skip, hidden = self.z.view(self.batch, -1), self.w_skip, self.skip, self.hidden
        w1, b1, w2, b2 = self.w1, self.b1, self.w2, self.b2
        seq, mol, logit_rows = self.seq_rows, self.mol, self.logit_rows
        gumbel, logistic = self.noise_rows
        if mol:
            w_in, b_in = self.w_in, self.b_in
            k = self.logits.shape[1] // 3
            logit_probs, means = self.logits[:, :k], self.logits.view(self.batch, 3, k)[:, 1:]
            pick, picked = self.pick, self.picked
            pick_both = pick.view(-1, 1, 1).expand(-1, 2, 1)
            mean, log_scale = picked[:, 0], picked[:, 1]
        else:
            embedding, alpha = self.embedding, 1.0 / temperature
        for tau in range(start, stop):
            for out, cond, past, w in self.blocks_due[tau]:
                torch.addmm(cond, past, w, out=out)
            if mol:
                torch.addmm(b_in, seq[tau], w_in, out=self.x0[tau])
            else:
                torch.index_select(embedding, 0, seq[tau], out=self.x0[tau])
            for pre, inp, w, ha, hb, z, x, z_ext, w_res, x_next in self.layer_steps[tau]:
                pre.addmm_(inp, w).sigmoid_()
                torch.addcmul(hb, ha, hb, value=-2.0, out=z)
                torch.addmm(x, z_ext, w_res, out=x_next)
            pre, inp, w, ha, hb, z = self.last_steps[tau]
            pre.addmm_(inp, w).sigmoid_()
            torch.addcmul(hb, ha, hb, value=-2.0, out=z)
            torch.mm(z_all, w_skip, out=skip)
            skip.relu_()
            torch.addmm(b1, skip, w1, out=hidden)
            hidden.relu_()
            torch.addmm(b2, hidden, w2, out=logit_rows[tau] if keep_logits else self.logits)
            if not sample:
                continue
            if mol:  # sample_mol, op for op
                torch.add(logit_probs, gumbel[tau], out=self.scratch)
                torch.argmax(self.scratch, dim=1, keepdim=True, out=pick)
                torch.gather(means, 2, pick_both, out=picked)
                log_scale.clamp_min_(self.log_scale_min).exp_()
                torch.addcmul(mean, log_scale, logistic[tau], out=seq[tau + 1]).clamp_(-1.0, 1.0)
            else:  # sample_categorical
                torch.add(gumbel[tau], self.logits, alpha=alpha, out=self.scratch)
                torch.argmax(self.scratch, dim=1, out=seq[tau + 1])

    def generate(self, inputs: torch.Tensor, steps: int, generator: torch.Generator | None,
                 temperature: float) -> torch.Tensor:
        """``inputs`` [B, n >= 1] are the given inputs of steps 0..n-1; later ones are sampled.
        Returns the inputs of steps 1..steps (given or sampled), [B, steps]."""
        outputs = torch.empty(self.batch, steps, device=self.device, dtype=self.seq.dtype)
        for t0, n in self._chunks(inputs, steps):
            gumbel, logistic = self.model.draw_noise(self.batch, n, generator, self.device)
            self.noise[0][:n].copy_(gumbel.permute(2, 0, 1))
            if logistic is not None:
                self.noise[1][:n, :, 0].copy_(logistic.T)
            teacher = min(max(inputs.shape[1] - 1 - t0, 0), n)  # steps whose next input is given
            self._steps(0, teacher, sample=False, keep_logits=False, temperature=temperature)
            self._steps(teacher, n, sample=True, keep_logits=False, temperature=temperature)
            outputs[:, t0: t0 + n] = self.seq[1: n + 1].view(n, self.batch).T
        return outputs

    def teacher_forced(self, inputs: torch.Tensor) -> torch.Tensor:
        """Logits [B, out, T] for given inputs [B, T] of every step (no sampling)."""
        steps = inputs.shape[1]
        logits = torch.empty(self.batch, self.logits.shape[1], steps, device=self.device, dtype=self.dtype)
        for t0, n in self._chunks(inputs, steps):
            self._steps(0, n, sample=False, keep_logits=True, temperature=1.0)
            logits[..., t0: t0 + n] = self.chunk_logits[:n].permute(1, 2, 0)
        return logits

    def _chunks(self, inputs: torch.Tensor, steps: int) -> Iterator[tuple[int, int]]:
        """(first step, length) of each chunk, with the queues, conditioning and the given
        inputs of the chunk's steps in place."""
        n = 0
        for t0 in range(0, steps, self.chunk):
            self._start_chunk(t0, n)
            n = min(self.chunk, steps - t0)
            known = min(max(inputs.shape[1] - t0, 0), n + 1)  # given inputs among seq[0..n]
            self.seq[:known].view(known, self.batch).copy_(inputs[:, t0: t0 + known].T)
            yield t0, n
