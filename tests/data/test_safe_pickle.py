"""The data-pickle reader: numeric arrays only, sizes checked before allocation, hostile files refused."""
from __future__ import annotations

import io
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qtrain.data.cifar import read_cifar_python_batch
from qtrain.data.radioml import load_radioml
from qtrain.data.safe_pickle import PickleRefused, safe_load

SRC = str(Path(__file__).resolve().parents[2] / "src")

# what the attacker's 68-byte file does: an object array whose 8 "pointer" bytes come from the file
OBJECT_ARRAY = (b"cnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\n(I0\ntS'b'\ntR(I1\n(I1\ntcnumpy\ndtype\n"
                b"(S'O8'\nI0\nI1\ntR(I3\nS'|'\nNNNI-1\nI-1\nI63\ntbI00\nS'AAAAAAAA'\ntb.")


def _load(blob: bytes, encoding: str = "latin1") -> object:
    return safe_load(io.BytesIO(blob), len(blob), encoding=encoding)


@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
def test_every_protocol_round_trips_numeric_arrays(protocol: int) -> None:
    d = {("BPSK", -2): np.arange(6, dtype=np.float32).reshape(1, 2, 3), "f": np.asfortranarray(np.eye(3)[:, :2]),
         "be": np.arange(3, dtype=">i4"), "b": np.array([True, False]), "e": np.zeros((0, 3)),
         "c": np.ones(2, np.complex64)}
    back = _load(pickle.dumps(d, protocol=protocol))
    assert isinstance(back, dict) and back.keys() == d.keys()
    for k, v in d.items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape and np.array_equal(back[k], v), k
    assert back["f"].flags.f_contiguous and back["b"].flags.writeable


def test_python2_protocol2_file_read_as_bytes() -> None:
    # cPickle.dump(numpy.array([1, 2], 'u1'), f, 2) under Python 2: 'U' strings become bytes with encoding="bytes"
    py2 = (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\nq\x01cnumpy\nndarray\nq\x02K\x00\x85U\x01b\x87Rq\x03(K\x01K"
           b"\x02\x85cnumpy\ndtype\nq\x04U\x02u1K\x00K\x01\x87Rq\x05(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK"
           b"\x00tb\x89U\x02\x01\x02tb.")
    assert _load(py2, encoding="bytes").tolist() == [1, 2]


def test_object_array_is_refused_in_a_fresh_process(tmp_path: Path) -> None:
    # run where a regression would segfault: the test process must survive to report it
    (tmp_path / "evil.pkl").write_bytes(OBJECT_ARRAY)
    code = ("from qtrain.data.radioml import load_radioml\n"
            f"try:\n    load_radioml({str(tmp_path / 'evil.pkl')!r})\nexcept ValueError as e:\n    print(e)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"})
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == (f"RadioML file {str(tmp_path / 'evil.pkl')!r}: dtype 'O8' (kind 'O') refused: only "
                                  "numeric arrays (bool, int, float, complex) are allowed; object, string and "
                                  "structured arrays are not")


@pytest.mark.parametrize("blob,message", [
    (OBJECT_ARRAY.replace(b"O8", b"V8"), r"dtype 'V8' \(kind 'V'\) refused"),
    (OBJECT_ARRAY.replace(b"O8", b"f8").replace(b"NNNI-1", b"N(S'a'\ntNI-1"),
     r"dtype state .* refused: expected \(version, byte order, None, None, None, \.\.\.\)"),
    (OBJECT_ARRAY.replace(b"O8", b"f8").replace(b"(I1\nt", b"(I1099511627776\nt"),
     r"array of shape \(1099511627776,\) and dtype float64 needs 8,796,093,022,208 bytes of data but the file "
     r"holds 8$"),
    (OBJECT_ARRAY.replace(b"O8", b"f8").replace(b"(I1\nt", b"(I-1\nt"), r"array shape \(-1,\) refused"),
    (b"\x80\x04\x96" + struct.pack("<Q", 1 << 50) + b"ab.", r"BYTEARRAY8 declares 1,125,899,906,842,624 bytes but the "
                                                           r"file holds 3"),
    (b"\x80\x02" + b"]" * 1000 + b"a" * 999 + b".", r"containers are nested more than 32 levels deep"),
    (b"\x80\x02c__builtin__\nbytes\nJ\x00\xca\x9a;\x85R.", r"bytes\(int, \.\.\.\) refused"),
    (b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00xX\x06\x00\x00\x00utf-16\x86R.",
     r"_codecs.encode\(str, 'utf-16'\) refused"),
    (b"\x80\x02cnumpy\nndarray\nK\x05\x85R.", r"'_NDArrayType' object is not callable"),
])
def test_unsafe_or_inconsistent_content_is_refused(blob: bytes, message: str) -> None:
    with pytest.raises((PickleRefused, pickle.UnpicklingError, TypeError), match=message):
        _load(blob)


def test_loaders_name_the_file_and_never_run_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "ran"
    evil = b"\x80\x02cbuiltins\nexec\nX" + struct.pack("<I", 60) + f"open({str(marker)!r}, 'w')".ljust(60).encode() \
        + b"\x85R."
    for name, reader, what in (("b.pkl", load_radioml, "RadioML file"), ("data_batch_1", read_cifar_python_batch,
                                                                          "CIFAR-10 batch")):
        path = tmp_path / name
        path.write_bytes(evil)
        with pytest.raises(PickleRefused, match=rf"^{what} '.*{name}': refused global builtins\.exec: a "):
            reader(path)
        path.write_bytes(pickle.dumps({b"data": np.zeros((1, 3072), np.uint8)}, protocol=2)[:40])
        with pytest.raises(ValueError, match=rf"^{what} '.*{name}' is truncated or not a .*pickle \(.*\); copy the "):
            reader(path)
    assert not marker.exists()
