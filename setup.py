"""Build hook for the optional native kernels; metadata lives in pyproject.toml.

The extension ``qtrain.sim._native._qtnative`` is a small CPython module in plain C
(no torch headers).  It is optional: when no compiler (or no Python headers) is
available the install still succeeds and qtrain falls back to pure torch.

Environment variables
---------------------
QTRAIN_NATIVE_CFLAGS   optimisation/architecture flags, default "-O3 -march=native".
                       Use e.g. "-O3 -march=x86-64-v3" for a wheel that runs on
                       other x86-64 CPUs (AVX2; the AVX-512 kernels are then off).
QTRAIN_NATIVE_THREADS  "0" builds without the pthread pool (single-threaded kernels).
QTRAIN_NO_NATIVE       "1" skips the extension entirely.
"""
import os
import shlex
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

try:  # setuptools >= 60 vendors distutils
    from setuptools.errors import CCompilerError, CompileError, LinkError  # type: ignore
except Exception:  # pragma: no cover
    from distutils.errors import CCompilerError, CompileError, LinkError  # type: ignore

NATIVE_DIR = os.path.join("src", "qtrain", "sim", "_native")


class OptionalBuildExt(build_ext):
    """Try progressively simpler flag sets; give up quietly (the extension is optional)."""

    def build_extension(self, ext):
        user = os.environ.get("QTRAIN_NATIVE_CFLAGS")
        opt = shlex.split(user) if user is not None else ["-O3", "-march=native"]
        use_threads = os.environ.get("QTRAIN_NATIVE_THREADS", "1") != "0"
        # hidden visibility: only PyInit__qtnative is exported from the multi-file extension
        common = ["-std=c11", "-g0", "-fno-strict-aliasing", "-fvisibility=hidden", "-Wall",
                  "-Wno-unknown-pragmas"]
        if self.compiler.compiler_type == "msvc":  # pragma: no cover - not our target
            attempts = [(["/O2", "/DQT_NO_THREADS"], [])]
        else:
            attempts = []
            if use_threads:
                attempts.append((common + opt + ["-pthread"], ["-pthread"]))
            attempts.append((common + opt + ["-DQT_NO_THREADS"], []))
            if user is None:  # -march=native may be unsupported (e.g. some cross compilers)
                attempts.append((common + ["-O3", "-DQT_NO_THREADS"], []))
        last = None
        for cflags, ldflags in attempts:
            ext.extra_compile_args = list(cflags)
            ext.extra_link_args = list(ldflags)
            try:
                super().build_extension(ext)
                return
            except (CCompilerError, CompileError, LinkError) as e:  # try the next flag set
                last = e
                sys.stderr.write(
                    f"qtrain: building {ext.name} with {' '.join(cflags)} failed ({e}); "
                    "retrying with simpler flags\n"
                )
        assert last is not None
        raise last


# One extension from several translation units, one per concern (thread pool, GF(2) maps, pass
# planner, permutations, tile kernels, layer drivers, gate programs, block programs, Python
# bindings): every *.c next to the Python wrapper; the headers and the per-dtype kernel
# templates (*.inc) are dependencies.
_NATIVE_FILES = sorted(os.listdir(NATIVE_DIR)) if os.path.isdir(NATIVE_DIR) else []
SOURCES = [f for f in _NATIVE_FILES if f.endswith(".c")]
DEPENDS = [f for f in _NATIVE_FILES if f.endswith((".h", ".inc"))]

ext_modules = []
if os.environ.get("QTRAIN_NO_NATIVE", "0") != "1":
    ext_modules.append(
        Extension(
            "qtrain.sim._native._qtnative",
            sources=[os.path.join(NATIVE_DIR, f) for f in SOURCES],
            depends=[os.path.join(NATIVE_DIR, f) for f in DEPENDS],
            optional=True,
        )
    )

setup(ext_modules=ext_modules, cmdclass={"build_ext": OptionalBuildExt})
