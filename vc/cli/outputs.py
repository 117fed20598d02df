"""Output handling shared by the verbs that write wavs (vocode, convert): a .wav or a
directory with wav.scp, and no partial output set left behind on error."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Callable, Iterable, Iterator

from vc.errors import ConfigError
from vc.utils import atomic_write_text, exclusive_output


def check_out(out: Path, single: bool, count: int, verb: str) -> None:
    """``out`` fits ``count`` utterances: a .wav path takes exactly one, else a directory."""
    if count == 0:
        raise ConfigError(f"nothing to {verb}: the input has no utterances")
    if single and count != 1:
        raise ConfigError(f"--out {out}: a .wav path takes exactly one utterance, the input has {count}; "
                          "give a directory")
    if single and out.is_dir():
        raise ConfigError(f"--out {out}: is a directory")
    if not single and out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a directory")


def writing_into(out: Path, single: bool, verb: str) -> contextlib.AbstractContextManager:
    """An output directory is ours alone while we write it (a second run refuses: never a
    wav.scp mixing two runs); a single .wav needs no lock, its atomic write is all or nothing."""
    return contextlib.nullcontext() if single else exclusive_output(out, verb)


@contextlib.contextmanager
def removed_on_error(written: Callable[[], Iterable[Path]], new_dir: Path | None) -> Iterator[None]:
    """On failure, remove the files ``written()`` lists then (and ``new_dir`` if this run made it)."""
    try:
        yield
    except BaseException:
        for path in written():
            path.unlink(missing_ok=True)
        if new_dir is not None:
            with contextlib.suppress(OSError):  # not there yet, or holding files of others
                new_dir.rmdir()
        raise


def write_wav_scp(out: Path, wavs: dict[str, Path]) -> None:
    """``out/wav.scp``: utt and absolute path, sorted by utt, written atomically."""
    atomic_write_text(out / "wav.scp", "".join(f"{utt} {wavs[utt].resolve()}\n" for utt in sorted(wavs)))
