"""Upper bounds of recall for a planted manipulation: what the best test could reach on the same counts.

The realistic profile plants cut-score bunching of the size the research gave (20–40 % of the works 1–2 points
below a cut re-marked to it), which moves a handful of pupils per school-year. Before asking a check for 90 %
recall, bench/eval_objectivity.py asks what an *oracle* could do: a test that knows the planted cells, the cut,
how many pupils were moved and the school's honest expected counts, and needs no correction for looking at
several cuts, subjects and grades. No real check can beat it, so a bound under 90 % means the target cannot be met
at this magnitude by any method, not that O3 is weak.

The oracle's statistic for a school-year is the best linear one on the Poisson counts of its planted cells,
T = Σ_c m_c (X_at,c / λ_at,c − X_below,c / λ_below,c) (m_c moved pupils; the weights m/λ maximise the
signal-to-noise ratio). Its critical value is the (1 − honest_rate) quantile of T without manipulation
(randomised at a tie, so that the honest rate is exactly honest_rate); its power is P(T > critical value) with
m_c pupils moved from the two scores below the cut to the cut. Both are simulated, so small counts are not forced
into a normal approximation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

LAMBDA_FLOOR = 0.1  # an honest expectation of 0 pupils: a moved pupil stands out; keeps the weight finite


def bunching_oracle_power(cells: Sequence[tuple[int, float, float]], honest_rate: float = 0.02,
                          draws: int = 20_000, seed: int = 0) -> float | None:
    """Power at `honest_rate` of the oracle test for one school-year. `cells`: (pupils moved m, honest expected
    pupils at the cut λ_at, honest expected pupils at the two scores below λ_below) per planted cell; cells with
    m = 0 carry no signal. None when no pupil was moved (nothing to detect)."""
    cells = [(int(m), max(float(a), 0.0), max(float(b), float(m))) for m, a, b in cells if m > 0]
    if not cells:
        return None
    rng = np.random.default_rng(seed)
    m = np.array([c[0] for c in cells], dtype=float)
    lam_at = np.array([c[1] for c in cells])
    lam_below = np.array([c[2] for c in cells])
    w_at, w_below = m / np.maximum(lam_at, LAMBDA_FLOOR), m / np.maximum(lam_below, LAMBDA_FLOOR)

    def statistic(at: np.ndarray, below: np.ndarray) -> np.ndarray:
        return (at * w_at - below * w_below).sum(axis=1)

    shape = (draws, len(cells))
    honest = statistic(rng.poisson(lam_at, shape), rng.poisson(lam_below, shape))
    # the manipulated school: its honest works below the cut number λ_below on average, m of them moved up
    below = rng.poisson(lam_below, shape)
    moved = np.minimum(below, m)
    planted = statistic(rng.poisson(lam_at, shape) + moved, below - moved)
    # a randomised test at the critical value: the honest rate is exactly honest_rate despite discrete counts,
    # which only favours the oracle
    critical = np.quantile(honest, 1 - honest_rate, method="higher")
    above, tied = (honest > critical).mean(), np.isclose(honest, critical).mean()
    gamma = (honest_rate - above) / tied if tied else 0.0
    return float((planted > critical).mean() + gamma * np.isclose(planted, critical).mean())


def normal_bunching_power(cells: Sequence[tuple[int, float, float]], honest_rate: float = 0.02) -> float | None:
    """The same oracle under the normal approximation: z² = Σ m² (1/λ_at + 1/λ_below). Good for large counts;
    the tests compare the two."""
    from scipy.stats import norm

    z2 = sum(m * m * (1 / max(a, LAMBDA_FLOOR) + 1 / max(b, LAMBDA_FLOOR)) for m, a, b in cells if m > 0)
    if z2 == 0:
        return None
    return float(norm.sf(norm.isf(honest_rate) - np.sqrt(z2)))
