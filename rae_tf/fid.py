"""Frechet Inception Distance: the distance, the features, cached references.

FID (Heusel et al., 2017) between two image sets is the Frechet distance of
Gaussians fitted to their Inception pool_3 features:
  FID = ||mu_1 - mu_2||^2 + tr(S_1 + S_2 - 2 (S_1 S_2)^{1/2}).
Features follow the standard protocol (TTUR's TF1 code, pytorch-fid):
images in [0, 1] -> uint8 -> 0..255 floats -> TF1 legacy bilinear resize to
299x299 -> (x - 128) / 128 -> `rae_tf.inception` network -> (N, 2048).
FID is biased upward at small N, so every result carries its sample counts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import re
import time
from typing import Optional, Tuple

import numpy as np
import tensorflow as tf
from absl import logging
from scipy import linalg

from rae_tf import files
from rae_tf import inception

_STATS_DIR = "fid_stats"
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_]+$")
_RANGE_TOLERANCE = 1e-3  # float images may overshoot [0, 1] by rounding


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

  def to_bytes(self) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, mu=self.mu, sigma=self.sigma, n=self.n)
    return buffer.getvalue()

  @classmethod
  def load(cls, path: str) -> "FeatureStatistics":
    with np.load(path) as data:
      return cls(data["mu"], data["sigma"], int(data["n"]))


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


def to_uint8(images: np.ndarray) -> np.ndarray:
  """(N, H, W, C) images -> (N, H, W, 3) uint8, grey replicated to RGB.

  uint8 images pass unchanged; float images in [0, 1] become
  floor(255 x + 0.5) (round half up, as PIL and torchvision write PNGs).

  Raises:
    ValueError: not 4-D, empty, C not in {1, 3}, another dtype, or floats
      outside [0, 1].
  """
  images = np.asarray(images)
  if images.ndim != 4 or not images.size or images.shape[-1] not in (1, 3):
    raise ValueError("images must be (N, H, W, C) with N >= 1 and C = 1 or 3;"
                     f" got shape {images.shape}")
  if np.issubdtype(images.dtype, np.floating):
    low, high = float(images.min()), float(images.max())
    if (not np.isfinite([low, high]).all() or low < -_RANGE_TOLERANCE or
        high > 1 + _RANGE_TOLERANCE):
      raise ValueError(
          f"float images must lie in [0, 1]; got values in [{low}, {high}]: "
          "pass decoder outputs (sigmoid) or uint8 pixels")
    images = np.floor(np.clip(images, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
  elif images.dtype != np.uint8:
    raise ValueError(f"images must be uint8 (0..255) or float in [0, 1]; got "
                     f"dtype {images.dtype}")
  if images.shape[-1] == 1:
    images = np.repeat(images, 3, axis=-1)
  return images


class FeatureExtractor:
  """Images -> (N, 2048) FID Inception pool_3 features, in batches."""

  def __init__(self, model=None, batch_size: int = 50):
    """Loads the network.

    Args:
      model: the network of `rae_tf.inception`; default: loaded from the
        weights cache (`inception.load_fid_inception`).
      batch_size: images per forward pass.

    Raises:
      inception.WeightsError: no converted weights in the cache.
    """
    if batch_size < 1:
      raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    self.model = model if model is not None else (
        inception.load_fid_inception())
    self.batch_size = batch_size

    @tf.function(input_signature=[
        tf.TensorSpec([None, None, None, 3], tf.uint8)])
    def features(images):  # (B, H, W, 3) uint8 -> (B, 2048) float32
      return self.model(preprocess(images), training=False)

    self._features = features

  def __call__(self, images: np.ndarray) -> np.ndarray:
    """Features of (N, H, W, C) uint8 or [0, 1] float images, C in {1, 3}.

    Returns:
      (N, 2048) float64 features.
    """
    images = to_uint8(images)
    start = time.perf_counter()
    batches = []
    for i in range(0, len(images), self.batch_size):
      batches.append(self._features(images[i:i + self.batch_size]).numpy())
      logging.log_every_n_seconds(logging.INFO, "FID features: %d / %d images",
                                  60, i + len(batches[-1]), len(images))
    logging.info("FID features of %d images: %.1f images/s", len(images),
                 len(images) / (time.perf_counter() - start))
    return np.concatenate(batches).astype(np.float64)

  def statistics(self, images: np.ndarray) -> FeatureStatistics:
    return FeatureStatistics.from_features(self(images))


def preprocess(images: tf.Tensor) -> tf.Tensor:
  """(B, H, W, 3) 0..255 -> (B, 299, 299, 3) in [-1, 1), the FID way.

  TF1's legacy bilinear resize (`tf.compat.v1.image.resize_bilinear`, here as
  its raw op; align_corners=False, half_pixel_centers=False: source pixel =
  destination pixel * in_size / 299; tf.image.resize samples differently),
  then (x - 128) / 128.
  """
  images = tf.raw_ops.ResizeBilinear(
      images=tf.cast(images, tf.float32),
      size=[inception.IMAGE_SIZE, inception.IMAGE_SIZE], align_corners=False,
      half_pixel_centers=False)
  return (images - 128.0) / 128.0


def reference_statistics(images: np.ndarray, dataset: str, split: str,
                         extractor: Optional[FeatureExtractor] = None,
                         cache_dir: Optional[str] = None) -> FeatureStatistics:
  """Feature statistics of a dataset split, computed once and cached.

  The cache file is `<cache_dir>/fid_stats/<dataset>-<split>-n<N>-<digest>.npz`
  where the digest is a SHA-1 of the uint8 pixels, so a different subset or
  source of the "same" split (embedded 5k MNIST vs the idx files) never
  reuses stale statistics.

  Args:
    images: (N, H, W, C) uint8 or [0, 1] float images of the split.
    dataset: dataset name, e.g. "mnist" (letters, digits, underscores).
    split: split name, e.g. "test".
    extractor: feature extractor; created on a cache miss if None.
    cache_dir: default `inception.default_cache_dir()`.

  Returns:
    The split's FeatureStatistics (with n = N).
  """
  for what, name in (("dataset", dataset), ("split", split)):
    if not _NAME_PATTERN.match(name):
      raise ValueError(f"{what} must be letters, digits and underscores; got "
                       f"{name!r}")
  images = to_uint8(images)
  digest = hashlib.sha1(str(images.shape).encode() + images.tobytes())
  path = os.path.join(
      cache_dir or inception.default_cache_dir(), _STATS_DIR,
      f"{dataset}-{split}-n{len(images)}-{digest.hexdigest()[:12]}.npz")
  if os.path.isfile(path):
    logging.info("FID reference statistics from %s", path)
    return FeatureStatistics.load(path)
  extractor = extractor or FeatureExtractor()
  stats = extractor.statistics(images)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  files.atomic_write_bytes(path, stats.to_bytes())
  logging.info("FID reference statistics of %s/%s (N=%d) written to %s",
               dataset, split, stats.n, path)
  return stats
