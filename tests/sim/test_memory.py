"""Size checks come before allocations: compiling never needs a state's worth of memory, and a
state that does not fit is refused with one clear error (each case in a subprocess under an
address-space limit, ``RLIMIT_AS``)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from qtrain.sim import ansatz
from qtrain.sim.engines import native_available
from qtrain.sim.memory import available_bytes, check_state_fits

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc are Linux's")

SRC = Path(__file__).resolve().parents[2] / "src"

# Puts the process under an address-space limit of its current size plus HEADROOM bytes.
LIMIT = """
import resource
vm = next(int(ln.split()[1]) * 1024 for ln in open("/proc/self/status") if ln.startswith("VmSize:"))
resource.setrlimit(resource.RLIMIT_AS, (vm + HEADROOM, vm + HEADROOM))
"""


def _run_limited(body: str, headroom: int, *argv: str) -> subprocess.CompletedProcess[str]:
    code = f"import torch\nfrom qtrain.sim import ansatz\nHEADROOM = {headroom}\n{LIMIT}\n{textwrap.dedent(body)}"
    env = dict(os.environ, PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1")
    env.pop("QTRAIN_MEMORY_LIMIT_GB", None)
    return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, env=env,
                          timeout=300, check=False)


def test_compiling_26_qubits_needs_less_memory_than_one_state() -> None:
    """The CNOT chains become affine maps (n column masks), not 2**26-entry index arrays; the
    address-space limit counts as unavailable memory."""
    state_bytes = 2**26 * 4  # one float32 state: 256 MiB
    out = _run_limited("""
        from qtrain.sim.memory import available_bytes
        print(available_bytes(torch.device("cpu")))
        cc = ansatz.ry_cnot(26, 16).compile()
        dense = ansatz.u3_cu3(26, 2).compile()
        print(len(cc.program.stages), cc.engine_for(1).value, len(dense.program.stages))
    """, state_bytes)
    assert out.returncode == 0, out.stderr
    have, *rest = out.stdout.split()
    assert state_bytes - 2**24 <= int(have) <= state_bytes  # the headroom, less what the import took since
    assert rest == ["32", "blocks" if native_available() else "stages", "54"]


def test_too_many_qubits_compile_then_refuse_to_run_with_one_clear_error() -> None:
    """28 to 60 qubits (past the native kernels' 48) under a 1 GiB headroom: one ValueError each."""
    sizes = (28, 34, 40, 60)
    out = _run_limited("""
        for n in (28, 34, 40, 60):
            cc = ansatz.ry_cnot(n, 1).compile()
            try:
                cc.probs(torch.zeros(n))
            except ValueError as exc:
                print(exc)
    """, 2**30)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == len(sizes)
    for n, line in zip(sizes, lines):
        gib = 4 * 2**n * 4 / 2**30
        assert line.startswith(f"a {n}-qubit state in float32 with batch 1 needs about {gib:.1f} GiB "
                               f"(4 statevectors of {gib / 4:.2f} GiB) but only ")
        assert line.endswith("GiB is available on cpu; use fewer qubits or a smaller batch")


def test_quantum_train_run_with_28_qubits_stops_with_one_line(tmp_path: Path) -> None:
    """``qtrain run qt_image --set models=qt --set n_qubits=28`` used to reach 15 GB and a traceback."""
    out = _run_limited("""
        import sys
        from qtrain.cli import main
        sys.exit(main(sys.argv[1:]))
    """, 2**31, "run", "qt_image", "--set", "models=qt", "--set", "n_qubits=28", "--set", "n_train=64",
        "--set", "n_test=32", "--set", "max_steps=1", "--out", str(tmp_path))
    assert out.returncode != 0
    folder, line = out.stderr.strip().splitlines()  # the run folder (printed first), then one line, no traceback
    assert folder.startswith(f"run folder: {tmp_path}")
    assert line.startswith("qtrain run: error: a 28-qubit state in float32 with batch 1 needs about 4.0 GiB "
                           "(4 statevectors of 1.00 GiB) but only ")


def test_small_states_skip_the_memory_probe_unless_a_limit_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    check_state_fits(20, 1, torch.float32, torch.device("cpu"))  # 16 MiB: always fits
    monkeypatch.setenv("QTRAIN_MEMORY_LIMIT_GB", "0.001")
    assert available_bytes(torch.device("cpu")) == int(0.001 * 2**30)
    with pytest.raises(ValueError, match=r"a 20-qubit state in float32 with batch 1 needs about 0.0 GiB"):
        check_state_fits(20, 1, torch.float32, torch.device("cpu"))


def test_no_index_is_built_until_a_torch_path_needs_it() -> None:
    w = torch.linspace(-1, 1, 24, dtype=torch.float64)
    cc = ansatz.ry_cnot(12, 2).compile(dtype=torch.float64)
    perm = cc.program.stages[1]
    assert perm._cache == {}  # compiled: nothing of size 2**n
    cc.probs(w)
    assert perm._cache == ({} if native_available() else {("index", torch.device("cpu")): perm._cache.get(
        ("index", torch.device("cpu")))})
    torch_engine = ansatz.ry_cnot(12, 2).compile(dtype=torch.float64, diff_method="backprop")
    torch_engine.probs(w.requires_grad_())
    assert list(torch_engine.program.stages[1]._cache) == [("index", torch.device("cpu"))]
