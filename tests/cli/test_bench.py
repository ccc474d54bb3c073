"""``qtrain bench sim``: timed rows per case, the table format, peers through the repository's runner, errors."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import cli

import qtrain.bench as bench
from qtrain.bench import CASES, QUICK_CASES, BenchRow, Case, SimBenchmark, parse_cases, run_sim_benchmark

ROW = re.compile(r"^\| (\S+ \d+x\d+) \| qtrain \((float32|complex64), (native|torch)\) \| ([\d.]+) ms \| (\d+) MB "
                 r"\| 1\.0x \| reference \|$")


def test_bench_sim_quick_prints_one_timed_row_per_case(tmp_path: Path) -> None:
    out = tmp_path / "t" / "sim.md"
    rc, text = cli("bench", "sim", "--quick", "--cases", "ry_cnot:3:2,u3_cu3:3:1", "--repeats", "2", "--threads", "1",
                   "--out", str(out))
    assert rc == 0
    lines = text.splitlines()
    assert lines[0].startswith("qtrain simulator, forward+backward (adjoint) of sum(probs*w); 1 thread(s); ")
    assert lines[0].endswith("; medians of 2")
    assert lines[2:4] == ["| case | library | fwd+bwd | peak mem | peer / qtrain | probs check |",
                          "|---|---|---|---|---|---|"]
    rows = [ROW.match(line) for line in lines[4:]]
    assert all(rows) and len(rows) == 2
    assert [(m.group(1), m.group(2)) for m in rows] == [("ry_cnot 3x2", "float32"), ("u3_cu3 3x1", "complex64")]
    assert all(0 < float(m.group(4)) < 1000 for m in rows)
    assert out.read_text() == text


def _fake_timing(ms: dict[str, float], seen: list[str]) -> Any:
    def fake(case: Case, threads: int, repeats: int, probs_out: str, tmp: Path) -> dict[str, Any]:
        seen.append(case.label)
        if case.label not in ms:
            return {"status": "failed", "reason": "MemoryError"}
        return {"fwd_ms_median": ms[case.label] / 3, "fwdbwd_ms_median": ms[case.label], "peak_rss_mb": 20.4,
                "dtype": "float32", "native": True}
    return fake


def test_quick_and_full_case_sets_and_the_markdown_format(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    ms = {"ry_cnot 13x16": 0.5, "ry_cnot 19x19": 12.345}
    monkeypatch.setattr(bench, "_time_in_subprocess", _fake_timing(ms, seen))
    res = run_sim_benchmark(quick=True, threads=1, repeats=3)
    assert seen == [c.label for c in QUICK_CASES] == ["ry_cnot 13x16", "ry_cnot 19x19", "u3_cu3 6x20"]
    assert res.markdown().splitlines()[4:] == [
        "| ry_cnot 13x16 | qtrain (float32, native) | 0.50 ms | 20 MB | 1.0x | reference |",
        "| ry_cnot 19x19 | qtrain (float32, native) | 12.3 ms | 20 MB | 1.0x | reference |",
        "| u3_cu3 6x20 | qtrain | failed: MemoryError | | | |"]
    seen.clear()
    run_sim_benchmark(threads=1, repeats=1)
    assert seen == [c.label for c in CASES] and len(seen) == 9
    table = SimBenchmark("t", [BenchRow("c", "peer", fwdbwd_ms=12345.0, peak_mb=7308.4, ratio=57.26, check="ok")])
    assert table.markdown().splitlines()[-1] == "| c | peer | 12.35 s | 7308 MB | 57.3x | ok |"


FAKE_RUNNER = '''\
"""A stand-in for benchmarks/speed/peers/__init__.py: probabilities from the repository's numpy reference."""
import argparse, json, sys
from pathlib import Path
import numpy as np
sys.path.insert(0, {peers_dir!r})
import reference
ap = argparse.ArgumentParser()
for a in ("--cases", "--threads", "--repeats", "--out", "--probs-dir"):
    ap.add_argument(a)
a = ap.parse_args()
Path(a.probs_dir).mkdir(parents=True, exist_ok=True)
results = []
for case in a.cases.split(","):
    ansatz, n, blocks = case.split(":")
    n, blocks = int(n), int(blocks)
    k = reference.n_params(ansatz, n, blocks)
    p = reference.probs(ansatz, n, blocks, np.random.default_rng(0).uniform(-np.pi, np.pi, k))
    base = dict(ansatz=ansatz, n=n, blocks=blocks, threads=int(a.threads), repeats=int(a.repeats))
    np.save(Path(a.probs_dir) / f"good__{{ansatz}}_{{n}}_{{blocks}}.npy", p)
    np.save(Path(a.probs_dir) / f"bad__{{ansatz}}_{{n}}_{{blocks}}.npy", p + 1e-3)
    results += [dict(base, peer="good", status="ok", version="1.0", fwdbwd_ms_median=50.0, peak_rss_mb=80.2),
                dict(base, peer="bad", status="ok", fwdbwd_ms_median=25.0, peak_rss_mb=10.0),
                dict(base, peer="big", status="skipped", reason="estimated 24.5 GiB > limit 16 GiB")]
Path(a.out).write_text(json.dumps(dict(peers_available=dict(good="py"), results=results)))
'''


def test_peers_run_through_the_repository_runner_and_are_checked(tmp_path: Path, repo_root: Path) -> None:
    runner = tmp_path / bench.PEER_RUNNER
    runner.parent.mkdir(parents=True)
    runner.write_text(FAKE_RUNNER.format(peers_dir=str(repo_root / "benchmarks" / "speed" / "peers")))
    res = run_sim_benchmark(cases=parse_cases("ry_cnot:3:2,u3_cu3:3:1"), threads=1, repeats=4, peers=True,
                            repo=tmp_path)
    assert res.notes == []
    ours = {r.case: r.fwdbwd_ms for r in res.rows if r.library.startswith("qtrain")}
    assert [(r.case, r.library.split(",")[0], r.status, r.check) for r in res.rows] == [
        ("ry_cnot 3x2", "qtrain (float32", "ok", "reference"), ("ry_cnot 3x2", "good 1.0", "ok", "ok"),
        ("ry_cnot 3x2", "bad", "ok", "MISMATCH 1.0e-03"), ("ry_cnot 3x2", "big", "skipped", ""),
        ("u3_cu3 3x1", "qtrain (complex64", "ok", "reference"), ("u3_cu3 3x1", "good 1.0", "ok", "ok"),
        ("u3_cu3 3x1", "bad", "ok", "MISMATCH 1.0e-03"), ("u3_cu3 3x1", "big", "skipped", "")]
    good = [r for r in res.rows if r.library == "good 1.0"]
    assert [r.ratio for r in good] == [pytest.approx(50.0 / ours[r.case]) for r in good]
    assert "| ry_cnot 3x2 | big | skipped: estimated 24.5 GiB > limit 16 GiB | | | |" in res.markdown()


def test_the_real_peer_runner_without_virtualenvs_gives_a_note(repo_root: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QTRAIN_PEERS_DIR", str(tmp_path))
    res = run_sim_benchmark(cases=[Case("ry_cnot", 2, 1)], threads=1, repeats=1, peers=True, repo=repo_root)
    assert [r.library.split()[0] for r in res.rows] == ["qtrain"]
    assert res.notes == [f"no peer virtualenvs found; run `bash benchmarks/speed/setup_peers.sh` in {repo_root} "
                         "to install TorchQuantum, PennyLane and tensorcircuit-ng"]


def test_the_peer_runner_times_the_same_inputs(repo_root: Path) -> None:
    from benchmarks.speed import peers

    for case in CASES:
        _, params, weights = bench.case_inputs(case)
        theirs = peers.case_inputs(case.ansatz, case.n, case.blocks)
        assert np.array_equal(params, theirs[0]) and np.array_equal(weights, theirs[1]), case.label


def test_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_cases(" ry_cnot:13:16 ,u3_cu3:6:20") == [Case("ry_cnot", 13, 16), Case("u3_cu3", 6, 20)]
    with pytest.raises(ValueError, match=r"^--cases='ry_cnot:4': 'ry_cnot:4' is not ansatz:n:blocks; write e\.g\. "):
        parse_cases("ry_cnot:4")
    with pytest.raises(ValueError, match=r"^case 'ry_cnot:25:1': n=25 qubits is outside 1\.\.24; pick at most 24 "):
        parse_cases("ry_cnot:25:1")
    with pytest.raises(ValueError, match=r"^case 'h:3:1': ansatz='h' is not benchmarked; use one of \['ry_cnot', "):
        parse_cases("h:3:1")
    with pytest.raises(ValueError, match=r"^case 'ry_cnot:3:0': blocks=0 must be >= 1$"):
        parse_cases("ry_cnot:3:0")
    with pytest.raises(ValueError, match=r"^threads=0 must be >= 1 \(or None for torch's default\)$"):
        run_sim_benchmark(cases=[Case("ry_cnot", 2, 1)], threads=0)
    with pytest.raises(ValueError, match=r"^repeats=0 must be >= 1$"):
        run_sim_benchmark(cases=[Case("ry_cnot", 2, 1)], repeats=0)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"^peers need the qtrain repository checkout: no benchmarks/speed/peers/"
                                         rf"__init__\.py in '{re.escape(str(tmp_path))}' or its parents "):
        run_sim_benchmark(cases=[Case("ry_cnot", 2, 1)], peers=True)
    assert cli("bench", "sim", "--repo", str(tmp_path)) == (2, "")
    assert capsys.readouterr().err == (f"qtrain bench: error: --repo {tmp_path} tells where the peer runner is; "
                                       "add --peers to time the peers\n")
    assert cli("bench", "sim", "--peers", "--repo", str(tmp_path), "--cases", "ry_cnot:2:1") == (2, "")
    assert capsys.readouterr().err == (
        f"qtrain bench: error: repo='{tmp_path}' has no benchmarks/speed/peers/__init__.py; pass the root of a "
        "qtrain repository checkout (peers are driven by its benchmarks/speed/peers/)\n")
    assert cli("bench", "gpu")[0] == 2
    assert "argument target: invalid choice: 'gpu' (choose from 'sim')" in capsys.readouterr().err
