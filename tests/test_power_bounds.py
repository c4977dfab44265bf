"""The oracle bound of bench/power_bounds.py: the simulated power of the best linear test on Poisson counts."""

import sys
from pathlib import Path

import pytest
from scipy.stats import norm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import power_bounds


def test_large_counts_agree_with_the_normal_approximation():
    # 30 pupils moved where 400 sit at the cut and 800 below: z = 30·sqrt(1/400 + 1/800) = 1.837
    cells = [(30, 400.0, 800.0)]
    expected = norm.sf(norm.isf(0.02) - 30 * (1 / 400 + 1 / 800) ** 0.5)
    assert power_bounds.normal_bunching_power(cells) == pytest.approx(expected)
    assert power_bounds.bunching_oracle_power(cells, draws=40_000) == pytest.approx(expected, abs=0.03)


def test_a_signal_lost_in_noise_is_found_at_the_honest_rate_only():
    # one pupil among thousands: the oracle flags about as often as it flags honest schools
    assert power_bounds.bunching_oracle_power([(1, 5000.0, 10000.0)], draws=40_000) == pytest.approx(0.02, abs=0.005)


def test_power_grows_with_the_pupils_moved_and_nothing_moved_is_no_case():
    powers = [power_bounds.bunching_oracle_power([(m, 3.0, 6.0)] * 3) for m in (1, 2, 4)]
    assert powers[0] < powers[1] < powers[2]
    assert powers[2] > 0.9
    assert power_bounds.bunching_oracle_power([(0, 3.0, 6.0)]) is None
    assert power_bounds.normal_bunching_power([]) is None
