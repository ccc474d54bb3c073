"""Every script in examples/ runs (all at once, one thread each) and prints what it claims; the README's
three lines are the example file's, as written."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
EXPECTED = {  # example -> lines (regexes) its output must hold
    "three_lines.py": [r"^trainable +317$", r"^generated \(target\) +650$",
                       r"^Linear\(in_features=64, out_features=10"],
    "custom_model.py": [r"^generated \(target\) +1,386$", r"^epoch 8: .* test accuracy (8\d|9\d)\.\d%$",
                        r"^exported DigitsCNN: outputs equal the wrapper's: True$"],
    "circuit_layer.py": [r"CircuitLayer\(n_qubits=2, n_params=12, n_inputs=2",
                         r"^step 200: .* test accuracy 9\d\.\d%$"],
    "noisy_shots_qasm.py": [r"^<Z> noiseless: \+0\.9211  \+0\.8799  \+0\.6730$", r"^<Z>       ZNE: \+0\.92",
                            r"^OPENQASM 3\.0;$", r"^c = measure q;$"],
    "recipe_workflow.py": [r"^run folder qt_image__mnist5k_demo__s0__\S+: commit ", r"^  sweep lr=1e-3: test accuracy",
                           r"^  sweep lr=1e-2: test accuracy", r"report: .*report\.html \(caveat shown: True\)$"],
}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    """Run every example concurrently (they are single-threaded), each in its own temporary folder."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])}
    procs = {p.name: subprocess.Popen([sys.executable, str(p)], cwd=tmp_path_factory.mktemp(p.stem), env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for p in EXAMPLES}
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=600)
        out[name] = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    return out


def test_every_example_is_checked() -> None:
    assert sorted(EXPECTED) == [p.name for p in EXAMPLES]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_and_prints_its_results(name: str, outputs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    res = outputs[name]
    assert res.returncode == 0, res.stderr[-3000:]
    for pattern in EXPECTED[name]:
        assert re.search(pattern, res.stdout, re.M), (pattern, res.stdout)


def _python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, re.S)


def test_readme_three_lines_are_the_example_as_written() -> None:
    source = (ROOT / "examples" / "three_lines.py").read_text()
    code = source.split('"""', 2)[2].strip()
    for page in ("README.md", "docs/index.md"):
        blocks = [b.strip() for b in _python_blocks((ROOT / page).read_text())]
        assert code in blocks, page
    assert len([line for line in code.splitlines() if line.strip() and not line.startswith("import")]) == 3
