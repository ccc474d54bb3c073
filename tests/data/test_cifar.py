"""CIFAR-10 python/binary batches (restricted unpickler, exact errors), the synthetic set, Fashion-MNIST lookup."""
from __future__ import annotations

import gzip
import os
import pickle
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from qtrain import recipes
from qtrain.data.cifar import (CIFAR_FILES, RefusedGlobal, find_cifar10, load_cifar10, load_cifar_splits,
                               read_cifar_binary_batch, read_cifar_python_batch, synthetic_cifar_images,
                               write_cifar_binary_batch, write_cifar_python_batch, write_synthetic_cifar10)
from qtrain.data.fashion import find_fashion_mnist, find_mnist, load_digits_splits, load_mnist_format_splits

torch.set_num_threads(1)


def images(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8), torch.arange(n) % 10


@pytest.mark.parametrize("fmt", ["python", "binary"])
def test_batch_round_trip(tmp_path: Path, fmt: str) -> None:
    x, y = images(7)
    write = write_cifar_python_batch if fmt == "python" else write_cifar_binary_batch
    read = read_cifar_python_batch if fmt == "python" else read_cifar_binary_batch
    path = write(tmp_path / "b", x, y)
    got_x, got_y = read(path)
    assert torch.equal(got_x, x) and torch.equal(got_y, y)
    assert path.stat().st_size == (7 * 3073 if fmt == "binary" else path.stat().st_size)


def test_python_batch_layout_is_rgb_planes_row_major(tmp_path: Path) -> None:
    data = np.zeros((1, 3072), dtype=np.uint8)
    data[0, 1024 + 32 * 2 + 5] = 200  # green plane, row 2, column 5
    with (tmp_path / "b").open("wb") as fh:
        pickle.dump({b"data": data, b"labels": [3]}, fh, protocol=2)
    x, y = read_cifar_python_batch(tmp_path / "b")
    assert int(x[0, 1, 2, 5]) == 200 and int(x.sum()) == 200 and y.tolist() == [3]


def test_synthetic_folder_loads_like_the_real_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_synthetic_cifar10(tmp_path, n_train=53, n_test=11, seed=3)
    assert folder.name == "cifar-10-batches-py"
    assert sorted(p.name for p in folder.iterdir()) == sorted([*CIFAR_FILES["python"][1]["train"], "test_batch",
                                                               "batches.meta"])
    train, test = load_cifar10(tmp_path, "train"), load_cifar10(tmp_path, "test")
    assert (len(train), len(test)) == (53, 11)
    assert torch.bincount(torch.cat([train.tensors[1], test.tensors[1]])).tolist() == [7] * 4 + [6] * 6
    monkeypatch.setenv("QTRAIN_DATA_DIR", str(tmp_path))
    assert find_cifar10(None) == (folder, "python")
    splits = load_cifar_splits(None, 40, 5, 10, seed=0)
    assert splits.train.tensors[0].shape == (40, 3, 32, 32) and len(splits.val) == 5 and len(splits.test) == 10
    a, _ = synthetic_cifar_images(20, seed=3)
    assert torch.equal(a, synthetic_cifar_images(20, seed=3)[0])
    assert not torch.equal(a, synthetic_cifar_images(20, seed=4)[0])


def test_synthetic_classes_are_learnable_by_a_linear_probe() -> None:
    x, y = synthetic_cifar_images(2000, seed=0)
    feats = torch.fft.rfft2(x.double() / 255).abs().reshape(2000, -1)[:, ::7]  # orientation/frequency/colour
    feats = (feats - feats[:1500].mean(0)) / (feats[:1500].std(0) + 1e-9)
    w = torch.linalg.lstsq(feats[:1500], torch.nn.functional.one_hot(y[:1500], 10).double(), rcond=None).solution
    acc = float(((feats[1500:] @ w).argmax(1) == y[1500:]).double().mean())
    assert acc > 0.9, acc


# ----------------------------------------------------------------------------- errors
def test_missing_file_and_folder_say_where_to_put_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(FileNotFoundError, match=r"CIFAR-10 batch file '.*/data_batch_1' does not exist; extract the "
                                                r"official cifar-10-python.tar.gz .* --set data_dir=DIR \(or set "
                                                r"QTRAIN_DATA_DIR\); nothing is downloaded"):
        read_cifar_python_batch(tmp_path / "data_batch_1")
    monkeypatch.delenv("QTRAIN_DATA_DIR", raising=False)
    with pytest.raises(FileNotFoundError, match=r"searched nothing: data_dir is unset and so is QTRAIN_DATA_DIR; "
                                                r".*use dataset=cifar10_synthetic"):
        find_cifar10(None)
    folder = write_synthetic_cifar10(tmp_path, 10, 2)
    (folder / "data_batch_4").unlink()
    with pytest.raises(FileNotFoundError, match=r"data_batch_4' does not exist"):
        load_cifar10(tmp_path, "train")


def test_truncated_gzip_and_wrong_content_errors(tmp_path: Path) -> None:
    x, y = images(5)
    good = write_cifar_python_batch(tmp_path / "good", x, y).read_bytes()
    (tmp_path / "cut").write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match=r"^CIFAR-10 batch '.*cut' is truncated or not a pickle \(.*\); copy the "
                                         r"file again$"):
        read_cifar_python_batch(tmp_path / "cut")
    (tmp_path / "gz").write_bytes(gzip.compress(good))
    with pytest.raises(ValueError, match=r"is a gzip file; extract the tarball first \(tar xzf cifar-10-python"):
        read_cifar_python_batch(tmp_path / "gz")
    cases = {
        "list": ([1, 2], r"holds list; expected a dict with b'data' and b'labels'$"),
        "shape": ({b"data": np.zeros((2, 3000), np.uint8), b"labels": [0, 1]},
                  r"b'data' is a uint8 array of shape \(2, 3000\); expected uint8 \(n, 3072\)"),
        "count": ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]},
                  r"b'labels' holds \(1,\) values of int64 for 2 images; expected 2 integer labels$"),
        "range": ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 57]},
                  r"labels range 0\.\.57, expected 0\.\.9 \(is this CIFAR-100\?\)$"),
    }
    for name, (obj, msg) in cases.items():
        (tmp_path / name).write_bytes(pickle.dumps(obj, protocol=2))
        with pytest.raises(ValueError, match=msg):
            read_cifar_python_batch(tmp_path / name)


def test_binary_wrong_size_is_reported(tmp_path: Path) -> None:
    x, y = images(3)
    path = write_cifar_binary_batch(tmp_path / "b.bin", x, y)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match=r"^CIFAR-10 binary batch '.*b\.bin' has 9209 bytes, not a positive multiple "
                                         r"of the 3073-byte record \(1 label \+ 3072 pixels\); the file is truncated"):
        read_cifar_binary_batch(path)


class _Exploit:
    def __reduce__(self) -> tuple:
        return (os.system, ("echo pwned > /dev/null",))


def test_restricted_unpickler_refuses_arbitrary_globals(tmp_path: Path) -> None:
    (tmp_path / "evil").write_bytes(pickle.dumps({b"data": _Exploit(), b"labels": []}, protocol=2))
    with pytest.raises(RefusedGlobal, match=r"^CIFAR-10 batch .*evil.: refused global (posix|os)\.system: a CIFAR-10 "
                                            r"batch may only reference"):
        read_cifar_python_batch(tmp_path / "evil")


# ----------------------------------------------------------------------------- Fashion-MNIST, MNIST, digits
def _write_idx(folder: Path, n_train: int, n_test: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    g = np.random.default_rng(0)
    for stem, n in (("train", n_train), ("t10k", n_test)):
        img = g.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        lab = (np.arange(n) % 10).astype(np.uint8)
        (folder / f"{stem}-images-idx3-ubyte.gz").write_bytes(
            gzip.compress(struct.pack(">IIII", 2051, n, 28, 28) + img.tobytes()))
        (folder / f"{stem}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, n) + lab.tobytes())


def test_fashion_and_mnist_lookup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_idx(tmp_path / "fashion-mnist", 30, 20)
    assert find_fashion_mnist(tmp_path) == tmp_path / "fashion-mnist"
    monkeypatch.setenv("QTRAIN_DATA_DIR", str(tmp_path))
    assert find_fashion_mnist() == tmp_path / "fashion-mnist"
    s = load_mnist_format_splits(find_fashion_mnist(), 20, 5, 10, seed=0, mean=0.286, std=0.353)
    assert (len(s.train), len(s.val), len(s.test)) == (20, 5, 10) and s.train.tensors[0].shape[1:] == (1, 28, 28)
    with pytest.raises(ValueError, match=r"the test files in .* hold 20 images but 30 were asked for; lower n_test"):
        load_mnist_format_splits(find_fashion_mnist(), 20, 0, 30, seed=0, mean=0.0, std=1.0)
    with pytest.raises(FileNotFoundError, match=r"full MNIST IDX files .* not found; searched .*No package ships "
                                                r"them: .* --set data_dir=DIR \(or set QTRAIN_DATA_DIR\)"):
        find_mnist(tmp_path / "nowhere")


@pytest.mark.skipif(not Path("/usr/share/datasets/fashion-mnist").is_dir(),
                    reason="Debian package dataset-fashion-mnist not installed (make fashion-data)")
def test_debian_fashion_mnist_is_found_and_complete() -> None:
    root = find_fashion_mnist()
    s = load_mnist_format_splits(root, 600, 0, 10000, seed=0, mean=0.286, std=0.353)
    assert len(s.test) == 10000 and torch.bincount(s.test.tensors[1]).tolist() == [1000] * 10


def test_digits_need_the_data_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"'sklearn\.datasets' is needed for the sklearn digits dataset .* "
                                          r'pip install "qtrain\[data\]"'):
        load_digits_splits(100, 0, 50, seed=0)


def test_recipe_trains_on_cifar_format_synthetic_data(tmp_path: Path) -> None:
    res = recipes.run("qt_image", "cifar_classical", ["dataset=cifar10_synthetic", "n_train=60", "n_test=20",
                                                      "batch_size=20", "max_steps=2", "plots=false",
                                                      "num_threads=1", "n_eval_train=20"], out=tmp_path, quiet=True)
    m = res.summary["models"]["classical"]
    assert m["params"]["trainable"] == 285226 and m["steps"] == 2 and res.summary["family"] == "cifar10"
    assert 0.0 <= m["test_acc"] <= 1.0 and m["gap"] == pytest.approx(m["train_acc"] - m["test_acc"])


def test_synthetic_set_is_bounded_before_allocation(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^n_train=1000000000: a synthetic CIFAR-10 set needs 5 <= n_train "
                                         r"<= 50,000 "):
        write_synthetic_cifar10(tmp_path, 10**9, 10)
    with pytest.raises(ValueError, match=r"^n=60001 synthetic CIFAR images: must be an integer in 1\.\.60,000"):
        synthetic_cifar_images(60_001, 0)
    assert list(tmp_path.iterdir()) == []
    # generated in chunks of 2,000 images, the set equals the one-batch generation it replaced: these sums
    # were recorded from the one-batch code (commit a5909c2) for n=2,100 (two chunks), seed 3
    x, _ = synthetic_cifar_images(2_100, 3)
    assert int(x.sum(dtype=torch.int64)) == 822989091
    assert int((x.to(torch.int64) * torch.arange(3072).view(1, 3, 32, 32)).sum()) == 1263678209056


def test_cifar_synthetic_run_with_a_billion_images_stops_before_allocating(tmp_path: Path) -> None:
    # under a 2 GiB address-space limit: the run used to grow to 14.8 GB before failing
    import subprocess

    code = ("import resource, sys\nresource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
            "from qtrain.cli import main\n"
            "sys.exit(main(['run', 'qt_image', '--preset', 'cifar_synthetic_smoke', '--set', 'n_train=1000000000', "
            f"'--out', {str(tmp_path)!r}, '--quiet']))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                         env={"PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"), "PATH": "/usr/bin:/bin",
                              "OMP_NUM_THREADS": "1", "HOME": str(tmp_path)})
    assert res.returncode == 2, res.stderr[-2000:]
    assert res.stderr.startswith("qtrain run: error: n_train=1000000000: a synthetic CIFAR-10 set needs 5 <= n_train "
                                 "<= 50,000") and res.stderr.count("\n") == 1


def test_recipe_checks_dataset_sizes() -> None:
    from qtrain.config import ConfigError

    with pytest.raises(ConfigError) as exc:
        recipes.load_config("qt_image", "fashion_qt16", ["n_test=20000"])
    assert exc.value.problems == ["dataset='fashion' has 60000 training and 10000 test images; got n_train + n_val = "
                                  "60000, n_test = 20000; lower them"]
    with pytest.raises(ConfigError, match=r"n_train \+ n_val \+ n_test = 2000 > 1797 images in sklearn digits"):
        recipes.load_config("qt_image", "mnist_qt16", ["dataset=digits", "n_train=1500", "n_test=500"])
