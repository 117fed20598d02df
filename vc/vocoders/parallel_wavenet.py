"""Non-autoregressive WaveNet vocoder trained as Parallel WaveGAN (Yamamoto et al. 2020).

The generator turns Gaussian noise [B, 1, T] into a waveform in one pass: a 1x1 conv, a
stack of non-causal dilated :class:`~vc.nn.wavenet.WaveNetBlock` conditioned on the
upsampled mel, the sum of their skip outputs, then ReLU-1x1-ReLU-1x1. It learns from the
multi-resolution STFT loss alone until ``discriminator_start``; from then on a dilated-conv
discriminator on the waveform adds an LSGAN adversarial term (weight ``lambda_adv``) and is
trained itself. Every conv carries weight norm (``torch.nn.utils.parametrizations``) while
training; :meth:`VocoderModel.prepare_for_inference` folds it away.

Both generator passes are written as GEMMs over the blocks' weights (training: one
``F.linear`` per block; inference, :meth:`WaveNetGenerator.generate`: preallocated buffers,
in-place updates, biases folded away), faster than the blocks' convs on CPU in fp32 and far
faster under bf16 autocast. Tests hold both to the blocks' own ``forward``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from vc.errors import ConfigError, DataError
from vc.models.registry import build_network, register_model
from vc.nn import GANLoss
from vc.nn.wavenet import ConvUpsampler, WaveNetBlock, cycle_dilations, receptive_field
from vc.train.model import StepContext
from vc.vocoders.base import UpsampleParams, VocoderModel
from vc.vocoders.stft_loss import MultiResolutionSTFTLoss


class WaveNetGenerator(nn.Module):
    """Noise [B, 1, T] + sample-rate conditioning [B, cond, T] -> waveform [B, 1, T].

    The parameters live in :class:`~vc.nn.wavenet.WaveNetBlock` modules, and the function is
    theirs: ``x, skip = block(x, c)`` per block, the skips summed and scaled by
    ``sqrt(1 / layers)``. Both passes evaluate it as GEMMs rather than through the blocks'
    convs, which is faster on CPU in fp32 and much faster under bf16 autocast, where matmuls
    use AMX but oneDNN's bf16 1-D convs do not: :meth:`forward` (training, autograd) one
    ``F.linear`` per block over the stacked dilated taps and the conditioning;
    :meth:`generate` (inference) the same with preallocated buffers and in-place updates.
    """

    def __init__(
        self,
        cond_channels: int,
        layers: int = 30,
        stacks: int = 3,
        residual_channels: int = 64,
        gate_channels: int = 128,
        skip_channels: int = 64,
        kernel_size: int = 3,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.dilations = cycle_dilations(layers, stacks)
        self.kernel_size, self.dropout = kernel_size, dropout
        self.residual_channels, self.half_gate = residual_channels, gate_channels // 2
        self.first = nn.Conv1d(1, residual_channels, 1)
        self.blocks = nn.ModuleList(
            WaveNetBlock(residual_channels, gate_channels, skip_channels, cond_channels, kernel_size, d,
                         causal=False, dropout=dropout)
            for d in self.dilations)
        # ReLU -> out1 -> ReLU -> out2 on the summed skips.
        self.out1 = nn.Conv1d(skip_channels, skip_channels, 1)
        self.out2 = nn.Conv1d(skip_channels, 1, 1)

    @property
    def receptive_field(self) -> int:
        return receptive_field(self.kernel_size, self.dilations)

    def _block_matrices(self, block: WaveNetBlock) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """A block as (w_in [gate, K*R + cond], b_in, w_out [R + skip, gate / 2], b_out): the input
        columns are the K taps (tap-major, tap j = x shifted by (j - K // 2) * dilation), then c."""
        w_in = torch.cat([block.conv.weight.permute(0, 2, 1).flatten(1), block.cond.weight[:, :, 0]], 1)
        return w_in, block.conv.bias, block.out.weight[:, :, 0], block.out.bias

    def forward(self, noise: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """The training pass, time-major inside: [B, T, channels] makes every 1x1 and dilated
        conv one ``F.linear`` with its bias fused."""
        length, k, residual = noise.shape[-1], self.kernel_size, self.residual_channels
        x = F.linear(noise.transpose(1, 2), self.first.weight[:, :, 0], self.first.bias)  # [B, T, R]
        # Cast once: under autocast, each layer's cat would otherwise promote the taps to c's fp32.
        c = c.transpose(1, 2).to(x.dtype)
        scale = math.sqrt(0.5)
        skips = torch.zeros((), dtype=x.dtype, device=x.device)
        for i, block in enumerate(self.blocks):
            w_in, b_in, w_out, b_out = self._block_matrices(block)
            pad = block.dilation * (k // 2)
            padded = F.pad(F.dropout(x, self.dropout, self.training), (0, 0, pad, pad))
            taps = [padded[:, j * block.dilation : j * block.dilation + length] for j in range(k)]
            a, b = F.linear(torch.cat([*taps, c], 2), w_in, b_in).chunk(2, dim=2)
            gated = torch.tanh(a) * torch.sigmoid(b)
            if i == len(self.blocks) - 1:  # the last residual output would be unused
                skips = skips + F.linear(gated, w_out[residual:], b_out[residual:])
                break
            # (x + res) * scale as one op: the scale goes into the residual rows.
            w_out = torch.cat([scale * w_out[:residual], w_out[residual:]])
            b_out = torch.cat([scale * b_out[:residual], b_out[residual:]])
            res, skip = F.linear(gated, w_out, b_out).split([residual, w_out.shape[0] - residual], dim=2)
            x = torch.add(res, x, alpha=scale)
            skips = skips + skip
        hidden = F.relu(F.linear(F.relu(skips * math.sqrt(1 / len(self.blocks))), self.out1.weight[:, :, 0],
                                 self.out1.bias))
        return F.linear(hidden, self.out2.weight[:, :, 0], self.out2.bias).transpose(1, 2)

    @torch.inference_mode()
    def generate(self, noise: torch.Tensor, c: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
        """``forward`` without dropout, for inference: noise [B, 1, T], c [B, cond, T] -> [B, 1, T].

        Per block, one GEMM ``[gate, K*(R+1) + cond] @ stack``, where ``stack`` [K*(R+1) + cond, T]
        holds the K dilated taps of the residual stream and the conditioning; then the gate in
        place and two GEMMs that accumulate into the skip sum and, with ``beta = sqrt(0.5)``,
        into the residual stream, which lives in the stack's centre tap. The work after the
        taps are written runs ``chunk`` samples at a time, so the pre-activations stay in cache.

        No pass over the long time axis is spent on biases or scaling. The residual stream
        carries a channel of ones (zero where a tap reads padding): the biases it would have
        accumulated (first conv, residual outputs) are folded into the next block's weights on
        that channel, exact also at the edges, and the conv bias rides on the centre tap's
        ones. The skip biases are summed once into the skip sum's initial value. The last
        block computes its skip output only. Computes in the autocast dtype when autocast is
        on; in bf16 the gate is ``(sigmoid(2a) - 1/2) * sigmoid(b) = tanh(a) sigmoid(b) / 2``
        (the factors 2 folded into the weights), because bf16 tanh is about 3x slower than
        sigmoid on CPU.
        """
        device = c.device
        dtype = torch.get_autocast_dtype(device.type) if torch.is_autocast_enabled(device.type) else c.dtype
        with torch.autocast(device.type, enabled=False):
            sigmoid_gate = dtype == torch.bfloat16
            weights = self._fused_weights(dtype, sigmoid_gate)
            return torch.stack([self._generate_one(z[0], cond, weights, sigmoid_gate, chunk)
                                for z, cond in zip(noise, c)])[:, None]

    def _fused_weights(self, dtype: torch.dtype, sigmoid_gate: bool) -> dict[str, list[torch.Tensor] | torch.Tensor]:
        """The matrices of :meth:`generate` (a few MB, rebuilt per call)."""
        k, residual, half = self.kernel_size, self.residual_channels, self.half_gate
        scale, gate_scale = math.sqrt(0.5), 2.0 if sigmoid_gate else 1.0
        carried = self.first.bias  # the bias part of the residual stream, a constant per channel
        gemm, res, skip = [], [], []
        skip_bias = torch.zeros_like(self.out2.weight[0, :, 0])
        for block in self.blocks:
            w_in, b_in, w_out, b_out = self._block_matrices(block)
            taps = w_in[:, : k * residual].unflatten(1, (k, residual))
            ones = taps @ carried  # [gate, K]: what the carried bias adds through each tap
            ones[:, k // 2] += b_in
            w = torch.cat([torch.cat([taps, ones[:, :, None]], 2).flatten(1), w_in[:, k * residual :]], 1)
            gemm.append(torch.cat([gate_scale * w[:half], w[half:]]))
            res.append(scale * gate_scale * w_out[:residual])
            skip.append(gate_scale * w_out[residual:])
            carried = scale * (carried + b_out[:residual])
            skip_bias = skip_bias + b_out[residual:]
        fused = {"gemm": gemm, "res": res[:-1], "skip": skip, "first": self.first.weight[:, :, 0],
                 "skip_bias": skip_bias[:, None],
                 # relu(a x) = a relu(x) for a > 0: the skip scale goes into out1.
                 "out1": self.out1.weight[:, :, 0] * math.sqrt(1 / len(self.blocks)),
                 "out1_bias": self.out1.bias[:, None],
                 "out2": self.out2.weight[:, :, 0], "out2_bias": self.out2.bias[:, None]}
        return {key: [t.to(dtype) for t in v] if isinstance(v, list) else v.to(dtype) for key, v in fused.items()}

    def _generate_one(self, z: torch.Tensor, c: torch.Tensor, w: dict, sigmoid_gate: bool, chunk: int) -> torch.Tensor:
        """One item: noise [T], conditioning [cond, T] -> waveform [T]."""
        dtype, length = w["first"].dtype, z.shape[0]
        k, rows, half = self.kernel_size, self.residual_channels + 1, self.half_gate
        stack = torch.empty(k * rows + c.shape[0], length, dtype=dtype, device=z.device)
        stack[k * rows :] = c
        stream = stack[k // 2 * rows : (k // 2 + 1) * rows]  # [x; 1], x without its carried bias
        x = stream[:-1]
        stream[-1] = 1.0
        torch.mm(w["first"], z.to(dtype)[None], out=x)  # the first conv; its bias is carried
        skips = w["skip_bias"].expand(-1, length).clone()
        buffer = torch.empty(2 * half, min(chunk, length), dtype=dtype, device=z.device)
        for i, dilation in enumerate(self.dilations):
            self._fill_taps(stack, stream, dilation)
            # Updating x chunk by chunk is safe: the other taps are copies taken above, and a
            # chunk's GEMM reads only its own columns of the centre tap.
            for start in range(0, length, chunk):
                end = min(start + chunk, length)
                h = buffer[:, : end - start]
                torch.mm(w["gemm"][i], stack[:, start:end], out=h)
                a, b = h[:half], h[half:]
                if sigmoid_gate:
                    h.sigmoid_()
                    a.sub_(0.5).mul_(b)
                else:
                    a.tanh_().mul_(b.sigmoid_())
                skips[:, start:end].addmm_(w["skip"][i], a)
                if i < len(w["res"]):
                    x[:, start:end].addmm_(w["res"][i], a, beta=math.sqrt(0.5))
        hidden = torch.addmm(w["out1_bias"], w["out1"], skips.relu_()).relu_()
        return torch.addmm(w["out2_bias"], w["out2"], hidden)[0].float()

    def _fill_taps(self, stack: torch.Tensor, stream: torch.Tensor, dilation: int) -> None:
        """Write ``stream`` [rows, T] shifted by (j - K // 2) * dilation, zero-filled, into each non-centre tap j."""
        rows, length = stream.shape
        for j in range(self.kernel_size):
            shift = (j - self.kernel_size // 2) * dilation
            if shift == 0:
                continue
            tap = stack[j * rows : (j + 1) * rows]
            n = max(length - abs(shift), 0)  # samples that read real input
            if shift > 0:  # tap[t] = stream[t + shift]
                tap[:, :n].copy_(stream[:, shift : shift + n])
                tap[:, n:].zero_()
            else:  # tap[t] = stream[t - |shift|]
                tap[:, length - n :].copy_(stream[:, :n])
                tap[:, : length - n].zero_()


class WaveDiscriminator(nn.Module):
    """Parallel WaveGAN's discriminator: waveform [B, 1, T] -> per-sample logits [B, 1, T].

    ``layers - 1`` dilated convs with LeakyReLU, then a conv to one channel. Dilations are
    1 for the first conv, then ``i`` for conv i when ``dilation_factor`` is 1 (PWG v1:
    1, 1, 2, 3, ..., 8), else ``dilation_factor ** i`` (1, 2, 4, ...).
    """

    def __init__(self, layers: int = 10, channels: int = 64, kernel_size: int = 3, dilation_factor: int = 1,
                 negative_slope: float = 0.2) -> None:
        super().__init__()
        modules: list[nn.Module] = []
        in_channels = 1
        for i in range(layers - 1):
            dilation = 1 if i == 0 else (i if dilation_factor == 1 else dilation_factor**i)
            modules += [nn.Conv1d(in_channels, channels, kernel_size, padding=kernel_size // 2 * dilation,
                                  dilation=dilation), nn.LeakyReLU(negative_slope)]
            in_channels = channels
        modules.append(nn.Conv1d(in_channels, 1, kernel_size, padding=kernel_size // 2))
        self.net = nn.Sequential(*modules)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def apply_weight_norm(module: nn.Module) -> None:
    """Weight norm on every conv of ``module``, as Parallel WaveGAN trains them."""
    for m in module.modules():
        if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d)):
            weight_norm(m)


@dataclass
class ParallelWaveNetParams:
    """``model_params`` of ``model: parallel_wavenet``; defaults are Parallel WaveGAN v1."""

    layers: int = 30
    stacks: int = 3  # dilations 1, 2, ..., 2^(layers/stacks - 1), repeated
    residual_channels: int = 64
    gate_channels: int = 128
    skip_channels: int = 64
    kernel_size: int = 3
    dropout: float = 0.0
    upsample: UpsampleParams = field(default_factory=UpsampleParams)
    discriminator_layers: int = 10
    discriminator_channels: int = 64
    discriminator_kernel_size: int = 3
    discriminator_dilation_factor: int = 1  # 1: dilations 1, 1, 2, 3, ... (PWG v1); n > 1: 1, n, n^2, ...
    discriminator_negative_slope: float = 0.2
    stft: dict = field(default_factory=dict)  # MultiResolutionSTFTLoss keyword arguments
    lambda_adv: float = 4.0
    discriminator_start: int = 100000  # step from which the adversarial loss and D updates run
    gan_loss: str = "lsgan"

    def check(self, where: str = "model_params") -> None:
        positive = ("layers", "stacks", "residual_channels", "gate_channels", "skip_channels", "kernel_size",
                    "discriminator_layers", "discriminator_channels", "discriminator_kernel_size",
                    "discriminator_dilation_factor")
        for key in positive:
            if getattr(self, key) < 1:
                raise ConfigError(f"{where}.{key}: must be >= 1, got {getattr(self, key)}")
        if self.layers % self.stacks:
            raise ConfigError(f"{where}.layers: must be a multiple of stacks ({self.stacks}), got {self.layers}")
        if self.gate_channels % 2:
            raise ConfigError(f"{where}.gate_channels: must be even (tanh and sigmoid halves), got {self.gate_channels}")
        for key in ("kernel_size", "discriminator_kernel_size"):
            if getattr(self, key) % 2 == 0:
                raise ConfigError(f"{where}.{key}: must be odd (non-causal convs stay centred), got {getattr(self, key)}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"{where}.dropout: must be in [0, 1), got {self.dropout}")
        for key in ("lambda_adv", "discriminator_start", "discriminator_negative_slope"):
            if getattr(self, key) < 0:
                raise ConfigError(f"{where}.{key}: must be >= 0, got {getattr(self, key)}")


@register_model("parallel_wavenet")
class ParallelWaveNet(VocoderModel):
    """Batches: {"feats": [B, dim, frames + 2 * context_frames], "audio": [B, frames * hop_length]}."""

    Params = ParallelWaveNetParams

    def __init__(self, dim: int, params: ParallelWaveNetParams | None = None) -> None:
        super().__init__()
        self.params = p = params or ParallelWaveNetParams()
        p.check()
        self.upsampler = build_network("upsample", ConvUpsampler, dim, p.upsample.scales, p.upsample.context_frames)
        self.generator = WaveNetGenerator(dim, p.layers, p.stacks, p.residual_channels, p.gate_channels,
                                          p.skip_channels, p.kernel_size, p.dropout)
        self.discriminator = WaveDiscriminator(p.discriminator_layers, p.discriminator_channels,
                                               p.discriminator_kernel_size, p.discriminator_dilation_factor,
                                               p.discriminator_negative_slope)
        for network in (self.upsampler, self.generator, self.discriminator):
            apply_weight_norm(network)
        self.stft_loss = build_network("stft", MultiResolutionSTFTLoss, **p.stft)
        self.gan = build_network("gan_loss", GANLoss, p.gan_loss)

    @property
    def receptive_field(self) -> int:
        return receptive_field(self.params.kernel_size, cycle_dilations(self.params.layers, self.params.stacks))

    def optimizer_groups(self) -> dict[str, list[nn.Module]]:
        return {"generator": [self.upsampler, self.generator], "discriminator": [self.discriminator]}

    def upsample(self, feats: torch.Tensor) -> torch.Tensor:
        """Features with context frames [B, dim, frames + 2 * context] -> [B, dim, frames * hop], in
        float32 even under autocast: the upsampler is linear and cheap, while oneDNN's bf16
        depthwise transposed convs take several times longer than fp32 ones."""
        with torch.autocast(feats.device.type, enabled=False):
            return self.upsampler(feats.float())

    def forward(self, feats: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Features with context frames [B, dim, frames + 2 * context] -> waveforms [B, frames * hop]
        through the generator's differentiable ``forward`` (the training path)."""
        c = self.upsample(feats)
        noise = torch.randn(c.shape[0], 1, c.shape[-1], generator=generator, device=c.device)
        return self.generator(noise, c)[:, 0]

    def train_step(self, batch: dict[str, torch.Tensor], ctx: StepContext) -> dict[str, float]:
        feats, audio = batch["feats"], batch["audio"]
        p = self.params
        adversarial = ctx.step >= p.discriminator_start
        with ctx.autocast(), ctx.only("generator"):
            fake = self(feats)
            if fake.shape != audio.shape:
                raise DataError(f"feats give {fake.shape[-1]} samples but audio has {audio.shape[-1]} "
                                 f"(expected frames * {self.hop_length} with {self.context_frames} context frames)")
            sc, mag = self.stft_loss(fake, audio)
            loss_g = sc + mag
            if adversarial:
                adv = self.gan.generator(self.discriminator(fake[:, None]))
                loss_g = loss_g + p.lambda_adv * adv
        ctx.update("generator", loss_g)
        logs = {"g/total": loss_g.item(), "stft/sc": sc.item(), "stft/mag": mag.item()}
        if adversarial:
            # D judges the fake made above, detached: no second generator pass.
            with ctx.autocast():
                real_logits = self.discriminator(audio[:, None])
                fake_logits = self.discriminator(fake.detach()[:, None])
                loss_d = self.gan.discriminator(real_logits, fake_logits)
            ctx.update("discriminator", loss_d)
            logs.update({"g/adv": adv.item(), "d/total": loss_d.item(),
                         "d/real": real_logits.float().mean().item(), "d/fake": fake_logits.float().mean().item()})
        return logs

    @torch.no_grad()
    def validation_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        # A fixed noise seed: comparable numbers across evaluations, and no draw from the training stream.
        c = self.upsample(batch["feats"])
        rng = torch.Generator(device=c.device).manual_seed(0)
        noise = torch.randn(c.shape[0], 1, c.shape[-1], generator=rng, device=c.device)
        sc, mag = self.stft_loss(self.generator.generate(noise, c)[:, 0], batch["audio"])
        return {"stft/sc": sc.item(), "stft/mag": mag.item(), "stft/total": (sc + mag).item()}

    @torch.inference_mode()
    def inference(self, feats: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Normalised features [B, dim, frames] -> waveforms [B, frames * hop_length]; the noise
        comes from ``generator`` when given (then the output is deterministic)."""
        c = self.upsample(self.upsampler.pad(feats))
        noise = torch.randn(c.shape[0], 1, c.shape[-1], generator=generator, device=c.device)
        return self.generator.generate(noise, c)[:, 0]
