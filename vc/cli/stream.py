"""`vc stream`: live conversion in blocks, from a file, a pipe or a sound card.

The model must be causal (conf/*_stream_quick.yaml; docs/stream.md). Input and output
are a file, ``-`` (raw 16-bit PCM or a wav stream on stdin; raw 16-bit PCM on stdout, to
pipe with sox, arecord or aplay) or ``soundcard[:DEVICE]`` (the ``soundcard`` extra). A
file output lines up with the input (the stream's delay is cut off the front); stdout and
the sound card get the live stream, delay included. The summary (latency and compute per
block) goes to stderr, so stdout can carry audio.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from vc.convert import SpeakerReference
    from vc.stream.converter import StreamingConverter
    from vc.stream.io import Sink

SOUNDCARD = "soundcard"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "stream", help="convert live, block by block, with a causal model",
        description="Convert a file, stdin or a sound card block by block with a causal (streaming) model, "
                    "and report the latency and the compute per block.",
    )
    p.add_argument("input", metavar="IN", help="an audio file; - for stdin (raw s16le PCM or a wav stream); "
                                               "soundcard[:DEVICE] for a sound card input")
    p.add_argument("--out", required=True, help="a .wav file (aligned with the input); - for raw s16le PCM on "
                                                "stdout; soundcard[:DEVICE] to play it")
    p.add_argument("--model", required=True, metavar="EXP", help="experiment directory of a causal model")
    p.add_argument("--src-spk", help="speaker of the input (models that normalise per speaker need it)")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--tgt-spk", help="training speaker to convert to")
    target.add_argument("--ref", action="append", metavar="REF.wav",
                        help="recording of an unseen target speaker (one-shot; repeat for several)")
    p.add_argument("--block-ms", type=float, default=20.0, help="block length in milliseconds [20]")
    p.add_argument("--vocoder", default=None, help="streaming phase reconstruction: rtisi_la or rtpghi [rtisi_la]")
    p.add_argument("--rate", type=int, help="sample rate of raw PCM on stdin [the model's]")
    p.add_argument("--channels", type=int, default=1, help="channels of raw PCM on stdin [1]")
    p.add_argument("--realtime", action="store_true", help="feed a file input at the pace of its audio")
    p.add_argument("--checkpoint", metavar="PATH", help="checkpoint to use [the latest in EXP/checkpoints]")
    p.add_argument("--no-ema", action="store_true", help="use the trained weights, not their moving average")
    p.add_argument("--threads", type=int, default=1, help="torch threads [1: small blocks gain nothing from more]")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from vc.cli.convert import reference_from_files
    from vc.convert import Converter
    from vc.errors import ConfigError
    from vc.stream.converter import StreamingConverter
    from vc.vocoders.streaming_phase import STREAM_VOCODERS

    if args.threads < 1:
        raise ConfigError(f"--threads must be >= 1, got {args.threads}")
    torch.set_num_threads(args.threads)
    converter = Converter.load(args.model, args.checkpoint, device="cpu", use_ema=not args.no_ema, chunk_frames=None)
    target: str | SpeakerReference = reference_from_files(converter, args.ref) if args.ref else args.tgt_spk
    if not args.block_ms > 0:
        raise ConfigError(f"--block-ms must be positive, got {args.block_ms}")
    block = round(args.block_ms * converter.sample_rate / 1000)
    stream = StreamingConverter(converter, args.src_spk, target, args.vocoder or STREAM_VOCODERS[0], block=block)
    blocks = _source(args, block, converter.sample_rate)  # opened before the output: bad input writes nothing
    cut = stream.delay if _is_file(args.out) else 0
    times: list[float] = []
    samples = 0
    with _sink(args.out, converter.sample_rate) as sink:
        for chunk in blocks:
            start = time.perf_counter()
            out = stream.push(chunk)
            times.append(time.perf_counter() - start)
            samples += len(chunk)
            cut = _write_after(sink, out, cut)
        _write_after(sink, stream.flush(), cut)
    print(_summary(stream, times, samples, args.out), file=sys.stderr)
    return 0


def _write_after(sink: Sink, out: np.ndarray, cut: int) -> int:
    """Write ``out`` less its first ``cut`` samples; the cut still to make afterwards."""
    sink.write(out[cut:])
    return max(0, cut - len(out))


def _is_file(spec: str) -> bool:
    return spec != "-" and spec.split(":")[0] != SOUNDCARD


def _device(spec: str) -> int | str | None:
    """The sound card named after 'soundcard:' (an index when all digits), or None for the default."""
    name = spec.partition(":")[2]
    return int(name) if name.isdigit() else (name or None)


def _source(args: argparse.Namespace, block: int, rate: int) -> Iterator[np.ndarray]:
    from vc.stream.io import file_blocks, soundcard_blocks, stdin_blocks

    if args.input == "-":
        return stdin_blocks(block, rate, args.rate, args.channels)
    if args.input.split(":")[0] == SOUNDCARD:
        return soundcard_blocks(block, rate, device=_device(args.input))
    return file_blocks(args.input, block, rate, realtime=args.realtime)


def _sink(spec: str, rate: int) -> Sink:
    from vc.stream.io import SoundcardSink, StdoutSink, WavSink

    if spec == "-":
        return StdoutSink(rate)
    if spec.split(":")[0] == SOUNDCARD:
        return SoundcardSink(rate, device=_device(spec))
    return WavSink(spec, rate)


def _summary(stream: StreamingConverter, times: list[float], samples: int, out: str) -> str:
    import numpy as np

    rate, block = stream.sample_rate, stream.block or 1
    block_s = block / rate
    median, p99 = (float(np.percentile(times, q)) if times else 0.0 for q in (50, 99))
    return (f"vc stream: {samples / rate:.2f} s of audio in {len(times)} blocks of {1000 * block_s:g} ms to {out}; "
            f"algorithmic latency {stream.latency_ms:.1f} ms (delay {1000 * stream.delay / rate:.1f} ms + "
            f"block); compute per block median {1000 * median:.2f} ms ({100 * median / block_s:.0f}% of the "
            f"block), p99 {1000 * p99:.2f} ms ({100 * p99 / block_s:.0f}%)")
