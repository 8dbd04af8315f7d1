"""Tests of rae_tf.fid: the distance (golden values), features, caching.

None of these needs torch or the converted weights: the extractor tests use a
stand-in network. The real network is tested in inception_test.py.
"""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from rae_tf import fid
from rae_tf import inception


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


def test_to_uint8_rounds_half_up_and_replicates_grey():
  images = np.array([0.0, 0.5, 1 / 255, 1.0], np.float32).reshape(1, 2, 2, 1)
  out = fid.to_uint8(images)
  assert out.dtype == np.uint8 and out.shape == (1, 2, 2, 3)
  # 0.5 * 255 = 127.5 -> 128; 1/255 * 255 = 1.
  np.testing.assert_array_equal(out[0, :, :, 0], [[0, 128], [1, 255]])
  np.testing.assert_array_equal(out[..., 0], out[..., 2])
  pixels = np.arange(12, dtype=np.uint8).reshape(1, 2, 2, 3)
  np.testing.assert_array_equal(fid.to_uint8(pixels), pixels)


@pytest.mark.parametrize("images, message", [
    (np.full((1, 2, 2, 1), 1.5, np.float32), r"\[0, 1\]; got values in"),
    (np.zeros((1, 2, 2, 1), np.int64), "dtype int64"),
    (np.zeros((2, 2, 2), np.float32), r"shape \(2, 2, 2\)"),
    (np.zeros((1, 2, 2, 4), np.uint8), r"C = 1 or 3"),
    (np.zeros((0, 2, 2, 1), np.uint8), r"N >= 1"),
])
def test_to_uint8_rejects(images, message):
  with pytest.raises(ValueError, match=message):
    fid.to_uint8(images)


def test_preprocess_is_tf1_legacy_bilinear_then_scaled():
  # Legacy resize: output pixel j samples the input at x = j * in / out
  # (no half-pixel shift), linearly between floor(x) and floor(x) + 1,
  # clamped at the last pixel.
  rng = np.random.default_rng(2)
  image = rng.integers(0, 256, (1, 5, 7, 3)).astype(np.uint8)
  out = fid.preprocess(tf.constant(image)).numpy()
  assert out.shape == (1, 299, 299, 3)

  def weights(size):  # (299, size) interpolation matrix
    x = np.arange(299) * size / 299
    low = np.floor(x).astype(int)
    high = np.minimum(low + 1, size - 1)
    matrix = np.zeros((299, size))
    matrix[np.arange(299), low] += 1 - (x - low)
    matrix[np.arange(299), high] += x - low
    return matrix

  expected = np.einsum("ih,jw,hwc->ijc", weights(5), weights(7),
                       image[0].astype(np.float64))
  np.testing.assert_allclose(out[0], (expected - 128) / 128, atol=1e-5)


def _mean_colour_net():
  """Stand-in for the Inception: (B, 299, 299, 3) -> (B, 3) mean colour."""
  inputs = keras.Input((299, 299, 3))
  return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(inputs))


def test_feature_extractor_batches_and_accepts_grey_and_float():
  extractor = fid.FeatureExtractor(_mean_colour_net(), batch_size=3)
  rng = np.random.default_rng(3)
  grey = rng.integers(0, 256, (7, 6, 6, 1)).astype(np.uint8)
  features = extractor(grey)
  assert features.shape == (7, 3) and features.dtype == np.float64
  # The legacy resize keeps the mean of a 6x6 image only approximately, but
  # grey replicated to RGB must give three equal channels.
  np.testing.assert_array_equal(features[:, 0], features[:, 2])
  np.testing.assert_allclose(
      features, fid.FeatureExtractor(_mean_colour_net(), batch_size=50)(grey),
      rtol=1e-6)
  np.testing.assert_allclose(extractor(grey.astype(np.float32) / 255),
                             features, rtol=1e-6)
  assert extractor.statistics(grey).n == 7


def test_missing_weights_name_the_conversion_command(tmp_path, monkeypatch):
  monkeypatch.setenv(inception.CACHE_ENV, str(tmp_path))
  with pytest.raises(inception.WeightsError) as error:
    fid.FeatureExtractor()
  assert str(tmp_path) in str(error.value)
  assert "python -m rae_tf.convert_inception" in str(error.value)


class _CountingExtractor(fid.FeatureExtractor):

  def __init__(self):
    super().__init__(_mean_colour_net())
    self.calls = 0

  def __call__(self, images):
    self.calls += 1
    return super().__call__(images)


def test_reference_statistics_are_cached_per_content(tmp_path):
  extractor = _CountingExtractor()
  images = np.random.default_rng(4).integers(0, 256, (5, 4, 4, 1),
                                             dtype=np.uint8)
  first = fid.reference_statistics(images, "mnist", "test", extractor,
                                   cache_dir=str(tmp_path))
  again = fid.reference_statistics(images, "mnist", "test", extractor,
                                   cache_dir=str(tmp_path))
  assert extractor.calls == 1 and first.n == again.n == 5
  np.testing.assert_array_equal(first.sigma, again.sigma)
  [name] = os.listdir(tmp_path / "fid_stats")
  assert name.startswith("mnist-test-n5-") and name.endswith(".npz")
  # Other pixels under the same names are not served the cached statistics.
  fid.reference_statistics(255 - images, "mnist", "test", extractor,
                           cache_dir=str(tmp_path))
  assert extractor.calls == 2
  with pytest.raises(ValueError, match="got '../test'"):
    fid.reference_statistics(images, "mnist", "../test", extractor,
                             cache_dir=str(tmp_path))
