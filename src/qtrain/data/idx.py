"""A reader for the IDX files of MNIST, Fashion-MNIST, Kuzushiji-MNIST (gzip or raw).

Format (big-endian): images ``magic=2051, n, rows, cols`` then ``n*rows*cols`` uint8; labels
``magic=2049, n`` then ``n`` uint8.

The header is read and checked first, and the declared size (an exact Python integer, at most
:data:`MAX_IDX_BYTES`) is compared with the file before the data are read; a gzip file is
decompressed incrementally and never beyond the declared size, so a small hostile file cannot
make the reader allocate gigabytes.
"""
from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path
from typing import IO

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import TensorDataset

__all__ = ["IDX_IMAGES_MAGIC", "IDX_LABELS_MAGIC", "IDX_FILES", "MAX_IDX_BYTES", "read_idx_images",
           "read_idx_labels", "load_idx_split", "find_idx_file"]

IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049
IDX_FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
MAX_IDX_BYTES = 1 << 30
"""Largest data section read (1 GiB; EMNIST ByClass, the largest IDX set in use, holds 0.55 GB)."""
_CHUNK = 1 << 22


def _read_upto(fh: IO[bytes], n: int) -> bytearray:
    """At most ``n`` bytes of ``fh``, read in chunks (memory grows with what the file really holds)."""
    buf = bytearray()
    while len(buf) < n:
        chunk = fh.read(min(_CHUNK, n - len(buf)))
        if not chunk:
            break
        buf += chunk
    return buf


def _kind(magic: int) -> str:
    return "images" if magic == IDX_IMAGES_MAGIC else "labels"


def _check_header(path: Path, head: bytes, magic: int, n_dims: int) -> tuple[int, ...]:
    kind, header = _kind(magic), 4 * (1 + n_dims)
    if len(head) >= 4:
        found = struct.unpack(">I", head[:4])[0]
        if found != magic:
            other = {IDX_IMAGES_MAGIC: "an images file", IDX_LABELS_MAGIC: "a labels file"}.get(found, "not IDX")
            raise ValueError(f"IDX {kind} file {str(path)!r} has magic number {found} ({other}) but "
                             f"{magic} is expected for {kind}; check which file you passed")
    if len(head) < header:
        raise ValueError(f"IDX {kind} file {str(path)!r} has {len(head)} bytes, fewer than its "
                         f"{header}-byte header; the file is truncated, download it again")
    dims = struct.unpack(f">{n_dims}I", head[4:header])
    expected = math.prod(dims)  # a Python int: no int64 wrap-around
    if min(dims) < 1 or expected > MAX_IDX_BYTES:
        raise ValueError(f"IDX {kind} file {str(path)!r} declares shape {tuple(dims)} = {expected:,} bytes; every "
                         f"dimension must be >= 1 and the data at most {MAX_IDX_BYTES:,} bytes; the header is "
                         "corrupt, download the file again")
    return tuple(dims)


def _mismatch(path: Path, magic: int, dims: tuple[int, ...], body: int) -> ValueError:
    return ValueError(f"IDX {_kind(magic)} file {str(path)!r} declares shape {dims} = {math.prod(dims)} bytes of "
                      f"data but holds {body}; the file is truncated or corrupt, download it again")


def _parse(path: str | Path, magic: int, n_dims: int) -> tuple[tuple[int, ...], np.ndarray]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IDX file {str(path)!r} does not exist")
    header = 4 * (1 + n_dims)
    with path.open("rb") as raw:
        gz = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        size = os.fstat(raw.fileno()).st_size
        try:
            fh: IO[bytes] = gzip.GzipFile(fileobj=raw, mode="rb") if gz else raw  # type: ignore[assignment]
            dims = _check_header(path, bytes(_read_upto(fh, header)), magic, n_dims)
            expected = math.prod(dims)
            if not gz and size - header != expected:  # known before reading: no allocation for a lie
                raise _mismatch(path, magic, dims, size - header)
            body = _read_upto(fh, expected + 1)  # one byte more: data beyond the declared size is an error too
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise ValueError(f"IDX file {str(path)!r} is a truncated or corrupt gzip file ({exc}); "
                             "download it again") from None
    if len(body) != expected:
        raise _mismatch(path, magic, dims, len(body))
    return dims, np.frombuffer(body, dtype=np.uint8)


def read_idx_images(path: str | Path) -> Tensor:
    """Read an IDX image file.

    Args:
        path: ``*-images-idx3-ubyte`` file, gzip-compressed or raw.

    Returns:
        ``uint8`` tensor ``(n, rows, cols)``.

    Raises:
        ValueError: wrong magic number, truncated or corrupt header or data, more than
            :data:`MAX_IDX_BYTES` declared.

    Example:
        >>> read_idx_images("t10k-images-idx3-ubyte.gz").shape  # doctest: +SKIP
        torch.Size([10000, 28, 28])
    """
    dims, arr = _parse(path, IDX_IMAGES_MAGIC, 3)
    return torch.from_numpy(arr.reshape(dims))  # the buffer is this reader's own bytearray: no copy


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


def load_idx_split(root: str | Path, split: str = "train", image_shape: tuple[int, int] | None = (28, 28),
                   n_classes: int | None = 10) -> TensorDataset:
    """Load ``split`` (``"train"`` or ``"test"``) of an MNIST-format folder as raw tensors.

    Args:
        root: the folder with the four IDX files.
        split: ``"train"`` or ``"test"``.
        image_shape: required ``(rows, cols)`` of the images (``None``: any); the models take 28x28.
        n_classes: labels must lie in ``0..n_classes-1`` (``None``: any).

    Returns:
        ``TensorDataset(images uint8 (n, rows, cols), labels int64 (n,))``.

    Raises:
        ValueError: damaged files, image/label counts that differ, images of another size, labels
            out of range (each names the file).

    Example:
        >>> ds = load_idx_split("/usr/share/datasets/fashion-mnist", "test")  # doctest: +SKIP
        >>> len(ds)  # doctest: +SKIP
        10000
    """
    if split not in IDX_FILES:
        raise ValueError(f"split={split!r} is unknown; use one of {sorted(IDX_FILES)}")
    img_stem, lab_stem = IDX_FILES[split]
    img_path, lab_path = find_idx_file(root, img_stem), find_idx_file(root, lab_stem)
    images = read_idx_images(img_path)
    if image_shape is not None and tuple(images.shape[1:]) != tuple(image_shape):
        raise ValueError(f"IDX images file {str(img_path)!r} holds {tuple(images.shape[1:])} images; the models "
                         f"take {tuple(image_shape)} (MNIST format); pass a folder of 28x28 MNIST-format files")
    labels = read_idx_labels(lab_path)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"IDX split {split!r} in {str(root)!r} has {images.shape[0]} images but "
                         f"{labels.shape[0]} labels; the two files do not belong together")
    if n_classes is not None and int(labels.max()) >= n_classes:
        raise ValueError(f"IDX labels file {str(lab_path)!r} holds labels up to {int(labels.max())}; the models have "
                         f"{n_classes} classes (0..{n_classes - 1}); the file is corrupt or not MNIST-format")
    return TensorDataset(images, labels)
