"""The N(0, I) prior of the baselines: the divergences that pull codes to it.

The VAE family (vae.py) and the WAE (wae.py) shape their codes towards the
prior p(z) = N(0, I_d); RAEs instead fit a density to their codes afterwards.
This module holds the pure loss terms and the prior's ex-post form:

  kl_divergence            KL(N(mu, diag sigma^2) || N(0, I)), closed form;
  mmd_inverse_multiquadric unbiased MMD^2 between codes and prior samples
                           (Tolstikhin et al. 2018, WAE-MMD);
  standard_normal          N(0, I) as a one-component `sampler.GaussianMixture`,
                           the paper's "N" column for VAEs and WAEs.

Reductions: per-sample value first, then the mean over the batch (KL); the
MMD is a statistic of the two samples as a whole.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf

from rae_tf import sampler as sampler_lib

# The s of the kernel widths C = 2 d s of the authors' WAE (PAPER.md).
MMD_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


def kl_divergence(mean: tf.Tensor, log_variance: tf.Tensor) -> tf.Tensor:
  """KL(q(z|x) || N(0, I)) of a diagonal Gaussian posterior, batch mean.

      KL_b = 1/2 sum_j (mu_bj^2 + sigma_bj^2 - 1 - log sigma_bj^2)

  (Kingma & Welling 2014, appendix B), summed over the d code dimensions
  of each sample, then averaged over the B samples of the batch.

  Args:
    mean: (B, d) posterior means mu.
    log_variance: (B, d) log sigma^2 (a constant for the CV-VAE).

  Returns:
    Scalar (1/B) sum_b KL_b.
  """
  mean = tf.cast(mean, tf.float32)
  log_variance = tf.cast(log_variance, tf.float32)
  per_dimension = (tf.square(mean) + tf.exp(log_variance) - 1.0
                   - log_variance)  # (B, d)
  return tf.reduce_mean(0.5 * tf.reduce_sum(per_dimension, axis=-1))


def _squared_distances(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
  """(N, M) matrix of ||x_i - y_j||^2 for (N, d) x and (M, d) y."""
  # ||x||^2 + ||y||^2 - 2 <x, y>; round-off can make it slightly negative.
  squared = (tf.reduce_sum(tf.square(x), -1)[:, None]
             + tf.reduce_sum(tf.square(y), -1)[None, :]
             - 2.0 * tf.matmul(x, y, transpose_b=True))
  return tf.maximum(squared, 0.0)


def _inverse_multiquadric(squared_distances: tf.Tensor,
                          widths: tf.Tensor) -> tf.Tensor:
  """sum_C C / (C + ||x - y||^2) elementwise; widths is (S,)."""
  widths = widths[:, None, None]  # (S, 1, 1)
  return tf.reduce_sum(widths / (widths + squared_distances[None]), axis=0)


def mmd_inverse_multiquadric(
    x: tf.Tensor, y: tf.Tensor,
    scales: Sequence[float] = MMD_SCALES) -> tf.Tensor:
  """Unbiased estimate of MMD^2 with a sum of inverse multiquadric kernels.

      k(a, b) = sum_{s in scales} C_s / (C_s + ||a - b||^2),  C_s = 2 d s

  (C = 2 d sigma^2 s for the prior N(0, sigma^2 I), sigma = 1; WAE paper,
  section 4 and the authors' code), and the U-statistic

      MMD^2_u = 1/(n(n-1)) sum_{i != j} k(x_i, x_j)
              + 1/(m(m-1)) sum_{i != j} k(y_i, y_j)
              - 2/(n m) sum_{i, j} k(x_i, y_j),

  whose within-sample sums leave out the diagonal k(a, a). Its expectation
  is the population MMD^2 (0 when x and y come from the same distribution),
  so one estimate can be slightly negative; for identical samples x = y it
  is <= 0, as the cross term keeps the diagonal (the kernel's maximum).

  Args:
    x: (n, d) codes, n >= 2.
    y: (m, d) prior samples, m >= 2.
    scales: the s values of the kernel widths.

  Returns:
    Scalar MMD^2_u.
  """
  x = tf.cast(x, tf.float32)
  y = tf.cast(y, tf.float32)
  latent_dim = tf.cast(tf.shape(x)[-1], tf.float32)
  widths = 2.0 * latent_dim * tf.constant(scales, tf.float32)  # (S,)
  n = tf.cast(tf.shape(x)[0], tf.float32)
  m = tf.cast(tf.shape(y)[0], tf.float32)

  def within(samples, count):
    kernel = _inverse_multiquadric(_squared_distances(samples, samples),
                                   widths)  # (count, count)
    off_diagonal = tf.reduce_sum(kernel) - tf.linalg.trace(kernel)
    return off_diagonal / (count * (count - 1.0))

  cross = tf.reduce_sum(_inverse_multiquadric(_squared_distances(x, y),
                                              widths))
  return within(x, n) + within(y, m) - 2.0 * cross / (n * m)


def standard_normal(latent_dim: int) -> sampler_lib.GaussianMixture:
  """The prior N(0, I_d) as a one-component GaussianMixture."""
  return sampler_lib.GaussianMixture(
      weights=np.ones(1, np.float32),
      means=np.zeros((1, latent_dim), np.float32),
      scale_tril=np.eye(latent_dim, dtype=np.float32)[None])


def ex_post_densities(codes: np.ndarray, num_components: int,
                      seed: int) -> dict[str, sampler_lib.GaussianMixture]:
  """The paper's densities for a prior-matched model (VAE, WAE).

  "gaussian" (the N column) is the prior the model was trained towards,
  N(0, I), not a Gaussian fitted to the codes; "gmm" is the ex-post GMM
  fitted to the codes (for VAEs, the posterior means), as for every model.

  Args:
    codes: (N, d) training codes.
    num_components: K of the GMM.
    seed: EM seed.
  """
  return {"gaussian": standard_normal(codes.shape[-1]),
          "gmm": sampler_lib.fit_gmm(codes, num_components, seed)}
