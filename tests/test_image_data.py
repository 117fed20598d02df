"""Image data: the image set file, Fashion-MNIST reader, edge sketches, builders, loaders."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from vc.errors import ConfigError, DataError
from vc.image import ImageSet
from vc.image.datasets.builders import (
    BUILDERS,
    build_digits,
    build_fashion_edges,
    build_fonts,
)
from vc.image.datasets.edges import edge_map
from vc.image.datasets.fashion import DEFAULT_FASHION_DIR, load_fashion, read_idx
from vc.image.datasets.fonts import FONT_FILES, font_path, render_digits
from vc.image.datasets.resize import pad_center
from vc.image.imageset import imageset_path, to_uint8
from vc.image.loader import MultiDomainImageLoader, UnpairedImageLoader

from batch_streams import assert_batches_equal, take

N_FAKE_TRAIN, N_FAKE_TEST = 100, 30
SMALL = {"n_train": 20, "n_valid": 5, "n_test": 8}


# ---- helpers -----------------------------------------------------------------------------------


def write_idx(path: Path, array: np.ndarray) -> None:
    """An idx file of unsigned bytes, gzip-compressed, as Fashion-MNIST ships them."""
    header = bytes([0, 0, 8, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def fake_items(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` distinct 28x28 "items": textured bright rectangles on black."""
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    for image in images:
        top, left = rng.integers(1, 10, size=2)
        bottom, right = rng.integers(18, 27, size=2)
        image[top:bottom, left:right] = rng.integers(80, 256, size=(bottom - top, right - left))
    return images


@pytest.fixture
def fashion_dir(tmp_path: Path) -> Path:
    root = tmp_path / "fashion"
    root.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", N_FAKE_TRAIN), ("t10k", N_FAKE_TEST)):
        write_idx(root / f"{split}-images-idx3-ubyte.gz", fake_items(n, rng))
        write_idx(root / f"{split}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    return root


def image_set(n: int, domain: str, offset: int = 0, paired: bool = False) -> ImageSet:
    """Images whose pixels all equal ``offset + i`` (each identifies itself), labels i % 10."""
    images = (offset + np.arange(n, dtype=np.uint8))[:, None, None, None] * np.ones((1, 1, 4, 4), np.uint8)
    return ImageSet(images, np.arange(n) % 10, domain, targets=255 - images if paired else None)


def load_all(paths: dict[str, dict[str, Path]]) -> dict[tuple[str, str], ImageSet]:
    return {(split, domain): ImageSet.load(p) for split, domains in paths.items() for domain, p in domains.items()}


def assert_same_sets(a: dict[tuple[str, str], ImageSet], b: dict[tuple[str, str], ImageSet]) -> None:
    assert a.keys() == b.keys()
    for key, s in a.items():
        np.testing.assert_array_equal(s.images, b[key].images)
        np.testing.assert_array_equal(s.labels, b[key].labels)


def keys(images: np.ndarray) -> set[bytes]:
    return {image.tobytes() for image in images}


def identities(images: torch.Tensor) -> np.ndarray:
    """The ``offset + i`` of each image of :func:`image_set` in a batch."""
    return to_uint8(images)[:, 0, 0, 0].astype(int)


# ---- the image set file --------------------------------------------------------------------------


@pytest.mark.parametrize("paired", [False, True])
def test_imageset_round_trip(tmp_path: Path, paired: bool) -> None:
    s = image_set(12, "fashion", paired=paired)
    path = imageset_path(tmp_path, "test", "fashion")
    s.save(path)
    assert path == tmp_path / "test" / "fashion.npz"
    assert [p.name for p in path.parent.iterdir()] == ["fashion.npz"], "no temporary file left"
    back = ImageSet.load(path)
    assert back.domain == "fashion" and len(back) == 12 and back.shape == (1, 4, 4)
    np.testing.assert_array_equal(back.images, s.images)
    np.testing.assert_array_equal(back.labels, s.labels)
    assert back.labels.dtype == np.int64 and back.images.dtype == np.uint8
    if paired:
        np.testing.assert_array_equal(back.targets, s.targets)
    else:
        assert back.targets is None
    assert repr(back) == f"ImageSet('fashion', 12 images [1, 4, 4]{', paired' if paired else ''})"


def test_tensors_and_to_uint8_invert() -> None:
    s = ImageSet(np.array([0, 1, 127, 128, 254, 255], np.uint8).reshape(1, 1, 2, 3), np.zeros(1, np.int64), "a")
    x = s.tensors()
    assert x.dtype == torch.float32 and x.shape == (1, 1, 2, 3)
    assert x.min() == -1.0 and x.max() == 1.0
    np.testing.assert_array_equal(to_uint8(x), s.images)
    np.testing.assert_array_equal(to_uint8(torch.tensor([-3.0, 5.0])), [0, 255])  # clipped


def test_subset_keeps_targets() -> None:
    s = image_set(10, "edges", paired=True).subset(np.array([7, 2]))
    assert identities(s.tensors()).tolist() == [7, 2] and s.labels.tolist() == [7, 2]
    np.testing.assert_array_equal(s.targets, 255 - s.images)


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)


GOOD = {"images": np.zeros((3, 1, 4, 4), np.uint8), "labels": np.zeros(3, np.int64), "domain": np.array("a")}


@pytest.mark.parametrize("arrays, message", [
    ({**GOOD, "images": np.zeros((3, 1, 4, 4), np.float32)},
     "images must be uint8 [N, C, H, W], got float32 [3, 1, 4, 4]"),
    ({**GOOD, "images": np.zeros((3, 4, 4), np.uint8)}, "images must be uint8 [N, C, H, W], got uint8 [3, 4, 4]"),
    ({**GOOD, "labels": np.zeros(2, np.int64)}, "labels must be int64 [3], got int64 [2]"),
    ({**GOOD, "labels": np.zeros(3, np.int32)}, "labels must be int64 [3], got int32 [3]"),
    ({**GOOD, "targets": np.zeros((3, 1, 2, 2), np.uint8)},
     "targets must be uint8 [3, 1, 4, 4] like images, got uint8 [3, 1, 2, 2]"),
    ({k: v for k, v in GOOD.items() if k != "labels"}, "not an image set (no labels array)"),
    ({**GOOD, "domain": np.array(3)}, "not an image set (domain is not a string)"),
])
def test_load_rejects_bad_arrays(tmp_path: Path, arrays: dict[str, np.ndarray], message: str) -> None:
    path = tmp_path / "bad.npz"
    _save_npz(path, **arrays)
    with pytest.raises(DataError) as e:
        ImageSet.load(path)
    assert str(e.value) == f"{path}: {message}"


def test_load_rejects_missing_and_non_npz_files(tmp_path: Path) -> None:
    with pytest.raises(DataError) as e:
        ImageSet.load(tmp_path / "none.npz")
    assert str(e.value) == f"{tmp_path / 'none.npz'}: image set not found"
    text = tmp_path / "text.npz"
    text.write_text("not numpy\n")
    npy = tmp_path / "array.npz"
    with open(npy, "wb") as f:
        np.save(f, np.zeros(3))
    for path in (text, npy):
        with pytest.raises(DataError) as e:
            ImageSet.load(path)
        assert str(e.value) == f"{path}: not an image set (not a readable .npz file)"


def test_constructor_checks_arrays() -> None:
    with pytest.raises(DataError, match=r"^image set 'a': images must be uint8"):
        ImageSet(np.zeros((2, 1, 4, 4), np.float32), np.zeros(2, np.int64), "a")


# ---- Fashion-MNIST reader and edge sketches ------------------------------------------------------


def test_read_fake_fashion(fashion_dir: Path) -> None:
    images, labels = load_fashion("train", fashion_dir)
    assert images.shape == (N_FAKE_TRAIN, 28, 28) and images.dtype == np.uint8
    assert labels.dtype == np.int64 and labels.tolist() == [i % 10 for i in range(N_FAKE_TRAIN)]
    assert load_fashion("t10k", fashion_dir)[0].shape == (N_FAKE_TEST, 28, 28)


def test_missing_fashion_dir_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(DataError) as e:
        load_fashion("train", tmp_path / "nowhere")
    assert str(e.value) == (
        f"Fashion-MNIST not found in {tmp_path / 'nowhere'}: install Debian's dataset-fashion-mnist "
        "(sudo apt-get install dataset-fashion-mnist, or make install), or pass --fashion-dir DIR")
    with pytest.raises(DataError, match="Fashion-MNIST not found"):
        build_fashion_edges(tmp_path / "out", seed=0, fashion_dir=tmp_path / "nowhere", **SMALL)


def test_read_idx_rejects_damaged_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gz"
    with gzip.open(bad, "wb") as f:
        f.write(b"\x00\x00\x0d\x01\x00\x00\x00\x02ab")  # float32 type code
    with pytest.raises(DataError, match="not an idx file of unsigned bytes"):
        read_idx(bad)
    with gzip.open(bad, "wb") as f:
        f.write(b"\x00\x00\x08\x01\x00\x00\x00\x05ab")  # 5 announced, 2 present
    with pytest.raises(DataError, match=r"truncated idx file \(header says \[5\]\)"):
        read_idx(bad)
    bad.write_bytes(b"plain")
    with pytest.raises(DataError, match="not a gzip-compressed idx file"):
        read_idx(bad)


def test_edge_map_outlines_a_square() -> None:
    images = np.zeros((2, 1, 16, 16), np.uint8)
    images[0, 0, 4:12, 4:12] = 200
    sketch = edge_map(images)
    assert sketch.shape == images.shape and sketch.dtype == np.uint8
    assert np.all(sketch[1] == 255), "a blank image is blank paper"
    assert sketch[0, 0, 8, 8] == 255 and sketch[0, 0, 0, 0] == 255  # inside and far outside: paper
    assert sketch[0, 0, 8, 3:5].min() == 0 and sketch[0, 0, 3:5, 8].min() == 0  # the outline: ink
    # Each image is sketched on its own: neighbours in the stack do not bleed in.
    np.testing.assert_array_equal(edge_map(images[:1]), sketch[:1])
    np.testing.assert_array_equal(edge_map(images[::-1])[::-1], sketch)


# ---- builders ----------------------------------------------------------------------------------------


def test_fashion_edges_layout_and_paired_test(tmp_path: Path, fashion_dir: Path) -> None:
    paths = build_fashion_edges(tmp_path / "data", seed=1, fashion_dir=fashion_dir, **SMALL)
    assert {s: sorted(d) for s, d in paths.items()} == {s: ["edges", "fashion"] for s in ("train", "valid", "test")}
    sets = load_all(paths)
    for (split, domain), s in sets.items():
        assert paths[split][domain] == tmp_path / "data" / split / f"{domain}.npz"
        assert len(s) == {"train": 20, "valid": 5, "test": 8}[split] and s.shape == (1, 32, 32)
        assert (s.targets is not None) == (split == "test")
    fashion, edges = sets["test", "fashion"], sets["test", "edges"]
    np.testing.assert_array_equal(fashion.targets, edge_map(fashion.images))
    np.testing.assert_array_equal(edges.images, edge_map(edges.targets))
    # Fashion items are white on black (padded frame black), sketches black on white.
    assert fashion.images[:, :, :2].max() == 0 and edges.images[:, :, :2].min() == 255
    # Labels follow the items: the fake labels are the item index mod 10.
    raw, _ = load_fashion("t10k", fashion_dir)
    by_item = {im.tobytes(): i for i, im in enumerate(pad_center(raw, 32))}
    assert [by_item[im[0].tobytes()] % 10 for im in fashion.images] == fashion.labels.tolist()


def test_fashion_edges_halves_and_splits_are_disjoint(tmp_path: Path, fashion_dir: Path) -> None:
    sets = load_all(build_fashion_edges(tmp_path, seed=3, fashion_dir=fashion_dir, **SMALL))
    items = {}
    for split, idx_split in (("train", "train"), ("test", "t10k")):
        framed = pad_center(load_fashion(idx_split, fashion_dir)[0], 32)[:, None]
        sketches = edge_map(framed)
        assert len(keys(framed)) == len(keys(sketches)) == len(framed), "the fake items and sketches are distinct"
        items[split] = ({im.tobytes(): i for i, im in enumerate(framed)},
                        {im.tobytes(): i for i, im in enumerate(sketches)})
    used: dict[str, set[int]] = {"train": set(), "test": set()}
    for (split, domain), s in sets.items():
        source = "test" if split == "test" else "train"
        lookup = items[source][0 if domain == "fashion" else 1]
        index = {lookup[im.tobytes()] for im in s.images}  # KeyError: not an item (or sketch) of the source
        assert len(index) == len(s) and not index & used[source], f"{split}/{domain} shares items"
        used[source] |= index


def test_builders_are_deterministic_for_a_seed(tmp_path: Path, fashion_dir: Path) -> None:
    options = {"fashion_edges": {"fashion_dir": fashion_dir}, "digits": {}, "fonts": {}}
    for name, build in BUILDERS.items():
        first = load_all(build(tmp_path / name / "a", seed=5, **SMALL, **options[name]))
        again = load_all(build(tmp_path / name / "b", seed=5, **SMALL, **options[name]))
        other = load_all(build(tmp_path / name / "c", seed=6, **SMALL, **options[name]))
        assert_same_sets(first, again)
        for key in first:
            assert not np.array_equal(first[key].images, other[key].images), f"{name} {key}: seed ignored"


def test_fashion_edges_resizes_and_checks_counts(tmp_path: Path, fashion_dir: Path) -> None:
    paths = build_fashion_edges(tmp_path, seed=0, size=16, fashion_dir=fashion_dir, n_train=4, n_valid=2, n_test=3)
    assert ImageSet.load(paths["train"]["edges"]).shape == (1, 16, 16)
    with pytest.raises(ConfigError, match="n_train \\+ n_valid: 51 exceeds the 50 items of each half"):
        build_fashion_edges(tmp_path, seed=0, fashion_dir=fashion_dir, n_train=46, n_valid=5, n_test=3)
    with pytest.raises(ConfigError, match="n_test: 16 per domain exceeds half of the 30 test items"):
        build_fashion_edges(tmp_path, seed=0, fashion_dir=fashion_dir, n_train=4, n_valid=2, n_test=16)
    with pytest.raises(ConfigError, match="n_train: must be >= 1, got 0"):
        build_fashion_edges(tmp_path, seed=0, fashion_dir=fashion_dir, n_train=0)


@pytest.mark.skipif(not DEFAULT_FASHION_DIR.is_dir(), reason="dataset-fashion-mnist is not installed")
def test_real_fashion_mnist(tmp_path: Path) -> None:
    sets = load_all(build_fashion_edges(tmp_path, seed=0, **SMALL))
    assert sets["train", "fashion"].images.max() > 200 and set(sets["test", "edges"].labels) <= set(range(10))


def test_digits_splits_and_domains(tmp_path: Path) -> None:
    sets = load_all(build_digits(tmp_path, seed=2, **SMALL))
    assert sorted(sets) == [(s, d) for s in ("test", "train", "valid") for d in ("handwritten", "typeset")]
    seen: set[bytes] = set()
    for split, n in (("train", 20), ("valid", 5), ("test", 8)):
        hand, typed = sets[split, "handwritten"], sets[split, "typeset"]
        assert len(hand) == len(typed) == n and hand.shape == typed.shape == (1, 32, 32)
        assert keys(hand.images).isdisjoint(seen) and len(keys(hand.images)) == n
        seen |= keys(hand.images)
        assert np.bincount(typed.labels, minlength=10).max() - np.bincount(typed.labels, minlength=10).min() <= 1
        assert typed.images[:, :, 0].mean() < 10 and typed.images.max() > 200  # white ink on black


def test_digits_default_counts_use_every_handwritten_digit(tmp_path: Path) -> None:
    paths = build_digits(tmp_path, seed=0, n_train=1, n_valid=1)
    assert len(ImageSet.load(paths["test"]["handwritten"])) == 1795
    with pytest.raises(ConfigError, match="n_train \\+ n_valid \\+ n_test: 1800 exceeds the 1797 images"):
        build_digits(tmp_path, seed=0, n_train=1600, n_valid=100, n_test=100)


def test_fonts_domains(tmp_path: Path) -> None:
    paths = build_fonts(tmp_path, seed=0, n_train=10, n_valid=2, n_test=3, fonts=("dejavu_sans", "cm_serif"),
                        handwritten=True)
    assert list(paths["train"]) == ["dejavu_sans", "cm_serif", "handwritten"]
    assert len(ImageSet.load(paths["test"]["handwritten"])) == 3
    with pytest.raises(ConfigError, match="fonts: need distinct names"):
        build_fonts(tmp_path, seed=0, fonts=("comic_sans",))


def test_render_digits() -> None:
    labels = np.arange(10)
    a = render_digits(labels, ["dejavu_serif", "stix"], 24, np.random.default_rng(0))
    b = render_digits(labels, ["dejavu_serif", "stix"], 24, np.random.default_rng(0))
    assert a.shape == (10, 1, 24, 24) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert len(keys(a)) == 10
    assert all(font_path(name).is_file() for name in FONT_FILES)
    with pytest.raises(ConfigError, match="font: unknown 'arial'"):
        font_path("arial")


# ---- loaders ----------------------------------------------------------------------------------------


def test_unpaired_batches() -> None:
    loader = UnpairedImageLoader(image_set(30, "a"), image_set(40, "b", offset=100), batch_size=6, seed=0)
    assert loader.domains == ["a", "b"]
    differ = False
    for batch in take(loader, 10):
        assert set(batch) == {"x", "y"}
        for key in batch:
            assert batch[key].shape == (6, 1, 4, 4) and batch[key].dtype == torch.float32
            assert batch[key].min() >= -1 and batch[key].max() <= 1
        x, y = identities(batch["x"]), identities(batch["y"])
        assert np.all(x < 30) and np.all((y >= 100) & (y < 140))  # x from a, y from b
        differ |= not np.array_equal(x, y - 100)
    assert differ, "x and y are drawn independently, not index-paired"


def test_set_step_resumes_exactly() -> None:
    def loader(seed: int = 7) -> UnpairedImageLoader:
        return UnpairedImageLoader(image_set(50, "a"), image_set(50, "b", offset=100), batch_size=4, seed=seed)

    run = take(loader(), 5)
    resumed = loader()
    resumed.set_step(3)
    assert_batches_equal(take(resumed, 2), run[3:5])
    assert resumed.step == 5
    same = loader()  # re-iterating one loader continues where it stopped
    assert_batches_equal(take(same, 2) + take(same, 3), run)
    assert not torch.equal(take(loader(seed=8), 1)[0]["x"], run[0]["x"])
    with pytest.raises(ConfigError, match="step: must be >= 0"):
        resumed.set_step(-1)


def test_fixed_batches_are_deterministic() -> None:
    loader = UnpairedImageLoader(image_set(50, "a"), image_set(50, "b", offset=100), batch_size=4, seed=1)
    fixed = loader.fixed_batches(3)
    take(loader, 4)
    assert_batches_equal(loader.fixed_batches(3), fixed)
    fresh = UnpairedImageLoader(image_set(50, "a"), image_set(50, "b", offset=100), batch_size=4, seed=1)
    assert_batches_equal(fresh.fixed_batches(3), fixed)
    assert not torch.equal(fixed[0]["x"], loader.batch(0)["x"]), "validation is its own stream"


def test_multi_domain_batches() -> None:
    sets = [image_set(20, "a"), image_set(20, "b", offset=50), image_set(20, "c", offset=100)]
    loader = MultiDomainImageLoader(sets, batch_size=7, seed=0)
    assert loader.domains == ["a", "b", "c"]
    batches = take(loader, 5)
    for batch in batches:
        assert set(batch) == {"image", "domain"}
        assert batch["image"].shape == (7, 1, 4, 4) and batch["image"].dtype == torch.float32
        assert batch["domain"].shape == (7,) and batch["domain"].dtype == torch.long
        counts = np.bincount(batch["domain"].numpy(), minlength=3)
        assert counts.max() - counts.min() <= 1
        ids = identities(batch["image"])
        assert np.all(ids // 50 == batch["domain"].numpy())  # each image is from its domain's set
    resumed = MultiDomainImageLoader(sets, batch_size=7, seed=0)
    resumed.set_step(3)
    assert_batches_equal(take(resumed, 2), batches[3:])
    assert_batches_equal(resumed.fixed_batches(2), loader.fixed_batches(2))


def test_loader_errors() -> None:
    a, b = image_set(5, "a"), image_set(5, "b")
    with pytest.raises(ConfigError, match="batch_size: must be >= 1, got 0"):
        UnpairedImageLoader(a, b, batch_size=0, seed=0)
    with pytest.raises(ConfigError, match="domains: listed twice"):
        UnpairedImageLoader(a, a, batch_size=2, seed=0)
    with pytest.raises(ConfigError, match="need at least two image sets"):
        MultiDomainImageLoader([a], batch_size=2, seed=0)
    big = ImageSet(np.zeros((3, 1, 8, 8), np.uint8), np.zeros(3, np.int64), "big")
    with pytest.raises(DataError, match=r"image set 'big' has images of \[1, 8, 8\], 'a' of \[1, 4, 4\]"):
        UnpairedImageLoader(a, big, batch_size=2, seed=0)
