"""Spectral features against librosa, batching, devices, and the feature config contract."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from vc.audio import FeatureConfig
from vc.audio.features import FeatureComputer, LogMelSpectrogram, config_mel_basis
from vc.config import from_dict
from vc.errors import ConfigError

# float32 torch vs float32 librosa on the same frames. Log-mel: observed max |diff| ~5e-7.
# Log-linear: single bins near the floor (3e-5) differ by ~2% in float32 FFT rounding, so
# magnitudes are compared against the peak and logs only above -60 dB of it.
LOG_TOLERANCE = 1e-3
MAGNITUDE_TOLERANCE = 1e-5  # of the peak magnitude


def _librosa_logmel(y: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    mel = librosa.feature.melspectrogram(
        y=y, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_size,
        center=True, pad_mode="constant", power=1.0, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.mel_fmax,
    )
    return np.log(np.maximum(mel, cfg.log_floor)).T


@pytest.mark.parametrize("params", [{}, {"n_fft": 512, "hop_length": 128, "n_mels": 40, "fmax": None},
                                    {"sample_rate": 22050, "win_length": 800, "hop_length": 200}])
def test_logmel_matches_librosa(speech: np.ndarray, params: dict) -> None:
    cfg = FeatureConfig(**params)
    ours = FeatureComputer(cfg)(speech)
    ref = _librosa_logmel(speech, cfg)
    assert ours.shape == ref.shape == (cfg.num_frames(len(speech)), cfg.n_mels)
    assert np.abs(ours - ref).max() < LOG_TOLERANCE


def test_log_linear_matches_librosa(speech: np.ndarray) -> None:
    cfg = FeatureConfig(kind="linear")
    ours = FeatureComputer(cfg)(speech)
    mag = np.abs(librosa.stft(speech, n_fft=1024, hop_length=256)).T
    assert ours.shape == mag.shape == (cfg.num_frames(len(speech)), 513)
    assert np.abs(np.exp(ours) - np.maximum(mag, cfg.log_floor)).max() < MAGNITUDE_TOLERANCE * mag.max()
    audible = mag > 1e-3 * mag.max()
    assert np.abs(ours - np.log(mag))[audible].max() < LOG_TOLERANCE


def test_mel_basis_is_librosa_and_built_once() -> None:
    cfg = FeatureConfig()
    basis = config_mel_basis(cfg)
    np.testing.assert_array_equal(basis, librosa.filters.mel(sr=16000, n_fft=1024, n_mels=80, fmin=80, fmax=7600))
    assert config_mel_basis(cfg) is basis


def test_batched_equals_one_by_one(speech: np.ndarray) -> None:
    module = LogMelSpectrogram(FeatureConfig())
    x = torch.from_numpy(np.stack([speech[:16000], speech[16000:32000]]))
    batch = module(x)
    assert batch.shape == (2, 80, 63)
    for i in range(2):
        torch.testing.assert_close(batch[i], module(x[i : i + 1])[0], rtol=0, atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu(speech: np.ndarray) -> None:
    cpu = FeatureComputer(FeatureConfig())(speech)
    gpu = FeatureComputer(FeatureConfig(), device="cuda")(speech)
    assert np.abs(cpu - gpu).max() < LOG_TOLERANCE


@pytest.mark.parametrize(
    "data, message",
    [
        ({"hop_length": 2000}, r"hop_length: must lie in \(0, win_length=1024\], got 2000"),
        ({"fmax": 9000}, r"fmax: must not exceed Nyquist \(8000.0\), got 9000"),
        ({"kind": "mfcc"}, r"kind: 'mfcc' is not one of 'logmel', 'linear', 'world'"),
        ({"n_mel": 80}, r"n_mel: unknown key \(expected one of: .*n_mels"),
        ({"n_fft": "1024"}, r"n_fft: expected int, got '1024'"),
        ({"world": {"f0_floor": 900}}, r"world.f0_floor/f0_ceil: need 0 < floor < ceil"),
        ({"world": {"mcep_ordr": 3}}, r"world.mcep_ordr: unknown key"),
    ],
)
def test_config_errors_name_the_key(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_dict(FeatureConfig, data)


def test_config_diff_names_fields(tmp_path) -> None:
    a, b = FeatureConfig(), FeatureConfig(hop_length=200, world=FeatureConfig().world.__class__(mcep_order=30))
    assert a.diff(a) == []
    assert a.diff(b) == ["hop_length: 256 != 200", "world.mcep_order: 24 != 30"]
    with pytest.raises(ConfigError, match=r"vocoder: feature config mismatch \(hop_length: 256 != 200"):
        a.require_same(b, "vocoder")


def test_config_load_accepts_feats_section(tmp_path) -> None:
    (tmp_path / "a.yaml").write_text("feats:\n  n_mels: 40\n")
    (tmp_path / "b.yaml").write_text("n_mels: 40\nhop: 3\n")
    assert FeatureConfig.load(tmp_path / "a.yaml").n_mels == 40
    with pytest.raises(ConfigError, match=r"b\.yaml: hop: unknown key"):
        FeatureConfig.load(tmp_path / "b.yaml")
