"""The diffqas_rl recipe: a real run killed with SIGKILL (main process and workers) resumes and finishes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import qtrain
from qtrain.config import ConfigError
from qtrain.recipes import load_config, run
from qtrain.recipes.diffqas.diffqas_rl import solve_episode
from qtrain.train import load_checkpoint

SETS = ["classical=false", "episodes=6", "ckpt_every=1", "workers=2", "plots=false"]


def _episodes_saved(path: Path) -> int:
    try:
        return len(load_checkpoint(path)["returns"])
    except Exception:  # not written yet
        return 0


@pytest.mark.slow
def test_a_killed_run_resumes_and_finishes(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(Path(qtrain.__file__).parents[1]), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "qtrain.cli", "run", "diffqas_rl", "--preset", "smoke", "--out", str(tmp_path),
           "--quiet", *[a for s in SETS for a in ("--set", s)]]
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 600
        ckpt = None
        while time.monotonic() < deadline and proc.poll() is None:
            found = list(tmp_path.glob("diffqas_rl__smoke__s0__*/checkpoints/diffqas/a3c.pt"))
            if found and _episodes_saved(found[0]) >= 2:
                ckpt = found[0]
                break
            time.sleep(0.5)
        assert ckpt is not None, proc.communicate()[0].decode()[-2000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the main process and its workers, no clean-up
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    before = load_checkpoint(ckpt)
    assert 2 <= len(before["returns"]) < 6 and not (ckpt.parents[2] / "summary.json").exists()
    res = run(None, resume=ckpt.parents[2], quiet=True)
    m = res.summary["models"]["diffqas"]
    assert m["episodes_run"] == 6 and m["returns"][: len(before["returns"])] == before["returns"]
    assert (m["params"]["trainable"], m["params"]["generated"], m["params"]["extras"]) == (314, 11_848, 24)
    assert set(m["architecture"]) == {"actor", "critic"} and len(m["architecture"]["actor"]["weights"]) == 12
    returns = json.loads((ckpt.parents[2] / "returns.json").read_text())
    assert returns["returns"]["DiffQAS"] == m["returns"] and returns["window"] == 2
    plain = load_checkpoint(ckpt)["model"]
    assert any(not torch.equal(before["model"][k], plain[k]) for k in plain)  # training continued
    assert (ckpt.parents[2] / "model.safetensors").is_file()


def test_recipe_run_counts_returns_and_export(tmp_path: Path) -> None:
    res = run("diffqas_rl", "smoke", ["classical=false", "episodes=2", "workers=1"], out=tmp_path, quiet=True)
    m = res.summary["models"]["diffqas"]
    assert (m["params"]["trainable"], m["params"]["qnn"], m["params"]["mapping"]) == (314, 260, 30)
    assert m["episodes_run"] == 2 and len(m["lengths"]) == 2 and m["final_mean_return"] == pytest.approx(
        sum(m["returns"]) / 2)
    saved = json.loads((res.run_dir / "returns.json").read_text())
    assert saved == {"env": "MiniGrid-Empty-5x5-v0", "window": 2, "returns": {"DiffQAS": m["returns"]}}
    records = [json.loads(line) for line in (res.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [(r["model"], r["step"]) for r in records] == [("diffqas", 2)]
    from safetensors.torch import load_file

    from qtrain.models import actor_mlp, critic_mlp
    from qtrain.recipes.diffqas.diffqas_rl import DiffQASRLConfig, build_model
    from qtrain.rl import ActorCritic

    plain = ActorCritic(actor_mlp(), critic_mlp())
    plain.load_state_dict(load_file(res.run_dir / "model.safetensors"))
    cfg = load_config("diffqas_rl", "smoke", ["classical=false", "episodes=2", "workers=1"])
    assert isinstance(cfg, DiffQASRLConfig)
    model = build_model(cfg, "diffqas")
    model.load_state_dict(load_checkpoint(res.run_dir / "checkpoints/diffqas/a3c.pt")["model"])
    x = torch.rand(3, 147)
    model.eval()
    with torch.no_grad():
        for got, want in zip(plain(x), model(x)):
            torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_solve_episode_and_config_errors() -> None:
    assert solve_episode([0.0, 0.9, 0.9, 0.5, 1.0], window=2, threshold=0.9) == 3
    assert solve_episode([0.0, 0.9], window=3, threshold=0.5) is None
    with pytest.raises(ConfigError) as exc:
        load_config("diffqas_rl", None, ["betas=[0.9]", "env=MiniGrid-Empty-7x7-v0", "workers=0"])
    assert exc.value.problems[0].startswith("env='MiniGrid-Empty-7x7-v0': allowed values are ['MiniGrid-Empty-5x5-v0'")
    assert exc.value.problems[1:] == ["workers=0 is out of range; must be >= 1",
                                      "betas=(0.9,) must be two numbers in (0, 1), e.g. [0.92, 0.999]"]
