"""A pickle reader for data files that holds only plain containers and numeric numpy arrays.

The CIFAR-10 python batches and the RadioML 2016 files are pickles: dicts, lists, tuples, bytes,
strings and numbers, plus numpy arrays stored as ``numpy.core.multiarray._reconstruct(ndarray,
(0,), b'b')`` followed by a state ``(version, shape, dtype, is_fortran, raw bytes)``. Handing
those numpy callables to a real unpickler is not safe: a 68-byte file can declare an *object*
array whose "pointers" are its own bytes, and the process then crashes. So nothing from numpy
is resolved here: the three globals map to stand-ins that record and check the arguments, and
the array is built only after the checks with ``np.frombuffer(raw, dtype).reshape(shape)``:

* the dtype must be a plain numeric one (bool, int, uint, float, complex; no object, string,
  structured or sub-array dtype);
* the raw bytes must be exactly ``prod(shape) * itemsize`` long (Python integers, no wrap-around),
  so an array is never larger than the file that holds it;
* every other global (``os.system``, ``builtins.eval``, ...) is refused by name.

The stream is parsed by the pure-Python unpickler through a reader that never returns more than
the file holds, so a length field cannot make it allocate more than the file's size either.

Example:
    >>> import io, pickle, numpy as np
    >>> blob = pickle.dumps({b"data": np.arange(3, dtype=np.uint8)}, protocol=2)
    >>> safe_load(io.BytesIO(blob), len(blob))[b"data"]
    array([0, 1, 2], dtype=uint8)
"""
from __future__ import annotations

import math
import pickle
import struct
from typing import IO, Any

import numpy as np

from qtrain._fileio import clip

__all__ = ["ALLOWED_GLOBALS", "PickleRefused", "SafeUnpickler", "safe_load", "MAX_NESTING"]

ALLOWED_GLOBALS = frozenset({("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                             ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
                             ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
                             ("__builtin__", "bytes"), ("builtins", "bytes")})
"""(module, name) pairs a data pickle may reference; each maps to a checking stand-in."""
MAX_NESTING = 32
"""Deepest container nesting accepted in a loaded object (real files: 3)."""
_LATIN1 = {"latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1"}
_NUMERIC = "biufc"  # numpy kinds: bool, signed/unsigned int, float, complex


class PickleRefused(pickle.UnpicklingError, ValueError):
    """The pickle references a forbidden global or describes an unsafe or inconsistent array."""


class _NDArrayType:
    """Stand-in for ``numpy.ndarray``: valid only as the first argument of ``_reconstruct``."""

    __slots__ = ()


_NDARRAY = _NDArrayType()


class _Dtype:
    """A checked numeric dtype under construction (``numpy.dtype(spec, align, copy)`` then its state)."""

    __slots__ = ("dtype",)

    def __init__(self, spec: Any, align: Any = False, copy: Any = True) -> None:
        if isinstance(spec, bytes) and spec.isascii():  # Python-2 files read with encoding="bytes"
            spec = spec.decode("ascii")
        if not isinstance(spec, str) or len(spec) > 8:
            raise PickleRefused(f"dtype spec {spec!r:.40} refused: only short numeric codes such as 'f4' are allowed")
        try:
            dt = np.dtype(spec)
        except TypeError:
            raise PickleRefused(f"dtype spec {spec!r} is not a numpy type code") from None
        if dt.kind not in _NUMERIC or dt.fields is not None or dt.subdtype is not None or dt.hasobject:
            raise PickleRefused(f"dtype {spec!r} (kind {dt.kind!r}) refused: only numeric arrays (bool, int, float, "
                                "complex) are allowed; object, string and structured arrays are not")
        self.dtype = dt

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) > 1 and isinstance(state[1], bytes):
            state = (state[0], state[1].decode("latin-1"), *state[2:])
        if not (isinstance(state, tuple) and len(state) in (8, 9) and state[2:5] == (None, None, None)
                and state[1] in ("<", ">", "|", "=")):
            raise PickleRefused(f"dtype state {state!r:.80} refused: expected (version, byte order, None, None, "
                                "None, ...) of a plain numeric dtype")
        if state[1] in "<>":
            self.dtype = self.dtype.newbyteorder(state[1])


class _Array:
    """An array under construction: ``_reconstruct(ndarray, ...)`` then ``__setstate__`` (checked)."""

    __slots__ = ("array",)

    def __init__(self) -> None:
        self.array: np.ndarray | None = None

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise PickleRefused(f"array state of type {type(state).__name__} refused: expected (version, shape, "
                                "dtype, is_fortran, raw bytes)")
        shape, dtype, fortran, raw = state[-4:]
        self.array = _checked_array(raw, dtype, shape, "F" if fortran else "C")


def _checked_array(raw: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    """``np.frombuffer(raw, dtype).reshape(shape)``, after checking every argument (see the module docstring)."""
    if not isinstance(dtype, _Dtype):
        raise PickleRefused(f"array dtype {type(dtype).__name__} refused: it must come from numpy.dtype(...)")
    if not (isinstance(shape, tuple) and len(shape) <= 32
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)):
        raise PickleRefused(f"array shape {shape!r:.80} refused: expected a tuple of at most 32 counts >= 0")
    if isinstance(raw, str):  # Python-2 files, read with encoding="latin1"
        raw = raw.encode("latin-1")
    if not isinstance(raw, (bytes, bytearray)):
        raise PickleRefused(f"array data of type {type(raw).__name__} refused: a numeric array stores raw bytes")
    need = math.prod(shape) * dtype.dtype.itemsize
    if len(raw) != need:
        raise PickleRefused(f"array of shape {shape} and dtype {dtype.dtype} needs {need:,} bytes of data but "
                            f"the file holds {len(raw):,}")
    if order not in ("C", "F", b"C", b"F"):
        raise PickleRefused(f"array order {order!r:.20} refused: expected 'C' or 'F'")
    arr = np.frombuffer(raw, dtype=dtype.dtype)
    return arr.reshape(shape, order="F" if order in ("F", b"F") else "C").copy(order="K")


def _frombuffer(raw: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    """Stand-in for numpy's protocol-5 ``_frombuffer`` (in-band buffers only)."""
    return _checked_array(raw, dtype, shape, order)


def _reconstruct(subtype: Any, shape: Any = (0,), code: Any = b"b") -> _Array:
    if subtype is not _NDARRAY:
        raise PickleRefused(f"_reconstruct({type(subtype).__name__}, ...) refused: only numpy.ndarray is allowed")
    return _Array()


def _latin1_encode(obj: Any, encoding: Any = "utf-8", errors: Any = "strict") -> bytes:
    """``_codecs.encode`` limited to what protocol-2 pickles of bytes use (latin-1 text)."""
    if not isinstance(obj, str) or not isinstance(encoding, str) or encoding.lower() not in _LATIN1 \
            or errors != "strict":
        raise PickleRefused(f"_codecs.encode({type(obj).__name__}, {encoding!r:.20}) refused: only latin-1 encoding "
                            "of str (how protocol <= 2 stores bytes) is allowed")
    return obj.encode("latin-1")


def _empty_bytes(*args: Any) -> bytes:
    """``bytes()``: how protocol <= 2 stores ``b""`` (any argument is refused)."""
    if args:
        raise PickleRefused(f"bytes({type(args[0]).__name__}, ...) refused: only bytes() (empty) is allowed")
    return b""


_STANDINS = {"_reconstruct": _reconstruct, "ndarray": _NDARRAY, "dtype": _Dtype, "encode": _latin1_encode,
             "_frombuffer": _frombuffer, "bytes": _empty_bytes}


class SafeUnpickler(pickle._Unpickler):  # the pure-Python unpickler: reads only what the file holds
    """Resolves only :data:`ALLOWED_GLOBALS`, each to a checking stand-in (see the module docstring).

    Args:
        fh: a binary file.
        what: how errors name the data (``"RadioML pickle"``, ``"CIFAR-10 batch"``).
        encoding: how Python-2 ``str`` objects are decoded (``"latin1"`` or ``"bytes"``).
    """

    dispatch = dict(pickle._Unpickler.dispatch)  # type: ignore[attr-defined]

    def __init__(self, fh: IO[bytes], what: str = "data pickle", encoding: str = "latin1") -> None:
        super().__init__(fh, encoding=encoding)
        self.what = what

    def load_bytearray8(self) -> None:
        """BYTEARRAY8 without allocating its declared length first (the stock one does ``bytearray(len)``)."""
        (n,) = struct.unpack("<Q", self.read(8))
        data = self.read(n)  # never more than the file holds
        if len(data) != n:
            raise pickle.UnpicklingError(f"BYTEARRAY8 declares {n:,} bytes but the file holds {len(data):,}")
        self.append(bytearray(data))

    dispatch[pickle.BYTEARRAY8[0]] = load_bytearray8

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise PickleRefused(f"refused global {clip(f'{module}.{name}', 120)}: a {self.what} may only reference "
                                "numpy's array rebuilders (numpy.core.multiarray._reconstruct, numpy.ndarray, "
                                "numpy.dtype), bytes() and latin-1 _codecs.encode; the file is not a plain "
                                f"{self.what} (possibly malicious); do not load it with plain pickle")
        return _STANDINS[name]


class _Bounded:
    """File wrapper whose reads stop at ``size`` bytes, so a length field cannot trigger a huge read."""

    def __init__(self, fh: IO[bytes], size: int) -> None:
        self._fh, self._left = fh, max(0, int(size))

    def read(self, n: int = -1) -> bytes:
        n = self._left if n is None or n < 0 else min(n, self._left)
        data = self._fh.read(n)
        self._left -= len(data)
        return data

    def readline(self, limit: int = -1) -> bytes:
        limit = self._left if limit is None or limit < 0 else min(limit, self._left)
        data = self._fh.readline(limit)
        self._left -= len(data)
        return data

    def readinto(self, buf: Any) -> int:
        data = self.read(len(buf))
        buf[:len(data)] = data
        return len(data)


def _resolve(obj: Any, memo: dict[int, Any], depth: int) -> Any:
    """Replace the stand-ins by real arrays/dtypes (containers rebuilt; shared objects stay shared)."""
    if id(obj) in memo:
        return memo[id(obj)]
    if depth > MAX_NESTING:
        raise PickleRefused(f"containers are nested more than {MAX_NESTING} levels deep")
    if isinstance(obj, _Array):
        if obj.array is None:
            raise PickleRefused("an array was started but its data never set (the file is cut or not a data pickle)")
        out: Any = obj.array
    elif isinstance(obj, _Dtype):
        out = obj.dtype
    elif obj is _NDARRAY or callable(obj):
        raise PickleRefused("the file holds a bare numpy type or function, not data")
    elif isinstance(obj, dict):
        out = memo[id(obj)] = {}
        for k, v in obj.items():
            out[_resolve(k, memo, depth + 1)] = _resolve(v, memo, depth + 1)
        return out
    elif isinstance(obj, list):
        out = memo[id(obj)] = []
        out.extend(_resolve(v, memo, depth + 1) for v in obj)
        return out
    elif isinstance(obj, tuple):
        out = tuple(_resolve(v, memo, depth + 1) for v in obj)
    elif isinstance(obj, (set, frozenset)):
        out = type(obj)(_resolve(v, memo, depth + 1) for v in obj)
    else:
        out = obj
    memo[id(obj)] = out
    return out


def safe_load(fh: IO[bytes], size: int, what: str = "data pickle", encoding: str = "latin1") -> Any:
    """Unpickle at most ``size`` bytes of ``fh`` with :class:`SafeUnpickler` and build the arrays.

    Raises:
        PickleRefused: a forbidden global, an unsafe dtype, inconsistent array data, too deep nesting.
        pickle.UnpicklingError, EOFError, ValueError, ...: a damaged stream (callers turn these into
            one clear ``ValueError`` naming the file).
    """
    obj = SafeUnpickler(_Bounded(fh, size), what=what, encoding=encoding).load()  # type: ignore[arg-type]
    try:
        return _resolve(obj, {}, 0)
    except TypeError:  # an unhashable dict key produced from a stand-in
        raise PickleRefused("a dict key is an array or other unhashable value") from None
