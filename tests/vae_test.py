"""The VAE and CV-VAE: posteriors, draws, densities, losses, saving.

What every baseline does is in baselines_test.py, the maths of the loss terms
in prior_test.py.
"""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from rae_tf.baselines import vae

from baseline_toy import small_model  # pylint: disable=wrong-import-order


@pytest.mark.parametrize("name", ["vae", "two_stage_vae"])
def test_vae_codes_are_the_posterior_means(name, digits):
  model = small_model(name)
  outputs = model.encoder(digits, training=False)
  np.testing.assert_array_equal(model.encode(digits).numpy(),
                                outputs["mean"].numpy())
  # log sigma = 5 tanh(.) is bounded.
  assert np.all(np.abs(outputs["log_scale"].numpy()) <= 5.0)


def test_cvvae_posterior_has_the_constant_sigma(digits):
  model = small_model("cvvae", constant_sigma=0.5)
  mean, log_variance = model.posterior(digits)
  assert mean.shape == log_variance.shape == (16, 16)
  np.testing.assert_allclose(log_variance.numpy(), 2 * math.log(0.5),
                             rtol=1e-6)


@pytest.mark.parametrize("name", ["vae", "cvvae"])
def test_posterior_draw_is_the_mean_plus_sigma_times_seeded_noise(name,
                                                                  digits):
  model = small_model(name, **({"constant_sigma": 0.5}
                               if name == "cvvae" else {}))
  mean, log_variance = (t.numpy() for t in model.posterior(digits))
  draw = model.posterior_draw(digits, 7).numpy()
  # By hand: eps from the stateless seed (7, 8), z = mu + sigma * eps.
  noise = tf.random.stateless_normal(mean.shape, seed=[7, 8]).numpy()
  np.testing.assert_allclose(draw, mean + np.exp(0.5 * log_variance) * noise,
                             rtol=1e-5, atol=1e-6)
  np.testing.assert_array_equal(draw, model.posterior_draw(digits, 7).numpy())
  assert not np.array_equal(draw, model.posterior_draw(digits, 8).numpy())
  if name == "cvvae":
    np.testing.assert_allclose(draw - mean, 0.5 * noise, rtol=1e-4,
                               atol=1e-6)


def test_vae_training_samples_codes_and_inference_decodes_the_mean(digits):
  model = small_model("vae")
  model.train_on_batch(digits)
  inference = [float(model.loss_terms(digits, False)["reconstruction"])
               for _ in range(2)]
  assert inference[0] == inference[1]
  # Training mode draws z = mu + sigma * eps: two draws differ. BN uses the
  # batch statistics either way, so only the noise can differ.
  training = [float(model.loss_terms(digits, True)["reconstruction"])
              for _ in range(2)]
  assert training[0] != training[1]


def test_cvvae_gaussian_density_is_fitted_to_the_codes():
  # The paper's N column for the CV-VAE is a Gaussian fitted to its codes
  # (the authors' config: "one gaussian fit"), not the prior N(0, I).
  model = small_model("cvvae")
  codes = np.random.default_rng(0).normal(loc=3.0, scale=2.0, size=(300, 16))
  gaussian = model.ex_post_densities(codes, num_components=2,
                                     seed=0)["gaussian"]
  np.testing.assert_allclose(gaussian.means[0], codes.mean(0), atol=1e-6)
  covariance = gaussian.scale_tril[0] @ gaussian.scale_tril[0].T
  np.testing.assert_allclose(covariance, np.cov(codes.T, bias=True),
                             atol=1e-3)


def test_vae_loss_equals_the_authors_form_with_converted_weights(digits):
  # Authors: per sample sum_{h,w} mean_c (x - x_hat)^2 + w KL, w = 0.312 on
  # MNIST; ours is that divided by H W = 1024 (kl_weight = 0.312 / 1024).
  model = small_model("vae")
  mean, log_variance = [t.numpy() for t in model.posterior(digits)]
  reconstructions = model.decoder(mean, training=False).numpy()
  kl = 0.5 * np.sum(mean**2 + np.exp(log_variance) - 1 - log_variance, -1)
  authors = np.mean(
      np.sum(np.mean((digits - reconstructions) ** 2, -1), (1, 2)) + 0.312 * kl)
  ours = float(model.loss_terms(digits, training=False)["loss"])
  assert ours * 32 * 32 == pytest.approx(authors, rel=1e-5)


# Keras' own saving code calls np.array(variable), which numpy 2 flags.
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_keras_file_round_trip(tmp_path, digits):
  model = small_model("vae")
  path = str(tmp_path / "vae.keras")
  model.save(path)
  loaded = keras.saving.load_model(path, compile=False)
  assert isinstance(loaded, vae.VariationalAutoencoder)
  np.testing.assert_allclose(loaded.encode(digits).numpy(),
                             model.encode(digits).numpy(), rtol=1e-6)
