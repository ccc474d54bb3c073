"""RadioML 2016 (10a / 10b / 04c) pickles: a restricted loader, a writer and the standard splits.

The released files are Python-2 pickles of ``dict[(mod: str, snr: int)] -> float32 (n, 2, 128)``
(row 0 = I, row 1 = Q). They are unpickled here by :class:`RestrictedUnpickler`
(:mod:`qtrain.data.safe_pickle`), which builds numeric arrays only after checking their dtype and
size and refuses every other global, so a tampered file can neither run code nor corrupt memory;
any damaged or hostile file ends in one ``ValueError`` naming the file. Nothing is ever
downloaded: the DeepSig files (CC BY-NC-SA 4.0) must be put in place by the user.

Example:
    >>> data = load_radioml(data_dir="/data/radioml")              # doctest: +SKIP
    >>> data.X.shape, data.mods[:3]                                 # doctest: +SKIP
    ((220000, 2, 128), ['8PSK', 'AM-DSB', 'AM-SSB'])
    >>> split = standard_split(data.block_sizes)                   # doctest: +SKIP
    >>> len(split.train), len(split.val), len(split.test)          # doctest: +SKIP
    (132000, 44000, 44000)
"""
from __future__ import annotations

import os
import pickle
import tarfile
from pathlib import Path
from typing import IO, Any, Mapping, NamedTuple, Sequence

import numpy as np

from qtrain._fileio import atomic_write, clip, short
from qtrain.data.safe_pickle import ALLOWED_GLOBALS, PickleRefused, SafeUnpickler, safe_load

__all__ = ["ENV_DATA_DIR", "RML_FILES", "SPLIT_SCHEMES", "ALLOWED_GLOBALS", "RestrictedUnpickler",
           "restricted_load", "RadioMLData", "RadioMLSplit", "validate_rml_dict", "stack_rml_dict",
           "find_radioml_file", "load_radioml", "standard_split", "write_rml_pickle"]

ENV_DATA_DIR = "QTRAIN_DATA_DIR"
#: variant -> (pickle name inside the archive, archive name), as distributed by DeepSig.
RML_FILES: dict[str, tuple[str, str]] = {
    "2016.10a": ("RML2016.10a_dict.pkl", "RML2016.10a.tar.bz2"),
    "2016.10b": ("RML2016.10b.dat", "RML2016.10b.tar.bz2"),
    "2016.04c": ("2016.04C.multisnr.pkl", "2016.04C.multisnr.tar.bz2"),
}
SPLIT_SCHEMES = ("amr_benchmark", "oshea")
RML_MODS = frozenset({"8PSK", "AM-DSB", "AM-SSB", "BPSK", "CPFSK", "GFSK", "PAM4", "QAM16", "QAM64", "QPSK", "WBFM"})
"""The 11 modulation names of the RadioML 2016 files (10b lacks AM-SSB)."""
MAX_ARCHIVE_MEMBER = 1 << 32
"""Largest pickle accepted inside an archive (4 GiB; RML2016.10b, the largest, is about 1.2 GB)."""


def _np_reconstruct() -> Any:
    """``numpy._core.multiarray._reconstruct`` (NumPy 2) or ``numpy.core.multiarray._reconstruct`` (1.x)."""
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # pragma: no cover - NumPy 1.x
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


class RestrictedUnpickler(SafeUnpickler):
    """:class:`qtrain.data.safe_pickle.SafeUnpickler` for RadioML files (``encoding="latin1"``)."""

    def __init__(self, fh: IO[bytes]) -> None:
        super().__init__(fh, what="RadioML pickle", encoding="latin1")


def restricted_load(fh: IO[bytes], size: int | None = None) -> Any:
    """Unpickle at most ``size`` bytes of ``fh`` (default: the rest of the file) safely.

    Raises:
        qtrain.data.safe_pickle.PickleRefused: a forbidden global or an unsafe/inconsistent array.
    """
    if size is None:
        size = os.fstat(fh.fileno()).st_size - fh.tell()
    return safe_load(fh, size, what="RadioML pickle", encoding="latin1")


class RadioMLData(NamedTuple):
    """Stacked RadioML examples, in the order ``for mod in sorted(mods): for snr in sorted(snrs)``.

    Attributes:
        X: ``(N, 2, 128)`` float32 windows, row 0 = I, row 1 = Q.
        y_mod: ``(N,)`` int64 index into ``mods``.
        y_snr: ``(N,)`` int64 SNR label in dB.
        mods: sorted modulation names.
    """

    X: np.ndarray
    y_mod: np.ndarray
    y_snr: np.ndarray
    mods: list[str]

    @property
    def snrs(self) -> list[int]:
        """Sorted distinct SNR labels."""
        return [int(s) for s in np.unique(self.y_snr)]

    @property
    def block_sizes(self) -> list[int]:
        """Examples per (mod, snr) key, in stacking order (the input of :func:`standard_split`)."""
        change = np.flatnonzero((np.diff(self.y_mod) != 0) | (np.diff(self.y_snr) != 0)) + 1
        return np.diff(np.concatenate([[0], change, [len(self.y_mod)]])).astype(int).tolist()


def _key_problem(key: Any, value: Any) -> str | None:
    if not (isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], str)
            and isinstance(key[1], (int, np.integer)) and not isinstance(key[1], bool)):
        return f"key {short(key, 60)} is not a (str modulation, int snr) tuple"
    if not -1000 <= key[1] <= 1000 or len(key[0]) > 64:
        return f"key {short(key, 60)} has an SNR outside [-1000, 1000] dB or a name over 64 characters"
    if not isinstance(value, np.ndarray):
        return f"value of {short(key, 60)} is a {type(value).__name__}, not a numpy array"
    if value.ndim != 3 or value.shape[1:] != (2, 128) or value.shape[0] < 1:
        return f"array of {short(key, 60)} has shape {value.shape}, expected (n >= 1, 2, 128)"
    if value.dtype != np.float32:
        return f"array of {short(key, 60)} has dtype {value.dtype}, expected float32"
    return None


def validate_rml_dict(d: Any, source: str = "RadioML dict") -> None:
    """Check the RadioML structure; all problems are reported in one ``ValueError``.

    Raises:
        ValueError: ``d`` is not a non-empty dict of ``(str, int) -> float32 (n, 2, 128)`` covering
            every (mod, snr) combination.
    """
    if not isinstance(d, Mapping) or not d:
        raise ValueError(f"{source}: expected a non-empty dict {{(mod, snr): float32 (n, 2, 128)}}, "
                         f"got {type(d).__name__}{' (empty)' if isinstance(d, Mapping) else ''}")
    problems = [p for k, v in d.items() if (p := _key_problem(k, v)) is not None]
    if not problems:
        mods, snrs = {k[0] for k in d}, {int(k[1]) for k in d}
        problems = [f"key ({m!r}, {s}) is missing (every mod needs every snr)"
                    for m in sorted(mods) for s in sorted(snrs) if (m, s) not in d]
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise ValueError(f"{source} is not in RadioML format: " + "; ".join(problems[:5]) + more
                         + ". Expected dict[(str mod, int snr)] -> float32 array (n, 2, 128) as in RML2016.10a")


def stack_rml_dict(d: Mapping[tuple[str, int], np.ndarray], source: str = "RadioML dict") -> RadioMLData:
    """Validate ``d`` and stack it as AMR-Benchmark does: sorted mods outer, sorted SNRs inner.

    Works on loaded files and on :func:`qtrain.data.rml_generator.generate_rml2016a_like` output.
    """
    validate_rml_dict(d, source)
    mods = sorted({k[0] for k in d})
    snrs = sorted({int(k[1]) for k in d})
    keys = [(m, s) for m in mods for s in snrs]
    lookup = {(k[0], int(k[1])): v for k, v in d.items()}
    sizes = [lookup[k].shape[0] for k in keys]
    X = np.concatenate([lookup[k] for k in keys], axis=0)
    y_mod = np.repeat(np.array([mods.index(m) for m, _ in keys], dtype=np.int64), sizes)
    y_snr = np.repeat(np.array([s for _, s in keys], dtype=np.int64), sizes)
    return RadioMLData(X, y_mod, y_snr, mods)


def find_radioml_file(path: str | os.PathLike[str] | None = None, variant: str = "2016.10a",
                      data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Locate a RadioML file: ``path`` itself, else the pickle or archive in ``data_dir`` / ``$QTRAIN_DATA_DIR``.

    Raises:
        ValueError: unknown ``variant``.
        FileNotFoundError: nothing found; the message lists the places searched and how to fix it.
    """
    if variant not in RML_FILES:
        raise ValueError(f"variant={variant!r} is unknown; use one of {sorted(RML_FILES)}")
    if path is not None and not Path(path).is_dir():
        if Path(path).is_file():
            return Path(path)
        candidates = [Path(path)]
    else:
        folder = path if path is not None else data_dir if data_dir is not None else os.environ.get(ENV_DATA_DIR)
        candidates = []
        if folder is not None:
            for sub in ("", "radioml", "RadioML"):
                candidates += [Path(folder) / sub / name for name in RML_FILES[variant]]
        for cand in candidates:
            if cand.is_file():
                return cand
    pkl, archive = RML_FILES[variant]
    raise FileNotFoundError(
        f"RadioML {variant} not found (searched: "
        f"{[str(c) for c in candidates] or 'nothing: no path, data_dir or $' + ENV_DATA_DIR}). "
        f"qtrain never downloads it: get {archive} from DeepSig's dataset page (licence CC BY-NC-SA 4.0), put "
        f"{pkl} (or the archive itself) in a folder and pass data_dir=... / path=..., or set {ENV_DATA_DIR}=<folder>")


def _read_archive(path: Path, variant: str) -> Any:
    with tarfile.open(path, "r:*") as tar:
        members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith((".pkl", ".dat"))]
        if not members:
            raise ValueError(f"archive {str(path)!r} holds no .pkl/.dat member; expected {RML_FILES[variant][0]}")
        wanted = [m for m in members if Path(m.name).name == RML_FILES[variant][0]]
        member = (wanted or members)[0]
        if member.size > MAX_ARCHIVE_MEMBER:
            raise ValueError(f"archive {str(path)!r}: member {member.name!r} claims {member.size:,} bytes, more than "
                             f"any RadioML 2016 file ({MAX_ARCHIVE_MEMBER:,} allowed); the archive is not a "
                             "RadioML one")
        fh = tar.extractfile(member)
        assert fh is not None  # members are regular files
        return restricted_load(fh, member.size)


def _read_file(file: Path, variant: str) -> Any:
    """The unpickled content of a pickle or archive; every failure is one ``ValueError`` naming ``file``."""
    try:
        if tarfile.is_tarfile(file):
            return _read_archive(file, variant)
        with open(file, "rb") as fh:
            return restricted_load(fh)
    except PickleRefused as exc:
        raise PickleRefused(f"RadioML file {str(file)!r}: {exc}") from None
    except MemoryError:
        raise  # every size is checked before it is allocated: this would be a bug, not a bad file
    except ValueError as exc:
        if str(exc).startswith("archive "):
            raise
        raise ValueError(f"RadioML file {str(file)!r} is truncated or not a RadioML pickle ({type(exc).__name__}: "
                         f"{clip(str(exc), 120)}); copy the file again") from None
    except Exception as exc:  # EOFError, UnpicklingError, struct.error, tarfile/bz2 errors... from a damaged file
        raise ValueError(f"RadioML file {str(file)!r} is truncated or not a RadioML pickle ({type(exc).__name__}: "
                         f"{clip(str(exc), 120)}); copy the file again") from None


def load_radioml(path: str | os.PathLike[str] | None = None, variant: str = "2016.10a",
                 data_dir: str | os.PathLike[str] | None = None) -> RadioMLData:
    """Load a RadioML 2016 pickle (or its ``.tar.bz2``) safely and stack it.

    Args:
        path: the file (``.pkl`` / ``.dat`` pickle or ``.tar.bz2`` archive) or a folder holding it.
            If ``None`` the variant's file is looked up in ``data_dir`` or ``$QTRAIN_DATA_DIR``.
        variant: ``"2016.10a"``, ``"2016.10b"`` or ``"2016.04c"`` (file names only; any number of
            mods and examples per key is accepted).
        data_dir: folder holding the file (or a ``radioml/`` subfolder).

    Returns:
        :class:`RadioMLData` ``(X (N, 2, 128) float32, y_mod (N,) int64, y_snr (N,) int64, mods)``.

    Raises:
        FileNotFoundError: the file is missing (the message says where to put it).
        qtrain.data.safe_pickle.PickleRefused: (a ``ValueError`` and ``pickle.UnpicklingError``) the
            pickle references a global outside :data:`ALLOWED_GLOBALS` or describes an unsafe array.
        ValueError: a truncated or damaged file, content that is not a RadioML dict, or
            modulations outside the RadioML 2016 set.
    """
    file = find_radioml_file(path, variant, data_dir)
    data = stack_rml_dict(_read_file(file, variant), source=str(file))
    if unknown := sorted(set(data.mods) - RML_MODS):
        raise ValueError(f"RadioML file {str(file)!r} has {len(data.mods)} modulations, {unknown[:5]} not among the "
                         f"RadioML 2016 ones {sorted(RML_MODS)}; the models have one output per RadioML 2016 class, "
                         "so this file cannot be used")
    return data


class RadioMLSplit(NamedTuple):
    """Index arrays (int64) into the stacked data; ``val`` is empty for the O'Shea split."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def _amr_split(sizes: Sequence[int], seed: int, fractions: tuple[float, float]) -> RadioMLSplit:
    # AMR-Benchmark dataset2016.py, generalised from blocks of 1000 (600/200) to any size. The set
    # arithmetic and list(set) orders are kept on purpose: the drawn indices depend on them.
    rs = np.random.RandomState(seed)  # == np.random.seed(seed) + np.random.choice/shuffle
    train_idx: list[Any] = []
    val_idx: list[Any] = []
    start = 0
    for n in sizes:
        n_tr, n_va = round(fractions[0] * n), round(fractions[1] * n)
        block = range(start, start + n)
        tr = list(rs.choice(block, size=n_tr, replace=False))
        train_idx += tr
        val_idx += list(rs.choice(list(set(block) - set(tr)), size=n_va, replace=False))
        start += n
    test_idx = list(set(range(start)) - set(train_idx) - set(val_idx))
    rs.shuffle(train_idx)
    rs.shuffle(val_idx)
    rs.shuffle(test_idx)
    return RadioMLSplit(*(np.asarray(i, dtype=np.int64).reshape(-1) for i in (train_idx, val_idx, test_idx)))


def _oshea_split(n_total: int, seed: int) -> RadioMLSplit:
    # O'Shea's RML2016.10a example notebook: 50 % train over the whole stack, the rest test.
    rs = np.random.RandomState(seed)
    train_idx = rs.choice(range(n_total), size=int(n_total * 0.5), replace=False)
    test_idx = list(set(range(n_total)) - set(train_idx))
    return RadioMLSplit(np.asarray(train_idx, dtype=np.int64), np.zeros(0, dtype=np.int64),
                        np.asarray(test_idx, dtype=np.int64))


def standard_split(block_sizes: Sequence[int], scheme: str = "amr_benchmark", seed: int = 2016,
                   fractions: tuple[float, float] = (0.6, 0.2)) -> RadioMLSplit:
    """The published RadioML splits, reproducing ``np.random.seed(2016)`` index draws exactly.

    ``"amr_benchmark"`` (AMR-Benchmark ``dataset2016.py``, the MC-Net reference): per (mod, snr)
    block of ``n``, ``round(0.6 n)`` train then ``round(0.2 n)`` val drawn with
    ``np.random.choice(replace=False)``, the rest test, then each index list shuffled
    (600/200/200 per key for n = 1000). ``"oshea"``: 50 % random train over all examples, rest test.

    Args:
        block_sizes: examples per key in stacking order (:attr:`RadioMLData.block_sizes`).
        scheme: one of :data:`SPLIT_SCHEMES`.
        seed: legacy ``np.random.RandomState`` seed (2016 in both references).
        fractions: (train, val) fractions of each block for ``"amr_benchmark"``.

    Returns:
        :class:`RadioMLSplit` of int64 index arrays.
    """
    sizes = [int(n) for n in block_sizes]
    if not sizes or min(sizes) < 1:
        raise ValueError(f"block_sizes={list(block_sizes)[:5]}... must be a non-empty list of positive counts; "
                         "pass RadioMLData.block_sizes")
    if scheme == "amr_benchmark":
        if not (0 < fractions[0] and 0 <= fractions[1] and sum(fractions) <= 1):
            raise ValueError(f"fractions={fractions} must be (train > 0, val >= 0) with train + val <= 1, "
                             "e.g. (0.6, 0.2)")
        return _amr_split(sizes, seed, fractions)
    if scheme == "oshea":
        return _oshea_split(sum(sizes), seed)
    raise ValueError(f"scheme={scheme!r} is unknown; use one of {list(SPLIT_SCHEMES)}")


class _RealFormatPickler(pickle._Pickler):  # the pure-Python pickler: its save_global can be overridden
    """Names the array rebuilder ``numpy.core.multiarray._reconstruct``, as NumPy 1.x and the released files do."""

    def save_global(self, obj: Any, name: str | None = None) -> None:
        if obj is _np_reconstruct():
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
            self.memoize(obj)
            return
        super().save_global(obj, name)


def write_rml_pickle(d: Mapping[tuple[str, int], np.ndarray], path: str | os.PathLike[str],
                     protocol: int = 2) -> Path:
    """Write ``d`` as a RadioML-format pickle with ``numpy.core.multiarray`` references (atomic).

    Used for test fixtures and to export generated data to code that expects the DeepSig file.
    """
    validate_rml_dict(d, "write_rml_pickle(d)")
    if not 0 <= protocol <= 2:
        raise ValueError(f"protocol={protocol} is not supported; use 0, 1 or 2 (the released files are protocol 0/2)")
    payload = {(str(m), int(s)): v for (m, s), v in d.items()}
    return atomic_write(path, lambda fh: _RealFormatPickler(fh, protocol=protocol).dump(payload))
