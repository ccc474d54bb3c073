"""V2X paper, Sec. VII / Fig. 5: the 4-qubit hybrid QCNN on Digits next to the paper and an equal-size classical twin.

Two sweeps of the ``v2x_qcnn`` recipe:

* ``paper_best`` (batch 64, lr 0.01, Adam) at the paper's 500 epochs, seeds 0-2: the headline
  number next to the paper's 0.85;
* the one-at-a-time study (batch 16/32/64/128, lr 0.001/0.01/0.1, Adam/SGD/RMSprop/Adagrad) at
  ``--study-epochs`` (default 100: 27 runs of 500 epochs do not fit a shared 2-core machine).

Writes ``benchmarks/results/v2x_qcnn.{json,md,png}`` and refreshes ``v2x_readme.md``.

    python benchmarks/papers/bench_v2x_qcnn.py                                    # both sweeps (~1.5 h on 2 busy cores)
    python benchmarks/papers/bench_v2x_qcnn.py --reuse-best DIR --reuse-study DIR # from finished sweep folders
    python benchmarks/papers/bench_v2x_qcnn.py --from-json                         # tables and plot only
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_v2x_common import fmt, load_json, metrics, parser, plt, RESULTS, save_json, summaries, write_section  # noqa: E402

STUDY = {"batch size": [("bs16", 16), ("bs32", 32), ("paper_best", 64), ("bs128", 128)],
         "learning rate": [("lr0p001", 0.001), ("paper_best", 0.01), ("lr0p1", 0.1)],
         "optimizer": [("paper_best", "adam"), ("sgd", "sgd"), ("rmsprop", "rmsprop"), ("adagrad", "adagrad")]}
TAGS = ("quantum", "classical")


def _collect(sums: list[dict]) -> dict:
    out: dict = {}
    for s in sums:
        rec = out.setdefault(s["preset"], {})
        rec[str(s["seed"])] = {t: {k: s["models"][t].get(k) for k in ("test_acc", "test_acc_at_best_val", "train_acc")}
                               for t in TAGS} | {"epochs": s["config"]["epochs"], "run_dir": s["run_dir"]}
    return out


def _curves(best: dict) -> dict:
    curves: dict = {}
    for tag in TAGS:
        per_seed = [[(r["epoch"], r["val_acc"]) for r in metrics(v["run_dir"])
                     if r.get("model") == tag and "val_acc" in r]
                    for v in best.values()]
        epochs = [e for e, _ in per_seed[0]] if per_seed and per_seed[0] else []
        curves[tag] = {"epoch": epochs, "val_acc": [sum(c[i][1] for c in per_seed) / len(per_seed)
                                                    for i in range(len(epochs)) if all(len(c) > i for c in per_seed)]}
    return curves


def report(data: dict) -> str:
    best, study, paper = data["best"]["paper_best"], data["study"], data["paper"]
    vals = lambda d, t, k: [v[t][k] for v in d.values() if v[t].get(k) is not None]  # noqa: E731
    lines = ["### 1. Hybrid QCNN on Digits (`v2x_qcnn`, the paper's only experiment)", "",
             f"Protocol: sklearn Digits 8x8, stratified 6:2:2 split (1,078 / 359 / 360) per seed; Linear(64, 4) -> "
             f"sigmoid -> 4-qubit circuit (Ry(pi x) encoding, 2 x (Ry, Rz on every qubit + CNOT ring), <Z> on every "
             f"qubit, 16 weights, adjoint gradients) -> Linear(4, 10); 326 trainable. Classical twin: the circuit "
             f"replaced by tanh(Linear(4, 4, bias=False)) (16 weights): 326 trainable. Cross-entropy, seeds "
             f"{sorted(int(k) for k in best)}; test accuracy at the last epoch and at the best validation epoch.", "",
             "| configuration | epochs | hybrid QCNN test % (last) | (best val) | classical twin test % (last) "
             "| (best val) | paper |", "|---|---:|---:|---:|---:|---:|---:|",
             f"| bs 64, lr 0.01, Adam (paper's best) | {next(iter(best.values()))['epochs']} | "
             f"{fmt(vals(best, 'quantum', 'test_acc'), 100)} | "
             f"{fmt(vals(best, 'quantum', 'test_acc_at_best_val'), 100)} | "
             f"{fmt(vals(best, 'classical', 'test_acc'), 100)} | "
             f"{fmt(vals(best, 'classical', 'test_acc_at_best_val'), 100)} "
             f"| {100 * paper['test_acc']:.0f} |", "",
             f"One-at-a-time study around the best configuration, {data['study_epochs']} epochs per run "
             "(the paper: 500; "
             "its figures give numbers only for lr 0.01 (0.80) and Adam (0.85)):", "",
             "| study | value | seeds | hybrid QCNN test % | classical twin test % |", "|---|---|---:|---:|---:|"]
    for name, rows in STUDY.items():
        for preset, value in rows:
            d = study.get(preset, {})
            lines.append(f"| {name} | {value} | {len(d)} | {fmt(vals(d, 'quantum', 'test_acc'), 100)} | "
                         f"{fmt(vals(d, 'classical', 'test_acc'), 100)} |")
    lines += ["", "Commands: `qtrain sweep v2x_qcnn --presets paper_best --seeds 0,1,2`; "
              f"`qtrain sweep v2x_qcnn --presets bs16,bs32,paper_best,bs128,lr0p001,lr0p1,sgd,rmsprop,adagrad "
              f"--seeds 0,1,2 --set epochs={data['study_epochs']}`. Validation accuracy per epoch (mean of seeds): "
              "`benchmarks/results/v2x_qcnn.png`.", ""]
    return "\n".join(lines)


def plot(data: dict) -> None:
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(5.5, 3.5))
    for tag, c in data["curves"].items():
        label = {"quantum": "hybrid QCNN", "classical": "classical twin"}[tag]
        ax.plot(c["epoch"][:len(c["val_acc"])], c["val_acc"], label=label)
    ax.axhline(data["paper"]["test_acc"], ls="--", c="gray", label="paper (test, 0.85)")
    ax.set_xlabel("epoch"), ax.set_ylabel("validation accuracy"), ax.grid(alpha=0.3), ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "v2x_qcnn.png", dpi=120)


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--reuse-best", nargs="+", default=None)
    p.add_argument("--reuse-study", nargs="+", default=None)
    p.add_argument("--study-epochs", type=int, default=100)
    a = p.parse_args()
    if not a.from_json:
        from qtrain.recipes.v2x.paper import PAPER_BEST

        best = _collect(summaries("v2x_qcnn", ["paper_best"], a, a.reuse_best))
        presets = sorted({pr for rows in STUDY.values() for pr, _ in rows})
        a.overrides.append(f"epochs={a.study_epochs}")
        study = _collect(summaries("v2x_qcnn", presets, a, a.reuse_study))
        save_json("qcnn", {"best": best, "study": study, "paper": PAPER_BEST, "study_epochs": a.study_epochs,
                           "curves": _curves(best["paper_best"])})
    data = load_json("qcnn")
    plot(data)
    write_section("qcnn", report(data))


if __name__ == "__main__":
    main()
