"""V2X paper, Sec. VI: federated Quantum-Train on Flower vs classical FedAvg of the same CNN.

Sweeps ``v2x_federated`` presets ``noniid_5clients`` (in-process, dropout and a straggler) and
``grpc_3clients`` (real processes over gRPC) over seeds 0-2 and writes
``benchmarks/results/v2x_federated.{json,md,png}``: bytes per round (measured from Flower's
messages), their ratio, test accuracy per round and after the last round, and the accuracy gap.

    python benchmarks/papers/bench_v2x_federated.py [--reuse SWEEP_DIR] [--from-json]
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_v2x_common import fmt, load_json, mean_std, parser, plt, RESULTS, save_json, summaries, write_section  # noqa: E402


def _collect(sums: list[dict]) -> dict:
    out: dict = {}
    for s in sums:
        out.setdefault(s["preset"], {})[str(s["seed"])] = {
            t: {"bytes_per_round": m["bytes_per_round"], "final": m["final_test_acc"], "best": m["best_test_acc"],
                "failures": m["failures"], "params": m["params"]["trainable"],
                "curve": [r.get("test_acc") for r in m["rounds"]],
                "bytes": [r["bytes_down"] + r.get("bytes_up", 0) for r in m["rounds"]]}
            for t, m in s["models"].items()}
    return out


def _grpc_lines(data: dict) -> list[str]:
    seeds = sorted(data)
    rounds = len(data[seeds[0]]["quantum"]["curve"])
    lines = ["", f"Over gRPC (`--preset grpc_3clients`: a Flower server process and 3 client processes on 127.0.0.1, "
             f"Dirichlet(0.5), {rounds} rounds x 2 local epochs, no dropout or stragglers; "
             f"seeds {', '.join(seeds)}):", "",
             "| model | bytes / round | final test % |", "|---|---:|---:|"]
    for tag, name in (("quantum", "federated Quantum-Train"), ("classical", "classical FedAvg")):
        lines.append(f"| {name} | {fmt([data[s][tag]['bytes_per_round'] for s in seeds], 1, 0)} | "
                     f"{fmt([data[s][tag]['final'] for s in seeds], 100)} |")
    return lines


def report(presets: dict) -> str:
    data = presets["noniid_5clients"]
    seeds = sorted(data)
    q, c = (lambda k: [data[s]["quantum"][k] for s in seeds]), (lambda k: [data[s]["classical"][k] for s in seeds])
    ratio = [a / b for a, b in zip(q("bytes_per_round"), c("bytes_per_round"))]
    gap = [b - a for a, b in zip(q("final"), c("final"))]
    rounds = len(data[seeds[0]]["quantum"]["curve"])
    lines = ["### 5. Federated Quantum-Train on Flower (`v2x_federated`)", "",
             "Protocol: Digits 6:2:2; the 1,078 training images split over 5 clients by a per-class Dirichlet(0.5) "
             f"draw (non-IID); {rounds} rounds, every client sampled, 2 local epochs of Adam (batch 32) per round, "
             "optimizer state kept across rounds; each client fails a round with probability 0.1 and client 4 is a "
             "straggler that always misses the round deadline (its update is dropped); FedAvg weighted by shard size "
             "over the updates that arrive; the server evaluates on the 360 test images after each round. Target: "
             "DigitsCNN (conv 1->8 3x3, max-pool, FC 128->64->10, no activation), 8,986 weights. Federated QT "
             "exchanges only the generator: 14-qubit QNN (16 Ry+CNOT blocks, 224) + mapping (253) = 477 values "
             "(Adam 1e-2); classical FedAvg exchanges the 8,986 CNN weights (Adam 3e-3). Bytes: payload of the Flower "
             "FitIns + FitRes messages (raw float32), per round, summed over clients. In-process Flower server "
             "(`flwr.server.Server`, messages serialised through Flower's protobuf serde); "
             f"seeds {', '.join(seeds)}.", "",
             "| model | exchanged values | bytes / round | x classical | final test % | best test % | failed updates |",
             "|---|---:|---:|---:|---:|---:|---:|",
             f"| federated Quantum-Train | {data[seeds[0]]['quantum']['params']:,} | "
             f"{fmt(q('bytes_per_round'), 1, 0)} | "
             f"{fmt(ratio, 1, 4)} | {fmt(q('final'), 100)} | {fmt(q('best'), 100)} | {fmt(q('failures'), 1, 1)} |",
             f"| classical FedAvg | {data[seeds[0]]['classical']['params']:,} | "
             f"{fmt(c('bytes_per_round'), 1, 0)} | 1 | "
             f"{fmt(c('final'), 100)} | {fmt(c('best'), 100)} | {fmt(c('failures'), 1, 1)} |", "",
             f"Accuracy gap after {rounds} rounds (classical - QT): {fmt(gap, 100)} points "
             f"(per seed: {', '.join(f'{100 * g:.2f}' for g in gap)}). Bytes ratio per seed: "
             f"{', '.join(f'{r:.4f}' for r in ratio)}.", "",
             "Command: `qtrain sweep v2x_federated --presets noniid_5clients --seeds 0,1,2`. The same federation runs "
             "as real processes (a Flower server and N clients over gRPC on 127.0.0.1) with `--preset grpc_3clients`; "
             "the test suite checks that a gRPC run ends with bit-identical weights to the in-process run. Accuracy "
             "per round: `benchmarks/results/v2x_federated.png`."]
    if "grpc_3clients" in presets:
        lines += _grpc_lines(presets["grpc_3clients"])
    return "\n".join(lines + [""])


def plot(presets: dict) -> None:
    data = presets["noniid_5clients"]
    pyplot = plt()
    fig, axes = pyplot.subplots(1, 2, figsize=(10, 3.5))
    seeds = sorted(data)
    for tag, name in (("quantum", "federated QT"), ("classical", "classical FedAvg")):
        curves = [[v or 0.0 for v in data[s][tag]["curve"]] for s in seeds]
        n = min(len(c) for c in curves)
        ys = [mean_std([c[i] for c in curves]) for i in range(n)]
        axes[0].errorbar(range(1, n + 1), [m for m, _ in ys], [e for _, e in ys], label=name, capsize=2)
        cum = [sum(data[seeds[0]][tag]["bytes"][: i + 1]) / 1e6 for i in range(n)]
        axes[1].plot(cum, [m for m, _ in ys], marker="o", ms=2, label=name)
    axes[0].set_xlabel("round"), axes[1].set_xlabel("cumulative traffic (MB, seed 0)")
    for ax in axes:
        ax.set_ylabel("test accuracy"), ax.grid(alpha=0.3), ax.legend(fontsize=7)
    axes[1].set_xscale("log")
    fig.tight_layout()
    fig.savefig(RESULTS / "v2x_federated.png", dpi=120)


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--presets", nargs="+", default=["noniid_5clients", "grpc_3clients"])
    a = p.parse_args()
    if not a.from_json:
        save_json("federated", _collect(summaries("v2x_federated", a.presets, a)))
    data = load_json("federated")
    plot(data)
    write_section("federated", report(data))


if __name__ == "__main__":
    main()
