"""An RML2016.10a-like generator (numpy + scipy): same dict format as the DeepSig pickle.

Follows the recipe of ``radioML/dataset`` (GNU Radio 3.7; see ``reference/data-and-domain.md``
§2.2/§2.4). fs = 200 kHz, 8 samples per symbol, 128-sample windows, ``[I; Q]`` float32.

``mode="legacy"`` copies the released data's quirks: mean-amplitude-1 constellations, no power
normalisation before the channel, the GNU Radio ``dynamic_channel_model`` (SRO and CFO random
walks, 3-path sum-of-sinusoids Rician fading, K = 4, delays [0, 0.9, 1.7], magnitudes
[1, 0.8, 0.3], 8-tap sinc FIR), AWGN of power ``noise_c * 10**(-snr/5)``, WBFM's 220.5 kHz
samples used as 200 kHz, AM-SSB = channel noise only, and L1 window normalisation.
Each window is simulated on its own short segment, but at a burst position drawn by the
original sampler (start ``randint(50, 500)``, jumps ``randint(128, 5 % of the burst)``), with the
random-walk states at that position drawn from their exact Gaussian law (continuous across the
windows of one burst) and the fader evaluated there.
``mode="clean"``: unit-power constellations, one static channel per example (Rician K = 4 first
path, CN(0, 1) others, same delays/magnitudes), random carrier phase and timing, optional CFO,
unit signal power after the channel and AWGN of variance ``10**(-snr/10)``: the label is the true
per-window SNR. AM-SSB is a real upper-sideband signal; WBFM is resampled to 200 kHz.

Deviations, by design: i.i.d. random bits instead of whitened Shakespeare text, a speech-like
noise process instead of the podcast audio, an 89-tap RRC (11 symbols), cubic SRO interpolation,
the fader's slow angle drift (< 1e-4 rad per burst) ignored and the fader linearly interpolated
across a window (its phase moves < 0.005 rad there). The fader follows GNU Radio's
``flat_fader_impl.cc`` (N - 1 sinusoids scaled by sqrt(2/N): E|H|^2 = 1.15 per path).

Example:
    >>> d = generate_rml2016a_like(4, snrs=[0, 10], seed=0)
    >>> len(d), d[("QPSK", 10)].shape, d[("QPSK", 10)].dtype
    (22, (4, 2, 128), dtype('float32'))
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
from scipy import signal as sps

from qtrain._fileio import atomic_write, clean_stale_temps, read_npz
from qtrain.data.radioml import validate_rml_dict, write_rml_pickle

__all__ = ["ALL_MODS", "MODES", "NORMALIZATIONS", "rrc_taps", "gaussian_taps", "generate_key",
           "generate_rml2016a_like", "save_npz", "load_npz", "load_or_generate", "write_rml_pickle"]

ALL_MODS = ("8PSK", "AM-DSB", "AM-SSB", "BPSK", "CPFSK", "GFSK", "PAM4", "QAM16", "QAM64", "QPSK", "WBFM")
MODES = ("legacy", "clean")
NORMALIZATIONS = ("l1", "l2", "none")
FS, SPS, WIN = 200e3, 8, 128
BASE, SEG, NSYM = 104, 248, 31  # window start inside a segment (after filter transients), segment length
DELAYS, MAGS, K_FACTOR, N_SIN, FD_TS = (0.0, 0.9, 1.7), (1.0, 0.8, 0.3), 4.0, 8, 1.0 / FS
WALK_STD, SRO_MAX, CFO_MAX = 0.01, 50.0, 500.0  # Hz per sample, clip levels (Hz)
#: output samples of one original burst (tx_len bits -> symbols x 8; audio 10k samples resampled)
BURST_LEN = {"BPSK": 80000, "QPSK": 40000, "8PSK": 26664, "PAM4": 40000, "QAM16": 40000, "QAM64": 40000,
             "GFSK": 80000, "CPFSK": 80000, "AM-DSB": 45351, "AM-SSB": 45351, "WBFM": 50000}
_SQ = np.array([-1, 1, -3, 3, -5, 5, -7, 7], dtype=float)
_POINTS = {
    "BPSK": np.array([1, -1], dtype=complex), "QPSK": np.exp(1j * np.pi / 4) * np.array([1, 1j, -1, -1j]),
    "8PSK": np.exp(2j * np.pi * np.arange(8) / 8), "PAM4": np.array([-3, -1, 3, 1], dtype=complex),
    "QAM16": (_SQ[:4, None] + 1j * _SQ[None, :4]).ravel(), "QAM64": (_SQ[:, None] + 1j * _SQ[None, :]).ravel(),
}


def rrc_taps(alpha: float = 0.35, sps: int = SPS, span: int = 11) -> np.ndarray:
    """Root-raised-cosine FIR, ``span * sps + 1`` taps summing to ``sps`` (gain 1 per polyphase branch)."""
    t = (np.arange(span * sps + 1) - span * sps / 2) / sps
    with np.errstate(divide="ignore", invalid="ignore"):
        h = (np.sin(np.pi * t * (1 - alpha)) + 4 * alpha * t * np.cos(np.pi * t * (1 + alpha))) \
            / (np.pi * t * (1 - (4 * alpha * t) ** 2))
    h[t == 0] = 1 - alpha + 4 * alpha / np.pi
    edge = np.isclose(np.abs(t), 1 / (4 * alpha))
    h[edge] = alpha / np.sqrt(2) * ((1 + 2 / np.pi) * np.sin(np.pi / (4 * alpha))
                                    + (1 - 2 / np.pi) * np.cos(np.pi / (4 * alpha)))
    return h * sps / h.sum()


def gaussian_taps(bt: float = 0.35, sps: int = SPS, ntaps: int = 32) -> np.ndarray:
    """GNU Radio ``firdes.gaussian(1, sps, bt, ntaps)``: samples of a Gaussian pulse, sum 1."""
    t = (np.arange(ntaps) - ntaps / 2 + 1) / sps
    h = np.exp(-0.5 * (2 * np.pi * bt / np.sqrt(np.log(2)) * t) ** 2)
    return h / h.sum()


def _tx_linear(mod: str, n: int, legacy: bool, rng: np.random.Generator) -> np.ndarray:
    pts = _POINTS[mod]
    # i.i.d. uniform symbols == i.i.d. bits through the Gray table (a bijection)
    pts = pts * len(pts) / np.abs(pts).sum() if legacy else pts / np.sqrt(np.mean(np.abs(pts) ** 2))
    sym = pts[rng.integers(0, len(pts), size=(n, NSYM))]
    return sps.upfirdn(rrc_taps(), sym, up=SPS, axis=1)[:, :SEG]


def _tx_fsk(mod: str, n: int, legacy: bool, rng: np.random.Generator) -> np.ndarray:
    nrz = 2.0 * rng.integers(0, 2, size=(n, NSYM)) - 1.0
    phase0 = rng.uniform(0, 2 * np.pi, size=(n, 1))
    if mod == "CPFSK":  # cpfsk_bc(k=0.5): +-k*pi/sps rad per sample, rectangular pulse
        return np.exp(1j * (phase0 + np.cumsum(np.repeat(nrz, SPS, axis=1) * np.pi / 16, axis=1)))[:, :SEG]
    freq = sps.upfirdn(np.convolve(gaussian_taps(), np.ones(SPS)), nrz, up=SPS, axis=1)[:, :SEG]
    return (0.999 if legacy else 1.0) * np.exp(1j * (phase0 + 0.1 * np.cumsum(freq, axis=1)))


def _speech_like(n_audio: int, rng: np.random.Generator, fs: float = 44100.0) -> np.ndarray:
    """Band-passed noise x 4 Hz syllabic envelope x talk/pause gating, max |m| = 0.5 (44.1 kHz)."""
    warm = int(fs // 10)
    voiced = sps.sosfilt(sps.butter(4, [300, 3400], "bandpass", fs=fs, output="sos"),
                         rng.standard_normal(n_audio + warm))[warm:]
    n_low = n_audio // 100 + 2
    env = np.abs(sps.sosfilt(sps.butter(2, 4.0, fs=fs / 100, output="sos"), rng.standard_normal(n_low + 50))[50:])
    env = np.interp(np.arange(n_audio) / 100.0, np.arange(n_low), env)
    # talk spurts (mean 1 s) and pauses (mean 0.35 s, -40 dB background): ~26 % silence
    durs = rng.exponential(np.tile([1.0, 0.35], int(n_audio / fs) + 4)) * fs
    levels = np.tile([1.0, 0.01], len(durs) // 2)
    edges = np.cumsum(durs) - rng.uniform(0, durs[0] + durs[1])
    gate = levels[np.minimum(np.searchsorted(edges, np.arange(n_audio), side="right"), len(levels) - 1)]
    m = voiced * env * gate
    return 0.5 * m / np.abs(m).max()


def _preemphasis(fs: float, tau: float = 75e-6) -> tuple[np.ndarray, np.ndarray]:
    """GNU Radio ``fm_preemph``: bilinear (s + 1/tau)/(s + w_h), w_h = 2 pi 0.925 fs/2, DC gain 1."""
    wl, wh = 2 * fs * np.tan(1 / (tau * 2 * fs)), 2 * fs * np.tan(2 * np.pi * 0.925 * fs / 2 / (2 * fs))
    kl, kh = -wl / (2 * fs), -wh / (2 * fs)
    z1, p1, b0 = (1 + kl) / (1 - kl), (1 + kh) / (1 - kh), (1 - kl) / (1 - kh)
    g = abs(1 - p1) / (b0 * abs(1 - z1))
    return np.array([g * b0, -g * b0 * z1]), np.array([1.0, -p1])


def _analog_stream(mod: str, n: int, legacy: bool, rng: np.random.Generator) -> np.ndarray:
    m = _speech_like(int(np.clip(0.01 * n, 0.5, 8.0) * 44100), rng)
    if mod == "WBFM":  # wfm_tx: x5 to 220.5 kHz, pre-emphasis, FM with k = 2 pi 75 kHz / 220.5 kHz
        x = sps.upfirdn(5 * sps.firwin(133, 19000, fs=220500), m, up=5)
        x = sps.lfilter(*_preemphasis(220500.0), x)
        s = np.exp(1j * np.cumsum(2 * np.pi * 75e3 / 220500 * x))
        return s if legacy else sps.resample_poly(s, 400, 441)  # legacy: 220.5 kHz samples taken as 200 kHz
    m200 = sps.resample_poly(m, 2000, 441)
    return 1.0 + m200 + 0j if mod == "AM-DSB" else sps.hilbert(m200)  # AM-SSB (clean): m + j H{m}


def _transmit(mod: str, n: int, legacy: bool, rng: np.random.Generator) -> np.ndarray:
    """``(n, SEG)`` complex transmit segments; the window region starts near ``BASE``."""
    if mod in _POINTS:
        return _tx_linear(mod, n, legacy, rng)
    if mod in ("GFSK", "CPFSK"):
        return _tx_fsk(mod, n, legacy, rng)
    if mod == "AM-SSB" and legacy:  # float sig_source at 0 Hz = sin(0) = 0: the released class is noise only
        return np.zeros((n, SEG), dtype=complex)
    stream = _analog_stream(mod, n, legacy, rng)
    start = rng.integers(0, len(stream) - SEG, size=n)
    return stream[start[:, None] + np.arange(SEG)]


def _burst_positions(mod: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The original sampler: burst index and start sample of each of ``n`` windows."""
    length = BURST_LEN[mod]
    n_max = (length - 178) // 128 + 1
    bursts, starts, total = [], [], 0
    while total < n:
        jumps = rng.integers(128, round(0.05 * length) + 1, size=n_max)
        pos = rng.integers(50, 501) + np.concatenate([[0], np.cumsum(jumps[:-1])])
        pos = pos[pos + WIN < length][: n - total]
        bursts.append(np.full(len(pos), len(bursts)))
        starts.append(pos)
        total += len(pos)
    return np.concatenate(bursts), np.concatenate(starts)


def _walk_states(burst: np.ndarray, t: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random walk S (Hz) and its running sum C at each window start, exact Gaussian increments."""
    first = np.concatenate([[True], burst[1:] != burst[:-1]])
    gap = (t - np.where(first, 0, np.roll(t, 1))).astype(float)
    z1, z2 = rng.standard_normal((2, len(t)))
    a = WALK_STD * np.sqrt(gap) * z1  # sum of `gap` steps
    b = (gap + 1) / 2 * a + WALK_STD * np.sqrt((gap ** 3 - gap) / 12) * z2  # their weighted sum
    s = _segment_cumsum(a, first)
    c = _segment_cumsum(gap * (s - a) + b, first)
    return s, c


def _segment_cumsum(v: np.ndarray, first: np.ndarray) -> np.ndarray:
    cs = np.cumsum(v)
    head = np.maximum.accumulate(np.where(first, np.arange(len(v)), 0))
    return cs - cs[head] + v[head]


def _fader(params: np.ndarray, m: np.ndarray) -> np.ndarray:
    """GNU Radio flat_fader (LOS on) at sample indices ``m`` ``(n, T)``; ``params`` ``(n, 3, 20)``."""
    psi, phi, theta, theta_los = params[..., :9], params[..., 9:18], params[..., 18:19], params[..., 19:20]
    alpha = (2 * np.pi * np.arange(1, N_SIN) - np.pi + theta) / (4 * N_SIN)  # (n, 3, 7)
    w = 2 * np.pi * FD_TS * m[:, None, :, None]  # (n, 1, T, 1)
    h = np.sqrt(2.0 / N_SIN) * (np.cos(w * np.cos(alpha)[:, :, None] + psi[:, :, None, 2:N_SIN + 1])
                                + 1j * np.cos(w * np.sin(alpha)[:, :, None] + phi[:, :, None, 2:N_SIN + 1])).sum(-1)
    los = np.exp(1j * (w[..., 0] * np.cos(theta_los) + psi[..., :1]))
    return h / np.sqrt(K_FACTOR + 1) + np.sqrt(K_FACTOR / (K_FACTOR + 1)) * los  # (n, 3, T)


def _fir(y_ext: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """Causal 8-tap multipath FIR; ``y_ext`` ``(n, WIN + 7)``, path gains ``(n, 3, WIN)`` or ``(n, 3, 1)``."""
    k = np.arange(8)
    taps = np.einsum("npt,pk->ntk", gains * np.asarray(MAGS)[:, None], np.sinc(k[None] - np.asarray(DELAYS)[:, None]))
    frames = np.lib.stride_tricks.sliding_window_view(y_ext, 8, axis=1)[:, :, ::-1]  # y[i], y[i-1], ...
    return np.einsum("ntk,ntk->nt", frames, np.broadcast_to(taps, frames.shape))


def _cubic(x: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """4-point Lagrange interpolation of rows of ``x`` at fractional positions ``pos`` ``(n, T)``."""
    i = np.floor(pos).astype(int)
    mu = pos - i
    w = [-mu * (mu - 1) * (mu - 2) / 6, (mu + 1) * (mu - 1) * (mu - 2) / 2,
         -(mu + 1) * mu * (mu - 2) / 2, (mu + 1) * mu * (mu - 1) / 6]
    return sum(wk * np.take_along_axis(x, i + k - 1, axis=1) for k, wk in enumerate(w))


def _legacy_channel(x: np.ndarray, mod: str, rng: np.random.Generator, fixed_channel_seed: bool) -> np.ndarray:
    n = len(x)
    burst, t = _burst_positions(mod, n, rng)
    steps = np.arange(-7, WIN)
    walks = []
    for limit in (SRO_MAX, CFO_MAX):  # state at the window start, then per-sample steps through it
        s0, c0 = _walk_states(burst, t, rng)
        s = np.clip(s0[:, None] + WALK_STD * np.cumsum(rng.standard_normal((n, len(steps))), axis=1), -limit, limit)
        walks.append(c0[:, None] + np.cumsum(s, axis=1))
    drift = walks[0] / FS  # SRO: input position offset in samples
    frac = drift - np.floor(drift[:, :1])
    y = _cubic(x, BASE + (t % SPS)[:, None] + steps + frac) * np.exp(2j * np.pi * walks[1] / FS)
    if fixed_channel_seed:  # every burst replays the trajectory of one seed, as the 0x1337 seed did
        params = np.broadcast_to(np.random.default_rng(0x1337).uniform(-np.pi, np.pi, (1, 3, 20)), (n, 3, 20))
    else:
        params = rng.uniform(-np.pi, np.pi, (burst[-1] + 1, 3, 20))[burst]
    ends = _fader(params, np.stack([t, t + WIN - 1], axis=1).astype(float))
    gains = ends[..., :1] + (ends[..., 1:] - ends[..., :1]) * np.linspace(0, 1, WIN)
    return _fir(y, gains)


def _clean_channel(x: np.ndarray, rng: np.random.Generator, cfo_max_hz: float) -> np.ndarray:
    n = len(x)
    cn = (rng.standard_normal((n, 3)) + 1j * rng.standard_normal((n, 3))) / np.sqrt(2)
    cn[:, 0] = np.sqrt(K_FACTOR / (K_FACTOR + 1)) * np.exp(2j * np.pi * rng.uniform(size=n)) \
        + cn[:, 0] / np.sqrt(K_FACTOR + 1)
    start = BASE + rng.integers(0, SPS, size=n)
    y = x[np.arange(n)[:, None], start[:, None] + np.arange(-7, WIN)]
    cfo = rng.uniform(-cfo_max_hz, cfo_max_hz, size=(n, 1)) if cfo_max_hz > 0 else np.zeros((n, 1))
    y = y * np.exp(1j * (rng.uniform(0, 2 * np.pi, size=(n, 1)) + 2 * np.pi * cfo / FS * np.arange(-7, WIN)))
    out = _fir(y, cn[:, :, None])
    return out / np.sqrt(np.mean(np.abs(out) ** 2, axis=1, keepdims=True))


def _key_rng(seed: int, mod: str, snr: int) -> np.random.Generator:
    # one stream per (mod, snr), independent of which other keys are made and of the worker count
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(ALL_MODS.index(mod), snr + 1000)))


def generate_key(mod: str, snr: int, n: int, mode: str = "legacy", seed: int = 0, normalize: str = "l1",
                 noise_c: float = 2.0, fixed_channel_seed: bool = False, cfo_max_hz: float = 0.0,
                 components: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Windows of one (mod, snr) key, as stored in the dict (see the module docstring for modes).

    Args:
        mod: one of :data:`ALL_MODS`.
        snr: SNR label in dB (integer).
        n: number of windows.
        mode: ``"legacy"`` or ``"clean"``.
        seed: master seed; each key has its own stream derived from (seed, mod, snr).
        normalize: per-window ``"l1"`` (sum |x| = 1, the original), ``"l2"`` (unit energy) or ``"none"``.
        noise_c: legacy noise power factor: power = ``noise_c * 10**(-snr/5)`` (2 in GNU Radio 3.7).
        fixed_channel_seed: legacy: all windows replay one fading trajectory (as the original).
        cfo_max_hz: clean: carrier offset drawn from U(-cfo_max_hz, cfo_max_hz).
        components: return ``(signal, noise)`` complex ``(n, 128)`` before window normalisation.

    Returns:
        float32 ``(n, 2, 128)`` (row 0 = I, row 1 = Q), or the two components.
    """
    _check(mode=mode, normalize=normalize, mods=[mod], snrs=[snr], n=n)
    rng = _key_rng(seed, mod, int(snr))
    x = _transmit(mod, n, mode == "legacy", rng)
    if mode == "legacy":
        sig, power = _legacy_channel(x, mod, rng, fixed_channel_seed), noise_c * 10 ** (-snr / 5)
    else:
        sig, power = _clean_channel(x, rng, cfo_max_hz), 10 ** (-snr / 10)
    noise = np.sqrt(power / 2) * (rng.standard_normal((n, WIN)) + 1j * rng.standard_normal((n, WIN)))
    if components:
        return sig, noise
    z = sig + noise
    if normalize == "l1":
        z = z / np.abs(z).sum(axis=1, keepdims=True)
    elif normalize == "l2":
        z = z / np.sqrt((np.abs(z) ** 2).sum(axis=1, keepdims=True))
    return np.stack([z.real, z.imag], axis=1).astype(np.float32)


def _check(mode: str, normalize: str, mods: Sequence[str], snrs: Sequence[int], n: int) -> None:
    problems = []
    if mode not in MODES:
        problems.append(f"mode={mode!r} (use one of {list(MODES)})")
    if normalize not in NORMALIZATIONS:
        problems.append(f"normalize={normalize!r} (use one of {list(NORMALIZATIONS)})")
    if bad := [m for m in mods if m not in ALL_MODS]:
        problems.append(f"mods {bad} (use names from {list(ALL_MODS)})")
    if bad := [s for s in snrs if not isinstance(s, (int, np.integer)) or not -1000 <= s <= 1000]:
        problems.append(f"snrs {bad} (integer dB labels in [-1000, 1000], e.g. range(-20, 20, 2))")
    if not isinstance(n, (int, np.integer)) or n < 1:
        problems.append(f"n_per_key={n!r} (a positive int, 1000 in RML2016.10a)")
    if problems:
        raise ValueError("invalid RML generator arguments: " + "; ".join(problems))


def _job(args: tuple[str, int, int, dict[str, Any]]) -> np.ndarray:
    mod, snr, n, kwargs = args
    return generate_key(mod, snr, n, **kwargs)


def generate_rml2016a_like(n_per_key: int, snrs: Iterable[int] = range(-20, 20, 2),
                           mods: Sequence[str] = ALL_MODS, mode: str = "legacy", seed: int = 0,
                           workers: int = 1, **options: Any) -> dict[tuple[str, int], np.ndarray]:
    """RML2016.10a-structured dict ``{(mod, snr): float32 (n_per_key, 2, 128)}``.

    Deterministic in ``seed``, whatever ``workers`` (spawned processes, so a script calling this
    with ``workers > 1`` needs the ``if __name__ == "__main__":`` guard; 1 = in this process). ``options``
    go to :func:`generate_key` (``normalize``, ``noise_c``, ``fixed_channel_seed``, ``cfo_max_hz``).
    Feed the result to :func:`qtrain.data.radioml.stack_rml_dict` for ``(X, y_mod, y_snr, mods)``.
    """
    snrs, mods = list(snrs), list(mods)
    _check(mode, options.get("normalize", "l1"), mods, snrs, n_per_key)
    snrs = [int(s) for s in snrs]
    if unknown := set(options) - {"normalize", "noise_c", "fixed_channel_seed", "cfo_max_hz"}:
        raise ValueError(f"unknown options {sorted(unknown)}; allowed: normalize, noise_c, fixed_channel_seed, "
                         "cfo_max_hz")
    jobs = [(m, s, int(n_per_key), dict(mode=mode, seed=seed, **options)) for m in mods for s in snrs]
    if workers <= 1:
        arrays = [_job(j) for j in jobs]
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            arrays = list(pool.map(_job, jobs))
    return {(m, s): a for (m, s, _, _), a in zip(jobs, arrays)}


def save_npz(d: dict[tuple[str, int], np.ndarray], path: str | os.PathLike[str],
             meta: dict[str, Any] | None = None) -> Path:
    """Cache a RadioML dict as one ``.npz`` (written to a temp file, then renamed: atomic)."""
    validate_rml_dict(d, "save_npz(d)")
    keys = list(d)
    arrays = dict(X=np.concatenate([d[k] for k in keys]), mods=np.array([k[0] for k in keys]),
                  snrs=np.array([int(k[1]) for k in keys]), counts=np.array([len(d[k]) for k in keys]),
                  meta=np.array(json.dumps(meta or {}, sort_keys=True)))
    return atomic_write(path, lambda fh: np.savez(fh, **arrays))


def load_npz(path: str | os.PathLike[str], with_meta: bool = False) -> Any:
    """Read a :func:`save_npz` file back into the dict (and its ``meta`` if ``with_meta``).

    Raises:
        ValueError: the file is damaged or not such a cache (one line naming it).
    """
    f = read_npz(path, ("X", "mods", "snrs", "counts", "meta"))
    counts = f["counts"]
    if not (f["mods"].shape == f["snrs"].shape == counts.shape and counts.ndim == 1
            and np.issubdtype(counts.dtype, np.integer) and (counts > 0).all() and int(counts.sum()) == len(f["X"])):
        raise ValueError(f"RadioML cache {str(path)!r} is inconsistent (key arrays and counts do not match X); "
                         "delete it to regenerate")
    ends = np.cumsum(counts)
    d = {(str(m), int(s)): f["X"][e - c:e] for m, s, c, e in zip(f["mods"], f["snrs"], counts, ends)}
    validate_rml_dict(d, f"RadioML cache {str(path)!r}")
    try:
        meta = json.loads(str(f["meta"]))
    except ValueError:
        raise ValueError(f"RadioML cache {str(path)!r} has unreadable metadata; delete it to regenerate") from None
    return (d, meta) if with_meta else d


def load_or_generate(path: str | os.PathLike[str], n_per_key: int, **kwargs: Any) -> dict[tuple[str, int], np.ndarray]:
    """Load ``path`` if it was made with the same arguments, else generate and cache it there.

    A cache that cannot be read (cut short by a crash, damaged) is regenerated and replaced;
    temporary files left in its folder by killed writers are removed.
    """
    clean_stale_temps(Path(path).parent, recursive=False)
    meta = {"n_per_key": int(n_per_key), **{k: (list(v) if isinstance(v, (range, tuple)) else v)
                                             for k, v in kwargs.items() if k != "workers"}}
    meta = json.loads(json.dumps(meta, default=list, sort_keys=True))
    if Path(path).is_file():
        try:
            d, old = load_npz(path, with_meta=True)
        except ValueError:
            old = None  # damaged: fall through and write a fresh one
        if old == meta:
            return d
    d = generate_rml2016a_like(n_per_key, **kwargs)
    save_npz(d, path, meta)
    return d
