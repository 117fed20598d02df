"""Streaming conversion (vc.stream): latency and compute per block, per block size.

One torch thread, the quick streaming CycleGAN-VC (a trained experiment when --model names
one, otherwise conf/cyclegan_stream_quick.yaml with random weights: compute does not
depend on the weights), 16 kHz, n_fft 1024, hop 256. For each block size it prints the
algorithmic latency (the stream's fixed delay plus the block; compute excluded), the
compute per block as a share of the block's duration (median and 99th percentile, over
every block of --seconds of speech, --repeats times), and how far the frames the stream
vocodes are from the offline conversion's (float rounding; the waveforms differ in phase
only, docs/stream.md).

Baseline, side by side: the usual way to run an offline-style model live (the RVC voice
changer's): on every block, run the network again over a window of past frames wide
enough for its receptive field, and keep the new frames. Same model, features and
vocoder; only the model stage differs (per-layer carried context vs recomputed window).
Targets (issue 20): latency <= 100 ms; compute <= 50% of the block at the median and
<= 80% at p99.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np
import torch

from common import CONF, model_params, parser, speech, table
from vc.audio.config import FeatureConfig
from vc.audio.features import FeatureComputer
from vc.audio.stats import FeatureStats, StatsStore
from vc.config import load_yaml
from vc.convert import Converter
from vc.models.registry import build_model
from vc.stream.converter import StreamingConverter

LATENCY_MS, MEDIAN_SHARE, P99_SHARE = 100.0, 0.50, 0.80
DEFAULT_EXP = CONF.parent / "exp" / "cyclegan_stream_flite_awb_fest_slt"


def converter(exp: Path | None, wav: np.ndarray) -> tuple[Converter, str, str]:
    if exp is not None and (exp / "checkpoints").is_dir():
        conv = Converter.load(exp, device="cpu", chunk_frames=None)
        return conv, conv.speakers[0], conv.speakers[1]
    cfg = FeatureConfig()
    config = load_yaml(CONF / "cyclegan_stream_quick.yaml")
    model = build_model("cyclegan_vc", cfg.dim, model_params(config))
    feats = FeatureComputer(cfg)(wav)
    stats = StatsStore(cfg, {name: FeatureStats.of(feats) for name in ("global", "spk/a", "spk/b")})
    return Converter(model, cfg, ["a", "b"], stats, device="cpu", chunk_frames=None), "a", "b"


class WindowedStream:
    """The baseline's model stage: each push reruns the causal generator offline over the
    last ``window`` input frames and keeps the outputs of the new ones."""

    def __init__(self, generator: torch.nn.Module, window: int) -> None:
        self.generator, self.window, self.lookahead = generator, window, generator.lookahead
        self._history: torch.Tensor | None = None
        self._to_drop = self.lookahead

    @torch.inference_mode()
    def push(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] == 0:
            return x
        h = self.generator.prepare(x)
        history = h if self._history is None else torch.cat([self._history, h], dim=-1)
        self._history = history[..., -self.window:]
        return self._emit(self.generator.body(self._history)[..., -h.shape[-1]:])

    @torch.inference_mode()
    def flush(self) -> torch.Tensor:
        padded = torch.nn.functional.pad(self._history, (0, self.lookahead))
        return self._emit(self.generator.body(padded)[..., padded.shape[-1] - self.lookahead:])

    def _emit(self, y: torch.Tensor) -> torch.Tensor:
        drop = min(self._to_drop, y.shape[-1])
        self._to_drop -= drop
        return y[..., drop:]


def receptive_field(network: torch.nn.Module) -> int:
    """Input frames an output frame depends on through its convs: the sum of every causal conv's
    context, plus 1 (a cumulative norm's statistics reach back to the stream's start besides)."""
    from vc.nn.streaming import CausalConv

    return 1 + sum(layer.context for layer in network.modules() if isinstance(layer, CausalConv))


def block_times(stream: StreamingConverter, wav: np.ndarray, block: int) -> list[float]:
    times = []
    for start in range(0, len(wav), block):
        t = time.perf_counter()
        stream.push(wav[start:start + block])
        times.append(time.perf_counter() - t)
    stream.flush()
    return times


def main() -> None:
    p = parser(__doc__)
    p.set_defaults(threads=1, repeats=3, warmup=1)
    p.add_argument("--model", type=Path, default=DEFAULT_EXP, help=f"a causal experiment [{DEFAULT_EXP}]")
    p.add_argument("--seconds", type=float, default=8.0, help="audio per run [8]")
    p.add_argument("--blocks-ms", default="16,20,25,32", help="block sizes in ms [16,20,25,32]")
    p.add_argument("--vocoder", default="rtisi_la", help="streaming vocoder [rtisi_la]")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    wav = speech(args.seconds)
    conv, src, tgt = converter(args.model, wav)
    generator = conv.model.g_xy  # src -> tgt is the first speaker to the second
    window = receptive_field(generator)
    print(f"torch {torch.__version__}, {args.threads} thread(s); model: "
          f"{args.model if (args.model / 'checkpoints').is_dir() else 'cyclegan_stream_quick.yaml, random weights'}; "
          f"{args.seconds:g} s of speech, {args.repeats} runs after {args.warmup} warm-up(s); receptive field "
          f"{window} frames")
    offline = conv.convert_features(FeatureComputer(conv.feature_config)(wav), src, tgt)
    rows = []
    for block_ms in (float(b) for b in args.blocks_ms.split(",")):
        block = round(block_ms * conv.sample_rate / 1000)
        shares: dict[str, list[float]] = {"ours": [], "baseline": []}
        for run in range(args.warmup + args.repeats):
            for side in shares:
                stream = StreamingConverter(conv, src, tgt, args.vocoder, block=block)
                if side == "baseline":
                    stream.frames = WindowedStream(generator, window)
                times = block_times(stream, wav, block)
                if run >= args.warmup:
                    shares[side] += [t * conv.sample_rate / block for t in times]
        frames_stream = StreamingConverter(conv, src, tgt, args.vocoder, block=block)
        frames = [frames_stream.convert_frames(wav[i:i + block]) for i in range(0, len(wav), block)]
        gap = float(np.abs(np.concatenate(frames + [frames_stream.flush_frames()]) - offline).max())
        ours, base = shares["ours"], shares["baseline"]
        p99 = float(np.percentile(ours, 99))
        rows.append([f"{block_ms:g} ms", f"{stream.latency_ms:.1f} ms",
                     f"{100 * statistics.median(ours):.0f}%", f"{100 * p99:.0f}%",
                     f"{100 * statistics.median(base):.0f}%", f"{100 * float(np.percentile(base, 99)):.0f}%",
                     f"{statistics.median(base) / statistics.median(ours):.1f}x", f"{gap:.1e}",
                     "yes" if stream.latency_ms <= LATENCY_MS and statistics.median(ours) <= MEDIAN_SHARE
                     and p99 <= P99_SHARE else "no"])
    print(table(["block", "latency", "median", "p99", "baseline median", "baseline p99", "speed-up",
                 "max |frames - offline|", "targets met"], rows))
    print(f"targets: latency <= {LATENCY_MS:g} ms, compute per block <= {100 * MEDIAN_SHARE:.0f}% (median) and "
          f"<= {100 * P99_SHARE:.0f}% (p99) of the block")


if __name__ == "__main__":
    main()
