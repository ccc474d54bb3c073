"""Where a Quantum-Train generator runs: beside the target, or on another device with one crossing.

The generator (circuit + mapping) is batch-independent and small, so it may run faster on the host
CPU (the native engine) than on a GPU, while the target trains on the GPU. Then only the flat
vector of generated weights should cross: one host-to-device copy forward, one device-to-host
copy of its gradient backward (:class:`CrossDevice`).

Why a naive split was slow (issue 12: 123 ms per QT-121 step against ~13 ms for the same circuit
and mapping on one CPU core): (1) the host part ran with torch's default intra-op threads (16
there): the table of the issue shows 13-qubit circuits 3.5x slower at 16 threads than at 1, and
the mapping's tiny ops fare no better (fork/join wake-ups per op, costly in a sandboxed VM); (2)
every generated tensor crossed on its own: one pageable copy each way per tensor, each copy to
the host a synchronisation, and the CPU part of autograd's backward waiting on the GPU thread per
tensor; (3) the busy-waiting intra-op threads compete for cores with autograd's device thread.
:func:`host_threads` runs the host part single-threaded up to :data:`HOST_THREADS_MAX_QUBITS`
(placeholder threshold from that table: 1 thread wins at 13 qubits, 16 threads at 19) and
:class:`CrossDevice` crosses once, with the host computation (forward and backward) inside it.

``qnn_device="auto"`` (the default): a target on the CPU keeps its generator on the CPU; for a
target on CUDA both placements are timed once (:func:`time_generation`: the generator's forward
and backward, one warm-up then the median of :data:`AUTO_TRIALS`) and the faster is kept, ties
to the GPU. ``"cpu"``, ``"cuda"``, ``"cuda:N"`` override the choice.

Example:
    >>> import torch
    >>> from qtrain.qt import QuantumParameterGenerator
    >>> g = QuantumParameterGenerator(20, blocks=2, calibrate=False)
    >>> w = generate_across(g, torch.device("cpu"), threads=1)  # same device: still one crossing
    >>> w.shape, w.requires_grad
    (torch.Size([20]), True)
"""
from __future__ import annotations

import contextlib
import copy
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import Tensor, nn

from qtrain.sim.devices import check_device

__all__ = [
    "AUTO_TRIALS",
    "HOST_THREADS_MAX_QUBITS",
    "CrossDevice",
    "Placement",
    "choose_device",
    "generate_across",
    "graph_generation",
    "host_threads",
    "parse_qnn_device",
    "time_generation",
    "torch_threads",
]

AUTO_TRIALS = 3
HOST_THREADS_MAX_QUBITS = 14


def parse_qnn_device(value: str | torch.device | None) -> torch.device | None:
    """``None`` for ``"auto"``, else the checked device.

    Raises:
        ValueError: naming ``qnn_device``, for anything but "auto", "cpu", "cuda" or "cuda:N"
            that exists here.
    """
    if value is None or (isinstance(value, str) and value == "auto"):
        return None
    dev = check_device(value, "qnn_device")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"qnn_device={value!r} is not supported; use 'auto', 'cpu', 'cuda' or 'cuda:N'")
    return dev


def host_threads(n_qubits: int) -> int:
    """torch threads for a generator running on the host beside a GPU target (see the module docstring)."""
    return 1 if n_qubits <= HOST_THREADS_MAX_QUBITS else torch.get_num_threads()


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch's intra-op threads (and the native kernels', which follow them) set to ``n`` inside."""
    before = torch.get_num_threads()
    if n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n != before:
            torch.set_num_threads(before)


class CrossDevice(torch.autograd.Function):
    """``generator()`` computed where the generator lives, its ``(M,)`` output moved to ``device``.

    Forward builds the generator's graph inside (with ``threads`` torch threads) and returns one
    copy on ``device``; backward brings the incoming gradient back in one copy and runs the
    generator's backward inside, returning the gradients of its parameters.
    """

    @staticmethod
    def forward(ctx: Any, generator: nn.Module, device: torch.device, threads: int,  # type: ignore[override]
                *params: Tensor) -> Tensor:
        with torch.set_grad_enabled(bool(params)), torch_threads(threads):  # no params: no graph wanted
            y = generator()
        ctx.y, ctx.params, ctx.threads = y, params, threads
        return _move(y.detach(), device)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        y, params = ctx.y, ctx.params
        g = _move(g, y.device)
        with torch_threads(ctx.threads):
            grads = torch.autograd.grad(y, params, g, allow_unused=True) if y.requires_grad else [None] * len(params)
        ctx.y = ctx.params = None
        return (None, None, None, *grads)


def _move(t: Tensor, device: torch.device) -> Tensor:
    """The one copy each way (a plain copy: 27 KB for QT-121, pinned staging would not pay)."""
    return t.to(device)


def generate_across(generator: nn.Module, device: torch.device, threads: int) -> Tensor:
    """One generation on the generator's device, delivered on ``device`` (gradients flow back)."""
    params = [p for p in generator.parameters() if p.requires_grad] if torch.is_grad_enabled() else []
    return CrossDevice.apply(generator, device, threads, *params)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_generation(generator: nn.Module, trials: int = AUTO_TRIALS, threads: int | None = None,
                    clock: Callable[[], float] = time.perf_counter) -> float:
    """Median seconds of one generation, forward and backward (``raw()``: no calibration), after a warm-up."""
    params = [p for p in generator.parameters() if p.requires_grad]
    device = params[0].device
    times = []
    with torch_threads(threads or torch.get_num_threads()):
        for i in range(trials + 1):
            _sync(device)
            t0 = clock()
            y = generator.raw()  # type: ignore[operator]
            torch.autograd.grad(y.sum(), params, allow_unused=True)
            _sync(device)
            elapsed = clock() - t0
            if i:  # the first run compiles kernels and fills caches
                times.append(elapsed)
    return statistics.median(times)


def choose_device(generator: nn.Module, target: torch.device, n_qubits: int,
                  timer: Callable[[torch.device, int], float] | None = None) -> torch.device:
    """``qnn_device="auto"``: the CPU for a CPU target; for a CUDA target, the faster of the host
    CPU (at :func:`host_threads`) and the target's GPU, timed on copies of ``generator``.

    ``timer(device, threads)``: seconds per generation there (default: :func:`time_generation`).
    """
    if target.type != "cuda":
        return target
    if timer is None:
        def timer(device: torch.device, threads: int) -> float:
            return time_generation(copy.deepcopy(generator).to(device), threads=threads)
    host = timer(torch.device("cpu"), host_threads(n_qubits))
    gpu = timer(target, torch.get_num_threads())
    return target if gpu <= host else torch.device("cpu")


def graph_generation(generator: nn.Module) -> Callable[[], Tensor]:
    """The generator's forward and backward captured in CUDA graphs (static shapes: one replay each).

    The parameters are the graph's inputs (copied in on every call, so optimizer updates are
    seen); buffers (calibration) are read in place. Call after the first, calibrating generation.
    """
    names = [n for n, p in generator.named_parameters() if p.requires_grad]
    params = tuple(p for p in generator.parameters() if p.requires_grad)

    def step(*values: Tensor) -> Tensor:
        return torch.func.functional_call(generator, dict(zip(names, values)), ())

    graphed = torch.cuda.make_graphed_callables(step, params)  # type: ignore[arg-type]
    return lambda: graphed(*params)


class Placement:
    """One wrapper's generator placement (``qnn_device``) and optional CUDA-graph step (``cuda_graph``).

    Raises:
        ValueError: for a bad ``qnn_device`` or a non-bool ``cuda_graph``.
    """

    def __init__(self, qnn_device: str | torch.device | None = "auto", cuda_graph: bool = False) -> None:
        self.option = parse_qnn_device(qnn_device)
        if not isinstance(cuda_graph, bool):  # ValueError: the library's one error type for bad arguments
            msg = f"cuda_graph={cuda_graph!r} must be True or False (capture the generator's step in CUDA graphs)"
            raise ValueError(msg)  # noqa: TRY004
        self.cuda_graph = cuda_graph
        self._auto: dict[torch.device, torch.device] = {}  # target device -> measured choice
        self._graph: tuple[tuple[Any, ...], Callable[[], Tensor]] | None = None

    def device_for(self, generator: nn.Module, target: torch.device) -> torch.device:
        """Where the generator runs for a target on ``target`` (measured once per target device for auto)."""
        if self.option is not None:
            return self.option
        if target not in self._auto:
            self._auto[target] = choose_device(generator, target, generator.n_qubits)  # type: ignore[arg-type]
        return self._auto[target]

    def place(self, generator: nn.Module, target: torch.device) -> None:
        """Move ``generator`` to its device (parameters stay the same objects)."""
        want = self.device_for(generator, target)
        if _device_of(generator) != want:
            generator.to(want)
            self._graph = None

    def generate(self, generator: nn.Module, target: torch.device) -> Tensor:
        """One flat generation ``(M,)`` on ``target``: direct, across devices, or a graph replay."""
        here = _device_of(generator)
        if self.cuda_graph and generator.training and torch.is_grad_enabled():
            return self._replay(generator, here, target)
        if here == target:
            return generator()
        return generate_across(generator, target, host_threads(generator.n_qubits))  # type: ignore[arg-type]

    def _replay(self, generator: nn.Module, here: torch.device, target: torch.device) -> Tensor:
        if here.type != "cuda" or here != target:
            raise ValueError(f"cuda_graph=True captures the generator's step on the target's GPU, but the generator "
                             f"runs on {here} and the target on {target}; move the model to CUDA with "
                             "qnn_device='cuda' (or 'auto'), or set cuda_graph=False")
        if getattr(generator, "shots", None) is not None:
            raise ValueError("cuda_graph=True cannot capture finite-shot sampling; set shots=None or cuda_graph=False")
        key = (here, *[(p.dtype, p.shape) for p in generator.parameters()])
        if self._graph is None or self._graph[0] != key:
            if not bool(generator.calibrated):  # type: ignore[arg-type]
                with torch.no_grad():
                    generator()  # the first generation sets the calibration buffers, outside the graph
            self._graph = (key, graph_generation(generator))
        return self._graph[1]()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_graph"] = None  # graphs belong to a process and a device: recaptured on first use
        return state


def _device_of(module: nn.Module) -> torch.device:
    return next(module.parameters()).device
