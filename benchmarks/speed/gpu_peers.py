"""GPU peers of ``bench_gpu.py``: the same circuits in other simulators, each on CUDA, where they import.

Every builder takes ``(ansatz, n, blocks, params, weights)`` (numpy float64; the circuits of
``peers/run_peer.py``: ``ry_cnot`` chain, ``u3_cu3`` ring) and returns ``(label, step)`` where
``step()`` runs forward + backward of ``sum(probs * weights)`` and returns once the GPU is done,
or raises ``ImportError`` (reported as "not installed") / ``NotImplementedError`` (not offered).
None of these peers is installed where this file was written: their rows are untested until a
machine has them (``pip install torchquantum pennylane-lightning-gpu cuquantum-python-cu12 qiskit-aer-gpu``).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["PEERS"]

Step = Callable[[], object]


def torchquantum_cuda(ansatz: str, n: int, blocks: int, params: np.ndarray, weights: np.ndarray) -> tuple[str, Step]:
    """TorchQuantum as the Quantum-Train reference code uses it (Op1QAllLayer/Op2QAllLayer), on CUDA."""
    import torch
    import torchquantum as tq

    dev = torch.device("cuda")
    one, two = (tq.RY, tq.CNOT) if ansatz == "ry_cnot" else (tq.U3, tq.CU3)
    layers = tq.QuantumModuleList()
    for _ in range(blocks):
        layers.append(tq.Op1QAllLayer(op=one, n_wires=n, has_params=True, trainable=True))
        layers.append(tq.Op2QAllLayer(op=two, n_wires=n, has_params=ansatz != "ry_cnot",
                                      trainable=ansatz != "ry_cnot", circular=ansatz != "ry_cnot"))
    layers.to(dev)
    w = torch.as_tensor(weights, dtype=torch.float32, device=dev)

    def step() -> object:
        qdev = tq.QuantumDevice(n_wires=n, bsz=1, device=dev)
        for layer in layers:
            layer(qdev)
        loss = ((qdev.get_states_1d()[0].abs() ** 2) * w).sum()
        layers.zero_grad(set_to_none=True)
        loss.backward()
        torch.cuda.synchronize()
        return loss

    return f"TorchQuantum {tq.__version__} (CUDA, complex64, backprop)", step


def lightning_gpu(ansatz: str, n: int, blocks: int, params: np.ndarray, weights: np.ndarray) -> tuple[str, Step]:
    """PennyLane lightning.gpu (cuStateVec underneath), adjoint method, loss as expval(diag(w))."""
    import pennylane as qml
    import scipy.sparse as sp
    import torch

    dev = qml.device("lightning.gpu", wires=n, c_dtype=np.complex64)
    obs = qml.SparseHamiltonian(sp.csr_matrix(sp.diags(weights)), wires=range(n))

    @qml.qnode(dev, interface="torch", diff_method="adjoint")
    def loss(p: torch.Tensor) -> object:
        for b in range(blocks):
            if ansatz == "ry_cnot":
                for q in range(n):
                    qml.RY(p[b * n + q], wires=q)
                for q in range(n - 1):
                    qml.CNOT(wires=[q, q + 1])
            else:
                base = b * 6 * n
                for q in range(n):
                    qml.U3(*p[base + 3 * q: base + 3 * q + 3], wires=q)
                for c in range(n):
                    i = base + 3 * n + 3 * c
                    qml.ctrl(qml.U3(p[i], p[i + 1], p[i + 2], wires=(c + 1) % n), control=c)
        return qml.expval(obs)

    def step() -> object:
        p = torch.tensor(params, dtype=torch.float32, requires_grad=True)
        out = loss(p)
        out.backward()
        return out

    return f"PennyLane {qml.__version__} lightning.gpu (adjoint)", step


def custatevec(ansatz: str, n: int, blocks: int, params: np.ndarray, weights: np.ndarray) -> tuple[str, Step]:
    """cuStateVec through cuquantum-python: gate by gate, adjoint gradients written out (ry_cnot only)."""
    if ansatz != "ry_cnot":
        raise NotImplementedError("adjoint written for ry_cnot only")
    import cupy as cp
    import cuquantum
    try:
        from cuquantum.bindings import custatevec as cusv
    except ImportError:
        from cuquantum import custatevec as cusv

    handle = cusv.create()
    c64, f32 = cuquantum.cudaDataType.CUDA_C_32F, cuquantum.ComputeType.COMPUTE_32F
    w = cp.asarray(weights, dtype=cp.float32)
    x = np.array([[0, 1], [1, 0]], dtype=np.complex64)

    def apply(sv: object, mat: np.ndarray, target: int, controls: tuple[int, ...] = (), adjoint: int = 0) -> None:
        cusv.apply_matrix(handle, sv.data.ptr, c64, n, mat.ctypes.data, c64, cusv.MatrixLayout.ROW, adjoint,
                          [n - 1 - target], 1, [n - 1 - c for c in controls], [1] * len(controls),
                          len(controls), f32, 0, 0)

    def ry(t: float, deriv: bool = False) -> np.ndarray:
        c, s = np.cos(t / 2), np.sin(t / 2)
        m = 0.5 * np.array([[-s, -c], [c, -s]]) if deriv else np.array([[c, -s], [s, c]])
        return m.astype(np.complex64)

    def step() -> object:
        psi = cp.zeros(2**n, dtype=cp.complex64)
        psi[0] = 1
        for b in range(blocks):
            for q in range(n):
                apply(psi, ry(params[b * n + q]), q)
            for q in range(n - 1):
                apply(psi, x, q + 1, (q,))
        lam = w * psi
        grads = np.zeros(len(params))
        for b in reversed(range(blocks)):
            for q in reversed(range(n - 1)):
                apply(psi, x, q + 1, (q,))
                apply(lam, x, q + 1, (q,))
            for q in reversed(range(n)):
                t = params[b * n + q]
                apply(psi, ry(t), q, adjoint=1)
                mu = psi.copy()
                apply(mu, ry(t, True), q)
                grads[b * n + q] = 2 * float(cp.vdot(lam, mu).real)
                apply(lam, ry(t), q, adjoint=1)
        cp.cuda.Device().synchronize()
        return grads

    return f"cuStateVec (cuquantum-python {cuquantum.__version__}), adjoint by hand", step


def aer_gpu(ansatz: str, n: int, blocks: int, params: np.ndarray, weights: np.ndarray) -> tuple[str, Step]:
    """qiskit-aer on the GPU: statevector probabilities (Aer has no gradients: forward only)."""
    from qiskit import QuantumCircuit, transpile
    from qiskit_aer import AerSimulator

    sim = AerSimulator(method="statevector", device="GPU", precision="single")
    qc = QuantumCircuit(n)
    for b in range(blocks):
        for q in range(n):
            if ansatz == "ry_cnot":
                qc.ry(params[b * n + q], n - 1 - q)  # Qiskit's qubit 0 is the least significant bit
            else:
                base = b * 6 * n + 3 * q
                qc.u(params[base], params[base + 1], params[base + 2], n - 1 - q)
        for c in range(n - 1 if ansatz == "ry_cnot" else n):
            t = (c + 1) % n
            if ansatz == "ry_cnot":
                qc.cx(n - 1 - c, n - 1 - t)
            else:
                i = b * 6 * n + 3 * n + 3 * c
                qc.cu(params[i], params[i + 1], params[i + 2], 0.0, n - 1 - c, n - 1 - t)
    qc.save_probabilities()
    tqc = transpile(qc, sim)

    def step() -> object:
        # qtrain's qubit q is Qiskit's n-1-q, so both index the probabilities alike
        return float(np.dot(sim.run(tqc).result().data()["probabilities"], weights))

    import qiskit_aer
    return f"qiskit-aer-gpu {qiskit_aer.__version__} (forward only)", step


PEERS: dict[str, Callable[..., tuple[str, Step]]] = {
    "TorchQuantum (CUDA)": torchquantum_cuda,
    "PennyLane lightning.gpu": lightning_gpu,
    "cuStateVec": custatevec,
    "qiskit-aer-gpu": aer_gpu,
}
