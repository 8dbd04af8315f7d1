"""Frechet Inception Distance between sets of Inception features.

FID (Heusel et al., 2017) between two image sets is the Frechet distance of
Gaussians fitted to their Inception pool_3 features:
  FID = ||mu_1 - mu_2||^2 + tr(S_1 + S_2 - 2 (S_1 S_2)^{1/2}).
The features come from `rae_tf.evaluation.features` (the standard protocol).
FID is biased upward at small N, so every result carries its sample counts.
"""

from __future__ import annotations

import dataclasses
from typing import Tuple

import numpy as np
from absl import logging
from scipy import linalg


@dataclasses.dataclass(frozen=True)
class FeatureStatistics:
  """Mean (D,) and covariance (D, D) of `n` feature vectors, float64."""

  mu: np.ndarray
  sigma: np.ndarray
  n: int

  @classmethod
  def from_features(cls, features: np.ndarray) -> "FeatureStatistics":
    mu, sigma = statistics(features)
    return cls(mu, sigma, len(features))


@dataclasses.dataclass(frozen=True)
class FidResult:
  """An FID value with the sample counts it was computed from."""

  value: float
  n: int  # evaluated images
  n_reference: int  # reference images

  def to_dict(self) -> dict:
    return dataclasses.asdict(self)

  def __str__(self) -> str:
    return f"FID {self.value:.2f} (N={self.n} vs {self.n_reference} reference)"


def statistics(features: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
  """Mean and unbiased covariance of (N, D) features, N >= 2.

  Returns:
    mu (D,), sigma (D, D), float64 (sigma = sum_i (f_i - mu)(f_i - mu)^T /
    (N - 1), as numpy.cov, TTUR and pytorch-fid).
  """
  features = np.asarray(features, np.float64)
  if features.ndim != 2 or len(features) < 2:
    raise ValueError("features must be (N, D) with N >= 2; got shape "
                     f"{features.shape}")
  return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                     sigma2: np.ndarray, eps: float = 1e-6) -> float:
  """Frechet distance of N(mu1, sigma1) and N(mu2, sigma2).

  d^2 = ||mu1 - mu2||^2 + tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^{1/2}),
  with the matrix square root by scipy's `sqrtm`, as TTUR and pytorch-fid.

  Args:
    mu1, mu2: (D,) means.
    sigma1, sigma2: (D, D) covariances.
    eps: added to both diagonals when sigma1 sigma2 is singular enough that
      its square root is not finite (e.g. fewer samples than dimensions).

  Returns:
    The squared Frechet distance (what is reported as FID), a float.

  Raises:
    ValueError: mismatched shapes, or a square root with a significant
      imaginary part (the covariances are not positive semi-definite).
  """
  mu1 = np.atleast_1d(mu1).astype(np.float64)
  mu2 = np.atleast_1d(mu2).astype(np.float64)
  sigma1 = np.atleast_2d(sigma1).astype(np.float64)
  sigma2 = np.atleast_2d(sigma2).astype(np.float64)
  dim = mu1.shape[0]
  if (mu2.shape != (dim,) or sigma1.shape != (dim, dim) or
      sigma2.shape != (dim, dim)):
    raise ValueError(
        f"expected means (D,) and covariances (D, D) of one D; got "
        f"{mu1.shape}, {sigma1.shape}, {mu2.shape}, {sigma2.shape}")
  covmean = linalg.sqrtm(sigma1 @ sigma2)
  if not np.isfinite(covmean).all():
    logging.warning("FID: sigma1 sigma2 is singular; adding %g to the "
                    "diagonals", eps)
    offset = np.eye(dim) * eps
    covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
  if np.iscomplexobj(covmean):
    if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
      raise ValueError(
          "the square root of sigma1 sigma2 has an imaginary component of "
          f"{np.abs(covmean.imag).max():.3g}; the covariances are not "
          "positive semi-definite")
    covmean = covmean.real
  diff = mu1 - mu2
  return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) -
               2.0 * np.trace(covmean))


def fid(evaluated: FeatureStatistics,
        reference: FeatureStatistics) -> FidResult:
  """FID of evaluated vs reference statistics, with both sample counts.

  With fewer evaluated samples than dimensions, `fid_from_features` of the
  evaluated features is exact and much faster.
  """
  value = frechet_distance(evaluated.mu, evaluated.sigma, reference.mu,
                           reference.sigma)
  return FidResult(value, evaluated.n, reference.n)


def fid_from_features(features: np.ndarray,
                      reference: FeatureStatistics) -> FidResult:
  """FID of (N, D) features against reference statistics, exact when N < D.

  With fewer samples than dimensions, S_1 = A^T A for A = (F - mu_1) /
  sqrt(N - 1) (N, D), and the non-zero eigenvalues of S_1 S_2 are those of
  the (N, N) positive semi-definite M = A S_2 A^T, so
  tr((S_1 S_2)^{1/2}) = sum_i sqrt(eig_i(M)). That replaces `sqrtm` of the
  singular (D, D) product, which is ill-posed there and slow (~40 s for
  D = 2048 on 2 CPU cores). With N >= D it is `frechet_distance`.

  Args:
    features: (N, D) features of the evaluated images, N >= 2.
    reference: statistics of the reference set, e.g. `reference_statistics`.

  Returns:
    FidResult(value, n=N, n_reference=reference.n).
  """
  features = np.asarray(features, np.float64)
  dim = reference.mu.shape[0]
  if features.ndim != 2 or features.shape[1] != dim or len(features) < 2:
    raise ValueError(f"features must be (N, {dim}) with N >= 2 to match the "
                     f"reference statistics; got shape {features.shape}")
  n = len(features)
  if n >= dim:
    return fid(FeatureStatistics.from_features(features), reference)
  mu = features.mean(axis=0)
  a = (features - mu) / np.sqrt(n - 1)  # (N, D), S_1 = A^T A
  eigenvalues = np.linalg.eigvalsh(a @ reference.sigma @ a.T)  # (N,)
  trace_covmean = np.sqrt(np.clip(eigenvalues, 0, None)).sum()
  diff = mu - reference.mu
  value = (diff @ diff + np.sum(a * a) + np.trace(reference.sigma) -
           2.0 * trace_covmean)  # tr(S_1) = ||A||_F^2
  return FidResult(float(value), n, reference.n)
