"""Seeded generators of hostile and malformed inputs for the fuzz suite.

Each generator writes its files under a folder and returns case dicts for the
:mod:`worker <tests.fuzz.worker>`: ``{"id", "op", ..., "names": [strings the error must
contain], "expect": "error" | "ok" | None}``. Everything is derived from ``random.Random(seed)``,
so a failing case id always names the same input.
"""
from __future__ import annotations

import gzip
import io
import pickle
import random
import struct
import tarfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

CANARY_ENV = "QTRAIN_FUZZ_PWNED"

# ----------------------------------------------------------------------------- shared mutations
def mutations(rng: random.Random, blob: bytes, n_cut: int, n_flip: int) -> list[tuple[str, bytes]]:
    """Truncations at random points (plus 0 and 1 byte) and 1-16 random byte flips of ``blob``."""
    out = [("cut0", b""), ("cut1", blob[:1])]
    for i in range(n_cut):
        k = rng.randrange(2, max(3, len(blob)))
        out.append((f"cut{k}_{i}", blob[:k]))
    for i in range(n_flip):
        data = bytearray(blob)
        for _ in range(rng.choice((1, 1, 2, 4, 16))):
            data[rng.randrange(len(data))] = rng.randrange(256)
        out.append((f"flip{i}", bytes(data)))
    return out


def _write(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


# ----------------------------------------------------------------------------- config values (--set) and YAML
BAD_VALUES = [
    "nan", ".nan", "NaN", "inf", "-inf", ".inf", "-.inf", "1e400", "-1e400", "1e-400", "99999999999999999999999",
    "-99999999999999999999999", "1e308", "-1", "0", "-0.0", "2.5", "true", "null", "~", "", "[]", "[1, 2, [3]]",
    "[nan, inf]", "{a: 1}", "&a [1]", "*a", "!!python/object/apply:os.system ['true']", "[1, *b]", "'''",
    "\"unterminated", "a: b: c", "- - - -", "0x7fffffffffffffff", "0b101", "1_000", "+inf", "9" * 400, "x" * 5000,
    "[" * 200, "{" * 50, "\t", "é\u202e", "--set", "=", "1,2,3", "(1, 2)", "None",
]


def config_cases(rng: random.Random, fields: dict[str, list[str]], per_field: int,
                 n_random: int) -> list[dict[str, Any]]:
    """``--set key=value`` cases: ``per_field`` of :data:`BAD_VALUES` for every field of every recipe (the
    first 10 always, the rest drawn), plus random multi-key and unknown-key cases."""
    cases = []
    for recipe, names in fields.items():
        for name in names:
            picked = list(range(10)) + sorted(rng.sample(range(10, len(BAD_VALUES)), max(0, per_field - 10)))
            for j in picked:
                value = BAD_VALUES[j]
                cases.append({"id": f"set/{recipe}/{name}/{j}", "op": "config", "recipe": recipe,
                              "overrides": [f"{name}={value}"], "names": [name]})
    junk = "abcxyz_-=.:[]{}!&*~ 019eEnaifNI#'\"\\\n"
    for i in range(n_random):
        recipe = rng.choice(sorted(fields))
        keys = [rng.choice(fields[recipe]) for _ in range(rng.randint(1, 4))]
        if rng.random() < 0.2:
            keys.append("".join(rng.choice(junk) for _ in range(rng.randint(1, 30))).replace("=", "") or "k")
        overrides = [f"{k}={rng.choice(BAD_VALUES) if rng.random() < 0.6 else _junk(rng, junk)}" for k in keys]
        cases.append({"id": f"set/{recipe}/random{i}", "op": "config", "recipe": recipe, "overrides": overrides,
                      "names": [k.strip()[:20] for k in keys if k.strip()]})
    return cases


DEVICE_VALUES = ["cuda", "cuda:0", "cuda:7", "cuda:-1", "cuda:99999999999999999999", "gpu", "mps", "meta", "xla",
                 "cpu:0", "CPU", "auto:0", "cuda:0,cuda:1", "cuda::1", "cuda:1.5", "cuda:nan"]
PRECISION_VALUES = ["fp16", "float16", "half", "bfloat16", "BF16", "fp8", "float64", "int8", "mixed", "amp"]
NPROC_VALUES = ["0", "-1", "-2", "1.5", "two", "", "nan", "inf", "1e9", "99999999999999999999", "100000"]


def run_option_cases(rng: random.Random, recipes: list[str], per_option: int) -> list[dict[str, Any]]:
    """``qtrain run RECIPE --set device=|precision=`` and ``--nproc`` values that must each end in one clear
    line naming the option (never a run: every value here is refused on a machine without CUDA)."""
    cases = []
    pools = {"device": DEVICE_VALUES + BAD_VALUES, "precision": PRECISION_VALUES + BAD_VALUES}
    for key, pool in pools.items():
        picked = pool[:per_option] + rng.sample(pool[per_option:], min(per_option, len(pool) - per_option))
        for j, value in enumerate(picked):
            recipe = rng.choice(recipes)
            cases.append({"id": f"runopt/{recipe}/{key}/{j}", "op": "cli", "expect": "error", "names": [key],
                          "argv": ["run", recipe, "--quiet", "--set", f"{key}={value}"]})
    for j, value in enumerate(NPROC_VALUES):
        recipe = rng.choice(recipes)
        cases.append({"id": f"runopt/{recipe}/nproc/{j}", "op": "cli", "expect": "error", "names": ["nproc"],
                      "argv": ["run", recipe, "--quiet", "--nproc", value]})
    return cases


def _junk(rng: random.Random, alphabet: str) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))


ALIAS_BOMB = ("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
              + "".join(f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
                        for p, c in zip("abcdefgh", "bcdefghi")))


def yaml_cases(rng: random.Random, folder: Path, presets: dict[str, list[Path]], n_mut: int) -> list[dict[str, Any]]:
    """Preset files for ``qtrain validate``: hostile YAML (alias bomb, deep nesting, null keys...), mutated presets."""
    special = {
        "alias_bomb": ALIAS_BOMB, "deep_list": "a: " + "[" * 5000 + "]" * 5000, "deep_map": "a: " + "{b: " * 3000
        + "1" + "}" * 3000, "null_key": "~: 1\n", "int_key": "1: 2\n", "list_key": "? [1, 2]\n: 3\n",
        "top_list": "- 1\n- 2\n", "top_scalar": "42\n", "two_docs": "a: 1\n---\nb: 2\n", "tabs": "a:\t1\n",
        "python_tag": "epochs: !!python/object/apply:os.system ['touch pwned']\n", "binary": "\x00\x01\x02\x03",
        "anchor_only": "epochs: &e 3\n", "merge_key": "<<: {epochs: 3}\n", "big_int": "epochs: 1" + "0" * 30 + "\n",
        "nan": "seed: .nan\n", "huge_string": "data_dir: " + "x" * 100_000 + "\n", "empty": "",
        "comment_only": "# hi\n",
        "dup_keys": "epochs: 1\nepochs: 2\n", "bom": "\ufeffepochs: 1\n", "set": "a: !!set {x, y}\n",
        "timestamp": "seed: 2001-12-14\n", "bytes": "seed: !!binary aGVsbG8=\n",
    }
    cases = []
    for recipe in sorted(presets):
        for name, text in special.items():
            path = _write(folder / recipe, f"{name}.yaml", text.encode("utf-8", errors="surrogatepass"))
            cases.append({"id": f"yaml/{recipe}/{name}", "op": "cli", "names": [path.name],
                          "argv": ["validate", str(path), "--recipe", recipe]})
        big = _write(folder / recipe, "too_big.yaml", b"# " + b"x" * (2 << 20) + b"\n")
        cases.append({"id": f"yaml/{recipe}/too_big", "op": "cli", "argv": ["validate", str(big), "--recipe", recipe],
                      "names": [big.name], "expect": "error"})
        latin = _write(folder / recipe, "latin1.yaml", "data_dir: caf\xe9\n".encode("latin-1"))
        cases.append({"id": f"yaml/{recipe}/latin1", "op": "cli", "argv": ["validate", str(latin), "--recipe", recipe],
                      "names": [latin.name], "expect": "error"})
        for i in range(n_mut):
            src = rng.choice(presets[recipe])
            (tag, data), = mutations(rng, src.read_bytes(), 1 if i % 2 else 0, 0 if i % 2 else 1)[-1:]
            path = _write(folder / recipe, f"mut{i}_{tag}_{src.name}", data)
            cases.append({"id": f"yaml/{recipe}/mut{i}", "op": "cli", "names": [path.name],
                          "argv": ["validate", str(path), "--recipe", recipe]})
    for key in ("alias_bomb", "deep_list", "null_key", "python_tag", "too_big", "latin1"):
        for c in cases:
            if c["id"].endswith(f"/{key}"):
                c["expect"] = "error"
    return cases


# ----------------------------------------------------------------------------- pickles
def _args(*values: Any) -> bytes:
    """Pickle opcodes that push ``tuple(values)`` (protocol 2 body, without header and STOP)."""
    return pickle.dumps(tuple(values), protocol=2)[2:-1]


def _call(module: str, name: str, *args: Any) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n" + _args(*args) + b"R"


def code_payloads(canary: Path) -> dict[str, bytes]:
    """Pickles that would run code (touch a file in ``canary`` or set the canary environment variable)."""
    setenv = f"import os; os.environ[{CANARY_ENV!r}] = '1'"
    touch = str(canary / "touched")
    calls = {
        "os_system": _call("os", "system", f"touch {touch}"),
        "posix_system": _call("posix", "system", f"touch {touch}"), "exec": _call("builtins", "exec", setenv),
        "eval": _call("builtins", "eval", f"__import__('os').system('touch {touch}')"),
        "py2_eval": _call("__builtin__", "eval", "1"), "open": _call("builtins", "open", touch, "w"),
        "subprocess": _call("subprocess", "check_call", ["touch", touch]),
        "import": _call("builtins", "__import__", "os"),
        "importlib": _call("importlib", "import_module", "os"), "putenv": _call("os", "putenv", CANARY_ENV, "1"),
        "getattr": _call("builtins", "getattr", 1, "__class__"), "nested_pickle": _call("pickle", "loads", b"x"),
        "numpy_load": _call("numpy", "load", touch), "np_scalar": _call("numpy.core.multiarray", "scalar", 1),
        "np_frombuffer": _call("numpy", "frombuffer", b"\x00" * 8), "torch_load": _call("torch", "load", touch),
        "copyreg": _call("copyreg", "_reconstructor", 1, 2, 3), "partial": _call("functools", "partial", 1),
        "shutil": _call("shutil", "rmtree", str(canary)), "codecs_utf16": _call("_codecs", "encode", "x", "utf-16"),
        "codecs_bytes": _call("_codecs", "encode", b"x", "latin1"), "bytes_huge": _call("__builtin__", "bytes", 10**10),
        "bytearray": _call("builtins", "bytearray", 10**10), "ndarray_call": _call("numpy", "ndarray", (10**9,)),
        "dtype_object": _call("numpy", "dtype", "O8"), "dtype_struct": _call("numpy", "dtype", "f4,i4"),
        "dtype_bytes": _call("numpy", "dtype", b"O8"),
        "reconstruct_other": _call("numpy.core.multiarray", "_reconstruct", 1, (0,), b"b"),
        "ext": b"\x82\x01",  # EXT1 code 1: the copyreg extension registry
        "inst": b"(S'touch " + touch.encode() + b"'\nios\nsystem\n",  # protocol 0 INST
        "newobj": b"cos\nsystem\n)\x81",
    }
    return {k: b"\x80\x02" + v + b"." if not v.startswith(b"(") else v + b"." for k, v in calls.items()}


def _array_pickle(dtype_spec: bytes, state_tail: bytes, shape: bytes, data: bytes) -> bytes:
    """A hand-made protocol-0 ndarray pickle (as Python 2 wrote them), to craft dtypes and sizes."""
    return (b"cnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\n(I0\ntS'b'\ntR(I1\n(" + shape
            + b"tcnumpy\ndtype\n(S'" + dtype_spec + b"'\nI0\nI1\ntR(I3\nS'|'\n" + state_tail + b"tbI00\nS"
            + repr(data).lstrip("b").encode() + b"\ntb.")


def array_payloads() -> dict[str, bytes]:
    """Arrays a real unpickler would build unsafely: object dtypes whose pointers are the file's bytes, etc."""
    plain = b"NNNI-1\nI-1\nI0\n"
    return {
        "object_array_68b": _array_pickle(b"O8", b"NNNI-1\nI-1\nI63\n", b"I1\n", b"A" * 8),
        "object_array_2": _array_pickle(b"O", plain, b"I2\n", b"\x10" * 16),
        "struct_state": _array_pickle(b"V8", b"N(S'a'\nS'b'\nt(dS'a'\n(cnumpy\ndtype\n(S'O8'\nI0\nI1\ntRI0\nts"
                                      b"I8\nI1\nI63\n", b"I1\n", b"B" * 8),
        "fields_in_state": _array_pickle(b"f4", b"N(S'a'\ntNI-1\nI-1\nI0\n", b"I1\n", b"C" * 4),
        "string_dtype": _array_pickle(b"S8", plain, b"I1\n", b"D" * 8),
        "datetime": _array_pickle(b"M8", plain, b"I1\n", b"E" * 8),
        "huge_shape": _array_pickle(b"f4", plain, b"I1099511627776\n", b"F" * 8),
        "overflow_shape": _array_pickle(b"f4", plain, b"I4611686018427387904\nI4611686018427387904\n", b""),
        "negative_shape": _array_pickle(b"f4", plain, b"I-1\n", b""),
        "short_data": _array_pickle(b"f4", plain, b"I100\n", b"G" * 8),
        "bool_ok": _array_pickle(b"b1", plain, b"I3\n", b"\x00\x01\x00"),
        "binbytes8_huge": b"\x80\x04\x8e" + struct.pack("<Q", 1 << 50) + b"abc.",
        "long4_huge": b"\x80\x02\x8b" + struct.pack("<i", 1 << 30) + b"\x01.",
        "frame_huge": b"\x80\x04\x95" + struct.pack("<Q", 1 << 50) + b"N.",
        "binunicode8_huge": b"\x80\x04\x8d" + struct.pack("<Q", 1 << 62) + b"x.",
        "deep_lists": b"\x80\x02" + b"]" * 100_000 + b"a" * 99_999 + b".",
        "deep_marks": b"\x80\x02" + b"(" * 100_000 + b".",
        "memo_missing": b"\x80\x02h\x07.", "empty_stack": b"\x80\x02a.", "stop_only": b".",
        "self_ref": b"\x80\x02]q\x00h\x00a.",
    }


def pickle_cases(rng: random.Random, folder: Path, canary: Path, n_cut: int, n_flip: int) -> list[dict[str, Any]]:
    """CIFAR-10 batches and RadioML pickles: valid bases, their mutations, code and array payloads."""
    from qtrain.data.cifar import write_cifar_python_batch
    from qtrain.data.radioml import write_rml_pickle

    g = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    cifar = write_cifar_python_batch(folder / "cifar_base", torch.from_numpy(g.integers(0, 256, (3, 3, 32, 32),
                                                                             dtype=np.uint8)), torch.tensor([0, 5, 9]))
    rml = {(m, s): g.standard_normal((2, 2, 128)).astype(np.float32) for m in ("BPSK", "QPSK") for s in (-2, 4)}
    bases = {"cifar_python": {"p2": cifar.read_bytes()},
             "radioml": {"p2": write_rml_pickle(rml, folder / "rml_p2.pkl", protocol=2).read_bytes(),
                         "p0": write_rml_pickle(rml, folder / "rml_p0.pkl", protocol=0).read_bytes()}}
    cases = []
    for loader, blobs in bases.items():
        for tag, blob in blobs.items():
            cases.append(_load_case(folder, f"{loader}/{tag}/valid", loader, blob, expect="ok"))
            for name, data in mutations(rng, blob, n_cut, n_flip):
                cases.append(_load_case(folder, f"{loader}/{tag}/{name}", loader, data))
        hostile = {**code_payloads(canary), **array_payloads()}
        for name, data in hostile.items():
            expect = None if name == "bool_ok" else "error"
            cases.append(_load_case(folder, f"{loader}/payload/{name}", loader, data, expect=expect))
            wrapped = pickle.dumps({b"data": 0}, protocol=2)[:-2]  # a dict whose value is the payload
            cases.append(_load_case(folder, f"{loader}/nested/{name}", loader,
                                    wrapped.replace(b"K\x00", data.lstrip(b"\x80\x02").rstrip(b".")) + b"s.",
                                    expect=expect))
        for i in range(10):
            cases.append(_load_case(folder, f"{loader}/random{i}", loader, rng.randbytes(rng.randint(1, 400))))
    cases.append(_load_case(folder, "cifar_python/gzip", "cifar_python", gzip.compress(bases["cifar_python"]["p2"]),
                            expect="error"))
    cases += _archive_cases(rng, folder, bases["radioml"]["p2"])
    return cases


def _archive_cases(rng: random.Random, folder: Path, blob: bytes) -> list[dict[str, Any]]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:bz2") as tar:
        info = tarfile.TarInfo("RML2016.10a_dict.pkl")
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
    good = buf.getvalue()
    empty = io.BytesIO()
    with tarfile.open(fileobj=empty, mode="w:bz2") as tar:
        info = tarfile.TarInfo("readme.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    cases = [_load_case(folder, "radioml/archive/valid", "radioml", good, expect="ok", suffix=".tar.bz2"),
             _load_case(folder, "radioml/archive/no_member", "radioml", empty.getvalue(), expect="error",
                        suffix=".tar.bz2")]
    for name, data in mutations(rng, good, 6, 6):
        cases.append(_load_case(folder, f"radioml/archive/{name}", "radioml", data, suffix=".tar.bz2"))
    return cases


def _load_case(folder: Path, cid: str, loader: str, data: bytes, expect: str | None = None,
               suffix: str = "") -> dict[str, Any]:
    path = _write(folder, cid.replace("/", "__") + suffix, data)
    return {"id": cid, "op": "load", "loader": loader, "path": str(path), "names": [path.name], "expect": expect}


# ----------------------------------------------------------------------------- IDX
def _idx(magic: int, dims: tuple[int, ...], body: bytes) -> bytes:
    return struct.pack(f">I{len(dims)}I", magic, *dims) + body


def idx_cases(rng: random.Random, folder: Path, n_cut: int, n_flip: int, bomb_members: int) -> list[dict[str, Any]]:
    """IDX image/label files (raw and gzip): valid, mutated, lying headers, int64 wrap-around, gzip bombs."""
    g = np.random.default_rng(1)
    images, labels = g.integers(0, 256, (5, 28, 28), dtype=np.uint8), np.arange(5, dtype=np.uint8)
    bases = {"idx_images": _idx(2051, (5, 28, 28), images.tobytes()), "idx_labels": _idx(2049, (5,), labels.tobytes())}
    cases = []
    for loader, blob in bases.items():
        for gz in (False, True):
            raw = gzip.compress(blob, mtime=0) if gz else blob
            tag = "gz" if gz else "raw"
            cases.append(_load_case(folder, f"{loader}/{tag}/valid", loader, raw, expect="ok"))
            for name, data in mutations(rng, raw, n_cut, n_flip):
                cases.append(_load_case(folder, f"{loader}/{tag}/{name}", loader, data))
    lies = {"wrap64": (2051, (1 << 22, 1 << 22, 1 << 22), b""), "max_dims": (2051, (2**32 - 1,) * 3, b"\x00" * 64),
            "zero_dim": (2051, (0, 28, 28), b""), "swapped_magic": (2049, (5, 28, 28), images.tobytes()),
            "big_claim": (2051, (60000, 28, 28), images.tobytes()), "labels_wrap": (2049, (2**32 - 1,), b"\x01" * 8),
            "extra_data": (2051, (1, 28, 28), b"\x00" * 2000), "magic_junk": (0x12345678, (1, 28, 28), b"\x00" * 784)}
    for name, (magic, dims, body) in lies.items():
        loader = "idx_labels" if len(dims) == 1 else "idx_images"
        for gz in (False, True):
            blob = _idx(magic, dims, body)
            cases.append(_load_case(folder, f"{loader}/lie/{name}_{'gz' if gz else 'raw'}", loader,
                                    gzip.compress(blob, mtime=0) if gz else blob, expect="error"))
    cases += _bomb_cases(folder, bomb_members)
    cases += _split_cases(folder, images, labels)
    return cases


def _bomb_cases(folder: Path, members: int) -> list[dict[str, Any]]:
    """Concatenated gzip members: ~1 KB each, 1 MiB of zeros each once decompressed (``members`` MiB in all)."""
    zeros = gzip.compress(b"\x00" * (1 << 20), mtime=0)
    cases = []
    for name, head in (("bad_magic", struct.pack(">IIII", 0, 0, 0, 0)),
                       ("small_claim", struct.pack(">IIII", 2051, 1, 28, 28)),
                       ("huge_claim", struct.pack(">IIII", 2051, 2**32 - 1, 2**32 - 1, 2**32 - 1))):
        data = gzip.compress(head, mtime=0) + zeros * members
        cases.append(_load_case(folder, f"idx_images/bomb/{name}", "idx_images", data, expect="error", suffix=".gz"))
    return cases


def _split_cases(folder: Path, images: np.ndarray, labels: np.ndarray) -> list[dict[str, Any]]:
    """Whole IDX folders for ``load_idx_split``: labels out of range, 32x32 images, counts that differ."""
    variants = {
        "valid": (_idx(2051, (5, 28, 28), images.tobytes()), _idx(2049, (5,), labels.tobytes()), "ok"),
        "label_200": (_idx(2051, (5, 28, 28), images.tobytes()), _idx(2049, (5,), bytes([0, 1, 200, 3, 4])), "error"),
        "size_32": (_idx(2051, (5, 32, 32), bytes(5 * 1024)), _idx(2049, (5,), labels.tobytes()), "error"),
        "count": (_idx(2051, (5, 28, 28), images.tobytes()), _idx(2049, (4,), labels[:4].tobytes()), "error"),
    }
    cases = []
    for name, (img, lab, expect) in variants.items():
        sub = folder / "splits" / name
        _write(sub, "train-images-idx3-ubyte", img)
        _write(sub, "train-labels-idx1-ubyte.gz", gzip.compress(lab, mtime=0))
        names = ["train-labels" if name == "label_200" else "train-" if name != "count" else str(sub)]
        cases.append({"id": f"idx_split/{name}", "op": "load", "loader": "idx_split", "path": str(sub),
                      "names": names, "expect": expect})
    return cases


# ----------------------------------------------------------------------------- run folders and checkpoints
def wrap_checkpoint(state: dict[str, Any]) -> bytes:
    """A checksummed checkpoint of ``state`` without :func:`save_checkpoint`'s NaN guard (to craft files)."""
    import hashlib

    from qtrain.train.checkpoint import CHECKPOINT_MAGIC

    buf = io.BytesIO()
    torch.save(state, buf)
    return CHECKPOINT_MAGIC + hashlib.sha256(buf.getvalue()).digest() + buf.getvalue()


def _flip(path: Path, rng: random.Random, n: int) -> None:
    data = bytearray(path.read_bytes())
    for _ in range(n):
        data[rng.randrange(len(data))] ^= rng.randrange(1, 256)  # never a no-op
    path.write_bytes(bytes(data))


def _cut(path: Path, rng: random.Random) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:rng.randrange(len(data))])


def _edit_state(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    from qtrain.train.checkpoint import load_checkpoint

    state = load_checkpoint(path)
    edit(state)
    path.write_bytes(wrap_checkpoint(state))


def _edit_json(path: Path, edit: Callable[[Any], Any]) -> None:
    import json

    path.write_text(json.dumps(edit(json.loads(path.read_text()))))


def run_mutations(tags: list[str]) -> dict[str, tuple[Callable[[Path, random.Random], None], str | None, str]]:
    """name -> (mutate(run_dir, rng), expected outcome of a resume or None, a string the error must contain)."""
    def ck(tag: str, name: str = "last.pt") -> Callable[[Path], Path]:
        return lambda d: d / "checkpoints" / tag / name

    def nan_model(s: dict[str, Any]) -> None:
        k = next(iter(s["model"]))
        s["model"][k] = s["model"][k].clone().fill_(float("nan"))

    muts: dict[str, tuple[Callable[[Path, random.Random], None], str | None, str]] = {}
    for tag in tags:
        for n in (1, 4, 16):
            muts[f"{tag}_flip{n}"] = (lambda d, r, t=tag, n=n: _flip(ck(t)(d), r, n), "error", "last.pt")
        muts[f"{tag}_cut"] = (lambda d, r, t=tag: _cut(ck(t)(d), r), "error", "last.pt")
        muts[f"{tag}_empty"] = (lambda d, r, t=tag: ck(t)(d).write_bytes(b""), "error", "last.pt")
        muts[f"{tag}_best_flip"] = (lambda d, r, t=tag: _flip(ck(t, "best.pt")(d), r, 2), "error", "best.pt")
        for key in ("model", "optimizer", "rng", "epoch", "history"):
            muts[f"{tag}_no_{key}"] = (lambda d, r, t=tag, k=key: _edit_state(ck(t)(d), lambda s: s.pop(k)),
                                       "error", "last.pt")
        muts[f"{tag}_nan_model"] = (lambda d, r, t=tag: _edit_state(ck(t)(d), nan_model), "error", "last.pt")
        muts[f"{tag}_wrong_tag"] = (lambda d, r, t=tag: _edit_state(ck(t)(d), lambda s: s.update(tag="x")),
                                    "error", "last.pt")
        muts[f"{tag}_legacy_format"] = (lambda d, r, t=tag: ck(t)(d).write_bytes(ck(t)(d).read_bytes()[44:]), "ok", "")
        muts[f"{tag}_not_a_dict"] = (lambda d, r, t=tag: ck(t)(d).write_bytes(wrap_checkpoint([1, 2])), "error",
                                     "last.pt")  # type: ignore[arg-type]
    muts.update({
        "info_cut": (lambda d, r: _cut(d / "run.json", r), "error", "run.json"),
        "info_flip": (lambda d, r: _flip(d / "run.json", r, 2), None, "run.json"),
        "info_list": (lambda d, r: (d / "run.json").write_text("[1, 2]"), "error", "run.json"),
        "info_no_recipe": (lambda d, r: _edit_json(d / "run.json", lambda j: {k: v for k, v in j.items()
                                                                           if k != "recipe"}), "error", "run.json"),
        "info_seed_str": (lambda d, r: _edit_json(d / "run.json", lambda j: {**j, "seed": "0"}), "error", "run.json"),
        "info_bad_recipe": (lambda d, r: _edit_json(d / "run.json", lambda j: {**j, "recipe": "nope"}), "error",
                            "nope"),
        "info_missing": (lambda d, r: (d / "run.json").unlink(), "error", "run.json"),
        "config_cut": (lambda d, r: _cut(d / "config.yaml", r), "error", "config.yaml"),
        "config_flip": (lambda d, r: _flip(d / "config.yaml", r, 1), "error", "config.yaml"),
        "config_missing": (lambda d, r: (d / "config.yaml").unlink(), "error", "config.yaml"),
        "config_unchecked_cut": (lambda d, r: (_edit_json(d / "run.json", lambda j: {k: v for k, v in j.items()
                                                                                    if k != "config_sha256"}),
                                               _cut(d / "config.yaml", r)), "error", "config.yaml"),
        "config_alias_bomb": (lambda d, r: (d / "config.yaml").write_text(ALIAS_BOMB), "error", "config.yaml"),
        "metrics_cut_line": (lambda d, r: (d / "metrics.jsonl").write_bytes((d / "metrics.jsonl").read_bytes()[:-7]),
                             "ok", ""),
        "metrics_garbage_line": (lambda d, r: (d / "metrics.jsonl").write_bytes(b"{oops\n" + (d / "metrics.jsonl")
                                                                                .read_bytes()), "error", "metrics"),
        "metrics_missing": (lambda d, r: (d / "metrics.jsonl").unlink(missing_ok=True), "ok", ""),
        "summary_garbage": (lambda d, r: (d / "summary.json").write_bytes(r.randbytes(50)), "ok", ""),
        "stale_temp": (lambda d, r: (d / "checkpoints" / tags[0] / ".last.pt.999999999.x1.tmp").write_bytes(b"x"),
                       "ok", ""),
        "model_missing": (lambda d, r: (d / "model.safetensors").unlink(missing_ok=True), "ok", ""),
        "lock_file_junk": (lambda d, r: (d / ".lock").write_bytes(r.randbytes(20)), "ok", ""),
    })
    return muts


def checkpoint_file_cases(rng: random.Random, folder: Path, n_cut: int, n_flip: int) -> list[dict[str, Any]]:
    """Checkpoint files (checksummed and legacy torch zips) and RadioML ``.npz`` caches, mutated, for their loaders."""
    from qtrain.data.rml_generator import save_npz
    from qtrain.train.checkpoint import save_checkpoint

    g = torch.Generator().manual_seed(0)
    state = {"model": {"w": torch.randn(4, 3, generator=g), "b": torch.zeros(3)}, "epoch": 2, "history": [{"l": 0.5}],
             "rng": {"torch": torch.get_rng_state()}, "optimizer": {"state": {0: {"step": torch.tensor(3.0)}}}}
    folder.mkdir(parents=True, exist_ok=True)
    checked = save_checkpoint(folder / "base.pt", state).read_bytes()
    buf = io.BytesIO()
    torch.save(state, buf)
    cache = {(m, s): np.random.default_rng(2).standard_normal((2, 2, 128)).astype(np.float32)
             for m in ("BPSK", "QPSK") for s in (0, 4)}
    bases = {"checkpoint": {"checked": checked, "legacy": buf.getvalue()},
             "rml_npz": {"npz": save_npz(cache, folder / "base.npz", {"n_per_key": 2}).read_bytes()}}
    cases = []
    for loader, blobs in bases.items():
        for tag, blob in blobs.items():
            cases.append(_load_case(folder, f"{loader}/{tag}/valid", loader, blob, expect="ok", suffix=".bin"))
            for name, data in mutations(rng, blob, n_cut, n_flip):
                expect = "error" if tag == "checked" else None  # the checksum catches every change
                cases.append(_load_case(folder, f"{loader}/{tag}/{name}", loader, data, expect=expect, suffix=".bin"))
    return cases
