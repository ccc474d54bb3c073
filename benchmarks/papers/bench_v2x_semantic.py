"""V2X paper, Sec. III: semantic communication with a QCNN encoder and a QRE loss, quality and accuracy vs SNR.

Sweeps ``v2x_semantic`` presets ``awgn`` and ``rayleigh`` (and ``awgn_mse_only`` when asked) over seeds
0-2 and writes ``benchmarks/results/v2x_semantic.{json,md,png}``: PSNR, quantum relative entropy and
downstream accuracy at every test SNR, QCNN encoder vs the equal-size classical encoder.

    python benchmarks/papers/bench_v2x_semantic.py
    python benchmarks/papers/bench_v2x_semantic.py --reuse runs/bench/v2x_semantic/sweep__*   # finished sweeps
    python benchmarks/papers/bench_v2x_semantic.py --from-json
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_v2x_common import fmt, load_json, mean_std, parser, plt, RESULTS, save_json, summaries, write_section  # noqa: E402

TAGS = {"quantum": "QCNN encoder", "classical": "classical encoder"}


def _collect(sums: list[dict]) -> dict:
    out: dict = {}
    for s in sums:
        out.setdefault(s["preset"], {})[str(s["seed"])] = {
            "clean_acc": s["clean_test_acc"], "params": s["models"]["quantum"]["params"]["trainable"],
            **{t: s["models"][t]["by_snr"] for t in TAGS}}
    return out


def report(data: dict) -> str:
    lines = ["### 2. Channel-adaptive semantic communication (`v2x_semantic`)", "",
             "Protocol: Digits 8x8 in [0, 1], 6:2:2 split. Encoder: the 4-qubit vqc circuit (16 weights) on every 2x2 "
             "patch -> Linear(64, 8) -> 4 power-normalised complex symbols -> AWGN or Rayleigh (MMSE, perfect CSI) at "
             "an SNR drawn per image from U[-5, 20] dB -> decoder MLP(8 + SNR -> 64 -> 64) + sigmoid. Loss MSE + 0.1 x "
             "S(rho(x) || rho(x_hat)), rho = 0.95 X^T X / tr + 0.05 I/8 from the 8 image rows. Classical encoder: "
             "tanh(Conv2d(1, 4, 2, stride 2, bias=False)), 16 weights; 5,336 trainable each. 40 epochs, Adam 0.01, "
             "batch 64. Test: 360 images per SNR with fixed noise; accuracy of a fixed MLP classifier trained on clean "
             "images (its clean test accuracy in the last column).", ""]
    for preset, runs in data.items():
        seeds = sorted(runs)
        snrs = sorted(runs[seeds[0]]["quantum"], key=float)
        clean = fmt([runs[s]["clean_acc"] for s in seeds], 100)
        note = "; ablation: loss = MSE only, the QRE is measured but not trained" if preset.endswith("mse_only") else ""
        lines += [f"**{preset}** (seeds {', '.join(seeds)}; clean-image accuracy {clean} %{note})", "",
                  "| SNR dB | QCNN PSNR dB | classical PSNR dB | QCNN QRE (nats) | classical QRE | QCNN acc % | "
                  "classical acc % |", "|---:|---:|---:|---:|---:|---:|---:|"]
        for snr in snrs:
            v = lambda t, k, sc=1.0: fmt([runs[s][t][snr][k] for s in seeds], sc, 3 if k == "qre" else 2)  # noqa: E731
            lines.append(f"| {float(snr):g} | {v('quantum', 'psnr_db')} | {v('classical', 'psnr_db')} | "
                         f"{v('quantum', 'qre')} | {v('classical', 'qre')} | {v('quantum', 'acc', 100)} | "
                         f"{v('classical', 'acc', 100)} |")
        lines.append("")
    lines += ["Commands: `qtrain sweep v2x_semantic --presets " + ",".join(data) + " --seeds 0,1,2`; curves: "
              "`benchmarks/results/v2x_semantic.png`.", ""]
    return "\n".join(lines)


def plot(data: dict) -> None:
    pyplot = plt()
    fig, axes = pyplot.subplots(1, 2, figsize=(10, 3.6))
    for preset, runs in data.items():
        seeds = sorted(runs)
        snrs = sorted(runs[seeds[0]]["quantum"], key=float)
        for tag, name in TAGS.items():
            for ax, key, sc in ((axes[0], "psnr_db", 1), (axes[1], "acc", 100)):
                ys = [mean_std([runs[s][tag][snr][key] * sc for s in seeds]) for snr in snrs]
                ax.errorbar([float(x) for x in snrs], [m for m, _ in ys], [e for _, e in ys], marker="o", ms=3,
                            capsize=2, label=f"{name}, {preset}", ls="-" if tag == "quantum" else "--")
    for ax, lab in zip(axes, ("PSNR (dB)", "downstream accuracy (%)")):
        ax.set_xlabel("SNR (dB)"), ax.set_ylabel(lab), ax.grid(alpha=0.3), ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(RESULTS / "v2x_semantic.png", dpi=120)


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--presets", nargs="+", default=["awgn", "rayleigh"])
    a = p.parse_args()
    if not a.from_json:
        save_json("semantic", _collect(summaries("v2x_semantic", a.presets, a)))
    data = load_json("semantic")
    plot(data)
    write_section("semantic", report(data))


if __name__ == "__main__":
    main()
