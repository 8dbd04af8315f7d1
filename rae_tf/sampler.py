"""Ex-post densities over codes: fit in numpy / scikit-learn, sample in TF.

Both densities are stored as one Gaussian mixture,
    p(z) = sum_k pi_k N(z; mu_k, L_k L_k^T),
a single full-covariance Gaussian being the K = 1 case (the paper's "N"
column for deterministic models). Sampling draws k ~ Cat(pi), eps ~ N(0, I)
and returns mu_k + L_k eps, with stateless TF ops so that the exported
`sample` signature needs no scikit-learn and is reproducible from a seed.
"""

from __future__ import annotations

import dataclasses
import io
import warnings

import keras
import numpy as np
import tensorflow as tf
from absl import logging
from scipy import linalg
from scipy import special
from sklearn import exceptions
from sklearn import mixture

from rae_tf import errors
from rae_tf import files


class DensityFitError(errors.UserError, ValueError):
  """The codes cannot support the requested density."""


@dataclasses.dataclass(frozen=True)
class GaussianMixture:
  """Mixture parameters: weights (K,), means (K, d), scale_tril (K, d, d)."""

  weights: np.ndarray
  means: np.ndarray
  scale_tril: np.ndarray

  @property
  def num_components(self) -> int:
    return len(self.weights)

  @property
  def latent_dim(self) -> int:
    return self.means.shape[-1]

  def log_prob(self, codes: np.ndarray) -> np.ndarray:
    """Log density of (N, d) codes under the mixture, shape (N,).

    log p(z) = logsumexp_k [log pi_k - d/2 log 2pi - sum log diag L_k
                            - 1/2 ||L_k^{-1} (z - mu_k)||^2]
    """
    codes = np.asarray(codes, np.float64)
    per_component = []
    for weight, mean, scale in zip(self.weights, self.means, self.scale_tril):
      whitened = linalg.solve_triangular(
          scale.astype(np.float64), (codes - mean).T, lower=True)  # (d, N)
      per_component.append(
          np.log(weight) - 0.5 * self.latent_dim * np.log(2 * np.pi)
          - np.sum(np.log(np.diag(scale))) - 0.5 * np.sum(whitened**2, 0))
    return special.logsumexp(np.stack(per_component), axis=0)

  def save(self, path: str) -> None:
    """Writes an .npz file atomically (temporary file, then rename)."""
    buffer = io.BytesIO()
    np.savez(buffer, **dataclasses.asdict(self))
    files.atomic_write_bytes(path, buffer.getvalue())

  @classmethod
  def load(cls, path: str) -> "GaussianMixture":
    with np.load(path) as data:
      return cls(**{field.name: data[field.name]
                    for field in dataclasses.fields(cls)})


def _check_codes(codes: np.ndarray, min_count: int, what: str) -> np.ndarray:
  codes = np.asarray(codes, np.float64)
  if codes.ndim != 2:
    raise DensityFitError(f"codes must be (N, d); got shape {codes.shape}")
  if not np.all(np.isfinite(codes)):
    raise DensityFitError(
        "codes contain NaN or inf; the encoder diverged — lower the "
        "learning rate or the regulariser weight and retrain")
  if len(codes) < min_count:
    raise DensityFitError(
        f"{what} needs at least {min_count} codes; got {len(codes)}. Use more "
        "training data or fewer components (--gmm_components)")
  return codes


def fit_gaussian(codes: np.ndarray) -> GaussianMixture:
  """Fits one full-covariance Gaussian (maximum likelihood) to (N, d) codes."""
  codes = _check_codes(codes, 2, "a Gaussian fit")
  mean = codes.mean(axis=0)
  covariance = np.cov(codes, rowvar=False, bias=True).reshape(
      codes.shape[1], codes.shape[1])
  # A tiny ridge keeps the Cholesky factor defined for collapsed dimensions.
  covariance += 1e-6 * np.eye(len(mean))
  return GaussianMixture(weights=np.ones(1, np.float32),
                         means=mean[None].astype(np.float32),
                         scale_tril=np.linalg.cholesky(covariance)[None]
                         .astype(np.float32))


def fit_gmm(codes: np.ndarray, num_components: int = 10,
            seed: int = 0) -> GaussianMixture:
  """Fits the paper's ex-post GMM: K full-covariance components by EM.

  scikit-learn `GaussianMixture(covariance_type="full", max_iter=2000,
  tol=1e-3)`, as the authors.

  Args:
    codes: (N, d) training codes.
    num_components: K.
    seed: EM initialisation seed.

  Returns:
    The fitted GaussianMixture.

  Raises:
    DensityFitError: non-finite codes or fewer codes than components.
  """
  codes = _check_codes(codes, num_components,
                       f"a {num_components}-component GMM")
  distinct = len(np.unique(codes, axis=0))
  if distinct < num_components:
    logging.warning(
        "only %d distinct codes for a %d-component GMM: the latent space has "
        "collapsed (a too large --embedding_weight or a diverged run?); "
        "fitting anyway, some components will coincide", distinct,
        num_components)
  gmm = mixture.GaussianMixture(n_components=num_components,
                                covariance_type="full", max_iter=2000,
                                tol=1e-3, random_state=seed)
  with warnings.catch_warnings():
    # Reported above in our words; k-means' own warning would only repeat it.
    warnings.simplefilter("ignore", exceptions.ConvergenceWarning)
    try:
      gmm.fit(codes)
    except ValueError as e:  # ill-defined covariances of collapsed components
      reg_covar = 1e-3 * max(float(codes.var(axis=0).mean()), 1e-12)
      logging.warning("GMM fit failed (%s); refitting with covariance "
                      "regularisation %.3g", str(e).splitlines()[0], reg_covar)
      gmm.set_params(reg_covar=reg_covar)
      try:
        gmm.fit(codes)
      except ValueError as again:
        raise DensityFitError(
            f"cannot fit a {num_components}-component GMM to these codes "
            f"({str(again).splitlines()[0]}); try fewer --gmm_components") \
            from again
  if not gmm.converged_:
    logging.warning("GMM EM did not converge in %d iterations", gmm.max_iter)
  return GaussianMixture(
      weights=gmm.weights_.astype(np.float32),
      means=gmm.means_.astype(np.float32),
      scale_tril=np.linalg.cholesky(gmm.covariances_).astype(np.float32))


def sample_mixture(log_weights: tf.Tensor, means: tf.Tensor,
                   scale_tril: tf.Tensor, num_samples: tf.Tensor,
                   seed: tf.Tensor) -> tf.Tensor:
  """Draws codes from a Gaussian mixture with stateless random ops.

  Args:
    log_weights: (K,) log pi.
    means: (K, d).
    scale_tril: (K, d, d) lower-triangular L_k.
    num_samples: scalar int, n.
    seed: (2,) int seed; equal seeds give equal samples.

  Returns:
    (n, d) float32 codes.
  """
  component_seed, noise_seed = tf.unstack(
      tf.random.experimental.stateless_split(seed, num=2))
  components = tf.random.stateless_categorical(
      log_weights[None], num_samples, seed=component_seed)[0]  # (n,)
  noise = tf.random.stateless_normal(
      tf.stack([num_samples, tf.shape(means)[1]]), seed=noise_seed)  # (n, d)
  chosen_means = tf.gather(means, components)  # (n, d)
  chosen_scales = tf.gather(scale_tril, components)  # (n, d, d)
  return chosen_means + tf.linalg.matvec(chosen_scales, noise)


def stateless_seed(seed) -> tf.Tensor:
  """The (2,) int64 key [seed, seed + 1] of tf.random.stateless_* ops for an
  integer `seed` (a scalar or the first entry of a tensor)."""
  seed = tf.cast(tf.reshape(seed, [-1])[:1], tf.int64)
  return tf.concat([seed, seed + 1], axis=0)


@keras.saving.register_keras_serializable(package="rae_tf")
class MixtureSampler(keras.layers.Layer):
  """Holds a GaussianMixture as (non-trainable) weights; samples codes.

  `sample(num_samples, seed)` returns (n, d) codes. Being a Keras layer, its
  weights are tracked by `keras.export.ExportArchive`.
  """

  def __init__(self, num_components: int, latent_dim: int, **kwargs):
    super().__init__(**kwargs)
    self.num_components = num_components
    self.latent_dim = latent_dim
    self.log_weights = self.add_weight(
        shape=(num_components,), initializer="zeros", trainable=False,
        name="log_weights")
    self.means = self.add_weight(
        shape=(num_components, latent_dim), initializer="zeros",
        trainable=False, name="means")
    self.scale_tril = self.add_weight(
        shape=(num_components, latent_dim, latent_dim), initializer="zeros",
        trainable=False, name="scale_tril")
    self.built = True

  @classmethod
  def from_mixture(cls, mixture_params: GaussianMixture,
                   **kwargs) -> "MixtureSampler":
    layer = cls(mixture_params.num_components, mixture_params.latent_dim,
                **kwargs)
    layer.log_weights.assign(np.log(mixture_params.weights))
    layer.means.assign(mixture_params.means)
    layer.scale_tril.assign(mixture_params.scale_tril)
    return layer

  def sample(self, num_samples, seed) -> tf.Tensor:
    """Draws `num_samples` codes; the same integer `seed` gives the same ones.

    Args:
      num_samples: scalar int, n.
      seed: scalar int.

    Returns:
      (n, d) float32 codes.
    """
    return sample_mixture(self.log_weights, self.means, self.scale_tril,
                          tf.cast(num_samples, tf.int32), stateless_seed(seed))

  def get_config(self):
    return {**super().get_config(), "num_components": self.num_components,
            "latent_dim": self.latent_dim}
