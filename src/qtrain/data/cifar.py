"""CIFAR-10: the python and binary batch formats (restricted unpickler), a writer, a synthetic set.

Formats (https://www.cs.toronto.edu/~kriz/cifar.html):

* python (``cifar-10-batches-py/``: ``data_batch_1`` .. ``data_batch_5``, ``test_batch``,
  ``batches.meta``): each batch is a pickle of a dict with ``b"data"`` ``uint8 (n, 3072)`` (1024
  red, 1024 green, 1024 blue values of a 32x32 image, row-major) and ``b"labels"`` (n ints
  0..9). It is read with ``encoding="bytes"`` by :class:`CifarUnpickler`
  (:mod:`qtrain.data.safe_pickle`): numeric arrays are built only after their dtype and size are
  checked and every other global is refused, so a tampered file can neither run code nor corrupt
  memory; a damaged or hostile file ends in one ``ValueError`` naming it.
* binary (``cifar-10-batches-bin/``: ``data_batch_1.bin`` .. ``test_batch.bin``): records of
  3,073 bytes, one label byte then 3,072 pixels in the same order.

No package ships the real images and nothing is downloaded: extract ``cifar-10-python.tar.gz``
(or the binary tarball) yourself and pass its folder as ``data_dir`` (``--set data_dir=DIR``)
or ``QTRAIN_DATA_DIR``. :func:`write_synthetic_cifar10` writes CIFAR-format batches of generated,
class-dependent images so the whole 19-qubit pipeline can be smoke-tested.

Example:
    >>> import tempfile
    >>> root = write_synthetic_cifar10(tempfile.mkdtemp(), n_train=50, n_test=20, seed=0)
    >>> images, labels = load_cifar10(root, "test").tensors
    >>> images.shape, images.dtype
    (torch.Size([20, 3, 32, 32]), torch.uint8)
"""
from __future__ import annotations

import math
import os
import pickle
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
from torch.utils.data import TensorDataset

from qtrain._fileio import atomic_write, clip
from qtrain.data.mnist import ImageSplits, stratified_split
from qtrain.data.safe_pickle import PickleRefused, SafeUnpickler, safe_load

__all__ = ["CIFAR_MEAN", "CIFAR_STD", "CIFAR_CLASSES", "CIFAR_FILES", "RECORD_BYTES", "CifarUnpickler",
           "read_cifar_python_batch", "read_cifar_binary_batch", "find_cifar10", "load_cifar10",
           "write_cifar_python_batch", "write_cifar_binary_batch", "synthetic_cifar_images",
           "write_synthetic_cifar10", "load_cifar_splits", "RefusedGlobal", "MAX_SYNTHETIC"]

ENV_DATA_DIR = "QTRAIN_DATA_DIR"
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)
CIFAR_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
PIXELS = 3 * 32 * 32
RECORD_BYTES = 1 + PIXELS
#: format -> (folder name of the official tarball, split -> batch file names)
CIFAR_FILES: dict[str, tuple[str, dict[str, list[str]]]] = {
    "python": ("cifar-10-batches-py", {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}),
    "binary": ("cifar-10-batches-bin", {"train": [f"data_batch_{i}.bin" for i in range(1, 6)],
                                        "test": ["test_batch.bin"]}),
}
_WHERE = (f"extract the official cifar-10-python.tar.gz (or cifar-10-binary.tar.gz) and pass its folder with "
          f"--set data_dir=DIR (or set {ENV_DATA_DIR}); nothing is downloaded")
MAX_SYNTHETIC = {"train": 50_000, "test": 10_000}
"""Largest synthetic sets: the sizes of the CIFAR-10 splits they stand in for."""
_SYNTH_CHUNK = 2_000  # images generated at a time: float64 temporaries stay under ~50 MB

RefusedGlobal = PickleRefused
"""A pickle referenced a global outside the allow-list (or described an unsafe array)."""


class CifarUnpickler(SafeUnpickler):
    """:class:`qtrain.data.safe_pickle.SafeUnpickler` for CIFAR-10 batches (``encoding="bytes"``).

    Dicts, lists, bytes, strings and ints need no global at all; numeric arrays are checked
    stand-ins; anything else is refused.
    """

    def __init__(self, fh: IO[bytes], encoding: str = "bytes") -> None:
        super().__init__(fh, what="CIFAR-10 batch", encoding=encoding)


def _check_file(path: Path, kind: str) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR-10 {kind} file {str(path)!r} does not exist; {_WHERE}")


def _check_batch(path: Path, data: Any, labels: Any) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != PIXELS:
        got = (f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray)
               else type(data).__name__)
        raise ValueError(f"CIFAR-10 batch {str(path)!r}: b'data' is a {got}; expected uint8 (n, 3072) "
                         "(1024 R, 1024 G, 1024 B values per 32x32 image)")
    if isinstance(labels, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in labels):
        y = np.array([min(max(v, -2**62), 2**62) for v in labels], dtype=np.int64)  # huge ints must not overflow
    elif isinstance(labels, np.ndarray):
        y = labels
    else:
        raise ValueError(f"CIFAR-10 batch {str(path)!r}: b'labels' is a {type(labels).__name__} that is not a list "
                         f"of ints; expected {len(data)} integer labels 0..9")
    if y.ndim != 1 or len(y) != len(data) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"CIFAR-10 batch {str(path)!r}: b'labels' holds {y.shape} values of {y.dtype} for "
                         f"{len(data)} images; expected {len(data)} integer labels")
    if len(y) and (y.min() < 0 or y.max() > 9):
        raise ValueError(f"CIFAR-10 batch {str(path)!r}: labels range {int(y.min())}..{int(y.max())}, "
                         "expected 0..9 (is this CIFAR-100?)")
    images = torch.from_numpy(data.reshape(-1, 3, 32, 32).copy())
    return images, torch.from_numpy(y.astype(np.int64))


def read_cifar_python_batch(path: str | os.PathLike[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Read one python-format batch through :class:`CifarUnpickler`.

    Returns:
        ``(images uint8 (n, 3, 32, 32), labels int64 (n,))``.

    Raises:
        FileNotFoundError: missing file (says where to put it).
        ValueError: truncated/corrupt pickle, gzip archive passed, wrong keys, shapes or labels.
        RefusedGlobal: the pickle references a forbidden global.
    """
    path = Path(path)
    _check_file(path, "batch")
    with path.open("rb") as fh:
        if fh.read(2) == b"\x1f\x8b":
            raise ValueError(f"CIFAR-10 batch {str(path)!r} is a gzip file; extract the tarball first "
                             "(tar xzf cifar-10-python.tar.gz) and point data_dir at cifar-10-batches-py/")
        fh.seek(0)
        try:
            obj = safe_load(fh, os.fstat(fh.fileno()).st_size, what="CIFAR-10 batch", encoding="bytes")
        except PickleRefused as exc:
            raise PickleRefused(f"CIFAR-10 batch {str(path)!r}: {exc}") from None
        except MemoryError:
            raise  # every size is checked before it is allocated: this would be a bug, not a bad file
        except Exception as exc:  # EOFError, UnpicklingError, struct.error... from a damaged stream
            raise ValueError(f"CIFAR-10 batch {str(path)!r} is truncated or not a pickle "
                             f"({type(exc).__name__}: {clip(str(exc), 120)}); copy the file again") from None
    if not isinstance(obj, dict) or b"data" not in obj or b"labels" not in obj:
        keys = clip(str(sorted(map(repr, obj))), 100) if isinstance(obj, dict) else type(obj).__name__
        raise ValueError(f"CIFAR-10 batch {str(path)!r} holds {keys}; expected a dict with b'data' and b'labels'")
    return _check_batch(path, obj[b"data"], obj[b"labels"])


def read_cifar_binary_batch(path: str | os.PathLike[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Read one binary-format batch (3,073-byte records: label, then 3,072 pixels).

    Returns:
        ``(images uint8 (n, 3, 32, 32), labels int64 (n,))``.
    """
    path = Path(path)
    _check_file(path, "batch")
    size = path.stat().st_size
    if size == 0 or size % RECORD_BYTES:
        raise ValueError(f"CIFAR-10 binary batch {str(path)!r} has {size} bytes, not a positive multiple of "
                         f"the {RECORD_BYTES}-byte record (1 label + 3072 pixels); the file is truncated or not "
                         "CIFAR-10 binary (CIFAR-100 records are 3074 bytes); copy it again")
    rec = np.fromfile(path, dtype=np.uint8, count=size).reshape(-1, RECORD_BYTES)
    return _check_batch(path, np.ascontiguousarray(rec[:, 1:]), rec[:, 0])


def find_cifar10(data_dir: str | os.PathLike[str] | None = None) -> tuple[Path, str]:
    """The folder with CIFAR-10 batches and its format (``"python"`` or ``"binary"``).

    Searched: ``data_dir``, ``data_dir/cifar-10-batches-{py,bin}``, the same under ``$QTRAIN_DATA_DIR``.
    A folder counts when its first training batch exists (missing others are reported on load).
    """
    roots = [Path(p) for p in (data_dir, os.environ.get(ENV_DATA_DIR)) if p]
    cands = [(folder, fmt) for r in roots for fmt, (sub, _) in CIFAR_FILES.items() for folder in (r, r / sub)]
    for folder, fmt in cands:
        if (folder / CIFAR_FILES[fmt][1]["train"][0]).is_file():
            return folder, fmt
    searched = sorted({str(f) for f, _ in cands}) or f"nothing: data_dir is unset and so is {ENV_DATA_DIR}"
    raise FileNotFoundError(f"CIFAR-10 batches (data_batch_1 or data_batch_1.bin) not found; searched {searched}; "
                            f"{_WHERE}. For a smoke run without the real data use dataset=cifar10_synthetic")


def load_cifar10(root: str | os.PathLike[str], split: str = "train", fmt: str | None = None) -> TensorDataset:
    """All batches of ``split`` (``"train"``: 5 batches, ``"test"``: 1) in ``root``, concatenated.

    Returns:
        ``TensorDataset(images uint8 (n, 3, 32, 32), labels int64 (n,))``.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split={split!r} is unknown; use 'train' or 'test'")
    if fmt is None:
        root, fmt = find_cifar10(root)
    if fmt not in CIFAR_FILES:
        raise ValueError(f"fmt={fmt!r} is unknown; use one of {sorted(CIFAR_FILES)}")
    reader = read_cifar_python_batch if fmt == "python" else read_cifar_binary_batch
    parts = [reader(Path(root) / name) for name in CIFAR_FILES[fmt][1][split]]
    return TensorDataset(torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts]))


# ----------------------------------------------------------------------------- writers
def write_cifar_python_batch(path: str | os.PathLike[str], images: torch.Tensor, labels: torch.Tensor,
                             batch_label: str = "batch") -> Path:
    """Write ``uint8 (n, 3, 32, 32)`` images and their labels as a python-format batch (pickle protocol 2)."""
    n = images.shape[0]
    obj = {b"batch_label": batch_label.encode(), b"labels": [int(v) for v in labels],
           b"data": images.reshape(n, PIXELS).numpy().astype(np.uint8),
           b"filenames": [f"img_{i:05d}.png".encode() for i in range(n)]}
    return atomic_write(path, lambda fh: pickle.dump(obj, fh, protocol=2))  # the official files' protocol


def write_cifar_binary_batch(path: str | os.PathLike[str], images: torch.Tensor, labels: torch.Tensor) -> Path:
    """Write ``uint8 (n, 3, 32, 32)`` images and their labels as 3,073-byte binary records."""
    rec = np.concatenate([labels.numpy().astype(np.uint8)[:, None],
                          images.reshape(images.shape[0], PIXELS).numpy().astype(np.uint8)], axis=1)
    return atomic_write(path, lambda fh: fh.write(rec.tobytes()))


def synthetic_cifar_images(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` generated 32x32 RGB images whose class (0..9) sets a grating's orientation, frequency and colour.

    Each image: a sinusoidal grating (orientation ``pi * c / 10``, 2-4 periods per image, random
    phase) tinted with a class colour, a random brightness offset and Gaussian pixel noise
    (std 40/255), so a small CNN learns it, but not in one step. Classes are balanced.

    Returns:
        ``(images uint8 (n, 3, 32, 32), labels int64 (n,))``.

    Raises:
        ValueError: ``n`` is not an integer in ``1 .. 60,000`` (checked before anything is allocated).
    """
    limit = sum(MAX_SYNTHETIC.values())
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= limit:
        raise ValueError(f"n={n!r} synthetic CIFAR images: must be an integer in 1..{limit:,} (the size of CIFAR-10)")
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 10
    labels = labels[torch.randperm(n, generator=gen)]
    yy, xx = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    theta = math.pi * labels.double() / 10
    freq = 2.0 + (labels % 3).double()
    phase = 2 * math.pi * torch.rand(n, generator=gen, dtype=torch.float64)
    bright = 30 * (torch.rand(n, 1, 1, 1, generator=gen, dtype=torch.float64) - 0.5)
    hue = torch.linspace(0, 2 * math.pi, 11, dtype=torch.float64)[:10]
    colour = torch.stack([0.5 + 0.5 * torch.cos(hue + k * 2 * math.pi / 3) for k in range(3)], 1)  # (10, 3)
    out = torch.empty(n, 3, 32, 32, dtype=torch.uint8)
    # In chunks of images: the float64 temporaries stay small, and the noise stream is the same
    # as one randn(n, 3, 32, 32) call (torch fills normals in blocks of 16 values; an image has 3,072).
    for s in range(0, n, _SYNTH_CHUNK):
        c = slice(s, s + _SYNTH_CHUNK)
        arg = (xx * torch.cos(theta[c])[:, None, None] + yy * torch.sin(theta[c])[:, None, None]) \
            * freq[c][:, None, None] / 32
        wave = torch.sin(2 * math.pi * arg + phase[c][:, None, None])  # (chunk, 32, 32)
        img = 128 + 90 * wave[:, None] * colour[labels[c]][:, :, None, None] + bright[c]
        img = img + 40 * torch.randn(img.shape[0], 3, 32, 32, generator=gen, dtype=torch.float64)
        out[c] = img.round().clamp(0, 255).to(torch.uint8)
    return out, labels.to(torch.int64)


def write_synthetic_cifar10(root: str | os.PathLike[str], n_train: int = 5000, n_test: int = 1000, seed: int = 0,
                            fmt: str = "python") -> Path:
    """Write generated CIFAR-format batches (5 training batches, 1 test batch) under ``root``.

    Returns:
        The batch folder (``root/cifar-10-batches-py`` or ``root/cifar-10-batches-bin``).
    """
    if fmt not in CIFAR_FILES:
        raise ValueError(f"fmt={fmt!r} is unknown; use one of {sorted(CIFAR_FILES)}")
    counts = {"train": n_train, "test": n_test}
    bad = [f"n_{k}={v!r}" for k, v in counts.items() if not isinstance(v, int) or isinstance(v, bool)
           or not (5 if k == "train" else 1) <= v <= MAX_SYNTHETIC[k]]
    if bad:
        raise ValueError(f"{', '.join(bad)}: a synthetic CIFAR-10 set needs 5 <= n_train <= {MAX_SYNTHETIC['train']:,} "
                         f"(one image per batch at least; at most the real training set) and 1 <= n_test <= "
                         f"{MAX_SYNTHETIC['test']:,}; lower n_train (+ n_val) or n_test")
    sub, names = CIFAR_FILES[fmt]
    folder = Path(root) / sub
    folder.mkdir(parents=True, exist_ok=True)
    images, labels = synthetic_cifar_images(n_train + n_test, seed)
    chunks = [(names["train"][i], idx) for i, idx in enumerate(torch.arange(n_train).tensor_split(5))]
    chunks.append((names["test"][0], torch.arange(n_train, n_train + n_test)))
    for i, (name, idx) in enumerate(chunks):
        if fmt == "python":
            write_cifar_python_batch(folder / name, images[idx], labels[idx], f"synthetic batch {i + 1}")
        else:
            write_cifar_binary_batch(folder / name, images[idx], labels[idx])
    if fmt == "python":
        meta = {b"label_names": [c.encode() for c in CIFAR_CLASSES], b"num_vis": PIXELS}
        atomic_write(folder / "batches.meta", lambda fh: pickle.dump(meta, fh, protocol=2))
    return folder


def load_cifar_splits(root: str | os.PathLike[str] | None, n_train: int, n_val: int, n_test: int,
                      seed: int) -> ImageSplits:
    """Stratified, per-channel normalised splits: train/val from the training batches, test from ``test_batch``.

    Returns:
        :class:`ImageSplits` of ``float32 (n, 3, 32, 32)`` images and ``int64`` labels.
    """
    folder, fmt = find_cifar10(root)
    train, test = load_cifar10(folder, "train", fmt), load_cifar10(folder, "test", fmt)
    for name, ds, need in (("training", train, n_train + n_val), ("test", test, n_test)):
        if need > len(ds):
            raise ValueError(f"the CIFAR-10 {name} batches in {str(folder)!r} hold {len(ds)} images but {need} "
                             "were asked for; lower n_train + n_val or n_test")
    tr, va = stratified_split(train.tensors[1], [n_train, n_val], seed)
    (te,) = stratified_split(test.tensors[1], [n_test], seed)
    mean = torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR_STD).view(1, 3, 1, 1)

    def subset(ds: TensorDataset, idx: torch.Tensor) -> TensorDataset:
        x = (ds.tensors[0][idx].to(torch.float32) / 255.0 - mean) / std
        return TensorDataset(x, ds.tensors[1][idx].clone())

    return ImageSplits(subset(train, tr), subset(train, va), subset(test, te))
