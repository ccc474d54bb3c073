"""Data-parallel training with ``torch.distributed``: ranks, the gradient all-reduce, local process launch.

A run trains data-parallel when ``WORLD_SIZE > 1`` is in the environment (``torchrun`` sets it, and
so does ``qtrain run RECIPE --nproc N`` through :func:`launch` for the processes it spawns). Every
rank builds the same model from the same seed, draws the same global batch order, and trains on
its own contiguous part of every global batch (:meth:`~qtrain.train.batches.ShuffledBatches.shard`).

:class:`GradientSync` makes the ranks' steps equal one process's step on the whole global batch:
after each backward it all-reduces, in one flat message, ``sum_r (n_r / N) * grad_r`` of the
*trainable* parameters only -- for Quantum-Train the QNN and mapping parameters, since the target's
generated weights are buffers -- where ``n_r`` is rank ``r``'s share of the ``N`` samples (the
gradient of a mean loss). Uneven shards (a short last batch) therefore need no padding. It sums
what it sent so the loop can report bytes per step.

Backends: gloo for CPU tensors, NCCL when the run's device is CUDA (one GPU per rank,
``cuda:<LOCAL_RANK>``).

Example:
    >>> dist_from_env({"WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "1"})
    DistInfo(rank=1, world_size=2, local_rank=1)
    >>> dist_from_env({}) is None
    True
    >>> [len(s) for s in torch.arange(7).tensor_split(3)]
    [3, 2, 2]
"""
from __future__ import annotations

import datetime
import os
import pickle
import queue as queue_mod
import socket
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

import torch
import torch.distributed as dist
from torch import Tensor, nn

__all__ = ["DistInfo", "GradientSync", "all_reduce_sums", "broadcast_module", "broadcast_object", "dist_from_env",
           "init_distributed", "launch", "shutdown_distributed"]

TIMEOUT = datetime.timedelta(minutes=30)
"""How long a collective waits for a rank before failing (a crashed rank ends the others' wait)."""


@dataclass(frozen=True)
class DistInfo:
    """This process's place in a data-parallel run."""

    rank: int
    world_size: int
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0 owns the run folder, the console, the logs and the checkpoints."""
        return self.rank == 0


def _env_int(environ: Mapping[str, str], key: str, default: str) -> int:
    text = environ.get(key, default)
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"environment variable {key}={text!r} is not an integer; torchrun sets it, "
                         f"unset it to train in one process") from None


def dist_from_env(environ: Mapping[str, str] | None = None) -> DistInfo | None:
    """The :class:`DistInfo` of ``torchrun``'s variables (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``); ``None``
    without them or with ``WORLD_SIZE=1``.

    Raises:
        ValueError: a variable is not an integer, or ``RANK`` is outside ``[0, WORLD_SIZE)``.
    """
    environ = os.environ if environ is None else environ
    world = _env_int(environ, "WORLD_SIZE", "1")
    if world <= 1:
        return None
    rank = _env_int(environ, "RANK", "-1")
    if not 0 <= rank < world:
        raise ValueError(f"environment variable RANK={environ.get('RANK')!r} must be in [0, {world}) for "
                         f"WORLD_SIZE={world}; start the processes with torchrun or `qtrain run --nproc`")
    return DistInfo(rank, world, _env_int(environ, "LOCAL_RANK", str(rank)))


def init_distributed(info: DistInfo, device: torch.device) -> None:
    """Join the process group (``env://``): NCCL for a CUDA ``device``, gloo otherwise."""
    if dist.is_initialized():
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend, rank=info.rank, world_size=info.world_size, timeout=TIMEOUT)


def shutdown_distributed() -> None:
    """Leave the process group (if joined)."""
    if dist.is_initialized():
        dist.destroy_process_group()


def _comm_device() -> torch.device:
    """Where collective tensors must live: the current GPU under NCCL, the CPU under gloo."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_reduce_sums(values: Sequence[float]) -> list[float]:
    """The sums over all ranks of a few numbers (float64), e.g. a step's loss x count, correct, count."""
    t = torch.tensor(list(values), dtype=torch.float64, device=_comm_device())
    dist.all_reduce(t)
    return t.tolist()


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """Rank ``src``'s ``obj`` on every rank (picklable objects: a run folder's path, a summary)."""
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


@torch.no_grad()
def broadcast_module(module: nn.Module, src: int = 0) -> None:
    """Give every rank rank ``src``'s parameters and buffers (same seed gives the same init; this makes it sure)."""
    dev = _comm_device()
    for t in [*module.parameters(), *module.buffers()]:
        buf = t.detach().to(dev)
        dist.broadcast(buf, src=src)
        if buf is not t:
            t.copy_(buf)


class GradientSync:
    """All-reduces the trainable parameters' gradients at the end of every backward, in one flat message.

    Args:
        params: the model's parameters; those with ``requires_grad`` are synchronised.

    Attributes:
        weight: this rank's share ``n_r / N`` of the current global batch (set by the loop before each
            step; the reduced gradient is ``sum_r weight_r * grad_r``).
        sent_bytes: bytes all-reduced since :meth:`take_bytes` last ran.
    """

    def __init__(self, params: Iterable[nn.Parameter]) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.weight = 1.0 / dist.get_world_size()
        self.sent_bytes = 0
        self._queued = False
        self._handles = [p.register_post_accumulate_grad_hook(self._on_grad) for p in self.params]

    def _on_grad(self, _param: Tensor) -> None:
        # the first parameter gradient of a backward queues one reduction at its end (as DDP does)
        if not self._queued:
            self._queued = True
            torch.autograd.Variable._execution_engine.queue_callback(self._reduce)

    @torch.no_grad()
    def _reduce(self) -> None:
        self._queued = False
        # every rank runs the same model, so the same parameters have gradients on every rank;
        # a second backward in one step is reduced again, which stays exact because the weights sum to 1
        have = [p for p in self.params if p.grad is not None]
        if not have:
            return
        grads = [p.grad for p in have]  # type: ignore[misc]
        flat = torch.cat([g.reshape(-1) for g in grads]).to(_comm_device()).mul_(self.weight)
        dist.all_reduce(flat)
        self.sent_bytes += flat.numel() * flat.element_size()
        for g, part in zip(grads, flat.split([g.numel() for g in grads])):
            g.copy_(part.view_as(g))

    def take_bytes(self) -> int:
        """Bytes all-reduced since the last call (the loop calls it once per optimizer step)."""
        sent, self.sent_bytes = self.sent_bytes, 0
        return sent

    def close(self) -> None:
        """Remove the gradient hooks."""
        for h in self._handles:
            h.remove()
        self._handles = []


# ----------------------------------------------------------------------------- local launch
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a ``ValueError``/``RuntimeError`` with its message."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 (any pickling failure: fall back to the message)
        return (ValueError if isinstance(exc, ValueError) else RuntimeError)(str(exc))


def _child(target: Callable[..., Any], kwargs: dict[str, Any], rank: int, world: int, port: int,
           results: Any) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE=str(world))
    try:
        out = target(**kwargs)
        results.put((rank, True, out if rank == 0 else None))
    except BaseException as exc:  # noqa: BLE001 (reported to the parent, which raises it)
        results.put((rank, False, _portable(exc)))
    finally:
        shutdown_distributed()


def launch(target: Callable[..., Any], nproc: int, kwargs: dict[str, Any]) -> Any:
    """Run ``target(**kwargs)`` in ``nproc`` spawned processes joined as one ``torch.distributed`` world.

    ``target`` must be importable (a module-level function); each process gets ``RANK``,
    ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` like under ``torchrun``.

    Returns:
        Rank 0's return value.

    Raises:
        BaseException: the first error a rank raised, re-raised here (the other ranks are then stopped).
        RuntimeError: a rank died without reporting (killed, out of memory).
    """
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    port = _free_port()
    procs = [ctx.Process(target=_child, args=(target, kwargs, r, nproc, port, results)) for r in range(nproc)]
    for p in procs:
        p.start()
    out: Any = None
    error: BaseException | None = None
    pending = set(range(nproc))
    try:
        while pending and error is None:
            try:
                rank, ok, payload = results.get(timeout=0.2)
            except queue_mod.Empty:
                error = _dead_rank(procs, pending, results)
                continue
            pending.discard(rank)
            out, error = (payload if ok and rank == 0 else out), (None if ok else payload)
    finally:
        for p in procs:
            if error is not None and p.is_alive():
                p.terminate()
            p.join()
    if error is not None:
        raise error
    return out


def _dead_rank(procs: list[Any], pending: set[int], results: Any) -> BaseException | None:
    """An error for a pending rank whose process ended without reporting (its report may still be queued)."""
    for r in sorted(pending):
        if procs[r].exitcode is not None:
            try:
                rank, ok, payload = results.get(timeout=1.0)
            except queue_mod.Empty:
                return RuntimeError(f"rank {r} of {len(procs)} exited with code {procs[r].exitcode} without a result "
                                    "(killed, or out of memory); see its output above")
            results.put((rank, ok, payload))  # not ours to consume here: the main loop reads it again
            return None
    return None
