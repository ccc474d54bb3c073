"""RadioML: restricted unpickler, format validation, standard splits, and the RML2016.10a-like generator."""
from __future__ import annotations

import os
import pickle
import tarfile

import numpy as np
import pytest

from qtrain.data import rml_generator as gen
from qtrain.data.radioml import (ENV_DATA_DIR, load_radioml, stack_rml_dict, standard_split, validate_rml_dict,
                                 write_rml_pickle)
from qtrain.data.rml_generator import ALL_MODS, generate_key, generate_rml2016a_like, load_npz, save_npz

SORTED_MODS = ["8PSK", "AM-DSB", "AM-SSB", "BPSK", "CPFSK", "GFSK", "PAM4", "QAM16", "QAM64", "QPSK", "WBFM"]


def _tiny_dict(n: int = 4, snrs: tuple[int, ...] = (4, -2)) -> dict[tuple[str, int], np.ndarray]:
    # every value encodes its key: 100 * mod index + snr + example / 10
    rng = np.random.default_rng(0)
    d = {}
    for m in rng.permutation(SORTED_MODS):
        for s in snrs:
            base = 100 * SORTED_MODS.index(m) + s + np.arange(n)[:, None, None] / 10
            d[(str(m), s)] = (base + np.zeros((n, 2, 128))).astype(np.float32)
    return d


def _py2_protocol0(key: tuple[str, int], arr: np.ndarray) -> bytes:
    """What Python 2 cPickle.dump(d) (protocol 0) writes for a one-key RadioML dict."""
    data = repr(arr.tobytes())[1:].encode("ascii")  # b'...' -> '...', a Python-2 str literal
    shape = b"".join(b"I%d\n" % s for s in arr.shape)
    return (b"(d(S'" + key[0].encode() + b"'\nI%d\nt" % key[1]
            + b"cnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\n(I0\ntS'b'\ntR"
            + b"(I1\n(" + shape + b"tcnumpy\ndtype\n(S'f4'\nI0\nI1\ntR(I3\nS'<'\nNNNI-1\nI-1\nI0\ntbI00\nS"
            + data + b"\ntbs.")


def test_loads_real_format_protocol2_pickle(tmp_path, monkeypatch):
    d = _tiny_dict()
    path = write_rml_pickle(d, tmp_path / "RML2016.10a_dict.pkl", protocol=2)
    raw = path.read_bytes()
    assert raw[:2] == b"\x80\x02" and b"cnumpy.core.multiarray\n_reconstruct\n" in raw and b"numpy._core" not in raw
    data = load_radioml(path)
    assert data.X.shape == (88, 2, 128) and data.X.dtype == np.float32
    assert data.mods == SORTED_MODS and data.snrs == [-2, 4] and data.block_sizes == [4] * 22
    assert data.y_mod.dtype == np.int64 and data.y_snr.dtype == np.int64
    assert data.y_mod.tolist() == [i for i in range(11) for _ in range(8)]
    assert data.y_snr.tolist() == ([-2] * 4 + [4] * 4) * 11
    expected = (100 * data.y_mod + data.y_snr + np.tile(np.arange(4), 22) / 10).astype(np.float32)
    np.testing.assert_array_equal(data.X[:, 1, 127], expected)
    # found through $QTRAIN_DATA_DIR, and inside the DeepSig archive
    monkeypatch.setenv(ENV_DATA_DIR, str(tmp_path))
    np.testing.assert_array_equal(load_radioml().X, data.X)
    with tarfile.open(tmp_path / "RML2016.10a.tar.bz2", "w:bz2") as tar:
        tar.add(path, arcname="RML2016.10a_dict.pkl")
    path.unlink()
    np.testing.assert_array_equal(load_radioml().X, data.X)


def test_loads_python2_protocol0_pickle(tmp_path):
    arr = np.arange(4 * 2 * 128, dtype=np.float32).reshape(4, 2, 128) / 7
    path = tmp_path / "py2.pkl"
    path.write_bytes(_py2_protocol0(("QAM16", -6), arr))
    data = load_radioml(path)
    assert data.mods == ["QAM16"] and data.y_snr.tolist() == [-6] * 4
    np.testing.assert_array_equal(data.X, arr)


class _Evil:
    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return self.func, (self.arg,)


@pytest.mark.parametrize("which", ["system", "eval"])
def test_refuses_other_callables(tmp_path, which):
    marker = tmp_path / "executed"
    if which == "system":
        evil, name = _Evil(os.system, f"touch {marker}"), r"refused global (posix|nt|os)\.system"
    else:
        evil, name = _Evil(eval, f"open({str(marker)!r}, 'w')"), r"refused global (builtins|__builtin__)\.eval"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({("BPSK", 0): evil}, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match=name):
        load_radioml(path)
    assert not marker.exists()


def test_validation_errors_name_the_problem():
    good = np.zeros((3, 2, 128), np.float32)
    with pytest.raises(ValueError, match=r"array of \('BPSK', 0\) has shape \(3, 2, 64\), expected \(n >= 1, 2, 128\)"):
        validate_rml_dict({("BPSK", 0): np.zeros((3, 2, 64), np.float32)})
    with pytest.raises(ValueError, match=r"array of \('BPSK', 0\) has dtype float64, expected float32"):
        validate_rml_dict({("BPSK", 0): good.astype(np.float64)})
    with pytest.raises(ValueError, match=r"key \('BPSK', '0'\) is not a \(str modulation, int snr\) tuple"):
        validate_rml_dict({("BPSK", "0"): good})
    with pytest.raises(ValueError, match=r"key \('QPSK', 2\) is missing"):
        validate_rml_dict({("BPSK", 0): good, ("BPSK", 2): good, ("QPSK", 0): good})
    with pytest.raises(ValueError, match=r"expected a non-empty dict"):
        stack_rml_dict([good])


def test_bad_file_content_and_missing_file(tmp_path, monkeypatch):
    path = tmp_path / "bad.pkl"
    path.write_bytes(pickle.dumps({("BPSK", 0): np.zeros((2, 128, 2), np.float32)}, protocol=2))
    with pytest.raises(ValueError, match=r"bad\.pkl is not in RadioML format: array of \('BPSK', 0\) has shape"):
        load_radioml(path)
    monkeypatch.delenv(ENV_DATA_DIR, raising=False)
    with pytest.raises(FileNotFoundError, match=r"nothing: no path, data_dir or \$QTRAIN_DATA_DIR.*never downloads"):
        load_radioml()
    with pytest.raises(FileNotFoundError, match=r"RML2016\.10a_dict\.pkl.*set QTRAIN_DATA_DIR=<folder>"):
        load_radioml(data_dir=tmp_path)
    with pytest.raises(ValueError, match=r"variant='2018'.*'2016.04c', '2016.10a', '2016.10b'"):
        load_radioml(variant="2018")


def _reference_amr(n_blocks: int):
    # AMR-Benchmark dataset2016.py, verbatim logic (global np.random state)
    np.random.seed(2016)
    train_idx, val_idx = [], []
    for a in range(n_blocks):
        train_idx += list(np.random.choice(range(a * 1000, (a + 1) * 1000), size=600, replace=False))
        val_idx += list(np.random.choice(list(set(range(a * 1000, (a + 1) * 1000)) - set(train_idx)), size=200,
                                         replace=False))
    test_idx = list(set(range(n_blocks * 1000)) - set(train_idx) - set(val_idx))
    for idx in (train_idx, val_idx, test_idx):
        np.random.shuffle(idx)
    return train_idx, val_idx, test_idx


def test_amr_split_600_200_200_and_reference():
    data = stack_rml_dict({(m, s): np.zeros((1000, 2, 128), np.float32) for m in SORTED_MODS for s in (0, 10)})
    split = standard_split(data.block_sizes)
    key = data.y_mod * 100 + data.y_snr
    for part, size in ((split.train, 600), (split.val, 200), (split.test, 200)):
        assert np.bincount(np.unique(key[part], return_inverse=True)[1]).tolist() == [size] * 22
    assert len(np.unique(np.concatenate(split))) == 22_000
    for a, b in zip(split, standard_split(data.block_sizes)):
        np.testing.assert_array_equal(a, b)
    state = np.random.get_state()
    for a, b in zip(standard_split([1000] * 3), _reference_amr(3)):
        np.testing.assert_array_equal(a, np.asarray(b))
    np.random.set_state(state)
    full = standard_split([1000] * 220)  # the real 10a layout: 132k / 44k / 44k
    assert [len(p) for p in full] == [132_000, 44_000, 44_000]
    assert full.train[:5].tolist() == [24017, 56368, 189229, 6143, 100486]
    assert full.val[:3].tolist() == [110502, 150762, 190359] and full.test[:3].tolist() == [56723, 100365, 174223]
    assert [len(p) for p in standard_split([7, 500])] == [4 + 300, 1 + 100, 2 + 100]


def test_oshea_split_and_errors():
    state = np.random.get_state()
    np.random.seed(2016)
    ref = np.random.choice(range(4000), size=2000, replace=False)
    np.random.set_state(state)
    split = standard_split([1000] * 4, scheme="oshea")
    np.testing.assert_array_equal(split.train, ref)
    assert len(split.val) == 0 and sorted(split.test.tolist()) == sorted(set(range(4000)) - set(ref.tolist()))
    with pytest.raises(ValueError, match=r"scheme='random' is unknown; use one of \['amr_benchmark', 'oshea'\]"):
        standard_split([10], scheme="random")


def test_generator_structure_determinism_and_pickle_roundtrip(tmp_path):
    d = generate_rml2016a_like(3, snrs=[-10, 10], seed=5)
    assert sorted(d) == sorted((m, s) for m in ALL_MODS for s in (-10, 10))
    assert all(v.shape == (3, 2, 128) and v.dtype == np.float32 for v in d.values())
    again = generate_rml2016a_like(3, snrs=[-10, 10], seed=5)
    assert all(np.array_equal(d[k], again[k]) for k in d)
    # one stream per key: a subset gives the same arrays; another seed gives other arrays
    np.testing.assert_array_equal(generate_rml2016a_like(3, snrs=[10], mods=["WBFM"], seed=5)[("WBFM", 10)],
                                  d[("WBFM", 10)])
    assert not np.array_equal(generate_key("QPSK", 10, 3, seed=6), d[("QPSK", 10)])
    data = load_radioml(write_rml_pickle(d, tmp_path / "gen.pkl"))
    np.testing.assert_array_equal(data.X, stack_rml_dict(d).X)
    back = load_npz(save_npz(d, tmp_path / "gen.npz"))
    assert all(np.array_equal(back[k], d[k]) for k in d) and not list(tmp_path.glob("*.tmp*"))


@pytest.mark.slow  # ~14 s: each spawned worker re-imports qtrain (torch)
def test_workers_do_not_change_the_output():
    kwargs = dict(snrs=[0], mods=["BPSK", "WBFM"], seed=9)
    serial, parallel = generate_rml2016a_like(2, **kwargs), generate_rml2016a_like(2, workers=2, **kwargs)
    assert all(np.array_equal(serial[k], parallel[k]) for k in serial)


def test_load_or_generate_reuses_cache(tmp_path, monkeypatch):
    path = tmp_path / "cache.npz"
    first = gen.load_or_generate(path, 2, snrs=[0], mods=["BPSK"], seed=1)
    monkeypatch.setattr(gen, "generate_rml2016a_like", lambda *a, **k: pytest.fail("cache not used"))
    second = gen.load_or_generate(path, 2, snrs=[0], mods=["BPSK"], seed=1)
    np.testing.assert_array_equal(first[("BPSK", 0)], second[("BPSK", 0)])


def test_generator_argument_errors():
    with pytest.raises(ValueError, match=r"mode='fancy' \(use one of \['legacy', 'clean'\]\); mods \['FM'\]"):
        generate_rml2016a_like(2, mods=["FM"], mode="fancy")
    with pytest.raises(ValueError, match=r"n_per_key=0 \(a positive int"):
        generate_rml2016a_like(0)
    with pytest.raises(ValueError, match=r"unknown options \['k'\]"):
        generate_rml2016a_like(1, k=3)


def _l1_noise_stat(rng: np.random.Generator, n: int) -> np.ndarray:
    z = rng.standard_normal((n, 128)) + 1j * rng.standard_normal((n, 128))
    return (np.abs(z) ** 2).sum(1) / np.abs(z).sum(1) ** 2


def test_legacy_am_ssb_is_noise_only():
    # E[sum |x|^2] of an L1-normalised window of white complex Gaussian noise (scale-free)
    ref = _l1_noise_stat(np.random.default_rng(123), 20_000)
    for snr in (-20, 0, 18):
        sig, _ = generate_key("AM-SSB", snr, 200, components=True)
        assert np.count_nonzero(sig) == 0
        x = generate_key("AM-SSB", snr, 200)
        z = x[:, 0] + 1j * x[:, 1]
        stat = (np.abs(z) ** 2).sum(1)
        se = np.hypot(stat.std() / np.sqrt(200), ref.std() / np.sqrt(len(ref)))
        assert abs(stat.mean() - ref.mean()) < 4 * se, (snr, stat.mean(), ref.mean())
        psd = (np.abs(np.fft.fft(z, axis=1)) ** 2).mean(0)
        assert np.abs(psd / psd.mean() - 1).max() < 0.4  # 200-window average: 1 +- 0.07 per bin
    bpsk = generate_key("BPSK", 18, 200)
    psd = (np.abs(np.fft.fft(bpsk[:, 0] + 1j * bpsk[:, 1], axis=1)) ** 2).mean(0)
    assert np.abs(psd / psd.mean() - 1).max() > 3  # band-limited RRC spectrum: far from flat


def test_window_normalisations():
    for mode in ("legacy", "clean"):
        x = generate_rml2016a_like(5, snrs=[-4, 12], mods=["QAM64", "AM-DSB", "GFSK"], mode=mode, seed=2)
        for v in x.values():
            np.testing.assert_allclose(np.hypot(v[:, 0], v[:, 1]).sum(1), 1.0, atol=1e-5)
    v = generate_key("8PSK", 0, 5, mode="clean", normalize="l2")
    np.testing.assert_allclose((v ** 2).sum((1, 2)), 1.0, atol=1e-5)


def test_clean_fsk_envelope_and_snr():
    ratio = {}
    for mod in ("CPFSK", "GFSK", "QPSK", "BPSK"):
        z = generate_key(mod, 18, 200, mode="clean", seed=4)
        env = np.hypot(z[:, 0], z[:, 1])
        ratio[mod] = np.median(env.std(1) / env.mean(1))
    # constant-envelope FSK: AWGN at 18 dB alone gives ~0.09; RRC-shaped PSK is ~0.3-0.38
    assert ratio["CPFSK"] < 0.15 and ratio["GFSK"] < 0.15, ratio
    assert ratio["QPSK"] > 0.25 and ratio["BPSK"] > 0.25, ratio
    for mod in ("QAM16", "WBFM", "AM-SSB", "CPFSK"):
        sig, noise = generate_key(mod, 10, 100, mode="clean", seed=4, components=True)
        measured = 10 * np.log10((np.abs(sig) ** 2).mean(1) / (np.abs(noise) ** 2).mean(1))
        assert abs(measured.mean() - 10) < 0.5, (mod, measured.mean())
    _, noise = generate_key("QPSK", 4, 400, components=True)  # legacy: power 2 * 10**(-snr/5)
    assert abs((np.abs(noise) ** 2).mean() / (2 * 10 ** (-4 / 5)) - 1) < 0.03


# ----------------------------------------------------------------------------- hostile files and caches (issue 13)
def test_damaged_files_end_in_one_value_error(tmp_path):
    blob = write_rml_pickle(_tiny_dict(), tmp_path / "good.pkl").read_bytes()
    for name, data in (("cut.pkl", blob[: len(blob) // 3]), ("empty.pkl", b""), ("junk.pkl", b"\x80\x02junk")):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ValueError, match=rf"^RadioML file '.*{name}' is truncated or not a RadioML pickle "
                                             r"\(.*\); copy the file again$"):
            load_radioml(tmp_path / name)
    (tmp_path / "RML2016.10a.tar.bz2").write_bytes(b"BZh9" + os.urandom(64))
    with pytest.raises(ValueError, match=r"RML2016\.10a\.tar\.bz2' is truncated or not a RadioML pickle"):
        load_radioml(tmp_path / "RML2016.10a.tar.bz2")


def test_unknown_modulations_are_refused_before_training(tmp_path):
    d = _tiny_dict(n=2, snrs=(0,))
    d[("OOK", 0)] = d[("BPSK", 0)].copy()  # a 12th class the 11-output models cannot learn
    with pytest.raises(ValueError, match=r"has 12 modulations, \['OOK'\] not among the RadioML 2016 ones"):
        load_radioml(write_rml_pickle(d, tmp_path / "twelve.pkl"))


def test_truncated_cache_is_regenerated(tmp_path):
    path = tmp_path / "cache.npz"
    first = gen.load_or_generate(path, 2, snrs=[0], mods=["BPSK"], seed=1)
    path.write_bytes(path.read_bytes()[:100])  # a kill mid-write of a non-atomic copy, or a damaged disk
    with pytest.raises(ValueError, match=r"cache\.npz' is not a readable \.npz file"):
        load_npz(path)
    (tmp_path / f".cache.npz.{2**22 + 12345}.ab.tmp").write_bytes(b"left by a killed writer")
    again = gen.load_or_generate(path, 2, snrs=[0], mods=["BPSK"], seed=1)
    np.testing.assert_array_equal(first[("BPSK", 0)], again[("BPSK", 0)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.npz"]
    np.testing.assert_array_equal(load_npz(path)[("BPSK", 0)], first[("BPSK", 0)])
