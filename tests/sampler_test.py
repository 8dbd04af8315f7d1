"""Tests of the ex-post densities: fits, sampling, log-density, persistence."""

import numpy as np
import pytest
from scipy import stats
from sklearn import mixture as sk_mixture

from rae_tf import sampler


def known_mixture_samples(count=3000, seed=0):
  """Three well-separated 2-D Gaussians with weights 0.5, 0.3, 0.2."""
  rng = np.random.default_rng(seed)
  means = np.array([[-6.0, 0.0], [0.0, 6.0], [6.0, -3.0]])
  labels = rng.choice(3, size=count, p=[0.5, 0.3, 0.2])
  return means, means[labels] + rng.normal(scale=0.5, size=(count, 2))


def test_gmm_recovers_the_means_of_a_known_mixture():
  means, codes = known_mixture_samples()
  fitted = sampler.fit_gmm(codes, num_components=3, seed=0)
  order = np.argsort(fitted.means[:, 0])
  np.testing.assert_allclose(fitted.means[order], means, atol=0.1)
  np.testing.assert_allclose(fitted.weights[order], [0.5, 0.3, 0.2], atol=0.03)


def test_gaussian_fit_is_the_sample_mean_and_covariance():
  codes = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
  fitted = sampler.fit_gaussian(codes)
  np.testing.assert_allclose(fitted.means[0], [1.0, 1.0])
  # Maximum-likelihood covariance: each coordinate has variance 1, no
  # correlation; the 1e-6 ridge is below the tolerance.
  covariance = fitted.scale_tril[0] @ fitted.scale_tril[0].T
  np.testing.assert_allclose(covariance, np.eye(2), atol=1e-5)


def test_log_prob_matches_scikit_learn_and_scipy():
  _, codes = known_mixture_samples()
  fitted = sampler.fit_gmm(codes, num_components=3, seed=0)
  reference = sk_mixture.GaussianMixture(3, covariance_type="full",
                                         random_state=0).fit(codes)
  np.testing.assert_allclose(np.sort(fitted.log_prob(codes[:50])),
                             np.sort(reference.score_samples(codes[:50])),
                             rtol=1e-4)
  gaussian = sampler.fit_gaussian(codes)
  covariance = gaussian.scale_tril[0] @ gaussian.scale_tril[0].T
  np.testing.assert_allclose(
      gaussian.log_prob(codes[:10]),
      stats.multivariate_normal(gaussian.means[0], covariance).logpdf(
          codes[:10]), rtol=1e-4)


def test_save_load_round_trip(tmp_path):
  _, codes = known_mixture_samples(300)
  fitted = sampler.fit_gmm(codes, num_components=3, seed=0)
  path = str(tmp_path / "gmm.npz")
  fitted.save(path)
  loaded = sampler.GaussianMixture.load(path)
  for field in ("weights", "means", "scale_tril"):
    np.testing.assert_array_equal(getattr(loaded, field),
                                  getattr(fitted, field))
  assert [p.name for p in tmp_path.iterdir()] == ["gmm.npz"]  # no temp left


def test_tf_sampling_reproduces_the_mixture_moments():
  params = sampler.GaussianMixture(
      weights=np.array([0.25, 0.75], np.float32),
      means=np.array([[-4.0, 0.0], [4.0, 1.0]], np.float32),
      scale_tril=np.array([[[1.0, 0.0], [0.5, 0.5]],
                           [[0.5, 0.0], [0.0, 2.0]]], np.float32))
  layer = sampler.MixtureSampler.from_mixture(params)
  draws = layer.sample(40_000, 3).numpy()
  assert draws.shape == (40_000, 2)
  # Component membership by sign of the first coordinate (means 8 sd apart).
  left = draws[draws[:, 0] < 0]
  assert len(left) / len(draws) == pytest.approx(0.25, abs=0.01)
  np.testing.assert_allclose(left.mean(0), [-4.0, 0.0], atol=0.03)
  # Covariance of component 0: L L^T = [[1, 0.5], [0.5, 0.5]].
  np.testing.assert_allclose(np.cov(left, rowvar=False),
                             [[1.0, 0.5], [0.5, 0.5]], atol=0.05)


def test_sampling_is_a_function_of_the_seed():
  _, codes = known_mixture_samples(300)
  layer = sampler.MixtureSampler.from_mixture(sampler.fit_gmm(codes, 3))
  np.testing.assert_array_equal(layer.sample(5, 7).numpy(),
                                layer.sample(5, 7).numpy())
  assert not np.array_equal(layer.sample(5, 7).numpy(),
                            layer.sample(5, 8).numpy())


def test_fewer_codes_than_components_is_a_clear_error():
  with pytest.raises(sampler.DensityFitError,
                     match=r"10-component GMM needs at least 10 codes; got 4"):
    sampler.fit_gmm(np.zeros((4, 2)), num_components=10)


def test_non_finite_codes_are_a_clear_error():
  codes = np.ones((20, 2))
  codes[3, 1] = np.nan
  with pytest.raises(sampler.DensityFitError, match="NaN or inf"):
    sampler.fit_gaussian(codes)


def test_collapsed_codes_still_give_a_valid_gaussian():
  # Every code identical: the ridge keeps the Cholesky factor defined.
  fitted = sampler.fit_gaussian(np.ones((50, 3)))
  assert np.all(np.isfinite(fitted.scale_tril))
  assert np.all(np.isfinite(fitted.log_prob(np.ones((2, 3)))))


def test_collapsed_codes_fit_with_our_warning_not_sklearns(caplog):
  import warnings  # pylint: disable=g-import-not-at-top
  codes = np.repeat(np.eye(4)[:2], 50, axis=0)  # two distinct codes
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    fitted = sampler.fit_gmm(codes, num_components=10)
  assert not [w for w in caught if "sklearn" in w.filename]
  assert "only 2 distinct codes for a 10-component GMM" in caplog.text
  assert np.all(np.isfinite(fitted.scale_tril))


def test_failed_gmm_fit_is_refitted_with_more_regularisation(monkeypatch,
                                                             caplog):
  calls = []
  original = sk_mixture.GaussianMixture.fit

  def fail_once(self, codes):
    calls.append(self.reg_covar)
    if len(calls) == 1:
      raise ValueError("Fitting the mixture model failed because some "
                       "components have ill-defined empirical covariance")
    return original(self, codes)

  monkeypatch.setattr(sk_mixture.GaussianMixture, "fit", fail_once)
  _, codes = known_mixture_samples(300)
  sampler.fit_gmm(codes, num_components=3)
  assert len(calls) == 2 and calls[1] > calls[0]
  assert "refitting with covariance regularisation" in caplog.text


def test_gmm_that_cannot_be_fitted_is_a_clear_error(monkeypatch):
  def always_fail(self, codes):
    raise ValueError("ill-defined empirical covariance")

  monkeypatch.setattr(sk_mixture.GaussianMixture, "fit", always_fail)
  with pytest.raises(sampler.DensityFitError, match="--gmm_components"):
    sampler.fit_gmm(np.random.default_rng(0).normal(size=(50, 2)), 3)
