"""Feature dumps: extraction with parallel jobs, the dump reader, stats, and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vc.audio import FeatureConfig
from vc.audio.features import FeatureComputer
from vc.audio.io import load_wav
from vc.audio.stats import FeatureStats, StatsStore
from vc.cli import main
from vc.data.datadir import DataDir
from vc.data.dump import FeatureDump, extract_dump
from vc.data.stats import compute_stats
from vc.errors import ConfigError, DataError


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    path = tmp_path / "feats.yaml"
    path.write_text("feats:\n  kind: logmel\n  n_mels: 40\n")
    return path


def test_extract_nj2_equals_nj1_and_reference(speech_dir: Path, tmp_path: Path) -> None:
    cfg = FeatureConfig(n_mels=40)
    data = DataDir.read(speech_dir)
    s1 = extract_dump(data, cfg, tmp_path / "d1", nj=1, progress=False)
    s2 = extract_dump(data, cfg, tmp_path / "d2", nj=2, progress=False)
    assert s1.utts == s2.utts == 4 and s1.frames == s2.frames
    d1, d2 = FeatureDump.open(tmp_path / "d1"), FeatureDump.open(tmp_path / "d2" / "feats.scp")
    assert d1.utts == d2.utts == sorted(data.utts)
    assert sorted(p.name for p in (tmp_path / "d2").glob("feats.*.ark")) == ["feats.1.ark", "feats.2.ark"]
    assert not list((tmp_path / "d2").glob(".extract-*")), "temporary job dir left behind"
    compute = FeatureComputer(cfg)
    for utt in data.utts:
        np.testing.assert_array_equal(d1[utt], d2[utt])
        wav, _ = load_wav(data.wav_scp[utt], 16000)  # spkB_002 is stored at 22.05 kHz
        np.testing.assert_allclose(d1[utt], compute(wav), atol=1e-5)
    assert d1.config == cfg and d1.speaker("spkB_001") == "spkB"
    frames = dict(line.split() for line in (tmp_path / "d1" / "utt2num_frames").read_text().splitlines())
    assert {u: int(n) for u, n in frames.items()} == {u: len(d1[u]) for u in data.utts}


def test_stats_merged_across_jobs_equal_stats_over_everything(speech_dir: Path, tmp_path: Path) -> None:
    extract_dump(DataDir.read(speech_dir), FeatureConfig(n_mels=40), tmp_path / "d", nj=2, progress=False)
    dump = FeatureDump.open(tmp_path / "d")
    one, two = compute_stats(dump, nj=1), compute_stats(dump, nj=2)
    everything = np.concatenate([dump[u] for u in dump.utts]).astype(np.float64)
    for st in (one.global_, two.global_):
        assert st.count == len(everything)
        np.testing.assert_allclose(st.mean, everything.mean(0), rtol=1e-9)
        np.testing.assert_allclose(st.std, everything.std(0), rtol=1e-7)
    spk_a = np.concatenate([dump["spkA_001"], dump["spkA_002"]]).astype(np.float64)
    np.testing.assert_allclose(two.speaker("spkA").mean, spk_a.mean(0), rtol=1e-9)


def test_world_dump_has_log_f0_stats(speech_dir: Path, tmp_path: Path) -> None:
    cfg = FeatureConfig(kind="world", world=FeatureConfig().world.__class__(f0_method="dio"))
    data = DataDir.read(speech_dir).subset(speakers=["spkA"])
    extract_dump(data, cfg, tmp_path / "w", progress=False)
    stats = compute_stats(FeatureDump.open(tmp_path / "w"))
    lf0 = stats.log_f0("spkA")
    assert np.log(70) < lf0.mean < np.log(200) and 0 < lf0.std < 0.5  # a male voice


def test_cli_extract_and_stats(speech_dir: Path, tmp_path: Path, conf: Path, capsys) -> None:
    out = tmp_path / "dump"
    assert main(["extract", "--data", str(speech_dir), "--conf", str(conf), "--out", str(out),
                 "--nj", "2", "--no-progress"]) == 0
    assert "logmel [frames, 40] for 4 utterances" in capsys.readouterr().out
    assert main(["stats", "--dump", str(out)]) == 0
    assert "from 4 utterances, 2 speakers" in capsys.readouterr().out
    stats = StatsStore.load(out / "stats.npz")
    assert stats.speakers == ["spkA", "spkB"] and isinstance(stats.global_, FeatureStats)


def test_utterance_without_speaker_is_skipped_and_counted(speech_dir: Path, tmp_path: Path, conf: Path,
                                                          capsys) -> None:
    import shutil

    data = tmp_path / "unlisted"
    shutil.copytree(speech_dir, data)
    lines = (data / "utt2spk").read_text().splitlines()
    (data / "utt2spk").write_text("\n".join(lines[1:]) + "\n")
    assert main(["extract", "--data", str(data), "--conf", str(conf), "--out", str(tmp_path / "dump"),
                 "--no-progress"]) == 0
    captured = capsys.readouterr()
    first = lines[0].split()[0]
    assert f"1 utterance of wav.scp has no line in utt2spk and is skipped (first: {first!r})" in captured.err
    assert "for 3 utterances" in captured.out


def test_bad_utterance_fails_whole_extraction_and_writes_nothing(speech_dir: Path, tmp_path: Path, conf: Path,
                                                                capsys) -> None:
    bad = tmp_path / "wav" / "spkB_001.wav"
    sf.write(bad, np.zeros(16000, dtype=np.float32), 16000)
    out = tmp_path / "dump"
    assert main(["extract", "--data", str(speech_dir), "--conf", str(conf), "--out", str(out),
                 "--nj", "2", "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("vc extract: error: ") and "spkB_001" in err and "is silent (all samples are zero)" in err
    assert len(err.splitlines()) == 1
    assert not out.exists(), "a directory this run created was left behind"
    # An existing dump keeps its contents when a rerun fails.
    out.mkdir()
    (out / "keep").write_text("old")
    assert main(["extract", "--data", str(speech_dir), "--conf", str(conf), "--out", str(out), "--no-progress"]) == 1
    assert [p.name for p in out.iterdir()] == ["keep"]


def test_too_short_utterance_names_one_frame(speech_dir: Path, tmp_path: Path) -> None:
    sf.write(tmp_path / "wav" / "spkA_001.wav", np.random.randn(300).astype(np.float32) * 0.1, 16000)
    with pytest.raises(Exception, match=r"spkA_001.*too short \(300 samples; at least 1024"):
        extract_dump(DataDir.read(speech_dir), FeatureConfig(), tmp_path / "d", progress=False)


def test_dump_errors(tmp_path: Path, speech_dir: Path) -> None:
    with pytest.raises(DataError, match="not a feature dump .*run 'vc extract' first"):
        FeatureDump.open(tmp_path)
    extract_dump(DataDir.read(speech_dir), FeatureConfig(n_mels=40), tmp_path / "d", progress=False)
    dump = FeatureDump.open(tmp_path / "d")
    with pytest.raises(DataError, match=r"no utterance 'nobody'"):
        dump["nobody"]
    (tmp_path / "d" / "feats.yaml").write_text("n_mels: 80\nkind: logmel\n")  # config no longer matches
    with pytest.raises(DataError, match=r"has shape \[63, 40\], the dump's config says \[frames, 80\]"):
        FeatureDump.open(tmp_path / "d")["spkA_001"]
    (tmp_path / "d" / "feats.yaml").write_text("n_mel: 80\n")
    with pytest.raises(ConfigError, match=r"feats\.yaml: n_mel: unknown key"):
        FeatureDump.open(tmp_path / "d")


def test_missing_conf_is_one_line(speech_dir: Path, tmp_path: Path, capsys) -> None:
    assert main(["extract", "--data", str(speech_dir), "--conf", str(tmp_path / "none.yaml"),
                 "--out", str(tmp_path / "o")]) == 1
    assert "none.yaml: cannot read config: No such file or directory" in capsys.readouterr().err


def test_a_second_writer_into_the_same_dump_refuses(speech_dir: Path, tmp_path: Path, conf: Path, capsys) -> None:
    """While one run writes a dump, another into the same directory stops with one line and
    touches nothing; once the first is done, the directory is free again."""
    from vc.utils import exclusive_output

    out = tmp_path / "dump"
    with exclusive_output(out, "vc extract"):  # the first run, mid-write
        assert main(["extract", "--data", str(speech_dir), "--conf", str(conf), "--out", str(out),
                     "--no-progress"]) == 1
        err = capsys.readouterr().err.strip()
        assert err == (f"vc extract: error: {out}: another run is writing into it now; wait for it to end, or give "
                       "vc extract another output")
        assert list(out.iterdir()) == []
    assert main(["extract", "--data", str(speech_dir), "--conf", str(conf), "--out", str(out), "--no-progress"]) == 0


@pytest.mark.parametrize("nj", ["1", "2"])
def test_a_write_the_kernel_refuses_is_one_line_and_leaves_nothing(speech_dir: Path, tmp_path: Path, conf: Path,
                                                                   nj: str) -> None:
    """RLIMIT_FSIZE makes the arks' writes fail for real (EFBIG, as ENOSPC on a full disk)."""
    import os
    import resource
    import signal
    import subprocess
    import sys

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    out = tmp_path / "dump"
    done = subprocess.run([sys.executable, "-m", "vc", "extract", "--data", str(speech_dir), "--conf", str(conf),
                           "--out", str(out), "--nj", nj, "--no-progress"], capture_output=True, text=True,
                          preexec_fn=small_files, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 1
    assert done.stderr.strip() == f"vc extract: error: {out}: cannot write the feature dump (File too large)"
    assert not out.exists()
