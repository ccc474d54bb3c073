"""Optional native (C) kernels for the state-vector simulator's hot loops.

Everything here works on CPU, C-contiguous state tensors of shape ``(B, 2**n)`` (batch first)
with dtype float32, float64, complex64 or complex128.  Qubit ``q`` is bit ``n-1-q`` of the basis
index (qubit 0 = most significant bit).

``AVAILABLE`` says whether the compiled extension could be imported; if not,
``unavailable_reason`` says why and every kernel raises ``RuntimeError`` (the simulator then uses
its pure-torch path).  Set ``QTRAIN_DISABLE_NATIVE=1`` to force the fallback.  ``nthreads=None``
means ``torch.get_num_threads()``.

Kernels, by module:

- :mod:`.layers`: ``layer_apply_`` (a layer of 2x2 gates, in place), ``layer_adjoint_`` (its
  adjoint step with the cross matrices of the gradient), ``layer_apply_permute`` and
  ``permute_layer_adjoint`` (the same fused with a basis permutation: a "layer + CNOT network"
  block forward and backward).
- :mod:`.perm`: ``permute`` (``out[b, k] = state[b, index[k]]``), ``perm_plan`` / ``PermPlan``
  (the cached analysis of an index map; GF(2)-affine maps run as SIMD shuffles).
- :mod:`.programs`: ``prog_forward`` / ``prog_adjoint`` (gate programs: a whole circuit of 1-
  and 2-qubit matrices per call) and ``blocks_forward`` / ``blocks_adjoint`` (block programs:
  layers and linear permutations per call).
- ``info()``: build information (AVX-512 path or portable C, thread pool) and current tuning.

Implementation (C sources next to this file, one extension): a layer is applied in
cache-blocked passes (contiguous tiles for the low qubits, copied strided tiles for the high
ones, ``qt_plan.c``); in a tile, gates are register-blocked and written as
``pivot * (x_p + r * x_o)`` (one FMA per output, |r| <= 2) with the pivots applied once per pass
(``qt_tile*.inc``); the adjoint sums the cross terms in SIMD lanes and folds them into float64.
Threads: a small pthread pool (``qt_pool.c``, not OpenMP) whose helpers claim tasks
dynamically; the calling thread only waits for tasks a helper has actually started, so a busy
machine degrades to roughly single-threaded speed instead of stalling on barriers.
"""
from __future__ import annotations

from typing import Any

from ._lib import AVAILABLE, need, unavailable_reason
from .layers import layer_adjoint_, layer_apply_, layer_apply_permute, permute_layer_adjoint
from .perm import PermPlan, perm_plan, permute
from .programs import BLOCK_RECORD, MAX_QUBITS, blocks_adjoint, blocks_forward, prog_adjoint, prog_forward

__all__ = [
    "AVAILABLE",
    "BLOCK_RECORD",
    "MAX_QUBITS",
    "PermPlan",
    "blocks_adjoint",
    "blocks_forward",
    "info",
    "layer_adjoint_",
    "layer_apply_",
    "layer_apply_permute",
    "perm_plan",
    "permute",
    "permute_layer_adjoint",
    "prog_adjoint",
    "prog_forward",
    "unavailable_reason",
]

_TUNING_KEYS = ("tile_bytes_apply", "tile_bytes_adj", "row_bytes", "group_apply", "group_adjoint",
                "min_parallel_bytes", "factored", "fuse", "backoff_jobs")


def info() -> dict[str, Any]:
    """Build information and current tuning parameters.

    Example:
        >>> isinstance(info()["available"], bool)
        True
    """
    if not AVAILABLE:
        return {"available": False, "reason": unavailable_reason}
    ext = need()
    d = dict(ext.build_info())
    d["available"] = True
    d.update(zip(_TUNING_KEYS, ext.set_tuning()))
    d["factored"] = bool(d["factored"])
    return d


def _set_tuning(
    tile_bytes_apply: int = -1,
    tile_bytes_adj: int = -1,
    row_bytes: int = -1,
    group_apply: int = -1,
    group_adjoint: int = -1,
    min_parallel_bytes: int = -1,
    factored: int = -1,
    fuse: int = -1,
    backoff_jobs: int = -1,
) -> tuple[int, ...]:
    """Experimental knobs (benchmarks, tests); -1 keeps the current value.  Returns the settings
    as a tuple in argument order, which can be passed back to restore them."""
    return need().set_tuning(
        tile_bytes_apply, tile_bytes_adj, row_bytes, group_apply, group_adjoint, min_parallel_bytes,
        factored, fuse, backoff_jobs,
    )
