"""Exact Gaussian-process regression with one length scale per dimension.

The surrogate of the Bayesian optimisation (`bayesopt.py`): Kusner et al.'s
kernel, the ARD squared exponential

    k(z, z') = s^2 exp(-1/2 sum_d (z_d - z'_d)^2 / l_d^2),

with Gaussian observation noise sigma^2, zero prior mean on standardised
targets y = (t - mean t) / std t. Kusner et al. fit a sparse GP (500
inducing points, an EP energy, 50 epochs of Adam) to all training codes;
here an exact GP is fitted to a random subset of them (`bayesopt.py` takes
>= 2,000): the hyperparameters (log l_1..l_d, log s^2, log sigma^2)
maximise the log marginal likelihood

    log p(y) = -1/2 y^T K^-1 y - 1/2 log|K| - n/2 log 2 pi,  K = K_f + sigma^2 I,

by L-BFGS-B with the analytic gradient d log p / d theta =
1/2 tr((a a^T - K^-1) dK/d theta), a = K^-1 y. Their initial length scales
are Kusner et al.'s: l_d^2 = 1/2 median ||z - z'||^2 for every d.
Predictions are of the latent f (no noise in the variance), in the units of
the targets t.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np
from scipy import linalg
from scipy import optimize

_JITTER = 1e-8
_MEDIAN_PAIRS = 1000  # points whose pairwise distances set the initial l


def squared_distances(a: np.ndarray, b: np.ndarray,
                      lengthscales: np.ndarray) -> np.ndarray:
  """(N, M) sum_d (a_d - b_d)^2 / l_d^2 of (N, d) and (M, d) points."""
  a, b = a / lengthscales, b / lengthscales
  distances = (np.sum(a * a, 1)[:, None] + np.sum(b * b, 1)[None]
               - 2.0 * a @ b.T)
  return np.maximum(distances, 0.0)


@dataclasses.dataclass
class ArdGaussianProcess:
  """A GP conditioned on (inputs, targets) with fixed hyperparameters.

  Attributes:
    inputs: (n, d) float64 X.
    targets: (n,) float64, in their own units.
    lengthscales: (d,) l_d.
    signal_variance: s^2 (of the standardised targets).
    noise_variance: sigma^2 (of the standardised targets).
  """

  inputs: np.ndarray
  targets: np.ndarray
  lengthscales: np.ndarray
  signal_variance: float
  noise_variance: float

  def __post_init__(self):
    self.inputs = np.asarray(self.inputs, np.float64)
    self.targets = np.asarray(self.targets, np.float64)
    self.offset = float(self.targets.mean())
    self.scale = float(self.targets.std()) or 1.0
    standardised = (self.targets - self.offset) / self.scale
    covariance = self.kernel(self.inputs, self.inputs)
    covariance[np.diag_indices_from(covariance)] += (
        self.noise_variance + _JITTER)
    self._cholesky = linalg.cholesky(covariance, lower=True,
                                     check_finite=False)  # K = L L^T
    factor = (self._cholesky, True)
    self._alpha = linalg.cho_solve(factor, standardised,
                                   check_finite=False)  # K^-1 y

  def kernel(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) k(a_i, b_j) of the latent function (standardised units)."""
    return self.signal_variance * np.exp(
        -0.5 * squared_distances(np.asarray(a, np.float64),
                                 np.asarray(b, np.float64), self.lengthscales))

  def whitened(self, points: np.ndarray) -> np.ndarray:
    """(n, m) L^-1 k(X, points): posterior covariances are s(a, b) =
    k(a, b) - whitened(a)^T whitened(b) (standardised units)."""
    return linalg.solve_triangular(
        self._cholesky, self.kernel(self.inputs, points), lower=True,
        check_finite=False)

  def solve(self, values: np.ndarray) -> np.ndarray:
    """K^-1 values (standardised K, noise included), by the Cholesky factor."""
    return linalg.cho_solve((self._cholesky, True), values,
                            check_finite=False)

  def mean(self, points: np.ndarray) -> np.ndarray:
    """Posterior mean of f at (m, d) points, target units."""
    return self.offset + self.scale * (
        self.kernel(points, self.inputs) @ self._alpha)

  def predict(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and variance of f at (m, d) points, target units."""
    mean, variance, _ = self.posterior(points)
    return mean, variance

  def posterior(self, points: np.ndarray):
    """(mean, variance) as `predict`, and `whitened(points)` (n, m)."""
    points = np.asarray(points, np.float64)
    whitened = self.whitened(points)
    variance = self.signal_variance - np.sum(whitened ** 2, axis=0)
    return (self.mean(points), np.maximum(variance, 0.0) * self.scale ** 2,
            whitened)

  def mean_with_gradient(self, point: np.ndarray) -> tuple[float, np.ndarray]:
    """Posterior mean at one (d,) point and its (d,) gradient, O(n d)."""
    point = np.asarray(point, np.float64)
    cross = self.kernel(self.inputs, point[None])[:, 0]  # (n,)
    d_cross = -cross[:, None] * (point - self.inputs) / self.lengthscales ** 2
    return (self.offset + self.scale * (cross @ self._alpha),
            self.scale * (d_cross.T @ self._alpha))

  def predict_with_gradient(self, point: np.ndarray) -> dict:
    """Posterior mean and variance at one (d,) point, with gradients.

    Returns:
      {"mean", "d_mean" (d,), "variance", "d_variance" (d,)} in target
      units, and {"cross" (n,) k(X, z), "d_cross" (n, d), "weighted" (n,)
      K^-1 k(X, z)} in standardised units, from which `bayesopt` adds the
      fantasy points' terms.
    """
    point = np.asarray(point, np.float64)
    cross = self.kernel(self.inputs, point[None])[:, 0]  # (n,)
    # d k(x_i, z) / dz = -k(x_i, z) (z - x_i) / l^2
    d_cross = -cross[:, None] * (point - self.inputs) / self.lengthscales ** 2
    # v = s^2 - ||L^-1 k||^2, as `predict`: stable where K is ill-conditioned.
    whitened = linalg.solve_triangular(self._cholesky, cross, lower=True,
                                       check_finite=False)
    weighted = linalg.solve_triangular(self._cholesky, whitened, lower=True,
                                       trans="T", check_finite=False)  # K^-1 k
    variance = self.signal_variance - whitened @ whitened
    return {"mean": self.offset + self.scale * (cross @ self._alpha),
            "d_mean": self.scale * (d_cross.T @ self._alpha),
            "variance": max(variance, 0.0) * self.scale ** 2,
            "d_variance": -2.0 * (d_cross.T @ weighted) * self.scale ** 2,
            "cross": cross, "d_cross": d_cross, "weighted": weighted}


def _negative_log_likelihood(log_params: np.ndarray, inputs: np.ndarray,
                             standardised: np.ndarray):
  """-log p(y) and its gradient w.r.t. (log l (d,), log s^2, log sigma^2)."""
  dim = inputs.shape[1]
  lengthscales = np.exp(log_params[:dim])
  signal, noise = np.exp(log_params[dim]), np.exp(log_params[dim + 1])
  latent = signal * np.exp(-0.5 * squared_distances(inputs, inputs,
                                                    lengthscales))
  covariance = latent.copy()
  covariance[np.diag_indices_from(covariance)] += noise + _JITTER
  try:
    factor = linalg.cho_factor(covariance, lower=True)
  except linalg.LinAlgError:
    return np.inf, np.zeros_like(log_params)
  alpha = linalg.cho_solve(factor, standardised, check_finite=False)
  inverse = linalg.cho_solve(factor, np.eye(len(inputs)), check_finite=False)
  value = (0.5 * standardised @ alpha + np.sum(np.log(np.diag(factor[0])))
           + 0.5 * len(inputs) * np.log(2.0 * np.pi))
  weights = (np.outer(alpha, alpha) - inverse) * latent  # (a a^T - K^-1) o K_f
  # sum_ij M_ij (x_id - x_jd)^2 = 2 sum_i x_id^2 M_i. - 2 x_d^T M x_d (M = M^T)
  row_sums = weights.sum(axis=1)
  spread = (2.0 * row_sums @ inputs ** 2
            - 2.0 * np.sum((weights @ inputs) * inputs, axis=0))
  gradient = np.concatenate([
      spread / lengthscales ** 2,  # tr(W dK/d log l_d), 1/2 tr cancels 2
      [weights.sum()],  # tr(W K_f) for log s^2
      [noise * (alpha @ alpha - np.trace(inverse))],  # tr(W sigma^2 I)
  ])
  return value, -0.5 * gradient


def initial_lengthscales(inputs: np.ndarray,
                         rng: np.random.Generator) -> np.ndarray:
  """Kusner et al.'s start: l_d^2 = 1/2 median pairwise ||z - z'||^2."""
  sample = inputs[rng.choice(len(inputs), min(len(inputs), _MEDIAN_PAIRS),
                             replace=False)]
  distances = squared_distances(sample, sample, np.ones(inputs.shape[1]))
  median = np.median(distances[np.triu_indices(len(sample), 1)])
  return np.full(inputs.shape[1], np.sqrt(0.5 * (median + 1e-3)))


def fit(inputs: np.ndarray, targets: np.ndarray, rng: np.random.Generator,
        start: Optional[ArdGaussianProcess] = None,
        max_iterations: int = 100,
        likelihood_points: int = 500) -> ArdGaussianProcess:
  """Maximum-likelihood hyperparameters (L-BFGS-B), then conditioning.

  The likelihood is maximised on a random subset of `likelihood_points`
  (each evaluation costs O(n^3): 0.03 s at n = 500 on 2 CPU cores, 1.4 s at
  2,000; Kusner et al.'s sparse GP summarises its data by 500 inducing
  points); the GP is then conditioned on all the points.

  Args:
    inputs: (n, d) codes, n >= 2.
    targets: (n,) finite values.
    rng: picks the likelihood subset and the points of the initial length
      scale.
    start: a GP whose hyperparameters start the search (a warm start when
      the data grew); None starts from `initial_lengthscales`, s^2 = 1,
      sigma^2 = 0.1.
    max_iterations: L-BFGS-B iterations.
    likelihood_points: size of the subset the likelihood is computed on.

  Returns:
    The fitted GP.
  """
  inputs = np.asarray(inputs, np.float64)
  targets = np.asarray(targets, np.float64)
  subset = rng.choice(len(inputs), min(len(inputs), likelihood_points),
                      replace=False)
  standardised = ((targets[subset] - targets.mean())
                  / (targets.std() or 1.0))
  if start is None:
    lengthscales, signal, noise = initial_lengthscales(inputs, rng), 1.0, 0.1
  else:
    lengthscales, signal, noise = (start.lengthscales, start.signal_variance,
                                   start.noise_variance)
  spread = float(np.median(lengthscales))
  dim = inputs.shape[1]
  bounds = ([(np.log(1e-2 * spread), np.log(1e3 * spread))] * dim
            + [(np.log(1e-2), np.log(1e2)), (np.log(1e-6), np.log(1.0))])
  start_params = np.clip(np.r_[np.log(lengthscales), np.log(signal),
                               np.log(noise)],
                         [b[0] for b in bounds], [b[1] for b in bounds])
  result = optimize.minimize(
      _negative_log_likelihood, start_params,
      args=(inputs[subset], standardised),
      jac=True, method="L-BFGS-B", bounds=bounds,
      options={"maxiter": max_iterations})
  params = result.x
  return ArdGaussianProcess(inputs, targets, np.exp(params[:dim]),
                            float(np.exp(params[dim])),
                            float(np.exp(params[dim + 1])))
