"""Kernel Inception Distance between sets of Inception features.

KID (Binkowski et al., 2018) is the squared maximum mean discrepancy (MMD^2)
of two feature distributions under the cubic polynomial kernel
  k(x, y) = (x^T y / D + 1)^3,   D = feature dimension (2048 for pool_3),
estimated without bias on random subsets and averaged over them, as
torch-fidelity (`kid`) and clean-fid (`kernel_distance`) do, with their
defaults of 100 subsets of 1000. Unlike FID it is unbiased at any N (its
expectation is 0 for equal distributions, and an estimate may be negative),
but its spread over subsets grows as the subsets shrink. It is commonly
reported x10^3.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

REPORTED_SCALE = 1e3  # KID is printed x10^3
# Above this many rows in both sets together, the (N_a + N_b)^2 kernel matrix
# (128 MB in float64 at 4000) is not precomputed: each subset's kernels are.
_FULL_KERNEL_MAX_ROWS = 4000


def _check_features(features_a, features_b) -> Tuple[np.ndarray, np.ndarray]:
  features_a = np.asarray(features_a, np.float64)
  features_b = np.asarray(features_b, np.float64)
  if (features_a.ndim != 2 or features_b.ndim != 2 or
      features_a.shape[1] != features_b.shape[1]):
    raise ValueError("KID needs features (N_a, D) and (N_b, D) of one D; got "
                     f"shapes {features_a.shape} and {features_b.shape}")
  if len(features_a) < 2 or len(features_b) < 2:
    raise ValueError("KID needs at least 2 images per side; got "
                     f"{len(features_a)} and {len(features_b)}")
  for name, features in (("features_a", features_a),
                         ("features_b", features_b)):
    if not np.isfinite(features).all():
      raise ValueError(f"KID needs finite features; {name} has "
                       f"{np.count_nonzero(~np.isfinite(features))} "
                       "NaN or infinite values")
  return features_a, features_b


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
  """The KID kernel k(x, y) = (x^T y / D + 1)^3 of (M, D) x and (N, D) y.

  Returns:
    (M, N) float64 kernel matrix.
  """
  kernel = x @ y.T  # (M, N)
  kernel /= x.shape[1]
  kernel += 1.0
  kernel **= 3
  return kernel


def unbiased_mmd2(k_xx: np.ndarray, k_yy: np.ndarray,
                  k_xy: np.ndarray) -> float:
  """Unbiased MMD^2 of two sets of m samples from their kernel matrices.

  MMD^2_u = (sum(K_XX) - tr(K_XX)) / (m (m - 1))
          + (sum(K_YY) - tr(K_YY)) / (m (m - 1)) - 2 mean(K_XY),
  i.e. the within-set means exclude the i = j pairs and the cross-set mean
  keeps them (torch-fidelity's `mmd2(..., mmd_est="unbiased")`).

  Args:
    k_xx, k_yy, k_xy: (m, m) kernel matrices, m >= 2.
  """
  m = len(k_xx)
  pairs = m * (m - 1)
  return float((k_xx.sum() - np.trace(k_xx)) / pairs +
               (k_yy.sum() - np.trace(k_yy)) / pairs - 2.0 * k_xy.mean())


def kernel_inception_distance(features_a: np.ndarray, features_b: np.ndarray,
                              num_subsets: int = 100,
                              subset_size: int = 1000,
                              seed: int = 0) -> Tuple[float, float]:
  """KID of two sets of features: mean and spread of subset MMD^2 estimates.

  Each of `num_subsets` subsets draws m = min(subset_size, N_a, N_b) rows of
  each side without replacement (numpy RandomState(seed).choice, a side then
  b side, as torch-fidelity draws them) and computes `unbiased_mmd2` of their
  `polynomial_kernel` matrices:
    KID = mean_s MMD^2_u(X_s, Y_s),   std = sqrt(mean_s (MMD^2_u - KID)^2),
  the population standard deviation over subsets (numpy's ddof=0, as
  torch-fidelity); it measures the subsets' spread, not the standard error
  of KID. When N_a + N_b is small enough (e.g. 500 vs 1000 images), the kernel
  of all rows is computed once and the subsets' kernels are its sub-blocks,
  which gives the same numbers far faster.

  Args:
    features_a: (N_a, D) features, e.g. of generated images, N_a >= 2.
    features_b: (N_b, D) features, e.g. of reference images, N_b >= 2.
    num_subsets: number of random subsets, >= 1.
    subset_size: rows per side in each subset (at most N_a and N_b), >= 2.
    seed: seed of the subset draws.

  Returns:
    (mean, std) over subsets, floats (unscaled; printed x10^3).

  Raises:
    ValueError: features not 2-D with one D, not finite, fewer than 2 rows
      per side, or `num_subsets` < 1 or `subset_size` < 2.
  """
  features_a, features_b = _check_features(features_a, features_b)
  if num_subsets < 1 or subset_size < 2:
    raise ValueError("KID needs num_subsets >= 1 and subset_size >= 2; got "
                     f"{num_subsets} and {subset_size}")
  n_a, n_b = len(features_a), len(features_b)
  m = min(subset_size, n_a, n_b)
  rng = np.random.RandomState(seed)
  full_kernel = None
  if (n_a + n_b <= _FULL_KERNEL_MAX_ROWS and
      (n_a + n_b)**2 < 3 * num_subsets * m * m):
    rows = np.concatenate([features_a, features_b])  # (N_a + N_b, D)
    full_kernel = polynomial_kernel(rows, rows)
  estimates = np.empty(num_subsets)  # (S,) MMD^2_u of each subset
  for s in range(num_subsets):
    rows_a = rng.choice(n_a, m, replace=False)  # (m,)
    rows_b = rng.choice(n_b, m, replace=False)  # (m,)
    if full_kernel is not None:
      rows_b = rows_b + n_a  # rows of features_b in `full_kernel`
      estimates[s] = unbiased_mmd2(full_kernel[np.ix_(rows_a, rows_a)],
                                   full_kernel[np.ix_(rows_b, rows_b)],
                                   full_kernel[np.ix_(rows_a, rows_b)])
    else:
      x, y = features_a[rows_a], features_b[rows_b]  # (m, D) each
      estimates[s] = unbiased_mmd2(polynomial_kernel(x, x),
                                   polynomial_kernel(y, y),
                                   polynomial_kernel(x, y))
  return float(estimates.mean()), float(estimates.std())


def format_kid(mean: float, std: float, n: Optional[int] = None,
               n_reference: Optional[int] = None) -> str:
  """KID as commonly printed, x10^3, with its sample counts when given.

  E.g. "KID 12.34 ± 0.56 (×10³)", or with counts (as `fid.FidResult` states
  its N) "KID 12.34 ± 0.56 (×10³, N=500 vs 1000 reference)".
  """
  counts = ""
  if n is not None and n_reference is not None:
    counts = f", N={n} vs {n_reference} reference"
  return (f"KID {mean * REPORTED_SCALE:.2f} ± {std * REPORTED_SCALE:.2f} "
          f"(×10³{counts})")
