"""`vc convert`: speech of one speaker -> the same speech in another's voice, with a trained model.

The target is a training speaker (``--tgt-spk``) or, for projection models with a
reference speaker encoder, any speaker given by recordings (``--ref``, repeatable: the
speaker vectors are averaged). One wav in, one wav out; or a batch (several files, a Kaldi wav.scp, or a data dir's
utterances of the source speaker) into a directory of ``<utt>.wav`` plus a sorted
``wav.scp``, optionally split over ``--nj`` processes. On any error, the wavs this run
wrote are removed again.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from vc.cli.outputs import check_out, removed_on_error, write_wav_scp, writing_into

if TYPE_CHECKING:
    import numpy as np

    from vc.convert import Converter, SpeakerReference, Target
    from vc.data.datadir import DataDir


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "convert", help="convert speech from one speaker to another with a trained model",
        description="Convert wav files, a Kaldi wav.scp (--scp) or a data dir's utterances of --src-spk (--data) "
                    "with the model of an experiment directory.",
    )
    p.add_argument("inputs", nargs="*", metavar="INPUT.wav", help="audio files to convert")
    p.add_argument("--model", required=True, metavar="EXP", help="experiment directory (config.yaml, checkpoints/)")
    p.add_argument("--src-spk", help="speaker of the input speech (needed by models conditioned on it or "
                                     "normalising per speaker, and to pick --data's utterances)")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--tgt-spk", help="training speaker to convert to")
    target.add_argument("--ref", action="append", metavar="REF.wav",
                        help="recording of the target speaker, who may be unseen in training (one-shot); "
                             "repeat for several, their speaker vectors are averaged")
    p.add_argument("--scp", metavar="WAV.scp", help="Kaldi wav.scp (utt path) of the utterances to convert")
    p.add_argument("--data", metavar="DATA_DIR", help="Kaldi data dir: its utterances of --src-spk are converted")
    p.add_argument("--out", required=True,
                   help="a .wav file for one input; otherwise a directory for <utt>.wav and wav.scp "
                        "(recipes: exp/<name>/convert/<set>)")
    p.add_argument("--vocoder", default="gl", metavar="gl|world|EXP",
                   help="gl (log-mel/linear features), world (WORLD features), or the experiment directory of a "
                        "vocoder trained with 'vc train' on the same feature config [gl]")
    p.add_argument("--iters", type=int, default=32, help="Griffin-Lim iterations [32]")
    p.add_argument("--seed", type=int, default=0, help="seed of Griffin-Lim's initial phase [0]")
    p.add_argument("--checkpoint", metavar="PATH", help="checkpoint to use [the latest in EXP/checkpoints]")
    p.add_argument("--no-ema", action="store_true", help="use the trained weights, not their moving average")
    p.add_argument("--chunk-frames", type=int, default=512,
                   help="convert longer inputs in overlapping chunks of this many frames; 0: whole [512]")
    p.add_argument("--stream-block-ms", type=float, metavar="MS",
                   help="convert each input as 'vc stream' does, in blocks of MS milliseconds (a causal model "
                        "and a streaming --vocoder: rtisi_la or rtpghi), the output lined up with the input")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N [auto]")
    p.add_argument("--bf16", action="store_true",
                   help="run the model under bf16 autocast (about 2.5x faster on CPUs with AMX/AVX512-BF16)")
    p.add_argument("--nj", type=int, default=1, help="parallel jobs (CPU processes, one torch thread each) [1]")
    p.add_argument("--allow-pipes", action="store_true", help="run 'cmd |' entries of the data dir's wav.scp")
    p.set_defaults(func=run)


@dataclass(frozen=True)
class _File:
    """An input read from a path (a positional file or a wav.scp line)."""

    utt: str
    path: str
    label: str

    def load(self, sample_rate: int, min_samples: int, allow_pipes: bool) -> np.ndarray:
        from vc.audio.io import load_wav

        return load_wav(self.path, sample_rate, min_samples=min_samples, name=self.label)[0]


@dataclass(frozen=True)
class _Utterance:
    """An utterance of a data dir (segments and pipes as the data dir says)."""

    utt: str
    data: DataDir

    def load(self, sample_rate: int, min_samples: int, allow_pipes: bool) -> np.ndarray:
        from vc.data.datadir import load_utterance

        return load_utterance(self.data, self.utt, sample_rate, min_samples=min_samples, allow_pipes=allow_pipes)


    @property
    def label(self) -> str:
        return self.utt


_Input = Union[_File, _Utterance]


@dataclass
class _Job:
    """What every worker needs besides its share of the inputs."""

    converter: Converter
    src: str | None
    tgt: Target
    vocoder: str
    vocoder_opts: dict[str, Any]
    seed: int
    out: Path
    single: bool
    allow_pipes: bool
    stream_block: int | None  # samples: convert through a StreamingConverter in blocks of this many

    def path(self, utt: str) -> Path:
        return self.out if self.single else self.out / f"{utt}.wav"


@dataclass(frozen=True)
class _Written:
    utt: str
    path: Path
    seconds: float


def run(args: argparse.Namespace) -> int:
    from vc.convert import Converter
    from vc.errors import ConfigError

    inputs = _inputs(args)
    out = Path(args.out)
    single = out.suffix.lower() == ".wav"
    if args.nj < 1:
        raise ConfigError(f"--nj must be >= 1, got {args.nj}")
    check_out(out, single, len(inputs), "convert")
    converter = Converter.load(args.model, args.checkpoint, device=args.device, use_ema=not args.no_ema,
                               chunk_frames=args.chunk_frames or None, bf16=args.bf16)
    _check_jobs(converter, args.nj)
    opts = {"n_iter": args.iters} if args.vocoder == "gl" else {}
    target = reference_from_files(converter, args.ref) if args.ref else args.tgt_spk
    stream_block = _stream_block(converter, args, target)
    if stream_block is None:
        converter.check(args.src_spk, target, args.vocoder, **opts)
    job = _Job(converter, args.src_spk, target, args.vocoder, opts, args.seed, out, single, args.allow_pipes,
               stream_block)
    start = time.perf_counter()
    written: list[_Written] = []
    new_dir = None if single or out.exists() else out
    with writing_into(out, single, "vc convert"), removed_on_error(lambda: (w.path for w in written), new_dir):
        _convert_all(job, inputs, args.nj, written)
        if not single:
            write_wav_scp(out, {w.utt: w.path for w in written})
    print(_summary(job, written, args.nj, time.perf_counter() - start))
    return 0


def _inputs(args: argparse.Namespace) -> list[_Input]:
    from vc.data.datadir import DataDir
    from vc.errors import ConfigError

    given = [name for name, value in (("INPUT.wav", args.inputs), ("--scp", args.scp), ("--data", args.data)) if value]
    if len(given) != 1:
        raise ConfigError(f"give exactly one of INPUT.wav ..., --scp or --data (got {', '.join(given) or 'none'})")
    if args.data:
        if not args.src_spk:
            raise ConfigError("--data converts the utterances of --src-spk: give --src-spk")
        data = DataDir.read(args.data).subset(speakers=[args.src_spk])
        return [_Utterance(utt, data) for utt in data.utts]
    if args.scp:
        return _scp_inputs(Path(args.scp))
    files: dict[str, _File] = {}
    for path in args.inputs:
        utt = Path(path).stem
        if utt in files:
            raise ConfigError(f"{path}: same utterance id {utt!r} (file stem) as {files[utt].path}")
        files[utt] = _File(utt, path, path)
    return list(files.values())


def _scp_inputs(scp: Path) -> list[_File]:
    """``utt path`` lines of a wav.scp, sorted by utt; command pipes need a data dir."""
    from vc.errors import DataError

    try:
        lines = scp.read_text().splitlines()
    except OSError as e:
        raise DataError(f"{scp}: cannot read ({e.strerror})") from None
    files: dict[str, _File] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.split(maxsplit=1)
        where = f"{scp}:{number}"
        if len(fields) != 2:
            raise DataError(f"{where}: malformed line: expected '<utt> <path>'")
        utt, path = fields[0], fields[1].strip()
        if utt in files:
            raise DataError(f"{where}: duplicate utterance '{utt}'")
        if path.endswith("|"):
            raise DataError(f"{where}: command pipes are read from a data dir: use --data DIR --allow-pipes")
        files[utt] = _File(utt, path, f"{where} (utt {utt})")
    return [files[utt] for utt in sorted(files)]


def reference_from_files(converter: Converter, paths: list[str]) -> SpeakerReference:
    """The one-shot target of ``--ref`` recordings (each checked like an input); `vc stream` too."""
    from vc.audio.io import load_wav

    cfg = converter.feature_config
    recordings = [(*load_wav(path, cfg.sample_rate, min_samples=cfg.win_size, name=f"--ref {path}"), f"--ref {path}")
                  for path in paths]
    return converter.reference(recordings)


def _stream_block(converter: Converter, args: argparse.Namespace, target: Target) -> int | None:
    """--stream-block-ms in samples, checked by building the stream once; None without it."""
    if args.stream_block_ms is None:
        return None
    from vc.errors import ConfigError
    from vc.stream import StreamingConverter

    if not args.stream_block_ms > 0:
        raise ConfigError(f"--stream-block-ms must be positive, got {args.stream_block_ms}")
    block = round(args.stream_block_ms * converter.sample_rate / 1000)
    StreamingConverter(converter, args.src_spk, target, args.vocoder, block=block, seed=args.seed)
    return block


def _check_jobs(converter: Converter, nj: int) -> None:
    from vc.errors import ConfigError

    # Workers are forked, and CUDA does not survive a fork; one GPU process is faster anyway.
    if nj > 1 and converter.device.type != "cpu":
        raise ConfigError(f"--nj {nj} runs CPU processes; with --device {converter.device} use --nj 1")


def _convert_all(job: _Job, inputs: list[_Input], nj: int, written: list[_Written]) -> None:
    """Convert ``inputs`` in ``nj`` contiguous shards, appending every finished shard's wavs to
    ``written``; after all shards end, re-raise the first failed shard's error."""
    import multiprocessing as mp

    nj = min(nj, len(inputs))
    if nj == 1:
        written += _convert_shard(job, inputs)
        return
    bounds = [len(inputs) * i // nj for i in range(nj + 1)]
    shards = [inputs[a:b] for a, b in zip(bounds, bounds[1:])]
    global _worker_job
    _worker_job = job  # fork: the workers inherit the loaded model instead of reloading it
    errors: list[BaseException] = []
    with mp.get_context("fork").Pool(nj, initializer=_init_worker) as pool:
        pending = [pool.apply_async(_convert_shard_in_worker, (shard,)) for shard in shards]
        for result in pending:
            result.wait()  # every shard ends (and cleans up after itself) before any error is raised
        for result in pending:
            try:
                written += result.get()
            except Exception as e:
                errors.append(e)
    if errors:
        raise errors[0]


_worker_job: _Job | None = None


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)  # one core per job: --nj is the parallelism


def _convert_shard_in_worker(inputs: list[_Input]) -> list[_Written]:
    assert _worker_job is not None
    return _convert_shard(_worker_job, inputs)


def _convert_shard(job: _Job, inputs: list[_Input]) -> list[_Written]:
    """Convert and save each input; on failure remove what this shard wrote and re-raise."""
    from vc.audio.io import save_wav

    conv = job.converter
    written: list[_Written] = []
    with removed_on_error(lambda: (w.path for w in written), None):
        for item in inputs:
            wav = item.load(conv.sample_rate, conv.feature_config.win_size, job.allow_pipes)
            if job.stream_block is None:
                out = conv.convert(wav, conv.sample_rate, job.src, job.tgt, job.vocoder, seed=job.seed,
                                   name=item.label, **job.vocoder_opts)
            else:
                from vc.stream import StreamingConverter

                stream = StreamingConverter(conv, job.src, job.tgt, job.vocoder, block=job.stream_block,
                                            seed=job.seed)
                out = stream.convert_in_blocks(wav)
            save_wav(job.path(item.utt), out, conv.sample_rate)
            written.append(_Written(item.utt, job.path(item.utt), len(out) / conv.sample_rate))
    return written


def _summary(job: _Job, written: list[_Written], nj: int, wall: float) -> str:
    conv = job.converter
    seconds = sum(w.seconds for w in written)
    weights = "EMA weights" if conv.using_ema else "weights"
    target = job.tgt if isinstance(job.tgt, str) else job.tgt.label
    return (f"Converted {len(written)} utterance{'s' if len(written) != 1 else ''} ({seconds:.1f} s of audio) "
            f"{job.src or 'input'} -> {target} with the {weights} of {conv.checkpoint} and {job.vocoder} on {conv.device} "
            f"({nj} job{'s' if nj != 1 else ''}) in {wall:.2f} s. Output: {job.out}")
