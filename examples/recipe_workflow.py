"""The researcher's workflow from Python: run a paper recipe, sweep an option in two processes, report.

``qtrain.recipes.run`` is ``qtrain run``: a run folder with ``config.yaml``, ``metrics.jsonl`` and
``metrics.csv`` (plus TensorBoard/MLflow/W&B with ``loggers=...``), ``run.json`` (commit, versions,
threads, command), ``summary.json`` and ``model.safetensors``. ``qtrain.sweep.sweep`` is
``qtrain sweep``: ``lr=1e-3,1e-2`` is a grid axis, ``jobs=2`` runs the points in two worker
processes. ``qtrain.recipes.report`` writes ``report.html``: ours vs the paper, each run's protocol,
and a caveat because these short runs are far from the paper's 50 epochs on 60,000 images.

    python examples/recipe_workflow.py [OUT]     # ~30 s; OUT defaults to a temporary folder
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from qtrain.recipes import report, run
from qtrain.sweep import sweep

# the README demo (QT-106 next to the classical CNN on MNIST-5k) on 500 images for 2 epochs
TINY = ["n_train=500", "n_test=250", "epochs=2", "n_eval_train=250", "plots=false"]


def main(out: Path) -> None:
    res = run("qt_image", "mnist5k_demo", TINY, out=out / "runs")  # progress lines on stderr
    env = json.loads((res.run_dir / "run.json").read_text())["environment"]
    print(f"run folder {res.run_dir.name}: commit {env['git']['commit']}, torch {env['versions']['torch']}")
    for row in res.table:
        print(f"  {row['model']}: {row['params']} trainable, test accuracy {row['test %']}%")

    grid = sweep("qt_image", ["mnist5k_demo"], seeds=[0], overrides=[*TINY, "models=qt", "lr=1e-3,1e-2"],
                 out=out / "sweeps", jobs=2)
    for row in grid.rows:
        print(f"  sweep {row['point']}: test accuracy {row['test %']}%")

    page = report(res.run_dir)
    caveat = "Protocol differs from the paper" in page.read_text()
    print(f"report: {page} (caveat shown: {caveat})")
    assert caveat and len(grid.rows) == 2 and not grid.failures


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
