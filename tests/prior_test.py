"""Golden maths of rae_tf.baselines.prior: KL, MMD, the N(0, I) ex-post density."""

import math

import numpy as np
import pytest

from rae_tf.baselines import prior


def test_kl_divergence_worked_by_hand():
  # mu = [1, 0], log sigma^2 = [0, log 4] (sigma^2 = [1, 4]):
  # KL = 1/2 [(1 + 1 - 1 - 0) + (0 + 4 - 1 - log 4)] = 1/2 (4 - log 4)
  #    = 2 - log 2 = 1.3068528...
  kl = prior.kl_divergence(np.array([[1.0, 0.0]], np.float32),
                           np.array([[0.0, math.log(4.0)]], np.float32))
  assert float(kl) == pytest.approx(2.0 - math.log(2.0), rel=1e-6)


def test_kl_divergence_sums_dimensions_then_averages_the_batch():
  # Sample 1 is the prior itself (KL 0); sample 2 has mu = [2, 0], sigma = 1:
  # KL_2 = 1/2 (4 + 1 - 1 - 0) + 0 = 2, so the batch mean is (0 + 2) / 2 = 1.
  mean = np.array([[0.0, 0.0], [2.0, 0.0]], np.float32)
  assert float(prior.kl_divergence(mean, np.zeros_like(mean))) == (
      pytest.approx(1.0))


def test_kl_divergence_with_a_constant_sigma():
  # CV-VAE, sigma = 0.7, mu = 0, d = 3:
  # KL = 3/2 (0.49 - 1 - log 0.49) = 3/2 (-0.51 + 0.71335) = 0.30502...
  log_variance = np.full((1, 3), math.log(0.49), np.float32)
  expected = 1.5 * (0.49 - 1.0 - math.log(0.49))
  assert float(prior.kl_divergence(np.zeros((1, 3), np.float32),
                                   log_variance)) == pytest.approx(expected)


def test_mmd_of_shifted_samples_worked_by_hand():
  # 1-D, one scale s = 0.5, so C = 2 d s = 1 and k(a, b) = 1 / (1 + (a-b)^2).
  # x = {0, 1}, y = {2, 3}.
  # within x: k(0, 1) = 1/2 twice (i != j), / (2 * 1)           -> 1/2
  # within y: k(2, 3) = 1/2 twice, / 2                          -> 1/2
  # cross:    k(0,2) + k(0,3) + k(1,2) + k(1,3)
  #           = 1/5 + 1/10 + 1/2 + 1/5 = 1, times 2 / (2 * 2)  -> 1/2
  # MMD^2_u = 1/2 + 1/2 - 1/2 = 1/2.
  x = np.array([[0.0], [1.0]], np.float32)
  y = np.array([[2.0], [3.0]], np.float32)
  assert float(prior.mmd_inverse_multiquadric(x, y, scales=(0.5,))) == (
      pytest.approx(0.5, rel=1e-6))


def test_mmd_of_identical_samples_is_not_positive_worked_by_hand():
  # The U-statistic drops the diagonal of the within sums but the cross sum
  # keeps k(a, a) = 1, the kernel's maximum. x = y = {0, 1}, C = 1:
  # within x = within y = 1/2; cross = (1 + 1/2 + 1/2 + 1) * 2/4 = 3/2;
  # MMD^2_u = 1/2 + 1/2 - 3/2 = -1/2.
  x = np.array([[0.0], [1.0]], np.float32)
  assert float(prior.mmd_inverse_multiquadric(x, x, scales=(0.5,))) == (
      pytest.approx(-0.5, rel=1e-6))
  # With every scale and more points, still <= 0 (and close to it).
  points = np.random.default_rng(0).normal(size=(64, 8)).astype(np.float32)
  value = float(prior.mmd_inverse_multiquadric(points, points))
  assert -0.5 < value <= 0.0


def test_mmd_kernel_widths_scale_with_the_dimension():
  # C = 2 d s: doubling d (duplicating each coordinate, so ||a - b||^2 also
  # doubles) leaves every kernel value, hence the MMD, unchanged.
  rng = np.random.default_rng(1)
  x = rng.normal(size=(10, 3)).astype(np.float32)
  y = rng.normal(loc=1.0, size=(10, 3)).astype(np.float32)
  once = float(prior.mmd_inverse_multiquadric(x, y))
  twice = float(prior.mmd_inverse_multiquadric(np.tile(x, 2), np.tile(y, 2)))
  assert twice == pytest.approx(once, rel=1e-5)


def _v_statistic(x, y):
  """The biased MMD^2 (diagonals kept), for comparison."""
  def kernel(a, b):
    squared = np.sum((a[:, None] - b[None]) ** 2, axis=-1)
    widths = 2 * a.shape[1] * np.array(prior.MMD_SCALES)
    return np.sum(widths[:, None, None] / (widths[:, None, None] + squared), 0)
  return kernel(x, x).mean() + kernel(y, y).mean() - 2 * kernel(x, y).mean()


def test_mmd_is_unbiased_over_repeated_draws_from_one_distribution():
  rng = np.random.default_rng(2)
  draws = [rng.normal(size=(2, 16, 4)).astype(np.float32) for _ in range(300)]
  unbiased = np.array([float(prior.mmd_inverse_multiquadric(x, y))
                       for x, y in draws])
  biased = np.array([_v_statistic(x, y) for x, y in draws])
  stderr = unbiased.std() / np.sqrt(len(unbiased))
  assert abs(unbiased.mean()) < 4 * stderr, (unbiased.mean(), stderr)
  # The check can fail: the V-statistic's bias is far outside that band.
  assert biased.mean() > 10 * stderr, (biased.mean(), stderr)
  # And a shifted distribution is clearly detected.
  shifted = np.array([float(prior.mmd_inverse_multiquadric(x, y + 1.0))
                      for x, y in draws[:50]])
  assert shifted.mean() > 10 * stderr


def test_standard_normal_is_the_prior():
  density = prior.standard_normal(3)
  assert density.num_components == 1 and density.latent_dim == 3
  np.testing.assert_array_equal(density.weights, [1.0])
  np.testing.assert_array_equal(density.means, np.zeros((1, 3)))
  np.testing.assert_array_equal(density.scale_tril, np.eye(3)[None])
  # log N(0; 0, I_3) = -3/2 log(2 pi).
  assert density.log_prob(np.zeros((1, 3)))[0] == pytest.approx(
      -1.5 * math.log(2 * math.pi))


def test_ex_post_densities_pair_the_prior_with_a_fitted_gmm():
  codes = np.random.default_rng(3).normal(loc=5.0, size=(200, 2))
  densities = prior.ex_post_densities(codes, num_components=2, seed=0)
  np.testing.assert_array_equal(densities["gaussian"].means, np.zeros((1, 2)))
  assert densities["gmm"].num_components == 2
  # The GMM follows the codes, not the prior.
  assert np.all(np.abs(densities["gmm"].means - 5.0) < 1.0)
