"""``qtrain report`` on a tiny run of every recipe (through each recipe's hook, or the generic fallback)."""
from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from helpers import cli

from qtrain.config import option
from qtrain.recipes import Recipe, RecipeOutput
from qtrain.recipes.quantum_train.report import entries_of, ours_vs_paper
from qtrain.recipes.registry import RECIPE_MODULES
from qtrain.report import find_runs, load_run
from qtrain.train import RunContext, RunDir

torch.set_num_threads(1)

PNG = b"\x89PNG\r\n\x1a\n"
TINY = ["max_steps=2", "n_train=64", "n_test=32", "batch_size=16", "num_threads=1", "n_eval_train=32",
        "models=all", "qcml_blocks=2"]
QT_FIGS = ["fig2_loss_curves.png", "fig3_weights.png", "fig5_accuracy_vs_blocks.png", "fig6_generalization_gap.png",
           "qt_image_curves.png"]


def _run(out: Path, recipe: str, preset: str | None, *sets: str) -> Path:
    args = ["run", recipe, *(["--preset", preset] if preset else []), "--out", str(out), "--quiet"]
    rc, _ = cli(*args, *[a for s in sets for a in ("--set", s)])
    assert rc == 0
    (run,) = [p for p in out.glob(f"{recipe}__*") if p.is_dir()]
    return run


def _report(path: Path) -> tuple[str, str, list[str]]:
    """``qtrain report PATH``: (report.html, report.md, PNG names); checks the printed line and the PNG files."""
    rc, text = cli("report", str(path))
    out = path / "report"
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert rc == 0 and text.strip() == f"wrote {out / 'report.html'} ({len(pngs)} PNG files)"
    assert all((out / name).read_bytes()[:8] == PNG for name in pngs)
    return (out / "report.html").read_text(), (out / "report.md").read_text(), pngs


def _rows(html: str, title: str) -> list[list[str]]:
    """Cells of the HTML table right after the heading ``title``."""
    table = re.search(rf"<h3>{re.escape(title)}</h3>(?:<p>.*?</p>)?<table.*?</table>", html, re.S)
    assert table, title
    return [re.findall(r"<td>(.*?)</td>", c) for c in re.findall(r"<tr>(.*?)</tr>", table.group(0)) if "<td>" in c]


def _protocol(page: str) -> list[dict[str, str]]:
    """The protocol table of a report page as dicts (one per run)."""
    cols = ["run", "preset", "seed", "data", "epochs", "settings", "overrides", "vs paper"]
    return [dict(zip(cols, row)) for row in _rows(page, "Protocol of each run")]


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[16:24]  # IHDR: width, height (big-endian)
    return int.from_bytes(head[:4], "big"), int.from_bytes(head[4:], "big")


# ----------------------------------------------------------------------------- qt_image
@pytest.fixture(scope="module")
def qt_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    return _run(out, "qt_image", "fashion_qt16", f"data_dir={_fashion_dir(out)}", "protocol=paper", *TINY)


def _fashion_dir(out: Path) -> Path:
    """Tiny IDX files in the Fashion-MNIST format (the test does not depend on the Debian package)."""
    import gzip
    import struct

    import numpy as np

    folder = out / "fashion-mnist"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for stem, n in (("train", 100), ("t10k", 50)):
        img = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        (folder / f"{stem}-images-idx3-ubyte.gz").write_bytes(
            gzip.compress(struct.pack(">IIII", 2051, n, 28, 28) + img.tobytes()))
        (folder / f"{stem}-labels-idx1-ubyte.gz").write_bytes(
            gzip.compress(struct.pack(">II", 2049, n) + (np.arange(n) % 10).astype(np.uint8).tobytes()))
    return folder


def test_qt_image_report_writes_the_papers_figures_and_table(qt_run: Path) -> None:
    page, md, pngs = _report(qt_run)
    assert pngs == sorted(QT_FIGS) and all(f'src="{n}"' in page for n in QT_FIGS)
    rows = _rows(page, "Ours vs paper")
    assert [r[2] for r in rows] == ["Classical CNN", "QT-16", "QCML"]
    assert [r[4] for r in rows] == ["6,690", "457", "4,859"]  # ours: QCML with 2 blocks (26 QNN weights)
    assert [r[5] for r in rows] == ["6,690", "457", "5,002"]  # the paper's, 13 blocks
    assert [r[9] for r in rows] == ["88.14", "65.69", "-"]  # Table II
    qt = json.loads((qt_run / "summary.json").read_text())["models"]["qt"]
    assert rows[1][7] == f"{100 * qt['test_acc']:.2f} ± 0.00"  # the run's own number
    assert f"| QT-16 | 1 | 457 | 457 | {100 * qt['train_acc']:.2f} ± 0.00 |" in md
    assert all(_png_size(qt_run / "report" / name)[0] >= 700 for name in pngs)  # readable: no 450-px panels


def test_qt_image_report_shows_the_protocol_and_flags_the_differences_from_the_paper(qt_run: Path) -> None:
    page, md, _ = _report(qt_run)
    (row,) = _protocol(page)
    info = json.loads((qt_run / "run.json").read_text())
    assert (row["run"], row["preset"], row["seed"]) == (qt_run.name, "fashion_qt16", "0")
    assert row["data"] == "dataset=fashion, n_train=64, n_val=0, n_test=32"
    assert row["epochs"] == "1 of 50 (2 steps)"  # max_steps=2 stopped the first epoch
    assert row["settings"] == "models=all, lr=0.0001, batch_size=16, max_steps=2, patience=0, shots=none, " \
                              "diff_method=adjoint"
    assert row["overrides"] == ", ".join(info["overrides"]) and "max_steps=2" in row["overrides"]
    diffs = "n_train 64 (paper 60000); n_test 32 (paper 10000); batch_size 16 (paper 128); max_steps 2 (paper none)"
    assert row["vs paper"] == f"differs: {diffs}"
    assert ('<div class="caveat"><b>Caveat:</b> Protocol differs from the paper&#x27;s in 1 of 1 run(s), so the '
            f"paper columns below are not a like-for-like comparison:<ul><li>{diffs} ({qt_run.name})</li></ul></div>"
            ) in page
    assert ("> **Caveat:** Protocol differs from the paper's in 1 of 1 run(s), so the paper columns below are not a "
            f"like-for-like comparison:\n>\n> - {diffs} ({qt_run.name})\n") in md
    assert "Paper protocol: Liu et al., Table II: full FashionMNIST (60,000 / 10,000), 50 epochs" in page


def test_qt_image_report_numbers_come_from_the_runs(qt_run: Path) -> None:
    run = load_run(qt_run)
    rows = ours_vs_paper(entries_of([run]))
    qt = run.summary["models"]["qt"]  # type: ignore[index]
    assert rows[1]["test acc %"] == f"{100 * qt['test_acc']:.2f} ± 0.00"
    assert rows[1]["gap (pts)"] == f"{100 * (qt['train_acc'] - qt['test_acc']):.2f} ± 0.00"
    assert rows[1]["ours - paper"] == f"{100 * qt['test_acc'] - 65.69:+.2f}"
    assert find_runs(qt_run.parent) == [qt_run]


# ----------------------------------------------------------------------------- qet_amc
def test_qet_amc_report_has_table_2_vs_paper_and_figures(tmp_path: Path) -> None:
    run = _run(tmp_path, "qet_amc", "smoke")  # the report failed here with KeyError: 'train_loss'
    page, md, pngs = _report(run)
    assert pngs == ["qet_amc_curves.png", "qet_confusion_high_snr.png", "qet_fig4_acc_vs_snr.png",
                    "qet_fig5_val_loss.png"]
    models = json.loads((run / "summary.json").read_text())["models"]
    rows = _rows(page, "Table 2: ours vs paper")
    assert [r[0] for r in rows] == ["MC-Net", "QET-6"]
    assert rows[1][1:4] == ["35,440 / 35,440", "70.86 / 70.85", f"{100 * models['qet']['overall_acc']:.1f} / 59.4"]
    assert rows[0][6] == f"{models['classical']['T_e_s']:.2f} / 17.1" and rows[1][7].endswith(" / 7.40x")
    snr = _rows(page, "Accuracy per SNR (%, Fig. 4)")
    assert len(snr) == 20 and snr[-1] == ["18", *(f"{100 * models[t]['acc_by_snr']['18']:.1f}"
                                                 for t in ("classical", "qet"))]
    assert "### Validation accuracy per epoch (%, first seed)" in md
    (row,) = _protocol(page)
    assert (row["preset"], row["overrides"], row["epochs"]) == ("smoke", "-", "1 of 1 (2 steps)")
    assert row["vs paper"] == ("differs: data generated (paper auto or file); n_per_key 5 (paper none); input_norm "
                               "rms (paper none); epochs 1 (paper 500); patience 0 (paper 30); "
                               "max_steps 2 (paper none)")


# ----------------------------------------------------------------------------- pilot_assignment
def test_pilot_assignment_report_has_table_ii_and_fig_3c(tmp_path: Path) -> None:
    table2 = _run(tmp_path / "t", "pilot_assignment", "smoke")
    qubits = _run(tmp_path / "q", "pilot_assignment", "fig3c_smoke")
    page, _, pngs = _report(tmp_path)
    assert pngs == ["pilot_assignment_curves.png", "pilot_fig3c.png", "pilot_table2_ratios.png"]
    s = json.loads((table2 / "summary.json").read_text())
    rows = _rows(page, "Table II: small_K6 (10, 2, 6, 3), closed_form, unsupervised soft (1 seed(s))")
    assert [r[0] for r in rows] == [*s["models"], *s["baselines"]]
    assert rows[0][:4] == ["hqcnn", f"{s['models']['hqcnn']['sum_rate']:.2f}", f"{s['models']['hqcnn']['ratio']:.3f}",
                           "18.08"]
    assert rows[0][5:] == ["17", "578", "595"]
    assert [(r["preset"], r["vs paper"].split(";")[0]) for r in _protocol(page)] == [
        ("fig3c_smoke", "differs: n_train 32 (paper 192)"), ("smoke", "differs: n_train 32 (paper 192)")]
    q = json.loads((qubits / "summary.json").read_text())["models"]["hqcnn_q4"]
    (row,) = _rows(page, "Fig. 3c: sum-rate vs qubits, small_K6 (10, 2, 6, 3), closed_form, unsupervised soft "
                         "(1 seed(s))")
    assert row[:5] == ["4", str(q["params"]["total"]), f"{q['noiseless']:.2f}", f"{q['noisy']:.2f}", f"{q['zne']:.2f}"]


# ----------------------------------------------------------------------------- a recipe without a hook
@dataclass
class ToyConfig:
    """A recipe with no report hook: its report is the generic section."""

    seed: int = option(0, "seed", min=0)
    epochs: int = option(3, "epochs", min=1)


def _toy_train(cfg: ToyConfig, ctx: RunContext) -> RecipeOutput:
    g = torch.Generator().manual_seed(cfg.seed)
    for epoch in range(1, cfg.epochs + 1):
        ctx.run_dir.append_metrics({"model": "toy", "epoch": epoch, "step": 10 * epoch,
                                    "train_loss": 1 / epoch, "score": float(torch.rand(1, generator=g))})
    table = [{"model": "toy", "score": round(float(torch.rand(1, generator=g)), 4)}]
    return RecipeOutput(summary={"table": table, "answer": 42}, table=table)


def _toy_export(cfg: ToyConfig, run_dir: RunDir) -> Path:  # pragma: no cover - not called
    raise NotImplementedError


RECIPE = Recipe("toy_nohook", "a recipe without a report hook", ToyConfig, _toy_train, _toy_export)


def test_recipe_without_hook_gets_its_table_and_every_series(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setitem(RECIPE_MODULES, "toy_nohook", __name__)
    assert sys.modules[__name__].RECIPE is RECIPE and RECIPE.report is None
    run = _run(tmp_path, "toy_nohook", None, "epochs=2")
    page, md, pngs = _report(run)
    assert pngs == ["toy_nohook_curves.png"]
    score = json.loads((run / "summary.json").read_text())["table"][0]["score"]
    assert _rows(page, "Results per run") == [[run.name, "toy", str(score)]]
    assert "Per-epoch metrics.jsonl series: train_loss, score." in page
    assert md.startswith(f"# qtrain report: {run.name}\n\n## toy_nohook: runs\n")
    assert _protocol(page) == [{"run": run.name, "preset": "default", "seed": "0", "data": "-",
                                "epochs": "2 of 2 (20 steps)", "settings": "-", "overrides": "epochs=2",
                                "vs paper": "-"}]  # no paper module: shown, not compared
    assert "class=\"caveat\"" not in page and "No paper protocol to compare with." in page


def test_report_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from qtrain.cli import main

    assert main(["report", str(tmp_path)]) == 2
    assert f"no run folders (with run.json) in '{tmp_path}'" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "is not a folder; pass a run folder (qtrain run) or a sweep folder" in capsys.readouterr().err


def test_pilot_report_counts_a_seed_run_twice_once() -> None:
    from qtrain.recipes.hqcnn_pilot.report import Group, collect
    from qtrain.report import Run

    def run(name: str, seed: int, rate: float) -> Run:
        summary = {"seed": seed, "system": "small_K6", "study": "table2", "reference": "master_ap", "models": {},
                   "baselines": {}, "table": [{"method": "master_ap", "sum-rate": rate, "ratio": 1.0}]}
        return Run(Path(name), {"recipe": "pilot_assignment"}, {"seed": seed}, summary)

    groups = collect([run("p__s0__t2", 0, 2.0), run("p__s0__t1", 0, 1.0), run("p__s1__t1", 1, 3.0)])
    assert list(groups) == [Group("table2", "small_K6", "closed_form", "unsupervised", "soft")]
    assert [r["table"][0]["sum-rate"] for r in groups[list(groups)[0]]] == [2.0, 3.0]  # the later seed-0 run


def test_report_figures_keep_legends_off_the_data_and_wrap_wide_rows(tmp_path: Path) -> None:
    from qtrain.report.plots import DPI, MAX_COLS, panels, save

    plt, fig, axes = panels(4, width=5.2, height=3.6)
    assert axes.shape == (1, 4) and MAX_COLS == 2
    for ax in axes[0]:
        ax.plot([0, 1], [0, 1], label="a long label for the first line")
        ax.plot([0, 1], [1, 0], label="b")
        ax.legend(fontsize=6)
    boxes = []
    fig.canvas.draw()
    path = save(plt, fig, tmp_path / "f.png")
    for ax in axes[0]:
        legend, frame = ax.get_legend().get_window_extent(), ax.get_window_extent()
        boxes.append((legend.x0 >= frame.x1, ax.get_legend().get_texts()[0].get_fontsize()))
    assert boxes == [(True, 8.0)] * 4  # right of its axes, at least 8 pt
    width, height = _png_size(path)
    assert width >= 2 * 5.2 * DPI * 0.9 and height >= 2 * 3.6 * DPI * 0.9  # a 2 x 2 grid at DPI


# ----------------------------------------------------------------------------- every other recipe
OWN_TESTS = {"qt_image", "qet_amc", "pilot_assignment"}  # their report hooks have the tests above


@pytest.mark.parametrize("recipe", sorted(set(RECIPE_MODULES) - OWN_TESTS))
def test_report_works_on_a_run_of_every_recipe(recipe: str, tmp_path: Path, single_thread: None) -> None:
    """Issue 11: ``qtrain report`` on a run folder of each recipe shows that run's results and protocol."""
    run = _run(tmp_path, recipe, "smoke", "num_threads=1")
    page, md, _ = _report(run)
    table = json.loads((run / "summary.json").read_text())["table"]
    rows = _rows(page, "Results per run")
    assert [r[0] for r in rows] == [run.name] * len(table)
    assert [r[1] for r in rows] == [str(next(iter(t.values()))) for t in table]  # one row per model, in order
    (protocol,) = _protocol(page)
    assert (protocol["run"], protocol["preset"], protocol["seed"]) == (run.name, "smoke", "0")
    assert "num_threads=1" in protocol["overrides"] and md.startswith(f"# qtrain report: {run.name}\n")
    # the recipes whose paper states a protocol: the smoke run differs from it, and the report says in what
    first_difference = {"v2x_qcnn": "epochs 2 (paper 500)", "diffqas_series": "epochs 1 (paper 100)",
                        "diffqas_image": "max_steps 2 (paper none)", "diffqas_rl": "episodes 4 (paper 50000)"}
    if recipe in first_difference:
        assert protocol["vs paper"].startswith(f"differs: {first_difference[recipe]}"), protocol["vs paper"]
        assert "Protocol differs from the paper" in page
    elif recipe.startswith(("v2x", "diffqas")):
        assert "Protocol differs from the paper" not in page
