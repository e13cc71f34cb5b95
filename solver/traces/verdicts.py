"""Statistics behind the verdicts of trace scoring: rates, confidence radii, cycles.

A learning trace is a finite sample of a process that may or may not converge, so the
verdict on each criterion of :mod:`equilibria.solver.traces.scorer` (SPEC section 5)
must say what the data can and cannot decide. This module holds the statistics it
rests on, each usable on its own:

* :func:`fit_rate` -- the least-squares slope of :math:`\\log c(z)` against :math:`\\log z`;
* :func:`concentration_radius` -- how far an empirical distribution may be from the true one;
* :func:`detect_period` -- periodicity of a distance signal from its autocorrelation;
* :func:`decide_verdict` -- the rules that turn these, and the tail of a curve, into
  ``"converged"``, ``"not_converged"`` or ``"inconclusive"`` with the evidence.

The inequalities behind the radii and the rules are derived in docs/traces.md.

Examples
--------
>>> import numpy as np
>>> z = np.array([10.0, 100.0, 1000.0, 10000.0])
>>> fit = fit_rate(z, 3.0 / np.sqrt(z))
>>> round(fit.slope, 6), round(fit.r2, 6)
(-0.5, 1.0)
>>> round(float(concentration_radius(10_000, 3, 0.05, "tv")), 4)
0.0155

References
----------
.. [1] W. Hoeffding, "Probability inequalities for sums of bounded random variables",
   Journal of the American Statistical Association 58 (1963) 13-30.
.. [2] T. Weissman, E. Ordentlich, G. Seroussi, S. Verdu and M. J. Weinberger,
   "Inequalities for the L1 deviation of the empirical distribution", HP Labs
   technical report HPL-2003-97 (2003).
.. [3] A. L. Gibbs and F. E. Su, "On choosing and bounding probability metrics",
   International Statistical Review 70 (2002) 419-435.
.. [4] J. Lin, "Divergence measures based on the Shannon entropy", IEEE Transactions on
   Information Theory 37 (1991) 145-151.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt
from equilibria.solver._typing import FloatArray
from equilibria.solver.errors import InvalidOptionError
from equilibria.solver.traces.metrics import KL_SMOOTHING, _check_metric

__all__ = [
    "RATE_STALL",
    "RATE_RISE",
    "PERIOD_STRENGTH",
    "MIN_FIT_POINTS",
    "RateFit",
    "Periodicity",
    "TailEvidence",
    "Verdict",
    "fit_rate",
    "concentration_radius",
    "metric_diameter",
    "detect_period",
    "decide_verdict",
]


#: A fitted slope at or above this (log distance per log z) does not count as decreasing.
RATE_STALL = -0.05
#: A fitted slope above this counts as rising.
RATE_RISE = 0.05
#: Autocorrelation a periodic signal must reach at its period.
PERIOD_STRENGTH = 0.5
#: Fewest checkpoints (with positive values) a rate is fitted on.
MIN_FIT_POINTS = 4


@dataclasses.dataclass(frozen=True)
class RateFit:
    """Least-squares fit of ``log c = intercept + slope * log z``.

    Attributes
    ----------
    slope : float
        The fitted rate.
    intercept : float
    r2 : float
        Coefficient of determination (1.0 for a perfect fit, also when every value is equal).
    n_points : int
        Checkpoints used.
    z_min : float
        Smallest ``z`` used.
    """

    slope: float
    intercept: float
    r2: float
    n_points: int
    z_min: float

    def z_at(self, value: float) -> float | None:
        """``z`` at which the fitted line reaches ``value`` (None if it never does, or beyond 1e304)."""
        if self.slope >= 0.0 or value <= 0.0:
            return None
        exponent = (math.log(value) - self.intercept) / self.slope
        return None if exponent > 700.0 else float(math.exp(exponent))


@dataclasses.dataclass(frozen=True)
class Periodicity:
    """A period found in a signal.

    Attributes
    ----------
    period : int
        Lag (in rows) of the autocorrelation peak.
    strength : float
        Autocorrelation at that lag (in (PERIOD_STRENGTH, 1]).
    """

    period: int
    strength: float


@dataclasses.dataclass(frozen=True)
class TailEvidence:
    """What :func:`decide_verdict` knows about one curve.

    Attributes
    ----------
    z : int
        Rows of the criterion's stream seen so far.
    window : int
        Rows in the tail window.
    epsilons : tuple of float
        Thresholds in ascending order, in units of ``scale``.
    scale : float
        Multiplier of the thresholds (1 for distances, a payoff range for payoffs).
    below : tuple of bool
        Per threshold: every value of the tail window is below it.
    above : tuple of bool
        Per threshold: every value of the tail window is at or above it.
    last_above : tuple of int
        Per threshold: the last row at or above it (0: none).
    final : float
        The value at the last row.
    radius : float or None
        Confidence radius of ``final`` (criteria estimated from samples).
    fit : RateFit or None
    period : Periodicity or None
    tail_text : str
        How the tail was observed (e.g. ``"rows 901..1000"``).
    single_limit : bool
        Whether the criterion asks for convergence to ONE solution (every criterion but
        ``set_convergence`` and the NashConv curves): then switches between solutions in
        the switching span are evidence against it.
    recent_switches : int
        Changes of the selected group of equilibria from row ``switch_start`` on.
    last_switch : int
        The row of the last change (0: none).
    switch_start : int
        First row of the switching span: the last half of the trace, or the tail window
        when it is longer.
    """

    z: int
    window: int
    epsilons: tuple[float, ...]
    scale: float
    below: tuple[bool, ...]
    above: tuple[bool, ...]
    last_above: tuple[int, ...]
    final: float
    radius: float | None
    fit: RateFit | None
    period: Periodicity | None
    tail_text: str
    single_limit: bool = False
    recent_switches: int = 0
    last_switch: int = 0
    switch_start: int = 0


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`decide_verdict`.

    Attributes
    ----------
    verdict : str
        ``"converged"``, ``"not_converged"`` or ``"inconclusive"``.
    epsilon : float or None
        The threshold the verdict refers to (the smallest reached when converged).
    evidence : str
        What decided it, in words and numbers.
    """

    verdict: str
    epsilon: float | None
    evidence: str


def fit_rate(z: npt.ArrayLike, values: npt.ArrayLike, *, z_min: float = 0.0) -> RateFit | None:
    """Slope of ``log(values)`` against ``log(z)`` by least squares.

    Parameters
    ----------
    z : array_like, shape (k,)
        Positive positions (checkpoints).
    values : array_like, shape (k,)
        Non-negative curve values; zeros (and non-finite values) are left out.
    z_min : float, optional(default=0.0)
        Only points with ``z >= z_min`` are used.

    Returns
    -------
    RateFit or None
        None with fewer than :data:`MIN_FIT_POINTS` usable points or a single ``z``.

    Examples
    --------
    >>> fit = fit_rate([1, 2, 4, 8], [1.0, 0.5, 0.25, 0.125])
    >>> fit.slope, fit.r2, fit.n_points
    (-1.0, 1.0, 4)
    >>> fit_rate([1, 2], [1.0, 0.5]) is None
    True
    """
    zz = np.asarray(z, dtype=np.float64)
    vv = np.asarray(values, dtype=np.float64)
    use = (zz >= z_min) & (zz > 0) & np.isfinite(vv) & (vv > 0)
    if int(use.sum()) < MIN_FIT_POINTS:
        return None
    lx = np.log(zz[use])
    ly = np.log(vv[use])
    mx = float(lx.mean())
    sxx = float(np.sum((lx - mx) ** 2))
    if sxx <= 0.0:
        return None
    my = float(ly.mean())
    slope = float(np.sum((lx - mx) * (ly - my))) / sxx
    intercept = my - slope * mx
    resid = ly - (intercept + slope * lx)
    ss_tot = float(np.sum((ly - my) ** 2))
    ss_res = float(np.sum(resid**2))
    r2 = 1.0 if ss_tot <= 1e-300 else max(0.0, 1.0 - ss_res / ss_tot)
    return RateFit(
        slope=slope, intercept=intercept, r2=r2, n_points=int(use.sum()), z_min=float(zz[use].min())
    )


def metric_diameter(metric: str, k: int) -> float:
    """Largest value of ``metric`` between two distributions over ``k`` outcomes.

    Examples
    --------
    >>> metric_diameter("tv", 3), metric_diameter("l1", 3), round(metric_diameter("js", 2), 6)
    (1.0, 2.0, 0.693147)
    """
    _check_metric("metric_diameter()", metric)
    if k <= 1:
        return 0.0
    return {
        "tv": 1.0,
        "l1": 2.0,
        "l2": math.sqrt(2.0),
        "linf": 1.0,
        "hellinger": 1.0,
        "js": math.log(2.0),
        "kl": math.log(k / KL_SMOOTHING),
    }[metric]


def concentration_radius(n: npt.ArrayLike, k: int, delta: float, metric: str = "tv") -> FloatArray:
    """Radius within which an empirical distribution of ``n`` samples is, w.p. ``1 - delta``.

    Parameters
    ----------
    n : array_like of int
        Sample counts (one radius each); 0 gives the metric's diameter.
    k : int
        Number of outcomes.
    delta : float
        Failure probability of *each* radius (divide by the number of radii for a
        union bound).
    metric : str, optional(default="tv")
        One of :data:`~equilibria.solver.traces.metrics.METRICS` (the inequalities used are
        in docs/traces.md).

    Returns
    -------
    ndarray
        Same shape as ``n``.

    Examples
    --------
    >>> concentration_radius([0, 1], 2, 0.05, "tv").tolist()
    [1.0, 1.0]
    >>> float(concentration_radius(100, 1, 0.05, "tv"))  # one outcome: no uncertainty
    0.0
    >>> r = concentration_radius([100, 10_000], 2, 0.05, "linf")
    >>> bool(r[0] > 10 * r[1] * 0.99)
    True
    """
    _check_metric("concentration_radius()", metric)
    if not (0.0 < delta < 1.0):
        raise InvalidOptionError("confidence", f"concentration_radius(): delta {delta!r} is not in (0, 1)")
    counts = np.asarray(n, dtype=np.float64)
    diameter = metric_diameter(metric, k)
    if k <= 1:
        return np.zeros_like(counts)
    safe = np.maximum(counts, 1.0)
    r_inf = np.sqrt(math.log(2.0 * k / delta) / (2.0 * safe))
    log_cells = k * math.log(2.0) + math.log1p(-(2.0 ** (1 - k)))  # ln(2^k - 2), k >= 2
    r_1 = np.sqrt(2.0 * (log_cells + math.log(1.0 / delta)) / safe)
    tv = np.minimum(np.minimum(r_1, k * r_inf) / 2.0, 1.0)
    if metric == "tv":
        r = tv
    elif metric == "l1":
        r = 2.0 * tv
    elif metric == "l2":
        r = np.minimum(2.0 * tv, math.sqrt(k) * r_inf)
    elif metric == "linf":
        r = np.minimum(r_inf, tv)
    elif metric == "hellinger":
        r = np.sqrt(tv)
    elif metric == "js":
        r = math.log(2.0) * tv
    else:
        r = 4.0 * tv * tv * k / KL_SMOOTHING
    r = np.minimum(r, diameter)
    return np.asarray(np.where(counts > 0, r, diameter), dtype=np.float64)


def detect_period(series: npt.ArrayLike, *, min_strength: float = PERIOD_STRENGTH) -> Periodicity | None:
    """A period of a signal: the highest autocorrelation peak after its first zero crossing.

    The signal is de-meaned and its autocorrelation computed by FFT (normalised per
    lag by the number of products); a constant signal (relative spread below 1e-9) or
    one shorter than 8 values has no period. The period is the first local maximum of
    the autocorrelation after its first zero crossing, within half the signal's length,
    that reaches ``min_strength`` and 80 % of the highest such maximum.

    Parameters
    ----------
    series : array_like, shape (m,)
    min_strength : float, optional(default=PERIOD_STRENGTH)

    Returns
    -------
    Periodicity or None

    Examples
    --------
    >>> t = np.arange(400)
    >>> detect_period(1.0 + 0.5 * np.sin(2 * np.pi * t / 25)).period
    25
    >>> detect_period(1.0 / np.sqrt(t + 1.0)) is None
    True
    """
    x = np.asarray(series, dtype=np.float64)
    x = x[np.isfinite(x)]
    m = x.size
    if m < 8:
        return None
    centred = x - x.mean()
    spread = float(np.abs(centred).max())
    if spread <= 1e-9 * max(float(np.abs(x).max()), 1e-300):
        return None
    centred /= spread  # the products neither underflow nor overflow, whatever the units
    size = 1 << int(math.ceil(math.log2(2 * m)))
    spectrum = np.fft.rfft(centred, size)
    acf = np.fft.irfft(spectrum * np.conj(spectrum), size)[:m]
    acf = acf / acf[0]
    # Unbiased normalisation: lag t averages m - t products.
    acf = acf * (m / np.maximum(m - np.arange(m), 1))
    half = m // 2
    crossing = np.flatnonzero(acf[1 : half + 1] <= 0.0)
    if crossing.size == 0:
        return None  # a trend, not an oscillation
    start = int(crossing[0]) + 1
    if start >= half:
        return None
    window = acf[start : half + 2]  # m >= 8, so half + 2 <= m
    inner = window[1:-1]
    peaks = np.flatnonzero((inner >= window[:-2]) & (inner >= window[2:]) & (inner >= min_strength)) + 1
    if peaks.size == 0:
        return None
    # The first peak nearly as high as the highest: multiples of the period peak too.
    heights = window[peaks]
    first = int(peaks[np.flatnonzero(heights >= 0.8 * heights.max())[0]])
    lag = start + first
    return Periodicity(period=lag, strength=min(float(acf[lag]), 1.0))


def decide_verdict(evidence: TailEvidence) -> Verdict:
    """Apply the verdict rules to one curve.

    For thresholds :math:`\\epsilon_1 < \\dots < \\epsilon_m` (times the criterion's scale):

    1. **inconclusive** when there is no data, or fewer rows than two tail windows;
    2. **converged** at the smallest :math:`\\epsilon` whose threshold the whole tail
       window stays below -- and, with a confidence radius ``r``, the final value plus
       ``r`` too -- unless the fitted rate is rising (slope above :data:`RATE_RISE`:
       *inconclusive*);
    3. **not converged** when the whole tail stays at or above the largest threshold
       (final value minus ``r`` too);
    4. **inconclusive** when the confidence radius exceeds the largest threshold (noise);
    5. **not converged** when the fitted slope is at least :data:`RATE_STALL` and the tail
       never comes below the smallest threshold, or is periodic (:func:`detect_period`);
    6. **inconclusive** otherwise (the tail still crosses the thresholds).

    Then, for a criterion that asks for ONE limit (``single_limit``), switches of the
    selected equilibrium in the last half of the trace (or the tail window, if longer)
    are evidence against convergence: two or more make the verdict **not converged**
    (the trace keeps moving between solutions), one makes a "converged" verdict
    **inconclusive** (too few rows after the switch to tell whether the trace stays).
    Rules 1 and 4 (too short, too noisy) stand.

    Parameters
    ----------
    evidence : TailEvidence

    Returns
    -------
    Verdict

    Examples
    --------
    >>> e = TailEvidence(z=1000, window=100, epsilons=(0.01, 0.1), scale=1.0,
    ...                  below=(False, True), above=(False, False), last_above=(990, 40),
    ...                  final=0.02, radius=None, fit=RateFit(-0.5, 0.0, 0.99, 10, 31.0),
    ...                  period=None, tail_text="rows 901..1000")
    >>> v = decide_verdict(e)
    >>> v.verdict, v.epsilon
    ('converged', 0.1)
    >>> moving = dataclasses.replace(e, single_limit=True, recent_switches=3, last_switch=950,
    ...                              switch_start=501)
    >>> decide_verdict(moving).verdict
    'not_converged'
    """
    base = _threshold_verdict(evidence)
    e = evidence
    if not e.single_limit or e.recent_switches == 0 or e.z < 2 * e.window:  # no rows: no switches
        return base
    top = e.epsilons[-1] * e.scale
    if e.radius is not None and e.radius > top and base.verdict == "inconclusive":
        return base  # too noisy: switches of the nearest member may be noise too
    many = "at least " if e.recent_switches >= 64 else ""
    moves = (
        f"the selected equilibrium switched {many}{e.recent_switches} time(s) in rows "
        f"{e.switch_start}..{e.z}, last at z={e.last_switch}"
    )
    if base.verdict == "not_converged":
        return Verdict("not_converged", None, f"{base.evidence}; {moves}")
    if e.recent_switches >= 2:
        return Verdict(
            "not_converged",
            None,
            f"no single limit: {moves} (the trace keeps moving between solutions; only set_convergence "
            f"lets the nearest solution change); thresholds: {base.evidence}",
        )
    return Verdict(
        "inconclusive",
        base.epsilon if base.verdict == "converged" else None,
        f"one switch in the last part of the trace: {moves}; too few rows after it to tell whether the "
        f"trace stays at the new solution; thresholds: {base.evidence}",
    )


def _threshold_verdict(evidence: TailEvidence) -> Verdict:
    """Rules 1-6 of :func:`decide_verdict`: the thresholds, the radius, the rate and the period."""
    e = evidence
    eps = e.epsilons
    taus = [x * e.scale for x in eps]
    unit = "" if e.scale == 1.0 else f" x scale {e.scale:.6g}"
    fit_text = _fit_text(e.fit)
    if e.z == 0:
        return Verdict("inconclusive", None, "no data for this criterion")
    if e.z < 2 * e.window:
        return Verdict(
            "inconclusive",
            None,
            f"too short: {e.z} rows, fewer than two tail windows of {e.window}",
        )
    radius_text = "" if e.radius is None else f"; confidence radius {e.radius:.3g}"
    reached = [
        j for j, tau in enumerate(taus) if e.below[j] and (e.radius is None or e.final + e.radius <= tau)
    ]
    if reached:
        j = reached[0]
        text = f"every value in the tail window ({e.tail_text}) is below ε={eps[j]:g}{unit}"
        if e.radius is not None:
            text += f", and the final value {e.final:.3g} plus its confidence radius {e.radius:.3g} is too"
        if j > 0:
            text += f"; not below ε={eps[j - 1]:g}" + (
                f" (last at or above it at z={e.last_above[j - 1]})" if e.last_above[j - 1] else ""
            )
        text += f"; {fit_text}"
        if e.fit is not None and e.fit.slope > RATE_RISE and e.final > 0.0:
            return Verdict("inconclusive", eps[j], text + f": the distance is rising (slope > {RATE_RISE:g})")
        return Verdict("converged", eps[j], text)
    top = len(taus) - 1
    if e.above[top] and (e.radius is None or e.final - e.radius >= taus[top]):
        text = (
            f"every value in the tail window ({e.tail_text}) is at or above the largest "
            f"ε={eps[top]:g}{unit} (final value {e.final:.3g}{radius_text}); {fit_text}"
        )
        if e.fit is not None:
            when = e.fit.z_at(taus[top])
            if when is not None:
                text += f"; at this rate it would reach ε={eps[top]:g} near z={when:.3g}"
        return Verdict("not_converged", None, text)
    if e.radius is not None and e.radius > taus[top]:
        return Verdict(
            "inconclusive",
            None,
            f"too noisy: the confidence radius {e.radius:.3g} exceeds the largest ε={eps[top]:g}{unit} "
            f"(final value {e.final:.3g}); {fit_text}",
        )
    flat = e.fit is not None and e.fit.slope >= RATE_STALL
    if flat and e.above[0]:
        return Verdict(
            "not_converged",
            None,
            f"stalled or cycling: {fit_text} (not decreasing: slope >= {RATE_STALL:g}) and the tail "
            f"({e.tail_text}) never comes below ε={eps[0]:g}{unit}"
            + (f"; periodic with period {e.period.period} rows" if e.period else ""),
        )
    if flat and e.period is not None:
        return Verdict(
            "not_converged",
            None,
            f"cycling: the tail is periodic (period {e.period.period} rows, autocorrelation "
            f"{e.period.strength:.2f}) and {fit_text} (not decreasing)",
        )
    crossing = ", ".join(
        f"ε={x:g}: last at or above at z={k}" for x, k in zip(eps, e.last_above, strict=True) if k
    )
    return Verdict(
        "inconclusive",
        None,
        f"the tail ({e.tail_text}) still crosses the thresholds ({crossing or 'see curve'}); "
        f"final value {e.final:.3g}{radius_text}; {fit_text}",
    )


def _fit_text(fit: RateFit | None) -> str:
    if fit is None:
        return f"no rate fitted (fewer than {MIN_FIT_POINTS} positive checkpoints)"
    return (
        f"fitted rate {fit.slope:+.3f} (R²={fit.r2:.2f}) over {fit.n_points} checkpoints z>={fit.z_min:.6g}"
    )
