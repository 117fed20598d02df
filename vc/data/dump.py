"""Feature dumps: Kaldi ark/scp written by parallel jobs, merged, and carrying their config.

A dump directory holds:
    feats.scp          utt -> /abs/path/feats.JOB.ark:offset (readable by Kaldi, kaldiio, ESPnet)
    feats.JOB.ark      one archive per extraction job
    audio.scp          (with --save-audio) utt -> the float32 waveform the features were
    audio.JOB.ark      computed from, at the config's sample rate: what vocoders train on
    utt2num_frames     frames per utterance
    utt2spk, spk2utt   copied from the data dir
    phones             copied from the data dir when it has one (`vc phonemize`)
    feats.yaml         the FeatureConfig the features were computed with, and the vc version
    stats.npz          written later by `vc stats`
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import kaldiio
import numpy as np
import yaml

from vc import __version__
from vc.audio.config import FeatureConfig
from vc.audio.features import FeatureComputer, config_mel_basis
from vc.config import to_dict
from vc.data.datadir import DataDir, load_utterance, read_kaldi_map
from vc.data.phones import PHONES, read_phones, write_phones
from vc.errors import ConfigError, DataError, WriteError
from vc.utils import WRITE_ERRNOS, atomic_write_text, exclusive_output

FEATS_SCP = "feats.scp"
AUDIO_SCP = "audio.scp"
FEATS_CONFIG = "feats.yaml"
UTT2NUM_FRAMES = "utt2num_frames"


class FeatureDump:
    """Read access to a dump directory: its config, utterances and feature matrices."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.config = _read_config(root / FEATS_CONFIG)
        self._scp = read_kaldi_map(root / FEATS_SCP)
        self._reader = kaldiio.load_scp(str(root / FEATS_SCP))
        self.utt2spk = read_kaldi_map(root / "utt2spk") if (root / "utt2spk").exists() else {}
        self.num_frames = {u: int(n) for u, n in read_kaldi_map(root / UTT2NUM_FRAMES).items()} \
            if (root / UTT2NUM_FRAMES).exists() else {}
        self.has_audio = (root / AUDIO_SCP).is_file()
        self._audio = kaldiio.load_scp(str(root / AUDIO_SCP)) if self.has_audio else None

    @classmethod
    def open(cls, path: str | Path) -> FeatureDump:
        """Open a dump by its directory or its feats.scp."""
        path = Path(path)
        root = path.parent if path.name == FEATS_SCP else path
        if not (root / FEATS_SCP).is_file():
            raise DataError(f"{root}: not a feature dump (no {FEATS_SCP}; run 'vc extract' first)")
        return cls(root)

    @property
    def utts(self) -> list[str]:
        return list(self._scp)

    def __len__(self) -> int:
        return len(self._scp)

    def __contains__(self, utt: str) -> bool:
        return utt in self._scp

    def __getitem__(self, utt: str) -> np.ndarray:
        feats = self._read(self._reader, FEATS_SCP, utt)
        if feats.ndim != 2 or feats.shape[1] != self.config.dim:
            raise DataError(
                f"{self.root / FEATS_SCP}: {utt!r} has shape {list(feats.shape)}, "
                f"the dump's config says [frames, {self.config.dim}]"
            )
        return feats

    def audio(self, utt: str) -> np.ndarray:
        """The waveform [samples] the features of ``utt`` were computed from (dumps made with --save-audio)."""
        if self._audio is None:
            raise DataError(f"{self.root}: the dump holds no audio ({AUDIO_SCP}); "
                            "extract it again with 'vc extract --save-audio'")
        wav = self._read(self._audio, AUDIO_SCP, utt)
        if wav.ndim != 1:
            raise DataError(f"{self.root / AUDIO_SCP}: {utt!r} has shape {list(wav.shape)}, expected [samples]")
        return wav

    def _read(self, reader: Any, scp: str, utt: str) -> np.ndarray:
        """``utt``'s array from one of the dump's scp readers; a missing or damaged entry is a DataError."""
        if utt not in reader:
            raise DataError(f"{self.root / scp}: no utterance {utt!r}")
        try:
            return reader[utt]
        except Exception as e:  # kaldiio raises bare OSError/ValueError on damaged arks
            raise DataError(f"{self.root / scp}: cannot read {utt!r} ({e})") from None

    def items(self) -> Iterator[tuple[str, np.ndarray]]:
        for utt in self._scp:
            yield utt, self[utt]

    def phones(self) -> dict[str, list[str]]:
        """utt -> phones, from the dump's ``phones`` file (copied by 'vc extract' after 'vc phonemize')."""
        path = self.root / PHONES
        if not path.is_file():
            raise DataError(f"{self.root}: the dump has no phones; run 'vc phonemize --data DATA' on its data dir, "
                            "then 'vc extract' again")
        return read_phones(path)

    def speaker(self, utt: str) -> str:
        try:
            return self.utt2spk[utt]
        except KeyError:
            raise DataError(f"{self.root}/utt2spk: no speaker for utterance {utt!r}") from None


@dataclass
class ExtractSummary:
    utts: int
    frames: int
    seconds: float  # audio duration
    wall: float  # wall-clock seconds

    def __str__(self) -> str:
        rate = self.seconds / 3600 / (self.wall / 60) if self.wall > 0 else float("inf")
        return (f"{self.utts} utterances, {self.seconds / 60:.1f} min of audio, {self.frames} frames "
                f"in {self.wall:.1f} s ({rate:.2f} h of audio per minute)")


def extract_dump(
    data: DataDir,
    cfg: FeatureConfig,
    out: str | Path,
    *,
    nj: int = 1,
    allow_pipes: bool = False,
    save_audio: bool = False,
    progress: bool = True,
    phones: dict[str, list[str]] | None = None,
) -> ExtractSummary:
    """Compute features for every utterance of ``data`` into the dump directory ``out``.

    The utterances are split into ``nj`` contiguous shards computed by parallel processes,
    each writing its own ark; the scp files are merged when all succeeded. On any error
    nothing in ``out`` changes, and an ``out`` this call created is removed. ``phones``
    (utt -> phone sequence, :mod:`vc.data.phones`) is copied for every utterance, which
    must all have some.
    """
    from tqdm import tqdm

    if nj < 1:
        raise DataError(f"--nj must be >= 1, got {nj}")
    out = Path(out).resolve()
    shards = data.split(min(nj, len(data.utts))) if data.utts else []
    if not shards:
        raise DataError("the data dir has no utterances to extract")
    if phones is not None:
        missing = [utt for utt in data.utts if utt not in phones]
        if missing:
            raise DataError(f"phones: no phones for utterance {missing[0]!r} ({len(missing)} of {len(data.utts)} "
                            "missing); run 'vc phonemize' on the data dir again")
    start = time.perf_counter()
    created = not out.exists()
    # Ours alone while we write (a second extraction into it refuses, before it touches anything).
    with exclusive_output(out, "vc extract"):
        try:
            # The jobs' arks live beside the output (same filesystem) so installing is a rename.
            with tempfile.TemporaryDirectory(prefix=".extract-", dir=out) as tmp:
                jobs = [_Job(i + 1, shard, cfg, Path(tmp), allow_pipes, save_audio) for i, shard in enumerate(shards)]
                with tqdm(total=len(data.utts), desc="extract", unit="utt", disable=not progress) as bar:
                    results = _run_jobs(jobs, bar.update)
                _install(out, Path(tmp), results, data, cfg, save_audio, phones)
        except BaseException:
            if created:
                shutil.rmtree(out, ignore_errors=True)
            raise
    seconds = sum(r.seconds for r in results)
    frames = sum(sum(r.num_frames.values()) for r in results)
    return ExtractSummary(len(data.utts), frames, seconds, time.perf_counter() - start)


@dataclass
class _Job:
    index: int
    data: DataDir
    cfg: FeatureConfig
    tmp: Path
    allow_pipes: bool
    save_audio: bool


@dataclass
class _JobResult:
    index: int
    num_frames: dict[str, int]
    seconds: float


def _run_jobs(jobs: list[_Job], advance: Callable[[int], object]) -> list[_JobResult]:
    if len(jobs) == 1:
        return [_extract_job(jobs[0], lambda: advance(1))]
    if jobs[0].cfg.kind != "world":
        # Built before forking so workers inherit it instead of each importing librosa (~3 s).
        config_mel_basis(jobs[0].cfg)
    # fork, as torch's DataLoader does on Linux: workers inherit the imports. The parent has
    # run no torch ops here, so there is no thread pool state to break.
    ctx = mp.get_context("fork")
    done: mp.Queue = ctx.Queue()
    with ctx.Pool(len(jobs), initializer=_init_worker, initargs=(done,)) as pool:
        pending = [pool.apply_async(_extract_job_in_worker, (job,)) for job in jobs]
        while not all(p.ready() for p in pending):
            _drain(done, advance, timeout=0.02)
        _drain(done, advance, timeout=0)
        return [p.get() for p in pending]  # re-raises a job's error here


def _drain(done: mp.Queue, advance: Callable[[int], object], timeout: float) -> None:
    try:
        advance(done.get(timeout=timeout) if timeout else done.get_nowait())
        while True:
            advance(done.get_nowait())
    except queue.Empty:
        pass


_worker_queue: mp.Queue | None = None


def _init_worker(done: mp.Queue) -> None:
    import torch

    global _worker_queue
    _worker_queue = done
    torch.set_num_threads(1)  # one core per job: --nj is the parallelism


def _extract_job_in_worker(job: _Job) -> _JobResult:
    assert _worker_queue is not None
    return _extract_job(job, lambda: _worker_queue.put(1))


def _extract_job(job: _Job, tick: Callable[[], object]) -> _JobResult:
    try:
        return _write_job(job, tick)
    except OSError as e:  # reading the audio raises AudioError; this is the arks' writing
        if e.errno not in WRITE_ERRNOS:
            raise
        raise WriteError(f"{job.tmp.parent}: cannot write the feature dump ({e.strerror})") from None


def _write_job(job: _Job, tick: Callable[[], object]) -> _JobResult:
    compute = FeatureComputer(job.cfg)
    num_frames: dict[str, int] = {}
    seconds = 0.0
    with contextlib.ExitStack() as stack:
        writer = stack.enter_context(_ark_writer(job.tmp, "feats", job.index))
        audio_writer = stack.enter_context(_ark_writer(job.tmp, "audio", job.index)) if job.save_audio else None
        for utt in job.data.utts:
            wav = load_utterance(job.data, utt, job.cfg.sample_rate, min_samples=job.cfg.win_size,
                                 allow_pipes=job.allow_pipes)
            feats = compute(wav)
            writer(utt, feats)
            if audio_writer is not None:
                audio_writer(utt, np.asarray(wav, dtype=np.float32))
            num_frames[utt] = len(feats)
            seconds += len(wav) / job.cfg.sample_rate
            tick()
    return _JobResult(job.index, num_frames, seconds)


def _ark_writer(tmp: Path, name: str, index: int) -> kaldiio.WriteHelper:
    return kaldiio.WriteHelper(f"ark,scp:{tmp / f'{name}.{index}.ark'},{tmp / f'{name}.{index}.scp'}")


def _install(out: Path, tmp: Path, results: list[_JobResult], data: DataDir, cfg: FeatureConfig,
             save_audio: bool, phones: dict[str, list[str]] | None) -> None:
    """Move the finished arks into ``out`` and write the merged scps and metadata."""
    for name in ("feats", "audio"):
        for old in out.glob(f"{name}.*.ark"):
            old.unlink()
    (out / AUDIO_SCP).unlink(missing_ok=True)
    _install_arks(out, tmp, "feats", results)
    if save_audio:
        _install_arks(out, tmp, "audio", results)
    num_frames = {u: n for r in results for u, n in r.num_frames.items()}
    atomic_write_text(out / UTT2NUM_FRAMES, "".join(f"{u} {num_frames[u]}\n" for u in sorted(num_frames)))
    atomic_write_text(out / "utt2spk", "".join(f"{u} {s}\n" for u, s in sorted(data.utt2spk.items())))
    atomic_write_text(out / "spk2utt", "".join(f"{s} {' '.join(us)}\n" for s, us in sorted(data.spk2utt.items())))
    (out / PHONES).unlink(missing_ok=True)
    if phones is not None:
        write_phones(out / PHONES, {utt: phones[utt] for utt in data.utts})
    atomic_write_text(out / FEATS_CONFIG, yaml.safe_dump({"vc_version": __version__, **to_dict(cfg)}, sort_keys=False))


def _install_arks(out: Path, tmp: Path, name: str, results: list[_JobResult]) -> None:
    """Move the jobs' ``name``.JOB.ark files into ``out`` and write their merged ``name``.scp."""
    scp_lines: list[str] = []
    for r in sorted(results, key=lambda r: r.index):
        tmp_ark, final_ark = tmp / f"{name}.{r.index}.ark", out / f"{name}.{r.index}.ark"
        os.replace(tmp_ark, final_ark)
        for line in (tmp / f"{name}.{r.index}.scp").read_text().splitlines():
            utt, loc = line.split(maxsplit=1)
            scp_lines.append(f"{utt} {loc.replace(str(tmp_ark), str(final_ark), 1)}")
    atomic_write_text(out / f"{name}.scp", "".join(f"{line}\n" for line in sorted(scp_lines)))


def _read_config(path: Path) -> FeatureConfig:
    if not path.is_file():
        raise DataError(f"{path.parent}: feature dump has no {path.name}; it was not written by 'vc extract'")
    data = yaml.safe_load(path.read_text()) or {}
    data.pop("vc_version", None)
    try:
        return FeatureConfig.from_mapping(data)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
