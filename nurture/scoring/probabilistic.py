"""BG/NBD (Fader, Hardie and Lee 2005) and Gamma-Gamma spend, in numpy/scipy only.

The lead-value model uses these as features (expected purchases, probability alive,
expected spend) without depending on the archived ``lifetimes`` package at run time;
``lifetimes`` itself is used only as the reference baseline (``eval`` extra), and a test
checks that both agree.

Time is measured in weeks here (``days / 7``), which keeps the optimiser well scaled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class BGNBDParams:
    """Fitted BG/NBD parameters (weeks as the time unit)."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma spend parameters."""

    p: float
    q: float
    v: float


def _bgnbd_negll(
    log_params: FloatArray, x: FloatArray, tx: FloatArray, t: FloatArray, penalty: float
) -> float:
    r, alpha, a, b = np.exp(log_params)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + t)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-12)) - (r + x) * np.log(alpha + tx),
            -np.inf,
        )
    ll = a1 + a2 + np.logaddexp(a3, a4)
    return float(-ll.mean() + penalty * np.sum(np.exp(log_params) ** 2))


def fit_bgnbd(
    frequency: FloatArray, recency: FloatArray, age: FloatArray, *, penalty: float = 0.0
) -> BGNBDParams:
    """Maximum-likelihood BG/NBD on repeat ``frequency``, ``recency`` (first to last
    purchase) and ``age`` (first purchase to the cut), all in weeks."""
    x = np.asarray(frequency, dtype=float)
    tx = np.asarray(recency, dtype=float)
    t = np.asarray(age, dtype=float)
    start = np.log(np.array([0.5, max(float(np.mean(t)), 1.0) / 4, 0.8, 2.5]))
    res = minimize(
        _bgnbd_negll,
        start,
        args=(x, tx, t, penalty),
        method="Nelder-Mead",
        options={"maxiter": 4000, "xatol": 1e-6, "fatol": 1e-10},
    )
    res = minimize(_bgnbd_negll, res.x, args=(x, tx, t, penalty), method="L-BFGS-B")
    r, alpha, a, b = (float(v) for v in np.exp(res.x))
    return BGNBDParams(r=r, alpha=alpha, a=a, b=b)


def bgnbd_expected(
    params: BGNBDParams,
    horizon: float,
    frequency: FloatArray,
    recency: FloatArray,
    age: FloatArray,
) -> FloatArray:
    """Expected number of repeat purchases in the next ``horizon`` weeks (eq. 10 of the
    paper), per customer."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x = np.asarray(frequency, dtype=float)
    tx = np.asarray(recency, dtype=float)
    t = np.asarray(age, dtype=float)
    z = horizon / (alpha + t + horizon)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        hyp = hyp2f1(r + x, b + x, a + b + x - 1, z)
        first = (a + b + x - 1) / (a - 1)
        second = 1 - ((alpha + t) / (alpha + t + horizon)) ** (r + x) * hyp
        denom = 1 + (x > 0) * (a / np.maximum(b + x - 1, 1e-12)) * ((alpha + t) / (alpha + tx)) ** (
            r + x
        )
        out = first * second / denom
    expected: FloatArray = np.nan_to_num(np.clip(out, 0.0, None), nan=0.0, posinf=0.0)
    return expected


def bgnbd_alive(
    params: BGNBDParams, frequency: FloatArray, recency: FloatArray, age: FloatArray
) -> FloatArray:
    """Probability that each customer is still active at the cut."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x = np.asarray(frequency, dtype=float)
    tx = np.asarray(recency, dtype=float)
    t = np.asarray(age, dtype=float)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        odds = (a / np.maximum(b + x - 1, 1e-12)) * ((alpha + t) / (alpha + tx)) ** (r + x)
        out = np.where(x > 0, 1.0 / (1.0 + odds), 1.0)
    return np.nan_to_num(out, nan=0.0)


def _gg_negll(log_params: FloatArray, x: FloatArray, m: FloatArray, penalty: float) -> float:
    p, q, v = np.exp(log_params)
    ll = (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(m)
        + (p * x) * np.log(x)
        - (p * x + q) * np.log(x * m + v)
    )
    return float(-ll.mean() + penalty * np.sum(np.exp(log_params) ** 2))


def fit_gamma_gamma(
    frequency: FloatArray, monetary: FloatArray, *, penalty: float = 0.0
) -> GammaGammaParams:
    """Gamma-Gamma spend fitted on repeat buyers (``frequency > 0``, ``monetary > 0``)."""
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary, dtype=float)
    keep = (x > 0) & (m > 0)
    x, m = x[keep], m[keep]
    if len(x) < 3:
        mean = float(np.mean(m)) if len(m) else 1.0
        return GammaGammaParams(p=1.0, q=3.0, v=2.0 * mean)
    start = np.log(np.array([1.0, 2.0, max(float(np.mean(m)), 1.0)]))
    res = minimize(
        _gg_negll,
        start,
        args=(x, m, penalty),
        method="Nelder-Mead",
        options={"maxiter": 4000, "xatol": 1e-7, "fatol": 1e-10},
    )
    p, q, v = (float(val) for val in np.exp(res.x))
    return GammaGammaParams(p=p, q=q, v=v)


def gamma_gamma_spend(
    params: GammaGammaParams, frequency: FloatArray, monetary: FloatArray
) -> FloatArray:
    """Expected spend per future purchase (the population mean for one-time buyers)."""
    p, q, v = params.p, params.q, params.v
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary, dtype=float)
    population = v * p / max(q - 1, 1e-6)
    weight = (q - 1) / (p * x + q - 1)
    return np.where(x > 0, weight * population + (1 - weight) * m, population)


def bgnbd_p_any(
    params: BGNBDParams,
    horizon: float,
    frequency: FloatArray,
    recency: FloatArray,
    age: FloatArray,
) -> FloatArray:
    """Probability of at least one purchase in the next ``horizon`` weeks.

    In BG/NBD a customer drops out only right after a purchase, so one who is alive at the
    cut makes no purchase in the horizon exactly when the (gamma-mixed) Poisson count is 0:
    ``P(any) = P(alive) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x))``.
    """
    x = np.asarray(frequency, dtype=float)
    t = np.asarray(age, dtype=float)
    none_if_alive = ((params.alpha + t) / (params.alpha + t + horizon)) ** (params.r + x)
    return bgnbd_alive(params, frequency, recency, age) * (1.0 - none_if_alive)
