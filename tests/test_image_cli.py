"""`vc image` end to end on tiny data: data, train, translate, evaluate, report; the metrics and
classifiers; and every bad input as one line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from vc.cli import main
from vc.errors import ConfigError
from vc.image.classifier import ImageClassifier, content_classifier, domain_classifier
from vc.image.imageset import ImageSet, imageset_path
from vc.image.metrics import content_accuracy, domain_rate, l1, ssim
from vc.train.checkpoint import latest_checkpoint

SMALL_DATA = ["--n-train", "12", "--n-valid", "10", "--n-test", "6", "--size", "16"]
TINY_PARAMS = {"ngf": 4, "ndf": 4, "n_blocks": 1, "n_down": 1}
TINY_TRAIN = {"max_steps": 2, "batch_size": 2, "log_interval": 1, "eval_interval": 2, "save_interval": 2,
              "eval_batches": 1}
STEPS = ["--classifier-steps", "10"]


def _conf(tmp_path: Path, model: str, **data: object) -> Path:
    params = {**TINY_PARAMS, "n_shared_blocks": 1} if model == "image_shared_latent" else TINY_PARAMS
    path = tmp_path / f"{model}.yaml"
    path.write_text(yaml.safe_dump({"model": model, "model_params": params, "data": data, "train": TINY_TRAIN}))
    return path


def _vc(*args: object) -> int:
    return main(["image", *map(str, args)])


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("digits") / "data"
    assert _vc("data", "digits", "--out", out, "--seed", 3, *SMALL_DATA) == 0
    return out


@pytest.fixture(scope="module")
def paired(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir like fashion_edges': "solid" squares <-> their "outline"s, paired test sets."""
    root = tmp_path_factory.mktemp("paired") / "data"
    rng = np.random.default_rng(0)
    for split, n in (("train", 12), ("valid", 10), ("test", 6)):
        solid = np.zeros((n, 1, 16, 16), dtype=np.uint8)
        labels = rng.integers(0, 3, size=n).astype(np.int64)
        for image, label in zip(solid, labels):
            side = 4 + 3 * int(label)  # the content class is the square's size
            top, left = rng.integers(0, 17 - side, size=2)
            image[0, top:top + side, left:left + side] = 200
        outline = solid.copy()
        outline[:, :, 1:-1, 1:-1] &= ~(solid[:, :, :-2, 1:-1] & solid[:, :, 2:, 1:-1] & solid[:, :, 1:-1, :-2]
                                       & solid[:, :, 1:-1, 2:])
        paired_test = split == "test"
        ImageSet(solid, labels, "solid", outline if paired_test else None).save(imageset_path(root, split, "solid"))
        ImageSet(outline, labels, "outline", solid if paired_test else None).save(
            imageset_path(root, split, "outline"))
    return root


# ---- the pipeline ------------------------------------------------------------------------------


def test_data_command_writes_the_builders_sets(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for name in ("a", "b"):
        assert _vc("data", "digits", "--out", tmp_path / name, "--seed", 3, *SMALL_DATA) == 0
    assert capsys.readouterr().out.splitlines()[:3] == [
        f"{tmp_path / 'a' / 'train'}: handwritten 12, typeset 12",
        f"{tmp_path / 'a' / 'valid'}: handwritten 10, typeset 10",
        f"{tmp_path / 'a' / 'test'}: handwritten 6, typeset 6"]
    a, b = (ImageSet.load(imageset_path(tmp_path / n, "test", "typeset")) for n in ("a", "b"))
    assert a.shape == (1, 16, 16) and np.array_equal(a.images, b.images)  # a seed makes the same data


def test_pair_model_from_data_to_report(digits: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    exp = tmp_path / "exp" / "cyclegan"
    assert _vc("train", "--conf", _conf(tmp_path, "image_cyclegan"), "--exp", exp, "--data", digits,
               "--domains", "handwritten,typeset", "--device", "cpu") == 0
    assert latest_checkpoint(exp / "checkpoints").name == "step_00000002.pt"

    assert _vc("translate", "--model", exp, "--data", digits, "--device", "cpu") == 0
    out = exp / "translate" / "test"
    manifest = json.loads((out / "translations.json").read_text())
    assert [(d["source"], d["target"]) for d in manifest["directions"]] == [
        ("handwritten", "typeset"), ("typeset", "handwritten")]
    translated = ImageSet.load(out / "handwritten_to_typeset.npz")
    source = ImageSet.load(imageset_path(digits, "test", "handwritten"))
    assert translated.domain == "typeset" and translated.images.shape == source.images.shape
    assert np.array_equal(translated.labels, source.labels) and translated.targets is None

    capsys.readouterr()
    assert _vc("evaluate", "--model", exp, *STEPS) == 0
    printed = capsys.readouterr().out
    results = json.loads((exp / "evaluate" / "results.json").read_text())
    assert results["label"] == "cyclegan" and results["step"] == 2 and results["split"] == "test"
    first = results["directions"][0]
    assert (first["source"], first["target"], first["n"]) == ("handwritten", "typeset", 6)
    for scores in (first["source_images"], first["translated"], results["targets"]["typeset"]):
        assert 0 <= scores["domain_rate"] <= 1 and 0 <= scores["content_acc"] <= 1 and scores["l1"] is None
    lines = printed.splitlines()
    assert lines[1].split() == ["direction", "images", "domain", "rate", "(target)", "content", "acc."]
    assert [line.split()[:2] for line in lines[2:5]] == [["handwritten->typeset", "source"],
                                                         ["handwritten->typeset", "translated"],
                                                         ["handwritten->typeset", "target"]]
    assert lines[3].split()[2] == f"{first['translated']['domain_rate']:.2f}"
    classifiers = sorted((exp / "evaluate" / "classifiers").iterdir())
    assert [p.name.split("_")[0] for p in classifiers] == ["content", "content", "domain"]

    # A second evaluation reuses the cached classifiers and scores the same.
    stamps = [p.stat().st_mtime_ns for p in classifiers]
    assert _vc("evaluate", "--model", exp, *STEPS) == 0
    assert [p.stat().st_mtime_ns for p in classifiers] == stamps
    assert json.loads((exp / "evaluate" / "results.json").read_text())["directions"] == results["directions"]

    capsys.readouterr()
    assert _vc("report", exp / "evaluate", "--out", tmp_path / "report", "--examples", 4) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(lines[0]) and "report: " in printed
    page = (tmp_path / "report" / "index.html").read_text()
    pngs = re.findall(r'src="data:image/png;base64,[A-Za-z0-9+/=]+"', page)
    assert len(pngs) == 2 * 2 + 1  # source and translated rows of both directions, training curves
    assert "translated → typeset" in page and "handwritten-&gt;typeset" in page
    assert not re.search(r'(src|href)="(?!data:|#)', page)  # nothing outside the page


def test_training_resumes_exactly(digits: Path, tmp_path: Path) -> None:
    def train(name: str, steps: int, *extra: str) -> None:
        conf = tmp_path / f"{steps}.yaml"
        conf.write_text(yaml.safe_dump({"model": "image_cyclegan", "model_params": {**TINY_PARAMS, "pool_size": 2},
                                        "data": {"root": str(digits), "domains": ["typeset", "handwritten"]},
                                        "train": {**TINY_TRAIN, "max_steps": steps}}))
        assert _vc("train", "--conf", conf, "--exp", tmp_path / name, "--device", "cpu", *extra) == 0

    train("straight", 4)
    train("split", 2)
    train("split", 4, "--resume")
    straight, resumed = (torch.load(latest_checkpoint(tmp_path / name / "checkpoints"), weights_only=True)
                         for name in ("straight", "split"))
    assert straight["step"] == resumed["step"] == 4
    for key, value in straight["model"].items():
        torch.testing.assert_close(resumed["model"][key], value, rtol=0, atol=0, msg=key)
    assert straight["extra"] == {"domains": ["typeset", "handwritten"], "image_size": 16, "channels": 1}


def test_multi_domain_model_pools_directions_per_target(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    data = tmp_path / "fonts"
    assert _vc("data", "fonts", "--out", data, "--seed", 1, *SMALL_DATA) == 0
    exp = tmp_path / "stargan"
    assert _vc("train", "--conf", _conf(tmp_path, "image_stargan", domains=["dejavu_sans", "stix", "cm_serif"]),
               "--exp", exp, "--data", data, "--device", "cpu") == 0
    assert _vc("translate", "--model", exp, "--data", data, "--device", "cpu") == 0
    assert len(json.loads((exp / "translate" / "test" / "translations.json").read_text())["directions"]) == 6
    capsys.readouterr()
    assert _vc("evaluate", "--model", exp, "--label", "StarGAN", *STEPS) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:] if "->" in line]
    assert [row[:2] for row in rows[:3]] == [["*->dejavu_sans", "source"], ["*->dejavu_sans", "translated"],
                                             ["*->dejavu_sans", "target"]]
    assert len(rows) == 3 * 3
    results = json.loads((exp / "evaluate" / "results.json").read_text())
    into_sans = [d["translated"]["domain_rate"] for d in results["directions"] if d["target"] == "dejavu_sans"]
    assert len(into_sans) == 2 and rows[1][2] == f"{sum(into_sans) / 2:.2f}"  # equal test sets: a plain mean
    assert _vc("report", exp / "evaluate", "--out", tmp_path / "report") == 0
    page = (tmp_path / "report" / "index.html").read_text()
    assert page.count(">translated → ") == 6 and ">true translation<" not in page


def test_paired_test_sets_get_l1_and_ssim(paired: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    exps = []
    for model in ("image_cyclegan", "image_shared_latent"):
        exp = tmp_path / model
        assert _vc("train", "--conf", _conf(tmp_path, model, domains=["solid", "outline"]), "--exp", exp,
                   "--data", paired, "--device", "cpu") == 0
        assert _vc("translate", "--model", exp, "--data", paired, "--device", "cpu") == 0
        assert _vc("evaluate", "--model", exp, "--cache-dir", tmp_path / "classifiers", *STEPS) == 0
        exps.append(exp)
    translated = ImageSet.load(exps[0] / "translate" / "test" / "solid_to_outline.npz")
    assert np.array_equal(translated.targets, ImageSet.load(imageset_path(paired, "test", "solid")).targets)
    results = json.loads((exps[0] / "evaluate" / "results.json").read_text())
    source = results["directions"][0]["source_images"]
    test = ImageSet.load(imageset_path(paired, "test", "solid"))
    assert source["l1"] == pytest.approx(l1(test.images, test.targets))
    assert source["ssim"] == pytest.approx(ssim(test.images, test.targets))
    assert len(list((tmp_path / "classifiers").iterdir())) == 3  # one set, shared by both systems

    capsys.readouterr()
    assert _vc("report", *(e / "evaluate" for e in exps), "--out", tmp_path / "report") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[-2:] == ["L1", "SSIM"]
    assert [line.split("   ")[1].strip() for line in lines[2:6]] == [
        "source", "image_cyclegan", "image_shared_latent", "target (real)"]
    assert lines[5].split()[-2:] == ["-", "-"]
    page = (tmp_path / "report" / "index.html").read_text()
    assert page.count(">true translation<") == 2 * 2


# ---- metrics and classifiers -------------------------------------------------------------------


def _bright_and_dark(n: int, seed: int) -> tuple[ImageSet, ImageSet]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n).astype(np.int64)
    bright = rng.integers(150, 256, size=(n, 1, 8, 8)).astype(np.uint8)
    bright[labels == 1, :, :4] = 0  # class 1: the top half is black
    return ImageSet(bright, labels, "bright"), ImageSet(bright // 4, labels, "dark")


def test_classifiers_learn_save_and_cache(tmp_path: Path) -> None:
    bright, dark = _bright_and_dark(40, 0)
    clf = domain_classifier([bright, dark], seed=1, steps=60, cache_dir=tmp_path)
    assert clf.classes == ["bright", "dark"]
    assert domain_rate(clf, dark.images, "dark") == 1.0 and domain_rate(clf, bright.images, "dark") == 0.0
    content = content_classifier(bright, seed=1, steps=60)
    assert content.classes == ["0", "1"] and content_accuracy(content, bright.images, bright.labels) == 1.0

    again = domain_classifier([bright, dark], seed=1, steps=60, cache_dir=tmp_path)
    assert again.fingerprint == clf.fingerprint
    for a, b in zip(again.net.parameters(), clf.net.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    retrained = domain_classifier([bright, dark], seed=1, steps=60)  # the same seed: the same weights
    for a, b in zip(retrained.net.parameters(), clf.net.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    other = domain_classifier([bright, dark], seed=2, steps=60, cache_dir=tmp_path)
    assert other.fingerprint != clf.fingerprint and len(list(tmp_path.iterdir())) == 2
    loaded = ImageClassifier.load(next(tmp_path.iterdir()))
    assert loaded.shape == (1, 8, 8) and loaded.kind == "domain"

    with pytest.raises(ConfigError, match=r"domain 'edges': unknown to the domain classifier \(it knows: bright, dark"):
        domain_rate(clf, dark.images, "edges")


def test_l1_and_ssim() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(3, 1, 16, 16)).astype(np.uint8)
    assert l1(images, images) == 0.0 and ssim(images, images) == pytest.approx(1.0)
    assert l1(np.zeros_like(images), np.full_like(images, 255)) == 1.0
    noisy = np.clip(images + rng.normal(0, 40, images.shape), 0, 255).astype(np.uint8)
    noisier = np.clip(images + rng.normal(0, 120, images.shape), 0, 255).astype(np.uint8)
    assert 1.0 > ssim(noisy, images) > ssim(noisier, images)
    assert ssim(255 - images, images) < 0  # anti-correlated structure


# ---- bad input: one line each ------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(digits: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("trained")
    exp = tmp / "exp"
    assert _vc("train", "--conf", _conf(tmp, "image_cyclegan", domains=["handwritten", "typeset"]), "--exp", exp,
               "--data", digits, "--device", "cpu") == 0
    return exp


def _error(capsys: pytest.CaptureFixture, *args: object) -> str:
    capsys.readouterr()
    assert _vc(*args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err.strip()


def test_bad_data_commands(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert _error(capsys, "data", "mnist", "--out", tmp_path) == (
        "vc image: error: unknown builder 'mnist' (available: digits, fashion_edges, fonts)")
    assert _error(capsys, "data", "fashion_edges", "--out", tmp_path, "--fashion-dir", tmp_path / "none") == (
        f"vc image: error: Fashion-MNIST not found in {tmp_path / 'none'}: install Debian's dataset-fashion-mnist "
        "(sudo apt-get install dataset-fashion-mnist, or make install), or pass --fashion-dir DIR")
    assert _error(capsys, "data", "digits", "--out", tmp_path, "--fashion-dir", tmp_path) == (
        "vc image: error: --fashion-dir: the digits builder has no such option")
    assert not list(tmp_path.iterdir())


def test_bad_training_setups(digits: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    conf = _conf(tmp_path, "image_cyclegan")
    exp = tmp_path / "exp"
    assert _error(capsys, "train", "--conf", conf, "--exp", exp, "--data", tmp_path / "nodata") == (
        f"vc image: error: {tmp_path / 'nodata' / 'train'}: no image sets (run 'vc image data' first)")
    assert _error(capsys, "train", "--conf", conf, "--exp", exp, "--data", digits,
                  "--domains", "handwritten,fashion") == (
        "vc image: error: data.domains: unknown domain 'fashion' (the data has: handwritten, typeset)")
    assert _error(capsys, "train", "--conf", conf, "--exp", exp, "--data", digits) == (
        "vc image: error: data.domains: image_cyclegan translates one pair; give [x, y] "
        "(the data has: handwritten, typeset)")
    stargan = _conf(tmp_path, "image_stargan", domains=["handwritten"])
    assert _error(capsys, "train", "--conf", stargan, "--exp", exp, "--data", digits) == (
        "vc image: error: data.domains: image_stargan needs 2 or more domains, got ['handwritten']")
    audio = tmp_path / "audio.yaml"
    audio.write_text(yaml.safe_dump({"model": "cyclegan_vc", "train": {"max_steps": 1}}))
    assert _error(capsys, "train", "--conf", audio, "--exp", exp, "--data", digits) == (
        f"vc image: error: {audio}: model: 'cyclegan_vc' is not an image model "
        "(available: image_cyclegan, image_shared_latent, image_stargan)")
    sized = _conf(tmp_path, "image_cyclegan", domains=["handwritten", "typeset"], size=32)
    assert _error(capsys, "train", "--conf", sized, "--exp", exp, "--data", digits) == (
        f"vc image: error: data.size: 32, but {digits} holds 16x16 images")
    assert not exp.exists()


def test_bad_translations(trained: Path, digits: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert _error(capsys, "translate", "--model", tmp_path / "none", "--data", digits) == (
        f"vc image: error: {tmp_path / 'none'}: experiment directory not found")
    assert _error(capsys, "translate", "--model", trained, "--data", digits, "--split", "dev") == (
        f"vc image: error: {digits / 'dev' / 'handwritten.npz'}: image set not found")
    bigger = tmp_path / "bigger"
    assert _vc("data", "digits", "--out", bigger, *SMALL_DATA[:-1], "32") == 0
    assert _error(capsys, "translate", "--model", trained, "--data", bigger, "--out", tmp_path / "t") == (
        f"vc image: error: {bigger / 'test' / 'handwritten.npz'}: [1, 32, 32] images, but the model translates "
        "[1, 16, 16] images")
    broken = tmp_path / "broken"
    (broken / "checkpoints").mkdir(parents=True)
    (broken / "config.yaml").write_text((trained / "config.yaml").read_text())
    (broken / "checkpoints" / "step_00000002.pt").write_bytes(b"not a checkpoint")
    message = _error(capsys, "translate", "--model", broken, "--data", digits)
    assert message.startswith(f"vc image: error: {broken / 'checkpoints' / 'step_00000002.pt'}: "
                              "not a readable checkpoint (")


def test_bad_evaluations_and_reports(trained: Path, digits: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture) -> None:
    assert _error(capsys, "evaluate", "--model", tmp_path / "none") == (
        f"vc image: error: {tmp_path / 'none' / 'translate' / 'test' / 'translations.json'}: not found "
        "(translate with 'vc image translate' first)")
    assert _error(capsys, "report", tmp_path, "--out", tmp_path / "report") == (
        f"vc image: error: {tmp_path / 'results.json'}: not found "
        "(score the translations with 'vc image evaluate' first)")
    out = tmp_path / "t"
    assert _vc("translate", "--model", trained, "--data", digits, "--out", out, "--device", "cpu") == 0
    cache = tmp_path / "cache"
    assert _vc("evaluate", "--model", trained, "--translated", out, "--out", tmp_path / "e", "--cache-dir", cache,
               *STEPS) == 0
    damaged = min(cache.iterdir())
    damaged.write_bytes(b"garbage")
    message = _error(capsys, "evaluate", "--model", trained, "--translated", out, "--out", tmp_path / "e",
                     "--cache-dir", cache, *STEPS)
    assert message.startswith(f"vc image: error: {damaged}: not a readable image classifier (")
    assert _vc("evaluate", "--model", trained, "--translated", out, "--out", tmp_path / "other", "--label", "B",
               "--seed", 1, *STEPS) == 0
    assert _error(capsys, "report", tmp_path / "e", tmp_path / "other", "--out", tmp_path / "r") == (
        "vc image: error: B and exp were scored by differently trained classifiers; evaluate them with the same "
        "--seed and --classifier-steps")
    assert _error(capsys, "report", tmp_path / "e", "--out", tmp_path / "e" / "results.json") == (
        f"vc image: error: --out {tmp_path / 'e' / 'results.json'}: exists and is not a directory")


def test_vc_train_refuses_an_image_model(tmp_path: Path, capsys) -> None:
    conf = tmp_path / "image.yaml"
    conf.write_text("model: image_cyclegan\ntrain: {max_steps: 1}\n")
    assert main(["train", "--conf", str(conf), "--exp", str(tmp_path / "exp")]) == 1
    assert capsys.readouterr().err.strip() == (
        f"vc train: error: {conf}: model: image_cyclegan is an image model; train it with 'vc image train'")
