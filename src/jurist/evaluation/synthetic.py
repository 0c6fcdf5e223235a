"""A seeded synthetic judge whose chance of agreeing with the human is a known function of its confidence.

Each item has a raw confidence signal s ~ Uniform(0, 1) and agrees with the human with probability
``truth(s) = floor + (1 − floor)·s^power``: increasing in s, so the signal ranks items correctly, but not
a probability (s itself is over- or under-confident). Because ``truth`` is known, the agreement of any
threshold rule on the whole population is exact, which is what the guarantee check compares with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class SyntheticJudge:
    floor: float = 0.5
    power: float = 1.0

    def truth(self, signal: Floats) -> Floats:
        return np.asarray(self.floor + (1 - self.floor) * signal**self.power, dtype=np.float64)

    def draw(self, n: int, seed: int) -> tuple[Floats, Bools]:
        """``n`` items: (signal, agreed)."""
        rng = np.random.default_rng(seed)
        signal = rng.random(n)
        return signal, rng.random(n) < self.truth(signal)

    def agreement_above(self, threshold: float) -> float:
        """Exact P(agree | s ≥ threshold) on the population."""
        t = min(max(threshold, 0.0), 1.0)
        if t >= 1.0:
            return 1.0
        k = self.power + 1
        mean_power = (1 - t**k) / (k * (1 - t))  # E[s^power | s ≥ t]
        return float(self.floor + (1 - self.floor) * mean_power)

    def oracle_threshold(self, target: float) -> float | None:
        """The most lenient threshold whose population agreement reaches ``target`` (None: none does)."""
        if self.agreement_above(0.0) >= target:
            return 0.0
        low, high = 0.0, 1.0
        for _ in range(60):
            mid = (low + high) / 2
            if self.agreement_above(mid) >= target:
                high = mid
            else:
                low = mid
        return high if self.agreement_above(high) >= target else None
