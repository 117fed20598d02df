"""The report's PNGs: log-mel spectrograms of one sentence on a common colour scale, and
training curves. Figures are drawn on Agg canvases without pyplot, so no global figure
state is kept (nothing to close, nothing leaks between calls, no display needed)."""

from __future__ import annotations

import io
import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from vc.report.curves import Series, TrainLog

N_FFT, HOP, WIN, N_MELS = 512, 160, 400, 80  # 25 ms windows, 10 ms hop at 16 kHz
DYNAMIC_RANGE_DB = 80.0  # colours span this far below the loudest bin of the sentence
DPI = 80
SPEC_SIZE = (4.0, 1.6)  # inches: 320 x 128 px, small enough to show a row of them
CMAP = "magma"


def log_mel_db(wav: np.ndarray, sample_rate: int) -> np.ndarray:
    """[N_MELS, frames] power in dB."""
    import librosa

    from vc.audio.features import mel_basis

    spec = np.abs(librosa.stft(wav.astype(np.float32), n_fft=N_FFT, hop_length=HOP, win_length=WIN)) ** 2
    mel = mel_basis(sample_rate, N_FFT, N_MELS, 0.0, sample_rate / 2) @ spec
    return 10.0 * np.log10(np.maximum(mel, 1e-10))


def spectrogram_pngs(wavs: list[np.ndarray], sample_rate: int) -> list[bytes]:
    """One PNG per wav, sharing the colour scale and the time axis so they compare at a glance."""
    specs = [log_mel_db(w, sample_rate) for w in wavs]
    vmax = max(float(s.max()) for s in specs)
    vmin = vmax - DYNAMIC_RANGE_DB
    longest = max(len(w) for w in wavs) / sample_rate
    return [_spectrogram_png(s, len(w) / sample_rate, longest, vmin, vmax, sample_rate)
            for s, w in zip(specs, wavs)]


def _spectrogram_png(spec: np.ndarray, seconds: float, xmax: float, vmin: float, vmax: float,
                     sample_rate: int) -> bytes:
    import librosa

    fig = Figure(figsize=SPEC_SIZE, dpi=DPI)
    ax = fig.add_axes((0.1, 0.25, 0.88, 0.7))
    ax.imshow(spec, origin="lower", aspect="auto", cmap=CMAP, vmin=vmin, vmax=vmax,
              extent=(0.0, seconds, 0.0, spec.shape[0]), interpolation="nearest")
    ax.set_xlim(0.0, xmax)
    ax.set_facecolor("#f4f4f4")  # beyond the end of a shorter utterance
    # Mark kHz on the mel axis (librosa's Slaney mel, as the filters were built).
    top = librosa.hz_to_mel(sample_rate / 2)
    khz = [k for k in (0.5, 1, 2, 4, 8) if k * 1000 <= sample_rate / 2]
    ax.set_yticks([librosa.hz_to_mel(k * 1000) / top * spec.shape[0] for k in khz])
    ax.set_yticklabels([f"{k:g}" for k in khz])
    ax.tick_params(labelsize=7, length=2, pad=1)
    ax.set_ylabel("kHz", fontsize=7, labelpad=1)
    ax.set_xlabel("time (s)", fontsize=7, labelpad=1)
    return _png(fig)


def curves_png(log: TrainLog) -> bytes:
    """Each loss group (g/*, d/*, ae/*...) in its own panel, validation metrics in the last;
    dotted lines mark where a run was resumed."""
    panels: list[tuple[str, dict[str, Series]]] = [(f"{prefix}/*" if any("/" in k for k in keys) else prefix, keys)
                                                  for prefix, keys in log.groups().items()]
    if log.valid:
        panels.append(("validation", log.valid))
    cols = min(4, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig = Figure(figsize=(3.6 * cols, 2.5 * rows), dpi=DPI, layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, (name, series) in zip(axes.flat, panels):
        for key, points in series.items():
            steps, values = zip(*points)
            short = key.split("/", 1)[1] if "/" in key else key
            ax.plot(steps, values, marker="o" if len(points) < 12 else None, markersize=3, linewidth=1.2,
                    label=short)
        for start in log.starts[1:]:
            ax.axvline(start, color="0.6", linestyle=":", linewidth=1)  # where a run was resumed
        values = [v for points in series.values() for _, v in points if math.isfinite(v)]
        # Totals dwarf their terms; a log axis keeps the terms readable when they span decades.
        if values and min(values) > 0 and max(values) / min(values) > 30:
            ax.set_yscale("log")
        ax.set_title(name, fontsize=8)
        ax.set_xlabel("step", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, frameon=False)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    return _png(fig)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer)
    return buffer.getvalue()
