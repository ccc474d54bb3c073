"""Fuzz suite: hostile and malformed configs, YAML, pickles, IDX files, checkpoints and run folders.

Every case runs in a worker subprocess (a segfault is a failure, not a lost test run) under a
3 GiB address-space limit (a size check that comes after its allocation shows up as a
``MemoryError`` traceback). A case passes when it succeeds or ends in one clear error naming
the input (see :func:`tests.fuzz.harness.verdict`); no payload may run code (canary file and
environment variable), and no file outside the run folder under test may change.

The default run holds > 2,000 seeded cases; ``-m slow`` runs a larger variant.
"""
from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from fuzz.cases import (checkpoint_file_cases, config_cases, idx_cases, pickle_cases, run_mutations,
                        run_option_cases, yaml_cases)
from fuzz.harness import Report, run_cases, snapshot
from qtrain import recipes
from qtrain.config import config_fields
from qtrain.recipes.registry import RECIPES_ROOT, get_recipe, recipe_names

SEED = 13
# default sizes; the slow variant multiplies them
SCALE = {"config_per_field": 18, "config_random": 300, "yaml_mut": 30, "pickle_cut": 40, "pickle_flip": 60,
         "idx_cut": 15, "idx_flip": 20, "bomb_mib": 4200, "run_repeat": 1}
SLOW = {"config_per_field": 48, "config_random": 1200, "yaml_mut": 120, "pickle_cut": 160, "pickle_flip": 240,
        "idx_cut": 60, "idx_flip": 80, "bomb_mib": 4200, "run_repeat": 3}


def _check(report: Report, minimum: int) -> None:
    print(report.summary())
    assert not report.failures, report.summary()
    assert len(report.outcomes) >= minimum, report.summary()


def _run(cases: list[dict[str, Any]], tmp: Path, inputs: Path, canary: Path | None = None,
         writable: tuple[Path, ...] = (), timeout: float = 60.0) -> Report:
    """Run the cases; check that no input file changed (except under ``writable``) and no payload ran."""
    home = tmp / "home"
    before = snapshot(inputs, skip=(*writable, home))
    report = run_cases(cases, home, timeout=timeout)
    after = snapshot(inputs, skip=(*writable, home))
    assert after == before, f"files changed: {sorted(set(after.items()) ^ set(before.items()))[:5]}"
    leftovers = [p for sub in ("cwd", "home", "tmp") for p in sorted((home / sub).rglob("*"))]
    assert leftovers == [], f"files left in the workers' working directory, HOME or TMPDIR: {leftovers[:5]}"
    if canary is not None:
        assert canary.is_dir() and list(canary.iterdir()) == [], "a payload ran code (canary touched or removed)"
    return report


def _scale(slow: bool) -> dict[str, int]:
    return SLOW if slow else SCALE


# ----------------------------------------------------------------------------- configs
@pytest.mark.parametrize("slow", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_fuzz_config_overrides(tmp_path: Path, slow: bool) -> None:
    fields = {r: [f.name for f in config_fields(get_recipe(r).config_cls)] for r in recipe_names()}
    s = _scale(slow)
    cases = config_cases(random.Random(SEED), fields, s["config_per_field"], s["config_random"])
    _check(_run(cases, tmp_path, tmp_path / "none"), 1500)


def test_fuzz_run_options(tmp_path: Path) -> None:
    """device / precision / --nproc: hostile values are refused in one line naming the option, before any run."""
    cases = run_option_cases(random.Random(SEED), recipe_names(), 12)
    _check(_run(cases, tmp_path, tmp_path / "none"), 55)


@pytest.mark.parametrize("slow", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_fuzz_yaml_presets(tmp_path: Path, slow: bool) -> None:
    presets = {r: sorted((RECIPES_ROOT).glob(f"**/presets/{r}/*.yaml")) for r in recipe_names()}
    cases = yaml_cases(random.Random(SEED), tmp_path / "yaml", presets, _scale(slow)["yaml_mut"])
    _check(_run(cases, tmp_path, tmp_path / "yaml"), 150)


# ----------------------------------------------------------------------------- data files
@pytest.mark.parametrize("slow", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_fuzz_pickles(tmp_path: Path, slow: bool) -> None:
    canary = tmp_path / "canary"
    canary.mkdir()
    s = _scale(slow)
    cases = pickle_cases(random.Random(SEED), tmp_path / "pickles", canary, s["pickle_cut"], s["pickle_flip"])
    report = _run(cases, tmp_path, tmp_path / "pickles", canary=canary)
    _check(report, 450)
    refused = [o for o in report.outcomes if "/payload/" in o.case["id"] and o.status == "error"]
    assert len(refused) >= 90  # every code and unsafe-array payload, for both loaders, ended in a clear error


@pytest.mark.parametrize("slow", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_fuzz_idx_files(tmp_path: Path, slow: bool) -> None:
    s = _scale(slow)
    cases = idx_cases(random.Random(SEED), tmp_path / "idx", s["idx_cut"], s["idx_flip"], s["bomb_mib"])
    _check(_run(cases, tmp_path, tmp_path / "idx"), 150)


@pytest.mark.parametrize("slow", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_fuzz_checkpoint_and_cache_files(tmp_path: Path, slow: bool) -> None:
    s = _scale(slow)
    cases = checkpoint_file_cases(random.Random(SEED), tmp_path / "files", s["idx_cut"] * 2, s["idx_flip"] * 2)
    _check(_run(cases, tmp_path, tmp_path / "files"), 200)


# ----------------------------------------------------------------------------- run folders
TINY = ["n_train=64", "n_val=32", "n_test=32", "batch_size=32", "epochs=2", "blocks=1", "plots=false",
        "num_threads=1", "n_eval_train=0", "eval_batch_size=64"]


@pytest.fixture(scope="module")
def base_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A finished tiny qt_image run and one stopped after its first checkpoint (to resume mid-way)."""
    out = tmp_path_factory.mktemp("base_runs")
    done = recipes.run("qt_image", "mnist_qt16", TINY, out=out / "done", quiet=True).run_dir

    class Stop(Exception):
        pass

    def stop(tag: str, step: int, loss: float) -> None:
        if (tag, step) == ("qt", 3):
            raise Stop

    with pytest.raises(Stop):
        recipes.run("qt_image", "mnist_qt16", TINY + ["ckpt_every=1"], out=out / "cut", quiet=True, on_step=stop)
    (cut,) = (out / "cut").iterdir()
    return {"done": done, "cut": cut}


def _run_folder_cases(base_runs: dict[str, Path], folder: Path, repeat: int) -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    cases = []
    for base_name, base in base_runs.items():
        tags = sorted(p.name for p in (base / "checkpoints").iterdir())
        for name, (mutate, expect, needle) in run_mutations(tags).items():
            if "best" in name and not any((base / "checkpoints").glob("*/best.pt")):
                continue
            for i in range(repeat):
                for op in ("resume", "export") if base_name == "done" else ("resume",):
                    target = folder / f"{base_name}__{name}__{i}__{op}"
                    shutil.copytree(base, target)
                    mutate(target, rng)
                    argv = ["run", "--resume", str(target), "--quiet"] if op == "resume" else ["export", str(target)]
                    cases.append({"id": f"run/{base_name}/{name}/{i}/{op}", "op": "cli", "argv": argv,
                                  "names": [needle] if needle else [], "expect": expect if op == "resume" else None})
    return cases


@pytest.mark.parametrize("slow", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_fuzz_run_folders(tmp_path: Path, base_runs: dict[str, Path], slow: bool) -> None:
    runs = tmp_path / "runs"
    cases = _run_folder_cases(base_runs, runs, _scale(slow)["run_repeat"])
    names = sorted(p.name for p in runs.iterdir())
    report = _run(cases, tmp_path, tmp_path, writable=(runs,), timeout=120.0)
    assert sorted(p.name for p in runs.iterdir()) == names  # no new run folder: resumes stay in theirs
    _check(report, 130)
    resumed = [o for o in report.outcomes if o.case["expect"] == "ok"]
    assert resumed and all(o.status == "ok" for o in resumed)
