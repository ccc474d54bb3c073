"""The ``pilot_assignment`` report hook: Table II ours vs paper per system, Fig. 3c (sum-rate vs qubits).

Runs are grouped by (study, system, rate model, training mode, relaxation); each group's runs are
its seeds, each seed with its own test scenarios. :func:`row_table` and :func:`qubit_table` are
also what ``benchmarks/papers/bench_pilot*.py`` print into ``benchmarks/results/``.

Example:
    >>> from qtrain.report import find_runs, load_run
    >>> groups = collect([load_run(p) for p in find_runs("runs/bench_pilot")])   # doctest: +SKIP
"""
from __future__ import annotations

from typing import Any, NamedTuple, Sequence

from qtrain.recipes.hqcnn_pilot.figures import plot_fig3c, plot_ratios
from qtrain.recipes.hqcnn_pilot.paper import PAPER_TABLE_II, paper_ratio
from qtrain.report import Figure, ReportSection, Run, Table, format_mean_std, mean_std
from qtrain.report.collect import is_number
from qtrain.wireless import TABLE_II

__all__ = ["Group", "collect", "method_stats", "row_table", "ratio_bars", "qubit_data", "qubit_table",
           "report_section", "KINDS", "EXTRA"]

KINDS = ("noiseless", "noisy", "zne")
"""Fig. 3c's three evaluations of the HQCNN."""
EXTRA = ("noisy_agree", "zne_agree", "noisy_logit_err", "zne_logit_err")
"""What noise does to the assignments: users on the noiseless pilot, mean absolute logit error."""
_KEEP = ("reference", "baselines", "models", "table", "wall_time_s")


class Group(NamedTuple):
    """What the runs of one table share."""

    study: str
    system: str
    rate_model: str
    mode: str
    relaxation: str

    @property
    def label(self) -> str:
        """``small_K6 (10, 2, 6, 3), closed_form, unsupervised soft``."""
        return f"{self.system} {TABLE_II.get(self.system, '')}, {self.rate_model}, {self.mode} {self.relaxation}"


def collect(runs: Sequence[Run]) -> dict[Group, list[dict[str, Any]]]:
    """Finished runs' summaries (``reference``, ``baselines``, ``models``, ``table``, ``wall_time_s``) per group.

    A seed run twice in one group counts once: the later run folder (by name, i.e. by start time) wins.
    """
    out: dict[Group, dict[Any, dict[str, Any]]] = {}
    for run in sorted(runs, key=lambda r: r.name):
        s, c = run.summary, run.config
        if not s or not isinstance(s.get("table"), list):
            continue
        group = Group(str(s.get("study", c.get("study", "table2"))), str(s.get("system", c.get("system"))),
                      str(c.get("rate_model", "closed_form")), str(c.get("mode", "unsupervised")),
                      str(c.get("relaxation", "soft")))
        out.setdefault(group, {})[s.get("seed", c.get("seed"))] = {k: s[k] for k in _KEEP if k in s}
    return {g: list(by_seed.values()) for g, by_seed in out.items()}


def method_stats(runs: Sequence[dict[str, Any]], method: str) -> tuple[list[float], list[float]]:
    """Per-seed sum-rates and ratios of ``method`` across ``runs`` (runs without it left out)."""
    rows = [x for r in runs for x in r["table"] if x["method"] == method]
    return [x["sum-rate"] for x in rows], [x["ratio"] for x in rows if is_number(x.get("ratio"))]


def row_table(system: str, runs: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """Every method of one (system, rate model): sum-rate and ratio, mean ± std over seeds, the paper's beside."""
    ref = runs[0]["reference"]
    out = []
    for entry in runs[0]["table"]:
        m = entry["method"]
        rates, ratios = method_stats(runs, m)
        p, pr = PAPER_TABLE_II.get(system, {}).get(m), paper_ratio(system, m, ref) if system in PAPER_TABLE_II else None
        params = runs[0]["models"].get(m, {}).get("params", {})
        out.append({"method": m, "sum-rate": format_mean_std(rates, 2, show_zero_std=False),
                    f"ratio to {ref}": format_mean_std(ratios, 3, show_zero_std=False),
                    "paper": "-" if p is None else str(p), "paper ratio": f"{pr:.3f}" if pr else "-",
                    **{k: str(params.get(k, "")) for k in ("quantum", "classical", "total")}})
    return out


def ratio_bars(system: str, runs: Sequence[dict[str, Any]]) -> list[tuple[str, float, float, float | None]]:
    """``(method, mean ratio, std, paper ratio)`` for every method with a ratio."""
    out = []
    for entry in runs[0]["table"]:
        ratios = method_stats(runs, entry["method"])[1]
        if ratios:
            pr = paper_ratio(system, entry["method"], runs[0]["reference"]) if system in PAPER_TABLE_II else None
            out.append((entry["method"], *mean_std(ratios), pr))
    return out


def qubit_data(runs: Sequence[dict[str, Any]]) -> dict[int, dict[str, list[float]]]:
    """``qubits -> kind -> per-seed values`` of a ``study=qubits`` group (plus ``total`` parameter counts)."""
    out: dict[int, dict[str, list[float]]] = {}
    for r in runs:
        for tag, entry in r["models"].items():
            d = out.setdefault(int(tag.split("_q")[1]), {k: [] for k in (*KINDS, *EXTRA, "total")})
            for k in (*KINDS, *EXTRA):
                d[k].append(entry[k])
            d["total"].append(entry["params"]["total"])
    return dict(sorted(out.items()))


def qubit_table(data: dict[int, dict[str, list[float]]]) -> list[dict[str, str]]:
    """Sum-rate vs qubits: noiseless, noisy, ZNE (mean ± std over seeds) and how many users keep their pilot."""
    def pct(v: list[float]) -> str:
        return f"{100 * sum(v) / len(v):.1f}%"

    return [{"qubits": str(q), "trainable params": str(int(d["total"][0])),
             **{k: format_mean_std(d[k], 2, show_zero_std=False) for k in KINDS},
             "users on the noiseless pilot (noisy / ZNE)": f"{pct(d['noisy_agree'])} / {pct(d['zne_agree'])}"}
            for q, d in data.items()]


def report_section(runs: Sequence[Run]) -> ReportSection:
    """The hook of ``Recipe("pilot_assignment")``: Table II per system vs the paper, Fig. 3c, ratio bars."""
    groups = collect(runs)
    tables, figures = [], []
    for g, rs in groups.items():
        if g.study == "qubits":
            data = qubit_data(rs)
            tables.append(Table(f"Fig. 3c: sum-rate vs qubits, {g.label} ({len(rs)} seed(s))", qubit_table(data)))
            if not any(f.name == "pilot_fig3c.png" for f in figures):
                base = {k: sum(r["baselines"][k] for r in rs) / len(rs) for k in rs[0]["baselines"]}
                figures.append(Figure("pilot_fig3c.png", "Fig. 3c (paper)", f"Sum-rate vs qubits, {g.label}: "
                                      "noiseless / depolarizing noise / ZNE; users on the noiseless pilot.",
                                      lambda path, data=data, base=base: plot_fig3c(data, base, path)))
        else:
            tables.append(Table(f"Table II: {g.label} ({len(rs)} seed(s))", row_table(g.system, rs)))
    bars = {f"{g.system}, {g.rate_model}": ratio_bars(g.system, rs) for g, rs in groups.items() if g.study != "qubits"}
    if bars:
        figures.insert(0, Figure("pilot_table2_ratios.png", "Table II (paper)", "Ratio of each method's sum-rate to "
                                 "the reference (exhaustive, else the best heuristic), mean ± std over seeds; "
                                 "black marks: the paper's ratio.",
                                 lambda path: plot_ratios(bars, "ratio to the reference", path)))
    return ReportSection(
        title="pilot_assignment: HQCNN pilot assignment (Nguyen et al.), ours vs paper",
        intro=("Sum-rates in Mbit/s, mean ± std over seeds (each seed has its own test scenarios). Ratios are to "
               "exhaustive search where the run could afford it, else to the best of greedy / Master-AP / location; "
               "the paper ratio applies the same rule to the paper's Table II."),
        tables=tables, curves=("train_loss",), figures=figures)
