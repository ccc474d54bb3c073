"""The ``qet_amc`` report hook: Table 2 ours vs paper, accuracy per SNR (Fig. 4), validation curves (Fig. 5).

The tables are built from *rows*: model name (``MC-Net``, ``QET-6``, ``QT-MLP-17``) -> one entry per
seed, each the model's ``summary.json`` entry plus ``seed``, ``data``, ``run_dir`` and its per-epoch
records (``epochs``). :func:`collect` makes them from run folders (``qtrain report``);
``benchmarks/papers/bench_qet.py`` saves and merges the same structure.

Example:
    >>> from qtrain.report import find_runs, load_run
    >>> rows = collect([load_run(p) for p in find_runs("runs/bench_qet")])   # doctest: +SKIP
    >>> table2(rows)[0]["acc %"]                                            # doctest: +SKIP
    '43.4 ± 0.5 / 58.8'
"""
from __future__ import annotations

import re
import statistics
from typing import Any, Sequence

from qtrain.recipes.qet.figures import plot_acc_vs_snr, plot_confusions, plot_val_loss
from qtrain.recipes.qet.paper import PaperRow, paper_row, paper_te_ratio
from qtrain.report import Figure, ReportSection, Run, Table, format_mean_std, mean_std

__all__ = ["Rows", "protocol", "collect", "table2", "snr_table", "val_acc_table", "fig5_table", "report_section"]

Rows = dict[str, list[dict[str, Any]]]
"""Model name -> one entry per seed (see the module docstring)."""


def _order(name: str) -> tuple[int, int, str]:
    """Table 2's order: MC-Net, QET-5 ... QET-9, then the MLP mapping and anything else."""
    q = re.search(r"-(\d+)$", name)
    kind = 0 if name == "MC-Net" else 1 if name.startswith("QET-") else 2 if name.startswith("QT-MLP") else 3
    return kind, int(q.group(1)) if q else 0, name


def protocol(run: Run) -> str:
    """What rows of one Table 2 share: data and training budget (models and seeds may differ)."""
    c, d = run.config, (run.summary or {}).get("data", {})
    data = f"{d.get('source', c.get('data'))} {d.get('n_per_key', c.get('n_per_key'))}/key"
    return (f"{data}, {c.get('epochs')} epochs, patience {c.get('patience')}, lr {c.get('lr')}, "
            f"lr_plateau {c.get('lr_plateau')}, max_steps {c.get('max_steps')}")


def collect(runs: Sequence[Run]) -> Rows:
    """Rows from finished ``qet_amc`` runs; a model trained twice with one seed and one result counts once."""
    rows: Rows = {}
    seen: set[tuple[Any, ...]] = set()
    for run in runs:
        if not run.summary or not isinstance(run.summary.get("models"), dict):
            continue
        seed = run.summary.get("seed", run.config.get("seed", 0))
        for tag, res in run.summary["models"].items():
            ident = (res.get("name", tag), seed, res.get("overall_acc"), res.get("best_epoch"))
            if ident in seen:
                continue
            seen.add(ident)
            rows.setdefault(res.get("name", tag), []).append(
                {**res, "seed": seed, "data": run.summary.get("data", {}), "run_dir": str(run.path),
                 "epochs": run.epochs(tag)})
    return {name: rows[name] for name in sorted(rows, key=_order)}


_NO_ROW = PaperRow("-", None, None, None, None, None)  # type: ignore[arg-type]  # a model Table 2 does not list


def _fmt(values: list[float], digits: int = 1) -> str:
    return format_mean_std(values, digits, show_zero_std=False)


def _paper(v: float | None, digits: int = 1) -> str:
    return "-" if v is None else f"{v:,.{digits}f}"


def table2(rows: Rows, step_s: dict[str, list[float]] | None = None) -> list[dict[str, str]]:
    """Table 2, cells ``ours / paper``; acc. loss (eq. 13) and T_e ratios against our MC-Net row.

    ``step_s`` (model -> seconds per training step, timed in interleaved rounds) adds the load-fair
    T_e ratio column.
    """
    base = rows.get("MC-Net")
    base_acc = mean_std([100 * r["overall_acc"] for r in base])[0] if base else None
    base_te = mean_std([r["T_e_s"] for r in base])[0] if base else None
    base_med = statistics.median(step_s["MC-Net"]) if step_s and "MC-Net" in step_s else None
    out = []
    for name, runs in rows.items():
        p = paper_row(name) or _NO_ROW
        acc, te = [100 * r["overall_acc"] for r in runs], [r["T_e_s"] for r in runs]
        loss = _fmt([base_acc - x for x in acc], 2) if base_acc is not None and name != "MC-Net" else "-"
        ratio = f"{mean_std(te)[0] / base_te:.2f}x" if base_te else "-"
        paper_ratio = paper_te_ratio(name)
        dc = "-" if name == "MC-Net" else f"{runs[0]['delta_c_pct']:.2f}"
        row = {"model": name, "trainable": f"{runs[0]['params']['trainable']:,} / {_paper(p.trainable, 0)}",
               "dC % (eq. 14)": f"{dc} / {_paper(p.delta_c_pct, 2)}", "acc %": f"{_fmt(acc)} / {_paper(p.acc)}",
               "peak acc % (ours)": _fmt([100 * r["peak_acc"] for r in runs]),
               "acc. loss pts": f"{loss} / {_paper(p.acc_loss)}", "T_e s": f"{_fmt(te, 2)} / {_paper(p.t_e_s)}",
               "T_e ratio": f"{ratio} / {f'{paper_ratio:.2f}x' if paper_ratio else '-'}"}
        if step_s is not None:
            med = statistics.median(step_s[name]) if name in step_s else None
            row["s/step interleaved (ratio)"] = f"{med:.3f} ({med / base_med:.2f}x)" if med and base_med else "-"
        out.append(row)
    return out


def snr_table(rows: Rows) -> list[dict[str, Any]]:
    """Accuracy (%) per SNR, mean over seeds, one column per model (Fig. 4)."""
    snrs = sorted(int(s) for s in next(iter(rows.values()))[0]["acc_by_snr"]) if rows else []
    return [{"SNR dB": s, **{name: f"{100 * statistics.fmean(r['acc_by_snr'][str(s)] for r in runs):.1f}"
                             for name, runs in rows.items()}} for s in snrs]


def val_acc_table(rows: Rows) -> list[dict[str, Any]]:
    """Validation accuracy (%) per epoch of every model (first seed), then each one's best val-loss epoch."""
    curves = {name: runs[0]["epochs"] for name, runs in rows.items() if runs[0]["epochs"]}
    if not curves:
        return []
    out: list[dict[str, Any]] = [{"epoch": e + 1, **{n: f"{100 * c[e]['val_acc']:.1f}" if e < len(c) else ""
                                                     for n, c in curves.items()}}
                                 for e in range(max(len(c) for c in curves.values()))]
    return out + [{"epoch": "best val-loss epoch", **{n: str(min(c, key=lambda r: r["val_loss"])["epoch"])
                                                      for n, c in curves.items()}}]


def fig5_table(rows: Rows) -> list[dict[str, Any]]:
    """Validation loss per epoch (first seed), MLP mapping (``QT-MLP-17``) next to Multimodel (``QET-6``)."""
    names = [n for n in ("QT-MLP-17", "QET-6") if n in rows]
    if len(names) < 2:
        return []
    curves = {n: [r["val_loss"] for r in rows[n][0]["epochs"]] for n in names}
    return [{"epoch": e + 1, **{f"{n} val loss": f"{c[e]:.4f}" if e < len(c) else "" for n, c in curves.items()}}
            for e in range(max(len(c) for c in curves.values()))]


def _tables(rows: Rows, suffix: str) -> list[Table]:
    tables = [Table(f"Table 2: ours vs paper{suffix}", table2(rows),
                    "Cells are `ours / paper`. acc = overall test accuracy over all SNRs (%); acc. loss (eq. 13, "
                    "points) and T_e ratio are against our MC-Net; T_e (eq. 15) = training seconds per epoch."),
              Table(f"Accuracy per SNR (%, Fig. 4){suffix}", snr_table(rows)),
              Table(f"Validation accuracy per epoch (%, first seed){suffix}", val_acc_table(rows))]
    if fig5 := fig5_table(rows):
        tables.append(Table(f"Validation loss per epoch, MLP vs Multimodel mapping (Fig. 5){suffix}", fig5))
    return tables


def report_section(runs: Sequence[Run]) -> ReportSection:
    """The hook of ``Recipe("qet_amc")``: Table 2 ours vs paper, per-SNR accuracy, Figs. 4-5, confusion matrices.

    Runs of different protocols (data, epochs, ...) get separate tables; the figures show the first protocol.
    """
    by_protocol: dict[str, list[Run]] = {}
    for run in runs:
        by_protocol.setdefault(protocol(run), []).append(run)
    tables, first = [], None
    for label, group in by_protocol.items():
        rows = collect(group)
        first = rows if first is None else first
        tables += _tables(rows, f" ({label})" if len(by_protocol) > 1 else "")
    rows = first or {}
    seeds = sorted({r["seed"] for entries in rows.values() for r in entries})
    figures = [Figure("qet_fig4_acc_vs_snr.png", "Fig. 4 (paper)", "Test accuracy vs SNR, mean over seeds.",
                      lambda path: plot_acc_vs_snr(rows, path)),
               Figure("qet_fig5_val_loss.png", "Fig. 5 (paper)", "Validation loss per epoch, MLP vs Multimodel "
                      "mapping (first seed).", lambda path: plot_val_loss(rows, path)),
               Figure("qet_confusion_high_snr.png", "Confusion matrices", "Test confusion matrices at high SNR "
                      "(rows: true class, normalised), MC-Net and QET-6 (first seed).",
                      lambda path: plot_confusions(rows, path))]
    return ReportSection(
        title="qet_amc: QET (An et al.), Table 2, ours vs paper",
        intro=(f"Protocol(s): {'; '.join(by_protocol)}. Mean ± std over seeds (sample std; first protocol: seeds "
               f"{seeds}). Paper: RadioML 2016.10A, up to 500 epochs, early stopping 30, RTX 4090."),
        tables=tables, curves=("train_loss", "val_loss", "val_acc"), figures=figures)
