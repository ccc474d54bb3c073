"""Collect the Quantum-Train paper runs into ``benchmarks/results/qt_image_results.md`` and the README.

Reads every run folder under the given folders (``qtrain sweep`` / ``qtrain run`` outputs) with
:mod:`qtrain.recipes.quantum_train.report`, writes the "ours vs paper" table, each model's test accuracy per
epoch (so models are also compared at equal epochs), the FashionMNIST classical-minus-QT-121 gap
next to the paper's 7.40 points, the CIFAR-10 smoke run, and the exact commands and wall times.

    python benchmarks/qt_image_results.py runs/fashion10ep runs/fashion5ep_qcml_lr3e-3 runs/results/sweep__... \\
        --notes benchmarks/results/qt_image_notes.md --readme
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

from qtrain.recipes.quantum_train.report import Entry, entries_of, group_entries, ours_vs_paper
from qtrain.report import find_runs, load_run, markdown_rows, mean_std

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "qt_image_results.md"
sys.path.insert(0, str(ROOT))


README_NOTE = ("Short runs on 2 shared CPU cores, not the paper's 50-epoch protocol: FashionMNIST (full 60k/10k) "
               "classical and QT 10 epochs, 3 seeds; QCML 5 epochs, 3 seeds; MNIST-5k (4k/1k of real "
               "MNIST) 10 epochs, 2 seeds; CIFAR-10 only a smoke run on generated images. QT with qtrain's fast "
               "settings (Adam lr 1e-2, -1/+1 bits, p x 2^n, calibrated start), classical CNN Adam lr 1e-3, QCML "
               "lr 3e-3 (FashionMNIST) / 1e-2 (MNIST-5k); accuracy after the last epoch. Same models and parameter counts "
               "as the paper.\n\n")


def per_epoch(entries: Sequence[Entry]) -> str:
    """Test accuracy (%) after each epoch, mean over seeds, one row per model group."""
    groups = group_entries([e for e in entries if e.key != "cifar10"])
    width = max((len(e.curve) for e in entries), default=0)
    lines = ["| dataset | model | seeds | " + " | ".join(f"ep {k}" for k in range(1, width + 1)) + " |",
             "|---|---|---:|" + "---:|" * width]
    for (key, _, _, _, _), group in groups.items():
        cells = []
        for k in range(width):
            vals = [100 * e.curve[k]["test_acc"] for e in group if len(e.curve) > k and "test_acc" in e.curve[k]]
            cells.append(f"{mean_std(vals)[0]:.2f}" if vals else "")
        lines.append(f"| {key} | {group[0].name} | {len(group)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _by_seed(entries: Sequence[Entry]) -> dict[int, Entry]:
    """One entry per seed (the one trained longest when a seed was run twice)."""
    out: dict[int, Entry] = {}
    for e in sorted(entries, key=lambda e: len(e.curve)):
        out[e.seed] = e
    return out


def fashion_gap(entries: Sequence[Entry]) -> str:
    """Classical minus QT-121 test accuracy on FashionMNIST, paired by seed: final, and after each epoch."""
    cls = _by_seed([e for e in entries if e.key == "fashion" and e.tag == "classical"])
    qt = _by_seed([e for e in entries if e.key == "fashion" and e.tag == "qt" and e.blocks == 121
                   and e.ansatz == "ry_cnot"])
    seeds = sorted(cls.keys() & qt.keys())
    if not seeds:
        return "(no FashionMNIST classical + QT-121 runs with a common seed)\n"

    def pm(values: list[float]) -> str:
        m, s = mean_std(values)
        return f"{m:.2f} ± {s:.2f}"

    c = [100 * cls[s].result["test_acc"] for s in seeds]
    q = [100 * qt[s].result["test_acc"] for s in seeds]
    gaps = [a - b for a, b in zip(c, q)]
    k = min(min(len(cls[s].curve), len(qt[s].curve)) for s in seeds)
    per_epoch = [pm([100 * (cls[s].curve[j]["test_acc"] - qt[s].curve[j]["test_acc"]) for s in seeds])
                 for j in range(k)]
    epochs = sorted({cls[s].result["epochs_run"] for s in seeds} | {qt[s].result["epochs_run"] for s in seeds})
    return ("FashionMNIST gap classical - QT-121 test accuracy: paper 88.14 - 80.74 = **7.40** points (50 epochs); "
            f"ours ({'/'.join(map(str, epochs))} epochs, seeds {', '.join(map(str, seeds))}, paired by seed) "
            f"{pm(c)} - {pm(q)}: gap **{pm(gaps)}** points (per seed: "
            + ", ".join(f"{g:.2f}" for g in gaps) + ").\n\n"
            f"Gap after each epoch (mean ± std over the {len(seeds)} seeds): "
            + ", ".join(f"ep {j + 1} {v}" for j, v in enumerate(per_epoch)) + ".\n")


def provenance(runs: Sequence[Any]) -> str:
    """Each run: folder, command (from config.yaml's header), wall time, peak RSS."""
    lines = ["| run folder | command | wall s | peak RSS MiB |", "|---|---|---:|---:|"]
    total = 0.0
    for r in runs:
        if not r.summary:
            lines.append(f"| {r.path.name} | (unfinished: no summary.json) | - | - |")
            continue
        head = (r.path / "config.yaml").read_text().splitlines()[1].lstrip("# ")
        total += r.summary["wall_time_s"]
        lines.append(f"| {r.path.name} | `{head}` | {r.summary['wall_time_s']:.0f} | "
                     f"{r.summary['peak_memory']['cpu_max_rss_mib']:.0f} |")
    return "\n".join(lines) + f"\n\nSum of run wall times: {total:.0f} s ({total / 60:.1f} min).\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folders", nargs="+", type=Path, help="sweep/run folders (searched two levels deep)")
    p.add_argument("--notes", type=Path, default=None, help="markdown inserted after the tables")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--readme", action="store_true", help="also fill the README's qt_image section")
    args = p.parse_args()
    runs = [load_run(path) for folder in args.folders for path in find_runs(folder)]
    entries = entries_of(runs)
    table = markdown_rows(ours_vs_paper(entries))
    notes = args.notes.read_text() if args.notes else ""
    text = "\n".join([
        "# Quantum-Train paper (Liu et al.), Tables I-III: ours vs paper", "",
        "Generated by `python benchmarks/qt_image_results.py " + " ".join(map(str, args.folders)) + "` from the run "
        "folders below (accuracies in %, mean ± std over seeds, sample std; gap = final train accuracy on 10,000 "
        "training images - test accuracy).", "", table, fashion_gap(entries), "## Test accuracy after each epoch", "",
        per_epoch(entries), notes, "## Runs", "", provenance(runs)])
    args.out.write_text(text)
    print(text)
    if args.readme:
        from benchmarks.readme_tables import update_section

        update_section("qt_image", README_NOTE + table + "\n" + fashion_gap(entries) + "\nDetails, protocol and notes: "
                       "[benchmarks/results/qt_image_results.md](benchmarks/results/qt_image_results.md).\n")


if __name__ == "__main__":
    main()
