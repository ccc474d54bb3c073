"""scikit-learn's Digits (1,797 8x8 images, ships inside the package) split by fractions, pixels in [0, 1].

The V2X paper (arXiv 003, Sec. VII) trains on Digits "split into training, validation, and test
sets in a 6:2:2 ratio": :func:`digits_splits` with the default fractions gives 1,078 / 359 / 360
stratified images. Pixels 0..16 are divided by 16 and left unstandardised, so they can be used
directly as rotation angles (``angle = pi * x``).

Example:
    >>> s = digits_splits(seed=0)                                    # doctest: +SKIP
    >>> [len(d) for d in (s.train, s.val, s.test)], s.train.tensors[0].shape[1:]   # doctest: +SKIP
    ([1078, 359, 360], torch.Size([1, 8, 8]))
"""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import TensorDataset

from qtrain.data.mnist import ImageSplits, stratified_split

__all__ = ["DIGITS_SIZE", "load_digits_tensors", "split_sizes", "digits_splits"]

DIGITS_SIZE = 1797


def _digits_csv() -> Path:
    """``sklearn/datasets/data/digits.csv.gz``, found without importing scikit-learn.

    Importing ``sklearn`` loads its own OpenMP runtime next to torch's; reading the CSV it ships
    (64 pixel columns, then the label) gives the same arrays as ``sklearn.datasets.load_digits``.
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("'sklearn' is needed for the sklearn Digits dataset but is not installed; "
                          'install it with: pip install "qtrain[data]"')
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "digits.csv.gz"
    if not path.is_file():
        raise ImportError(f"scikit-learn is installed but {path} is missing; reinstall it: pip install "
                          '--force-reinstall "qtrain[data]"')
    return path


def load_digits_tensors() -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 images ``float32 (1797, 1, 8, 8)`` in ``[0, 1]`` and labels ``int64 (1797,)``.

    Raises:
        ImportError: scikit-learn is missing (``pip install "qtrain[data]"``).
    """
    table = np.loadtxt(_digits_csv(), delimiter=",", dtype=np.float64)
    if table.shape != (DIGITS_SIZE, 65):
        raise ValueError(f"digits.csv.gz holds a {table.shape} table; expected ({DIGITS_SIZE}, 65)")
    x = torch.from_numpy((table[:, :64] / 16.0).astype(np.float32)).reshape(-1, 1, 8, 8)
    return x, torch.from_numpy(table[:, 64].astype(np.int64))


def split_sizes(n: int, fractions: Sequence[float]) -> list[int]:
    """Split ``n`` items by ``fractions`` (summing to 1): floors, the remainder to the largest remainders.

    Example:
        >>> split_sizes(1797, (0.6, 0.2, 0.2))
        [1078, 359, 360]
    """
    fr = [float(f) for f in fractions]
    if not fr or any(not math.isfinite(f) or f < 0 for f in fr) or abs(sum(fr) - 1) > 1e-6:
        raise ValueError(f"fractions={list(fractions)} must be non-negative numbers summing to 1, e.g. (0.6, 0.2, 0.2)")
    raw = [n * f for f in fr]
    sizes = [math.floor(r) for r in raw]
    order = sorted(range(len(fr)), key=lambda i: (sizes[i] - raw[i], -i))  # largest remainder, later split first
    for i in order[: n - sum(sizes)]:
        sizes[i] += 1
    return sizes


def digits_splits(seed: int = 0, fractions: Sequence[float] = (0.6, 0.2, 0.2)) -> ImageSplits:
    """Stratified train / val / test splits of Digits (the paper's 6:2:2 by default)."""
    x, y = load_digits_tensors()
    tr, va, te = stratified_split(y, split_sizes(len(y), fractions), seed)
    return ImageSplits(*(TensorDataset(x[i].clone(), y[i].clone()) for i in (tr, va, te)))
