"""Small statistics shared by the benchmarks."""

from __future__ import annotations


def percentile(samples: list[float], q: float) -> float:
    """Return the q-quantile of samples (nearest rank), 0.0 for none."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
