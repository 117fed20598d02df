"""The page of `vc serve` in headless Chromium, live from a fake microphone.

Chromium plays a wav file as its microphone (--use-file-for-fake-audio-capture); the page
streams it through the WebSocket and plays the converted stream; the test takes what the
page played (its Download link: the recording of every sample the player rendered) and
checks it is converted speech: nearer the target speaker than the source by the project's
speaker metric (resemblyzer, vc.evaluate.speaker), and following the input's words in time.

The model must really convert, so the module trains one: flite's awb (source) and slt
(target) voices, nine sentences each, a small causal CycleGAN-VC for 100 steps (about 20 s
on 2 cores). Most of the speaker move comes from the conversion's per-speaker statistics
(the source's mean and spread of each log-mel band swapped for the target's, the classic
baseline the model learns on top of), so few steps suffice: offline, 2 steps already scored
0.64 to slt against 0.39 to awb, 100 steps 0.74 against 0.50; through the page, about 0.73
against 0.57. The unconverted input scores 0.55 to slt and 0.90 to awb: a page that played
back its microphone, or anything but the converted stream, fails.

The page's file mode, its error display and its one-shot reference upload (with a one-shot
model trained 4 steps) are checked too.

Needs Debian's chromium, chromium-driver and flite (make install), selenium (dev) and
resemblyzer (make install); skipped without them.
"""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml
from chromium import headless_chromium
from serve_server import Server, running_server
from test_convert_oneshot import TINY

from vc.audio import FeatureConfig
from vc.audio.io import load_wav
from vc.cli import main
from vc.data.datadir import DataDir
from vc.data.dump import FeatureDump, extract_dump
from vc.data.stats import compute_stats

pytestmark = pytest.mark.slow

RATE = 16000
SOURCE, TARGET = "awb", "slt"
SENTENCES = [
    "Please call Stella and ask her to bring these things with her from the store.",
    "The quick brown fox jumps over the lazy dog.", "She sells sea shells by the sea shore.",
    "A rainbow is a division of white light into many beautiful colors.",
    "When the sunlight strikes raindrops in the air, they act as a prism.",
    "Six spoons of fresh snow peas for her brother Bob.", "We also need a small plastic snake and a big toy frog.",
    "The boy was there when the sun rose.", "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.",
]
GENERATOR = {"channels": 8, "down_channels": [16, 16], "residual_channels": 32, "residual_blocks": 1,
             "up_channels": [8, 8], "first_kernel": [3, 5], "kernel": 3, "causal": True, "lookahead": 0,
             "norm": "frame"}
LIVE_SECONDS = 6.0  # of microphone input: the 2.8 s sentence, looped by Chromium
TIMEOUT_S = 60


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sentence 0 of awb is the microphone; sentences 1-9 of both voices train the model."""
    if shutil.which("flite") is None:
        pytest.skip("flite not found (apt-get install flite)")
    root = tmp_path_factory.mktemp("serve_browser")
    for voice in (SOURCE, TARGET):
        for i, sentence in enumerate(SENTENCES):
            subprocess.run(["flite", "-voice", voice, "-t", sentence, "-o", str(root / f"{voice}_{i}.wav")], check=True)
    utts = {f"{voice}_{i}": str(root / f"{voice}_{i}.wav") for voice in (SOURCE, TARGET) for i in range(1, 10)}
    DataDir(utts, {u: u.split("_")[0] for u in utts}).write(root / "data")
    return root


@pytest.fixture(scope="module")
def server(corpus: Path) -> Iterator[Server]:
    extract_dump(DataDir.read(corpus / "data"), FeatureConfig(), corpus / "dump", progress=False)
    compute_stats(FeatureDump.open(corpus / "dump")).save(corpus / "dump" / "stats.npz")
    (corpus / "conf.yaml").write_text(yaml.safe_dump({
        "model": "cyclegan_vc",
        "model_params": {"generator": GENERATOR, "discriminator": {"channels": [8, 16], "final_kernel": [1, 3]},
                         "max_mask_frames": 4},
        "data": {"segment_frames": 32, "normalize": "speaker"},
        "train": {"max_steps": 100, "batch_size": 4, "save_interval": 100, "log_interval": 50,
                  "optim": {"generator": {"lr": 2e-3}, "discriminator": {"lr": 1e-3}}}}))
    exp = corpus / "awb_slt_stream"
    assert main(["train", "--conf", str(corpus / "conf.yaml"), "--exp", str(exp), "--train-dump",
                 str(corpus / "dump"), "--speakers", f"{SOURCE},{TARGET}", "--device", "cpu"]) == 0
    # A one-shot model for the page's reference upload: trained 4 steps, it converts nothing yet.
    (corpus / "oneshot.yaml").write_text(yaml.safe_dump({
        "model": "disentangle", "model_params": {**TINY, "speaker_encoder": "both"},
        "data": {"segment_frames": 16, "normalize": "global"},
        "train": {"max_steps": 4, "batch_size": 3, "save_interval": 4}}))
    assert main(["train", "--conf", str(corpus / "oneshot.yaml"), "--exp", str(corpus / "oneshot"), "--train-dump",
                 str(corpus / "dump"), "--device", "cpu"]) == 0
    args = ["--model", str(exp), "--model", str(corpus / "oneshot"), "--device", "cpu"]
    with running_server(args, corpus / "server.log") as s:
        yield s


@pytest.fixture
def driver(corpus: Path, tmp_path: Path) -> Iterator[object]:
    microphone = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-audio-capture={corpus / f'{SOURCE}_0.wav'}")
    with headless_chromium(tmp_path / "chromium-profile", TIMEOUT_S, *microphone) as drv:
        yield drv


def _wait_state(driver, *states: str) -> str:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        state = driver.execute_script("return document.body.dataset.state")
        if state in states:
            return state
        if state == "error":
            raise AssertionError(f"the page shows an error: {driver.find_element('id', 'error').text}")
        time.sleep(0.1)
    raise AssertionError(f"the page did not reach {states} in {TIMEOUT_S} s (it is {state!r})")


def _download(driver) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The samples of the page's Download link, as a user would save them."""
    encoded = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(document.getElementById('download').href).then(r => r.blob()).then(blob => {
          const reader = new FileReader();
          reader.onload = () => done(reader.result.split(',')[1]);
          reader.readAsDataURL(blob);
        });""")
    wav, rate = load_wav(io.BytesIO(base64.b64decode(encoded)), name="the page's download")
    assert rate == RATE
    return wav


def _envelope(wav: np.ndarray, hop: int = 160) -> np.ndarray:
    frames = wav[: len(wav) // hop * hop].reshape(-1, hop)
    return np.log10(np.mean(frames**2, axis=1) + 1e-8)


def _follows(output: np.ndarray, source: np.ndarray) -> float:
    """The best correlation of ``output``'s energy contour with the looped ``source``'s, over every lag."""
    out = _envelope(output)
    looped = _envelope(np.tile(source, int(np.ceil(len(output) / len(source))) + 2))
    best = -1.0
    for lag in range(0, len(looped) - len(out)):
        best = max(best, float(np.corrcoef(out, looped[lag:lag + len(out)])[0, 1]))
    return best


def test_live_microphone_is_converted_toward_the_target(  # type: ignore[no-untyped-def]
        server: Server, driver, corpus: Path) -> None:
    from selenium.webdriver.support.ui import Select

    from vc.evaluate.speaker import SpeakerSimilarity

    pytest.importorskip("resemblyzer", reason="resemblyzer is not installed (make install)")
    driver.get(server.url)
    _wait_state(driver, "idle")
    Select(driver.find_element("id", "target")).select_by_value(TARGET)
    driver.find_element("id", "mic").click()
    _wait_state(driver, "live")
    time.sleep(LIVE_SECONDS)
    driver.find_element("id", "mic").click()
    _wait_state(driver, "done")
    played = _download(driver)
    stats = driver.find_element("id", "result-stats").text

    assert len(played) / RATE > LIVE_SECONDS - 1, stats
    speech = played[np.flatnonzero(np.abs(played) > 1e-3)[0]:]  # from the first sound on
    metric = SpeakerSimilarity(DataDir.read(corpus / "data"))
    scores = metric.score(speech, frozenset(), SOURCE, TARGET)
    assert scores.sim_target > scores.sim_source + 0.05, (scores, stats)
    assert scores.nearest_spk == TARGET
    source, _ = load_wav(corpus / f"{SOURCE}_0.wav", RATE)
    assert _follows(speech, source) > 0.6, stats  # the input's words, in time: speech, not a hum

    for canvas in ("spec-in", "spec-out"):  # both spectrograms drawn
        lit = driver.execute_script(f"""
            const c = document.getElementById('{canvas}');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let lit = 0; for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 120) lit++;
            return lit / (c.width * c.height);""")
        assert lit > 0.05, canvas
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, int(height) + 150)
    assert driver.save_screenshot("/tmp/serve_screenshot.png")  # to look at by hand (docs/serve.png)


def test_file_upload_and_bad_file_in_the_page(  # type: ignore[no-untyped-def]
        server: Server, driver, corpus: Path, tmp_path: Path) -> None:
    driver.get(server.url)
    _wait_state(driver, "idle")
    driver.find_element("id", "file").send_keys(str(corpus / f"{SOURCE}_0.wav"))
    driver.find_element("id", "convert").click()
    _wait_state(driver, "done")
    converted = _download(driver)
    source, _ = load_wav(corpus / f"{SOURCE}_0.wav", RATE)
    assert len(converted) == len(source)
    duration = driver.execute_script("""
        const a = document.getElementById('player');
        return new Promise(r => a.readyState >= 1 ? r(a.duration)
                                                  : a.addEventListener('loadedmetadata', () => r(a.duration)));""")
    assert duration == pytest.approx(len(source) / RATE, abs=0.01)

    (tmp_path / "notes.wav").write_text("not audio at all")
    driver.find_element("id", "file").send_keys(str(tmp_path / "notes.wav"))
    driver.find_element("id", "convert").click()
    deadline = time.monotonic() + TIMEOUT_S
    while driver.execute_script("return document.body.dataset.state") != "error" and time.monotonic() < deadline:
        time.sleep(0.1)
    message = driver.find_element("id", "error").text
    assert "notes.wav: not an audio file this server reads" in message and "415 not_audio" in message


def test_one_shot_reference_upload_in_the_page(  # type: ignore[no-untyped-def]
        server: Server, driver, corpus: Path) -> None:
    from selenium.webdriver.support.ui import Select

    driver.get(server.url)
    _wait_state(driver, "idle")
    Select(driver.find_element("id", "model")).select_by_value("oneshot")
    assert not driver.find_element("id", "mic").is_enabled()  # not a causal model
    assert "cannot stream" in driver.find_element("id", "live-note").text
    references = "\n".join(str(corpus / f"{TARGET}_{i}.wav") for i in (1, 2))
    driver.find_element("id", "reference-files").send_keys(references)
    deadline = time.monotonic() + TIMEOUT_S
    while "recordings" not in driver.find_element("id", "reference-label").text and time.monotonic() < deadline:
        time.sleep(0.1)
    assert driver.find_element("id", "reference-label").text.startswith("reference (2 recordings), ")
    assert driver.find_element("id", "kind-reference").is_selected()
    driver.find_element("id", "file").send_keys(str(corpus / f"{SOURCE}_0.wav"))
    driver.find_element("id", "convert").click()
    _wait_state(driver, "done")
    assert len(_download(driver)) == len(load_wav(corpus / f"{SOURCE}_0.wav", RATE)[0])
