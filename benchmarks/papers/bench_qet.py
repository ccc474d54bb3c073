"""QET paper, Table 2 and Figs. 4-5 on a CPU-sized protocol: MC-Net vs QET-5 ... QET-9 vs the MLP mapping.

Every row runs the ``qet_amc`` recipe through :func:`qtrain.recipes.run` (``qtrain run``) with its paper
preset (``mcnet_classical``, ``qet5`` ... ``qet9``, ``qet_mlp17``) and the same protocol overrides: the same
generated data, epochs, batch, learning rate, thread count and seeds for all rows. Rows train one
after the other in one process, or split with ``--rows`` / ``--seeds`` over parallel processes whose
saved results ``--reuse`` merges (the protocols must match; a process that trains only some rows saves
them and writes no report). The tables and figures are the recipe's report
(:mod:`qtrain.recipes.qet.report`, what ``qtrain report`` shows; the paper's numbers come from
:mod:`qtrain.recipes.qet.paper`); after training, ``qtrain report <out>`` is written too.

Writes to ``benchmarks/results/``:

* ``qet_table2.md``: Table 2 "ours vs paper" (trainable, dC, accuracy, accuracy loss, T_e, T_e ratio),
  with the protocol and the issue's targets for QET-6, plus the per-SNR accuracies, the validation
  accuracy per epoch of every row and the Fig. 5 validation losses. Rows train one
  after the other, so their T_e see different machine loads; the T_e *ratio* is therefore also
  measured separately: each row's model is timed in interleaved rounds of training steps (median
  seconds per step, the same load for every row);
* ``qet_fig4_acc_vs_snr.png``: accuracy vs SNR (Fig. 4) for MC-Net and each QET-Q;
* ``qet_fig5_val_loss.png``: validation loss per epoch, MLP mapping vs Multimodel mapping (Fig. 5);
* ``qet_confusion_high_snr.png``: test confusion matrices at high SNR, MC-Net and QET-6.

    python benchmarks/papers/bench_qet.py                    # ~8 min on 2 shared cores (tiny protocol)
    python benchmarks/papers/bench_qet.py --n-per-key 100 --epochs 10 --seeds 0 1 2
    python benchmarks/papers/bench_qet.py --reuse             # redo timing and reports from the saved runs
    python benchmarks/papers/bench_qet.py --rows MC-Net QET-5 --save a.json &  # rows split over two processes,
    python benchmarks/papers/bench_qet.py --rows QET-6 QET-7 --save b.json     # then merged:
    python benchmarks/papers/bench_qet.py --reuse a.json b.json --readme
    python benchmarks/papers/bench_qet.py --n-per-key 200 --epochs 80 --patience 30 --lr-plateau 5 --seeds 0 1 2 \
        --rows MC-Net --save m.json --out runs/qet_p30          # + QET-6 in another process, then
    python benchmarks/papers/bench_qet.py --out runs/qet_p30 --reuse m.json q.json --results benchmarks/results/qet_long
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.readme_tables import README_SECTIONS, section_text, update_section  # noqa: E402
from qtrain.config import load_config_file  # noqa: E402
from qtrain.recipes import report, run  # noqa: E402
from qtrain.recipes.qet.figures import plot_acc_vs_snr, plot_confusions, plot_val_loss  # noqa: E402
from qtrain.recipes.qet.paper import PAPER_PRESETS, PAPER_TABLE_2  # noqa: E402
from qtrain.recipes.qet.qet_amc import QETAMCConfig, build_model  # noqa: E402
from qtrain.recipes.qet.report import fig5_table, snr_table, table2, val_acc_table  # noqa: E402
from qtrain.report import markdown_rows  # noqa: E402

RESULTS = Path(__file__).resolve().parents[1] / "results"
ROWS = PAPER_PRESETS
"""Table 2 row (and Fig. 5's MLP-mapping model) -> its preset."""


def protocol_overrides(a: argparse.Namespace) -> list[str]:
    """The ``--set`` values shared by every row."""
    return [f"n_per_key={a.n_per_key}", "data=generated", f"gen_mode={a.gen_mode}", f"epochs={a.epochs}",
            f"patience={a.patience}", "input_norm=rms", "calibrate=true", f"num_threads={a.threads}",
            "plots=false", f"cache_dir={a.out / '.cache'}", f"lr_plateau={a.lr_plateau}"]


def run_rows(a: argparse.Namespace) -> dict[str, Any]:
    """Train every row for every seed; ``{"meta": protocol + wall time, "rows": row -> list of (model summary +
    metrics records)}``, saved to ``<out>/<save>`` after each row (a stopped process keeps its finished rows)."""
    load0, t0 = os.getloadavg()[0], time.perf_counter()
    out: dict[str, list[dict[str, Any]]] = {}
    for name in a.rows:
        extra = ["models=classical"] if name == "MC-Net" else ["models=qet"]
        if name == "QT-MLP-17":
            extra.append(f"blocks={a.mlp_blocks}")
        for seed in a.seeds:
            res = run("qet_amc", ROWS[name], protocol_overrides(a) + extra, seed=seed, out=a.out, quiet=True)
            tag = "classical" if name == "MC-Net" else "qet"
            records = [json.loads(x) for x in (res.run_dir / "metrics.jsonl").read_text().splitlines()]
            entry = {**res.summary["models"][tag], "data": res.summary["data"], "run_dir": str(res.run_dir),
                     "seed": seed, "epochs": [r for r in records if r.get("kind") != "final"]}
            out.setdefault(name, []).append(entry)
        meta = {"wall_s": time.perf_counter() - t0, "load": [load0, os.getloadavg()[0]], "n_per_key": a.n_per_key,
                "epochs": a.epochs, "patience": a.patience, "mlp_blocks": a.mlp_blocks, "seeds": a.seeds,
                "lr_plateau": a.lr_plateau}
        blob = {"meta": meta, "rows": out}
        (a.out / a.save).write_text(json.dumps(blob, indent=1, default=str))
    return blob


def merge_saved(paths: list[Path]) -> dict[str, Any]:
    """One results blob from files saved by ``--rows`` / ``--seeds`` subsets (e.g. parallel processes); the
    protocols must match, and a row's seeds from several files are joined (a seed run twice is refused)."""
    blobs = [json.loads(path.read_text()) for path in paths]
    keys = ("n_per_key", "epochs", "patience", "mlp_blocks", "lr_plateau")
    bad = [f"{path}: {[blob['meta'].get(k, 0) for k in keys]}" for path, blob in zip(paths, blobs)
           if any(blob["meta"].get(k, 0) != blobs[0]["meta"].get(k, 0) for k in keys)]
    if bad:
        raise ValueError(f"saved results differ in protocol {keys}: {bad}; merge only runs of one protocol")
    rows: dict[str, dict[int, dict[str, Any]]] = {}
    for path, blob in zip(paths, blobs):
        for name, entries in blob["rows"].items():
            for i, entry in enumerate(entries):
                seed = entry.get("seed", blob["meta"]["seeds"][i])
                if seed in rows.setdefault(name, {}):
                    raise ValueError(f"row {name} seed {seed} is in more than one saved file ({path}); merge each "
                                     "run once")
                rows[name][seed] = {**entry, "seed": seed}
    parts = [{"file": path.name, "rows": list(blob["rows"]), "seeds": blob["meta"]["seeds"],
              "wall_s": blob["meta"]["wall_s"], "load": blob["meta"]["load"]} for path, blob in zip(paths, blobs)]
    seeds = sorted({seed for by_seed in rows.values() for seed in by_seed})
    meta = {**blobs[0]["meta"], "parts": parts, "seeds": seeds, "wall_s": max(x["wall_s"] for x in parts)}
    return {"meta": meta, "rows": {n: [rows[n][k] for k in sorted(rows[n])] for n in ROWS if n in rows}}


def time_steps(a: argparse.Namespace, res: dict[str, list[dict[str, Any]]]) -> dict[str, list[float]]:
    """Seconds per training step of each row's model (batch 64), rounds interleaved across rows.

    Every row is rebuilt from its run's ``config.yaml``; after ``--time-warmup`` steps each round
    times ``--time-steps`` steps of every row in turn, so load from other processes hits all rows alike.
    """
    torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 2, 128, generator=gen), torch.randint(0, 11, (64,), generator=gen)
    steppers = {}
    for name, runs in res.items():
        cfg = load_config_file(QETAMCConfig, Path(runs[0]["run_dir"]) / "config.yaml")
        model = build_model(cfg, "classical" if name == "MC-Net" else "qet")
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)

        def steps(n: int, model: torch.nn.Module = model, opt: torch.optim.Optimizer = opt) -> float:
            t0 = time.perf_counter()
            for _ in range(n):
                loss = F.cross_entropy(model(x), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            return (time.perf_counter() - t0) / max(n, 1)  # --time-warmup 0: no warm-up steps

        steps(a.time_warmup)
        steppers[name] = steps
    times: dict[str, list[float]] = {name: [] for name in steppers}
    for _ in range(a.time_rounds):
        for name, steps in steppers.items():
            times[name].append(steps(a.time_steps))
    return times


def _lines(rows: list[dict[str, Any]]) -> list[str]:
    """A markdown table's lines (no trailing blank line); none for no rows."""
    return markdown_rows(rows).splitlines() if rows else []


def _protocol(a: argparse.Namespace, res: dict[str, list[dict[str, Any]]], meta: dict[str, Any]) -> list[str]:
    info = next(iter(res.values()))[0]["data"]
    return [
        f"Protocol (all rows alike): generated RML2016.10a-like data, mode `{info['mode']}`, {info['n_per_key']} "
        f"windows per (mod, SNR) key -> {info['n_train']:,} / {info['n_val']:,} / {info['n_test']:,} train/val/test "
        f"(AMR-Benchmark 60/20/20 split, seed 2016); {meta['epochs']} epochs (patience {meta['patience']}), "
        f"best-validation-loss weights tested; Adam 1e-3{_plateau_text(meta)}, batch 64; windows divided by the "
        f"train RMS; generated tensors calibrated to their init's mean/std; seeds {meta['seeds']}; torch threads "
        f"{a.threads}. QET: U3 + CU3 chain, -1/+1 bits, raw p, Multimodel mapping; QT-MLP-17: MLP 18-4-20-4-1 "
        f"with {meta['mlp_blocks']} blocks (paper preset: 50).", "",
        "Paper protocol: real RML2016.10A (220,000 windows, 132k train), up to 500 epochs, early stopping 30, "
        f"RTX 4090 + TorchQuantum. Machine here: {platform.machine()}, {os.cpu_count()} CPUs shared with other jobs, "
        f"torch {torch.__version__}. Training: {_training_text(meta)}. Step timing: {a.time_rounds} interleaved rounds "
        f"x {a.time_steps} steps after {a.time_warmup} warm-up steps, load {meta['time_load'][0]:.1f} / "
        f"{meta['time_load'][1]:.1f}.", "",
    ]


def _plateau_text(meta: dict[str, Any]) -> str:
    k = meta.get("lr_plateau", 0)
    return f" halved after {k} epochs without a better validation loss (min 1e-7)" if k else ""


def _training_text(meta: dict[str, Any]) -> str:
    parts = meta.get("parts") or [{"rows": None, "wall_s": meta["wall_s"], "load": meta["load"]}]
    each = [f"{'rows ' + ', '.join(x['rows']) + ': ' if x['rows'] else ''}"
            f"{'seeds ' + ' '.join(map(str, x['seeds'])) + ', ' if x.get('seeds') else ''}"
            f"wall time {x['wall_s'] / 60:.1f} min, "
            f"1-min load average {x['load'][0]:.1f} before / {x['load'][1]:.1f} after" for x in parts]
    if len(each) == 1:
        return each[0]
    return f"{len(each)} processes, two at a time on the 2 cores ({'; '.join(each)})"


def target_lines(res: dict[str, list[dict[str, Any]]], step_s: dict[str, list[float]]) -> list[str]:
    """The issue's bar for QET-6: accuracy within 1 point of MC-Net, T_e at most 1.5x MC-Net's."""
    if "MC-Net" not in res or "QET-6" not in res:
        return []
    acc = {n: statistics.fmean(100 * r["overall_acc"] for r in res[n]) for n in ("MC-Net", "QET-6")}
    te = {n: statistics.fmean(r["T_e_s"] for r in res[n]) for n in ("MC-Net", "QET-6")}
    loss, ratio = acc["MC-Net"] - acc["QET-6"], te["QET-6"] / te["MC-Net"]
    paired = {r.get("seed"): 100 * r["overall_acc"] for r in res["MC-Net"]}
    gaps = [(r.get("seed"), paired[r.get("seed")] - 100 * r["overall_acc"]) for r in res["QET-6"]
            if r.get("seed") in paired]
    per_seed = (" (same seed: " + ", ".join(f"seed {k} {g:.2f}" for k, g in gaps) + ")") if len(gaps) > 1 else ""
    line = (f"Targets (issue), QET-6 vs MC-Net at dC = {res['QET-6'][0]['delta_c_pct']:.2f} %: accuracy loss "
            f"{loss:.2f} points{per_seed} (target <= 1: {'met' if loss <= 1 else 'not met'}); T_e ratio {ratio:.2f}x "
            f"while training (target <= 1.5x: {'met' if ratio <= 1.5 else 'not met'})")
    if "QET-6" in step_s and "MC-Net" in step_s:
        step = statistics.median(step_s["QET-6"]) / statistics.median(step_s["MC-Net"])
        line += f", {step:.2f}x per step interleaved ({'met' if step <= 1.5 else 'not met'})"
    paper = PAPER_TABLE_2["QET-6"]
    return [line + f". Paper: acc. loss {paper.acc_loss} points at {paper.t_e_s / PAPER_TABLE_2['MC-Net'].t_e_s:.1f}x "
            "the classical epoch time.", ""]


def write_markdown(a: argparse.Namespace, res: dict[str, list[dict[str, Any]]], step_s: dict[str, list[float]],
                   meta: dict[str, Any]) -> Path:
    """``qet_table2.md``: protocol, Table 2 ours vs paper, per-SNR accuracies, Fig. 5 losses."""
    text = ["# QET (An et al.), Table 2: MC-Net vs QET-Q on RadioML 2016.10A-like data, ours vs paper", "",
            *a.lead, *_protocol(a, res, meta),
            "Cells are `ours / paper`. acc = overall test accuracy over all 20 SNRs (%); acc. loss (eq. 13, points) "
            "and ratios are against our MC-Net row. T_e (eq. 15) = mean training seconds per epoch while training "
            "(evaluation excluded; rows trained one after the other, or in parallel processes, under different "
            "loads). Last column: median seconds per training step (batch 64), rows timed in interleaved rounds, "
            "and its ratio to MC-Net: the load-fair T_e ratio.", "",
            *_lines(table2(res, step_s)), "",
            *(["QET-9: 10,526 is not reachable with a CU3 chain (see `presets/qet_amc/qet9.yaml`); the closest chain "
               "configuration (n_B = 239, 96 blocks) has 10,528.", ""] if "QET-9" in res else []),
            *target_lines(res, step_s), *a.note,
            "## Accuracy per SNR (%, Fig. 4)", "", *_lines(snr_table(res)), "",
            "## Validation accuracy per epoch (%, first seed)", "", *_lines(val_acc_table(res)), ""]
    if fig5 := _lines(fig5_table(res)):
        text += ["## Validation loss per epoch, MLP vs Multimodel mapping (Fig. 5)", "", *fig5, ""]
    plateau = f" --lr-plateau {meta['lr_plateau']}" if meta.get("lr_plateau") else ""
    head = (f"python benchmarks/papers/bench_qet.py --n-per-key {meta['n_per_key']} --epochs {meta['epochs']} "
            f"--patience {meta['patience']}{plateau} --mlp-blocks {meta['mlp_blocks']}")
    tail = f"--threads {a.threads} --out {a.out}"
    cmd = f"{head} --seeds {' '.join(map(str, meta['seeds']))} {tail}"
    parts = meta.get("parts") or []
    if len(parts) > 1:
        runs = "; ".join(f"`{head} --seeds {' '.join(map(str, x.get('seeds', meta['seeds'])))} {tail} --rows "
                         f"{' '.join(x['rows'])} --save {x['file']}`" for x in parts)
        text += [f"Commands: {runs} (two at a time), then `python benchmarks/papers/bench_qet.py --out {a.out} --reuse "
                 f"{' '.join(x['file'] for x in parts)}{' --lead ...' if a.lead else ''}"
                 f"{' --note ...' if a.note else ''}` "
                 "(timing and reports)", ""]
    else:
        text += [f"Command: `{cmd}`" + (" (training), then the same with `--reuse` (timing and reports)"
                                        if a.reuse else ""), ""]
    path = a.results / "qet_table2.md"
    path.write_text("\n".join(text))
    return path


def plot_all(a: argparse.Namespace, res: dict[str, list[dict[str, Any]]]) -> list[Path]:
    """Fig. 4 (accuracy vs SNR), Fig. 5 (validation loss) and the high-SNR confusion matrices (the recipe's)."""
    out = [plot_acc_vs_snr(res, a.results / "qet_fig4_acc_vs_snr.png"),
           plot_val_loss(res, a.results / "qet_fig5_val_loss.png"),
           plot_confusions(res, a.results / "qet_confusion_high_snr.png")]
    return [p for p in out if p is not None]


def _readme(results: Path) -> None:
    """Refill README.md's qet section only (the table, up to the per-SNR part), as ``update_readme.py`` does."""
    fname, stop = README_SECTIONS["qet"]
    update_section("qet", section_text((results / fname).read_text(), fname, stop))


def parser() -> argparse.ArgumentParser:
    """The script's options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n-per-key", type=int, default=50, help="generated windows per (mod, SNR) key")
    p.add_argument("--gen-mode", default="legacy", choices=["legacy", "clean"], help="generator mode")
    p.add_argument("--epochs", type=int, default=4, help="epochs of every row")
    p.add_argument("--patience", type=int, default=0, help="early-stopping patience (0: off)")
    p.add_argument("--lr-plateau", type=int, default=0, help="halve the LR after this many epochs without a "
                   "better validation loss (0: off, the paper's fixed Adam 1e-3)")
    p.add_argument("--mlp-blocks", type=int, default=4, help="QNN blocks of the 17-qubit MLP-mapping row")
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="training seeds (data are the same)")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS), help="rows to run")
    p.add_argument("--time-rounds", type=int, default=5, help="interleaved timing rounds")
    p.add_argument("--time-steps", type=int, default=8, help="training steps per row and round")
    p.add_argument("--time-warmup", type=int, default=3, help="untimed steps per row first")
    p.add_argument("--save", default="bench_qet_results.json", help="file under --out where training saves results")
    p.add_argument("--reuse", nargs="*", metavar="FILE", help="skip training: merge these saved files under --out "
                                                             "(none named: --save)")
    p.add_argument("--note", nargs="*", default=[], help="paragraphs added to the markdown after the targets")
    p.add_argument("--lead", nargs="*", default=[], help="paragraphs put first, right under the title (e.g. "
                   "the converged runs' reading, when this table is a short protocol)")
    p.add_argument("--readme", action="store_true", help="also refill README.md's qet section")
    p.add_argument("--out", type=Path, default=Path("runs/bench_qet"), help="parent folder of the run folders")
    p.add_argument("--results", type=Path, default=RESULTS, help="where the markdown and PNGs go")
    return p


def main() -> None:
    a = parser().parse_args()
    a.results.mkdir(parents=True, exist_ok=True)
    if a.reuse is not None:
        blob = merge_saved([a.out / f for f in (a.reuse or [a.save])])
    else:
        a.out.mkdir(parents=True, exist_ok=True)
        blob = run_rows(a)
        print(f"wrote {report(a.out)} (qtrain report {a.out})")
        if set(a.rows) != set(ROWS):  # a part of a split run: its report would overwrite the whole table's
            print(f"saved {a.out / a.save}; report the merged parts with `python benchmarks/papers/bench_qet.py "
                  f"--out {a.out} --reuse FILE ... [--results DIR]`")
            return
    res, meta = blob["rows"], blob["meta"]
    load0 = os.getloadavg()[0]
    step_s = time_steps(a, res)
    meta["time_load"] = [load0, os.getloadavg()[0]]
    a.note = [x for n in a.note for x in (n, "")]
    a.lead = [x for n in a.lead for x in (n, "")]
    print(write_markdown(a, res, step_s, meta).read_text())
    if a.readme:
        _readme(a.results)
    for path in plot_all(a, res):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
