"""Tests of rae_tf.evaluation.fid: the Frechet distance, with golden values."""

import numpy as np
import pytest

from rae_tf.evaluation import fid


def test_frechet_distance_of_diagonal_gaussians_worked_by_hand():
  # mu1 = (0, 0), mu2 = (3, 4): ||mu1 - mu2||^2 = 9 + 16 = 25.
  # S1 = diag(1, 4), S2 = diag(4, 9): (S1 S2)^{1/2} = diag(2, 6), trace 8;
  # tr(S1 + S2) = 1 + 4 + 4 + 9 = 18, so FID = 25 + 18 - 2 * 8 = 27.
  value = fid.frechet_distance(np.zeros(2), np.diag([1.0, 4.0]),
                               np.array([3.0, 4.0]), np.diag([4.0, 9.0]))
  assert value == pytest.approx(27.0, abs=1e-9)


def test_frechet_distance_is_rotation_invariant():
  # The same two Gaussians in a basis rotated by 30 degrees: still 27.
  c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
  rotation = np.array([[c, -s], [s, c]])
  value = fid.frechet_distance(
      np.zeros(2), rotation @ np.diag([1.0, 4.0]) @ rotation.T,
      rotation @ np.array([3.0, 4.0]),
      rotation @ np.diag([4.0, 9.0]) @ rotation.T)
  assert value == pytest.approx(27.0, abs=1e-9)


def test_frechet_distance_of_identical_gaussians_is_zero():
  rng = np.random.default_rng(0)
  a = rng.normal(size=(64, 16))
  mu, sigma = fid.statistics(a)
  assert fid.frechet_distance(mu, sigma, mu, sigma) == pytest.approx(
      0.0, abs=1e-8)
  # Equal covariances: only the means differ, FID = ||mu1 - mu2||^2.
  assert fid.frechet_distance(mu, sigma, mu + 0.5, sigma) == pytest.approx(
      16 * 0.25, abs=1e-8)


@pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")
def test_frechet_distance_of_a_singular_product():
  # S1 = diag(1, 0), S2 = diag(0, 1): S1 S2 = 0, so FID = tr(S1 + S2) = 2.
  value = fid.frechet_distance(np.zeros(2), np.diag([1.0, 0.0]),
                               np.zeros(2), np.diag([0.0, 1.0]))
  assert value == pytest.approx(2.0, abs=1e-9)


def test_frechet_distance_adds_eps_when_the_square_root_is_not_finite(
    monkeypatch):
  calls = []
  sqrtm = fid.linalg.sqrtm

  def fails_first(matrix):
    calls.append(matrix)
    return np.full_like(matrix, np.inf) if len(calls) == 1 else sqrtm(matrix)

  monkeypatch.setattr(fid.linalg, "sqrtm", fails_first)
  value = fid.frechet_distance(np.zeros(2), np.diag([1.0, 4.0]),
                               np.array([3.0, 4.0]), np.diag([4.0, 9.0]),
                               eps=1e-6)
  assert len(calls) == 2
  np.testing.assert_allclose(calls[1], np.diag([1.0, 4.0]) @ np.diag(
      [4.0, 9.0]) + np.diag(1e-6 * np.array([5.0, 13.0]) + 1e-12),
                             rtol=1e-12)
  assert value == pytest.approx(27.0, abs=1e-5)


def test_frechet_distance_rejects_a_non_psd_covariance():
  # sqrt(diag(-1, 1)) = diag(i, 1): an imaginary part of 1.
  with pytest.raises(ValueError, match="imaginary component"):
    fid.frechet_distance(np.zeros(2), np.diag([-1.0, 1.0]), np.zeros(2),
                         np.eye(2))


def test_frechet_distance_rejects_mismatched_shapes():
  with pytest.raises(ValueError, match=r"\(3, 3\)"):
    fid.frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.eye(3))


def test_statistics_mean_and_unbiased_covariance():
  features = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 4.0]])
  mu, sigma = fid.statistics(features)
  np.testing.assert_allclose(mu, [2.0, 2.0])
  # Deviations (-2, -1), (0, -1), (2, 2); sums of products over N - 1 = 2.
  np.testing.assert_allclose(sigma, [[4.0, 3.0], [3.0, 3.0]])
  with pytest.raises(ValueError, match=r"got shape \(1, 2\)"):
    fid.statistics(features[:1])


@pytest.mark.parametrize("n1, n2, dim", [(20, 30, 64), (80, 90, 8)])
def test_fid_from_features_equals_frechet_distance(n1, n2, dim):
  # (20, 30, 64): fewer samples than dimensions, the eigenvalue formula;
  # (80, 90, 8): the sqrtm path.
  rng = np.random.default_rng(1)
  a = rng.normal(size=(n1, dim))
  b = 1.5 * rng.normal(size=(n2, dim)) + 0.3
  result = fid.fid_from_features(a, fid.FeatureStatistics.from_features(b))
  assert result.value == pytest.approx(
      fid.frechet_distance(*fid.statistics(a), *fid.statistics(b)), rel=1e-7)
  assert (result.n, result.n_reference) == (n1, n2)
  with pytest.raises(ValueError, match=r"\(N, 64\).*got shape \(3, 5\)"):
    fid.fid_from_features(np.zeros((3, 5)), fid.FeatureStatistics(
        np.zeros(64), np.eye(64), 10))


def test_fid_result_carries_its_sample_counts():
  a = fid.FeatureStatistics(np.zeros(2), np.eye(2), n=100)
  b = fid.FeatureStatistics(np.array([3.0, 4.0]), np.eye(2), n=500)
  result = fid.fid(a, b)
  assert result.to_dict() == {"value": pytest.approx(25.0), "n": 100,
                              "n_reference": 500}
  assert str(result) == "FID 25.00 (N=100 vs 500 reference)"
