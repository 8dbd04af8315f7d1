"""The 2-stage VAE's second stage: sampler, training."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rae_tf import sampler as sampler_lib
from rae_tf.baselines import second_stage

MEAN = np.array([1.0, -2.0, 3.0], np.float32)
SCALE = np.array([0.5, 2.0, 10.0], np.float32)


def identity_sampler(log_scale=0.0):
  """Stage-2 networks that are identities: z = s * u + m, u ~ q(u|z')
  = N(z', exp(log_scale)^2 I)."""
  noise = keras.Input(shape=(3,))
  decoder = keras.Model(noise, keras.layers.Dense(
      3, kernel_initializer="identity", bias_initializer="zeros")(noise))
  codes = keras.Input(shape=(3,))
  encoder = keras.Model(codes, {
      "mean": keras.layers.Identity()(codes),
      "log_scale": keras.layers.Dense(
          3, kernel_initializer="zeros",
          bias_initializer=keras.initializers.Constant(log_scale))(codes)})
  code_sampler = second_stage.SecondStageSampler(encoder, decoder)
  code_sampler.code_mean.assign(MEAN)
  code_sampler.code_scale.assign(SCALE)
  return code_sampler


def test_sampler_destandardises_the_decoder_output():
  code_sampler = identity_sampler()
  codes = code_sampler.sample(20_000, 3).numpy()
  # By construction: u ~ N(0, I) from the stateless seed (3, 4), z = s u + m.
  noise = tf.random.stateless_normal((20_000, 3), seed=[3, 4]).numpy()
  np.testing.assert_allclose(codes, SCALE * noise + MEAN, rtol=1e-6,
                             atol=1e-6)
  # Hence the samples have the stored mean and standard deviation.
  np.testing.assert_allclose(codes.mean(0), MEAN,
                             atol=4 * SCALE.max() / np.sqrt(20_000))
  np.testing.assert_allclose(codes.std(0), SCALE, rtol=0.03)


def test_sampler_is_reproducible_from_its_seed():
  code_sampler = identity_sampler()
  np.testing.assert_array_equal(code_sampler.sample(5, 7).numpy(),
                                code_sampler.sample(5, 7).numpy())
  assert not np.array_equal(code_sampler.sample(5, 7).numpy(),
                            code_sampler.sample(5, 8).numpy())


def test_round_trip_passes_codes_through_both_stage_2_networks():
  codes = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
  # By hand: z' = (z - m) / s, u = z' + 1 * eps, z_hat = s * u + m
  # = z + s * eps, eps from the stateless seed (4, 5).
  noise = tf.random.stateless_normal((6, 3), seed=[4, 5]).numpy()
  np.testing.assert_allclose(identity_sampler().round_trip(codes, 4).numpy(),
                             codes + SCALE * noise, rtol=1e-5, atol=1e-5)
  # A posterior of (almost) no spread returns the codes themselves.
  np.testing.assert_allclose(
      identity_sampler(log_scale=-30.0).round_trip(codes, 4).numpy(), codes,
      rtol=1e-5, atol=1e-5)


def test_sampler_config_round_trip():
  code_sampler = identity_sampler()
  clone = second_stage.SecondStageSampler.from_config(code_sampler.get_config())
  clone.set_weights(code_sampler.get_weights())
  np.testing.assert_array_equal(clone.sample(4, 1).numpy(),
                                code_sampler.sample(4, 1).numpy())
  codes = np.ones((2, 3), np.float32)
  np.testing.assert_array_equal(clone.round_trip(codes, 1).numpy(),
                                code_sampler.round_trip(codes, 1).numpy())


def test_second_stage_stores_the_code_statistics_and_learns():
  rng = np.random.default_rng(0)
  mean, scale = np.array([5.0, -3.0]), np.array([2.0, 0.5])
  codes = (rng.normal(size=(2000, 2)) * scale + mean).astype(np.float32)
  keras.utils.set_random_seed(0)
  # KL weight 0.1 on standardised codes: per dimension, mean squared error
  # + 0.1 KL is a Gaussian decoder of variance 0.1 d / 2 = 0.1, so the codes'
  # unit variance splits 0.9 signal / 0.1 noise and decoded prior samples
  # have a standard deviation of ~sqrt(0.9) s. (The paper's 1.5e-3 leaves
  # q(u) far from N(0, I) after a few epochs: a weak test of the sampler.)
  code_sampler = second_stage.fit_second_stage(
      codes, kl_weight=0.1, epochs=10, learning_rate=1e-3, hidden_units=64,
      seed=0)
  assert code_sampler.built
  np.testing.assert_allclose(code_sampler.code_mean.numpy(), codes.mean(0),
                             rtol=1e-5)
  np.testing.assert_allclose(code_sampler.code_scale.numpy(), codes.std(0),
                             rtol=1e-5)
  samples = code_sampler.sample(5000, 1).numpy()
  assert samples.shape == (5000, 2)
  # Trained, the decoded prior samples land on the codes' distribution.
  np.testing.assert_array_less(np.abs(samples.mean(0) - mean), 0.15 * scale)
  np.testing.assert_allclose(samples.std(0), np.sqrt(0.9) * scale, rtol=0.1)


def test_second_stage_holds_out_a_tenth_and_halves_on_plateaus():
  codes = np.random.default_rng(3).normal(size=(305, 2)).astype(np.float32)
  code_sampler = second_stage.fit_second_stage(
      codes, kl_weight=1e-3, epochs=12, learning_rate=1e-6, hidden_units=8,
      seed=0)
  history = code_sampler.training_history
  # Keras' validation_split=0.1: the first int(305 * 0.9) = 274 train.
  assert (history["num_train_codes"], history["num_validation_codes"]) == (
      274, 31)
  assert len(history["loss"]) == len(history["val_loss"]) == 12
  # The authors' schedule, replayed on the recorded validation losses: an
  # epoch improves when it beats the best by 1e-4; after 3 that do not, the
  # rate halves.
  rate, best, waited, expected = 1e-6, np.inf, 0, []
  for value in history["val_loss"]:
    expected.append(rate)
    if value < best - 1e-4:
      best, waited = value, 0
    else:
      waited += 1
      if waited >= 3:
        rate, waited = rate / 2, 0
  np.testing.assert_allclose(history["learning_rate"], expected, rtol=1e-6)


def test_second_stage_validation_decodes_posterior_draws():
  # As the authors' Keras model, whose sampling layer stays on: two
  # validation passes over the same codes give different losses.
  codes = np.random.default_rng(4).normal(size=(50, 2)).astype(np.float32)
  encoder, decoder = second_stage.build_second_stage_networks(2, 8)
  model = second_stage._SecondStageVAE(encoder, decoder, seed=0)  # pylint: disable=protected-access
  model.compile(optimizer="adam")
  losses = [model.evaluate(codes, batch_size=50, verbose=0, return_dict=True)
            ["reconstruction"] for _ in range(2)]
  assert losses[0] != losses[1]


def test_second_stage_survives_a_collapsed_dimension():
  codes = np.random.default_rng(1).normal(size=(100, 2)).astype(np.float32)
  codes[:, 1] = 0.25  # an inactive VAE dimension: constant mean
  code_sampler = second_stage.fit_second_stage(
      codes, kl_weight=1e-3, epochs=1, learning_rate=1e-3, hidden_units=8)
  samples = code_sampler.sample(10, 0).numpy()
  assert np.all(np.isfinite(samples))
  np.testing.assert_allclose(samples[:, 1], 0.25, atol=1e-4)


@pytest.mark.parametrize("codes", [
    np.zeros((1, 3)), np.zeros((5,)), np.full((4, 2), np.nan)])
def test_second_stage_rejects_unusable_codes(codes):
  with pytest.raises(sampler_lib.DensityFitError, match="second stage"):
    second_stage.fit_second_stage(codes, kl_weight=1e-3, epochs=1,
                                  learning_rate=1e-3)
