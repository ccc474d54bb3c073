"""Time-series benchmarks of the QLSTM family (DiffQAS-QT Sec. VI-B, Table II) and their windows.

Generators, as in S. Y.-C. Chen's QLSTM / Quantum-FWP code (constants and reference values in the
project's ``data-and-domain.md`` section 5):

* damped SHM: pendulum ``theta'' = -(b/m) theta' - g sin(theta)`` with ``b = 0.15``, ``g = 9.81``,
  ``l = m = 1``, ``theta(0) = 0``, ``theta'(0) = 3``, integrated by ``scipy.integrate.odeint`` on
  ``t = linspace(0, 20, 240)``; the series is the angular velocity ``theta'``;
* Bessel ``J2``: ``jv(2, x)`` on ``x = linspace(2, 100, 256)`` (``scale=5, x = linspace(0.1, 20, 240)``
  gives the ``J2(5x)`` variant of a public reimplementation);
* delayed quantum control: ``sum_{n=0}^{10} exp(-10 (x - 2n)^2) exp(-x / 16)`` on
  ``x = arange(-2, 20, 0.01)``;
* NARMA-n (n = 5, 10): ``u_t = 0.1 (sin(2 pi 2.11 t/T) sin(2 pi 3.73 t/T) sin(2 pi 4.11 t/T) + 1)``,
  ``y_0 = 0.196``, ``y_{t+1} = 0.3 y_t + 0.05 y_t sum_{j<n} y_{t-j} + 1.5 u_{t-n+1} u_t + 0.1``
  (negative indices are 0), ``T = 300``; the model sees ``u``, predicts ``y``.

The first three are scaled to [-1, 1] over the whole series (``MinMaxScaler`` fitted on all points,
as in the original code); NARMA stays unscaled (the plain ``get_narma_data``). Windows of length 4
predict the next value: ``x_i = s[i:i+4]``, ``y_i = s[i+4]`` for ``i < len - 5`` (the original loop
bound drops the last window); the first ``int(0.67 * n_windows)`` windows train, the rest test.

Example:
    >>> d = load_series("damped_shm")
    >>> d.x_train.shape, d.x_test.shape, round(float(d.series[1]), 6)
    (torch.Size([157, 4, 1]), torch.Size([78, 4, 1]), 0.951899)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import Tensor

__all__ = ["SERIES", "damped_shm", "bessel_j2", "delayed_quantum_control", "narma", "minmax_scale",
           "make_windows", "SeriesData", "load_series"]

TRAIN_FRACTION = 0.67
WINDOW = 4


def damped_shm(n_points: int = 240, t_max: float = 20.0, b: float = 0.15, g: float = 9.81, length: float = 1.0,
               mass: float = 1.0, theta0: float = 0.0, omega0: float = 3.0) -> np.ndarray:
    """Angular velocity ``theta'(t)`` of the damped pendulum on ``linspace(0, t_max, n_points)``: ``(n_points,)``."""
    from scipy.integrate import odeint

    def rhs(state: np.ndarray, _t: float) -> list[float]:
        theta, omega = state
        return [omega, -(b / mass) * omega - (g / length) * math.sin(theta)]

    t = np.linspace(0.0, t_max, n_points)
    return odeint(rhs, [theta0, omega0], t)[:, 1]


def bessel_j2(n_points: int = 256, x_start: float = 2.0, x_stop: float = 100.0, scale: float = 1.0) -> np.ndarray:
    """``J2(scale * x)`` on ``linspace(x_start, x_stop, n_points)``: ``(n_points,)``."""
    from scipy.special import jv

    return jv(2, scale * np.linspace(x_start, x_stop, n_points))


def delayed_quantum_control(start: float = -2.0, stop: float = 20.0, step: float = 0.01,
                            pulses: int = 11) -> np.ndarray:
    """Gaussian pulse train ``sum_n exp(-10 (x - 2n)^2) exp(-x / 16)`` on ``arange(start, stop, step)``: ``(2200,)``."""
    x = np.arange(start, stop, step)
    return sum(np.exp(-10.0 * (x - 2.0 * n) ** 2) for n in range(pulses)) * np.exp(-x / 16.0)


def narma(order: int, length: int = 300, y0: float = 0.196) -> tuple[np.ndarray, np.ndarray]:
    """NARMA-``order`` input ``u`` and output ``y``, each ``(length,)`` (``order >= 1``)."""
    if not isinstance(order, int) or isinstance(order, bool) or order < 1:
        raise ValueError(f"order={order!r} must be a positive integer (5 and 10 in Table II)")
    t = np.arange(length)
    u = 0.1 * (np.sin(2 * np.pi * 2.11 * t / length) * np.sin(2 * np.pi * 3.73 * t / length)
               * np.sin(2 * np.pi * 4.11 * t / length) + 1.0)
    y = np.zeros(length + 1)
    y[0] = y0
    for k in range(length):
        past = y[max(0, k - order + 1): k + 1].sum()
        u_lag = u[k - order + 1] if k - order + 1 >= 0 else 0.0
        y[k + 1] = 0.3 * y[k] + 0.05 * y[k] * past + 1.5 * u_lag * u[k] + 0.1
    return u, y[:length]


def minmax_scale(s: np.ndarray, low: float = -1.0, high: float = 1.0) -> np.ndarray:
    """``sklearn``'s ``MinMaxScaler(feature_range=(low, high))`` fitted on all of ``s``."""
    lo, hi = float(s.min()), float(s.max())
    if hi == lo:
        raise ValueError(f"cannot min-max scale a constant series (all values {lo}); use scale=False")
    return (s - lo) / (hi - lo) * (high - low) + low


def make_windows(inputs: np.ndarray, targets: np.ndarray, window: int = WINDOW) -> tuple[Tensor, Tensor]:
    """``x_i = inputs[i:i+window]``, ``y_i = targets[i+window]`` for ``i < len - window - 1``.

    Returns:
        ``x (n, window, 1)`` and ``y (n, 1)`` float32, ``n = len - window - 1``.
    """
    n = len(inputs) - window - 1
    if n < 2:
        raise ValueError(f"a series of {len(inputs)} points gives {n} windows of length {window}; use more points")
    x = np.stack([inputs[i:i + window] for i in range(n)])
    y = np.asarray([targets[i + window] for i in range(n)])
    return torch.tensor(x, dtype=torch.float32).unsqueeze(-1), torch.tensor(y, dtype=torch.float32).unsqueeze(-1)


@dataclass
class SeriesData:
    """One benchmark: the (scaled) series, its windows and the sequential train/test split.

    Attributes:
        name: the dataset's name.
        series: the predicted series, after scaling: ``(length,)`` float64.
        inputs: what windows read (``series``, or NARMA's ``u``): ``(length,)``.
        x, y: all windows ``(n, 4, 1)`` and targets ``(n, 1)`` in time order.
        n_train: the first ``n_train`` windows train, the rest test.
    """

    name: str
    series: np.ndarray
    inputs: np.ndarray
    x: Tensor
    y: Tensor
    n_train: int

    @property
    def x_train(self) -> Tensor:
        return self.x[: self.n_train]

    @property
    def y_train(self) -> Tensor:
        return self.y[: self.n_train]

    @property
    def x_test(self) -> Tensor:
        return self.x[self.n_train:]

    @property
    def y_test(self) -> Tensor:
        return self.y[self.n_train:]


def _narma_pair(order: int) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    return lambda: narma(order)


SERIES: dict[str, Callable[[], np.ndarray | tuple[np.ndarray, np.ndarray]]] = {
    "bessel": bessel_j2, "damped_shm": damped_shm, "delayed_qc": delayed_quantum_control,
    "narma5": _narma_pair(5), "narma10": _narma_pair(10),
}
"""Table II's five benchmarks, in the paper's column order."""


def load_series(name: str, scale: bool | None = None, window: int = WINDOW,
                train_fraction: float = TRAIN_FRACTION) -> SeriesData:
    """Generate a benchmark, scale it and cut windows.

    Args:
        name: ``"bessel"``, ``"damped_shm"``, ``"delayed_qc"``, ``"narma5"`` or ``"narma10"``.
        scale: min-max scale to [-1, 1] (default: yes, except NARMA: input and output as generated).
        window: window length (4 in the paper).
        train_fraction: leading share of windows used for training (0.67 as in the QLSTM code).

    Raises:
        ValueError: an unknown name or a fraction outside (0, 1).
    """
    if name not in SERIES:
        raise ValueError(f"series={name!r} is unknown; use one of {list(SERIES)}")
    if not 0.0 < train_fraction < 1.0 or math.isnan(train_fraction):
        raise ValueError(f"train_fraction={train_fraction!r} must lie strictly between 0 and 1 (paper: 0.67)")
    made = SERIES[name]()
    if isinstance(made, tuple):
        inputs, series = made
        scale = False if scale is None else scale
        if scale:
            inputs, series = minmax_scale(inputs), minmax_scale(series)
    else:
        series = minmax_scale(made) if scale is None or scale else made
        inputs = series
    x, y = make_windows(inputs, series, window)
    return SeriesData(name, series, inputs, x, y, int(train_fraction * len(x)))
