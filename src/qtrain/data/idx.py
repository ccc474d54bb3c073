"""A reader for the IDX files of MNIST, Fashion-MNIST, Kuzushiji-MNIST (gzip or raw).

Format (big-endian): images ``magic=2051, n, rows, cols`` then ``n*rows*cols`` uint8; labels
``magic=2049, n`` then ``n`` uint8.
"""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import TensorDataset

__all__ = ["IDX_IMAGES_MAGIC", "IDX_LABELS_MAGIC", "IDX_FILES", "read_idx_images", "read_idx_labels",
           "load_idx_split", "find_idx_file"]

IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049
IDX_FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _read_bytes(path: str | Path) -> bytes:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IDX file {str(path)!r} does not exist")
    with path.open("rb") as fh:
        head = fh.read(2)
    opener = gzip.open if head == b"\x1f\x8b" else open
    try:
        with opener(path, "rb") as fh:
            return fh.read()
    except (EOFError, gzip.BadGzipFile, OSError) as exc:
        raise ValueError(f"IDX file {str(path)!r} is a truncated or corrupt gzip file ({exc}); "
                         "download it again") from exc


def _parse(path: str | Path, magic: int, n_dims: int) -> tuple[tuple[int, ...], np.ndarray]:
    data = _read_bytes(path)
    kind = "images" if magic == IDX_IMAGES_MAGIC else "labels"
    header = 4 * (1 + n_dims)
    if len(data) >= 4:
        found = struct.unpack(">I", data[:4])[0]
        if found != magic:
            other = {IDX_IMAGES_MAGIC: "an images file", IDX_LABELS_MAGIC: "a labels file"}.get(found, "not IDX")
            raise ValueError(f"IDX {kind} file {str(path)!r} has magic number {found} ({other}) but "
                             f"{magic} is expected for {kind}; check which file you passed")
    if len(data) < header:
        raise ValueError(f"IDX {kind} file {str(path)!r} has {len(data)} bytes, fewer than its "
                         f"{header}-byte header; the file is truncated, download it again")
    dims = struct.unpack(f">{n_dims}I", data[4:header])
    expected = int(np.prod(dims))
    body = len(data) - header
    if body != expected:
        raise ValueError(f"IDX {kind} file {str(path)!r} declares shape {tuple(dims)} = {expected} "
                         f"bytes of data but holds {body}; the file is truncated or corrupt, "
                         "download it again")
    return tuple(dims), np.frombuffer(data, dtype=np.uint8, offset=header)


def read_idx_images(path: str | Path) -> Tensor:
    """Read an IDX image file.

    Args:
        path: ``*-images-idx3-ubyte`` file, gzip-compressed or raw.

    Returns:
        ``uint8`` tensor ``(n, rows, cols)``.

    Raises:
        ValueError: wrong magic number, truncated header or data.

    Example:
        >>> read_idx_images("t10k-images-idx3-ubyte.gz").shape  # doctest: +SKIP
        torch.Size([10000, 28, 28])
    """
    dims, arr = _parse(path, IDX_IMAGES_MAGIC, 3)
    return torch.from_numpy(arr.reshape(dims).copy())


def read_idx_labels(path: str | Path) -> Tensor:
    """Read an IDX label file into an ``int64`` tensor ``(n,)`` (see :func:`read_idx_images`)."""
    dims, arr = _parse(path, IDX_LABELS_MAGIC, 1)
    return torch.from_numpy(arr.astype(np.int64).reshape(dims))


def find_idx_file(root: str | Path, stem: str) -> Path:
    """``root/stem.gz`` or ``root/stem`` (also the ``stem.idx3-ubyte`` spelling), whichever exists."""
    root = Path(root)
    candidates = [root / f"{stem}.gz", root / stem, root / stem.replace("-idx", ".idx"),
                  root / f"{stem.replace('-idx', '.idx')}.gz"]
    for cand in candidates:
        if cand.is_file():
            return cand
    raise FileNotFoundError(f"no IDX file {stem!r}[.gz] in {str(root)!r}; expected one of "
                            f"{[c.name for c in candidates]} (the standard MNIST/Fashion-MNIST names)")


def load_idx_split(root: str | Path, split: str = "train") -> TensorDataset:
    """Load ``split`` (``"train"`` or ``"test"``) of an MNIST-format folder as raw tensors.

    Returns:
        ``TensorDataset(images uint8 (n, 28, 28), labels int64 (n,))``.

    Example:
        >>> ds = load_idx_split("/usr/share/datasets/fashion-mnist", "test")  # doctest: +SKIP
        >>> len(ds)  # doctest: +SKIP
        10000
    """
    if split not in IDX_FILES:
        raise ValueError(f"split={split!r} is unknown; use one of {sorted(IDX_FILES)}")
    img_stem, lab_stem = IDX_FILES[split]
    images = read_idx_images(find_idx_file(root, img_stem))
    labels = read_idx_labels(find_idx_file(root, lab_stem))
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"IDX split {split!r} in {str(root)!r} has {images.shape[0]} images but "
                         f"{labels.shape[0]} labels; the two files do not belong together")
    return TensorDataset(images, labels)
