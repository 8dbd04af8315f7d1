"""95% intervals of a mean: over BO trials, training seeds or strings.

For values x_1..x_n, the Student-t interval mean +- t_{0.975, n-1} s / sqrt(n),
s the sample standard deviation (ddof 1): what a table reports beside a
mean of a few trials so that a reader sees which differences are noise.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from scipy import stats


def mean_interval(values: Sequence[float],
                  confidence: float = 0.95) -> Optional[dict]:
  """{"mean", "low", "high", "n"}; low = high = None when n < 2.

  Returns None for no values.
  """
  values = np.asarray([v for v in values if v is not None], np.float64)
  if not len(values):
    return None
  mean = float(values.mean())
  if len(values) < 2:
    return {"mean": mean, "low": None, "high": None, "n": 1}
  half = float(stats.t.ppf(0.5 + confidence / 2, len(values) - 1)
               * values.std(ddof=1) / np.sqrt(len(values)))
  return {"mean": mean, "low": mean - half, "high": mean + half,
          "n": int(len(values))}
