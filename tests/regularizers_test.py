"""Golden values of the loss terms and the GP's Jacobian estimate."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rae_tf import networks
from rae_tf import regularizers


def test_reconstruction_loss_is_the_per_pixel_mean():
  images = np.zeros((2, 2, 2, 1), np.float32)
  reconstructions = np.zeros_like(images)
  reconstructions[0, 0, 0, 0] = 1.0   # squared error 1
  reconstructions[1, 1, 1, 0] = 0.5   # squared error 0.25
  # (1 + 0.25) / (2 images * 4 pixels) = 0.15625
  assert float(regularizers.reconstruction_loss(images, reconstructions)) == (
      pytest.approx(0.15625))


def test_embedding_loss_of_a_known_code():
  codes = np.array([[3.0, 4.0], [0.0, 0.0]], np.float32)
  # Per sample 1/2 ||z||^2: 1/2 * 25 = 12.5 and 0; batch mean 6.25.
  assert float(regularizers.embedding_loss(codes)) == pytest.approx(6.25)


def test_l2_penalty_sums_squares_of_every_kernel():
  kernels = [tf.constant([[1.0, 2.0]]), tf.constant([[[3.0]]])]
  assert float(regularizers.l2_penalty(kernels)) == pytest.approx(14.0)


def test_l2_decode_penalises_the_decoder_kernels_only():
  decoder = networks.build_decoder("conv32", (32, 32, 1), 4, width=0.0625)
  expected = sum(float(np.sum(k.numpy() ** 2))
                 for k in networks.decoder_kernels(decoder))
  _, penalty = regularizers.decode_with_l2(
      decoder, tf.zeros((2, 4)), False, keras.random.SeedGenerator(0))
  assert float(penalty) == pytest.approx(expected, rel=1e-5)


def linear_decoder(weights):
  """D(z) = W z reshaped to a (2, 3, 1) image: Jacobian dD/dz = W (6 x d)."""
  codes = keras.Input((weights.shape[1],))
  dense = keras.layers.Dense(6, use_bias=False)
  flat = dense(codes)
  dense.kernel.assign(weights.T)  # Keras computes z @ kernel, kernel = W^T
  return keras.Model(codes, keras.layers.Reshape((2, 3, 1))(flat))


def test_gradient_penalty_of_a_linear_decoder_closed_form():
  rng = np.random.default_rng(0)
  weights = rng.normal(size=(6, 3)).astype(np.float32)
  decoder = linear_decoder(weights)
  codes = tf.constant(rng.normal(size=(4, 3)), tf.float32)
  probe = rng.normal(size=(4, 2, 3, 1)).astype(np.float32)
  _, vjp = regularizers.probed_jacobian(decoder, codes, probe, False)
  # J^T v = W^T v for every sample.
  expected_vjp = probe.reshape(4, 6) @ weights
  np.testing.assert_allclose(vjp.numpy(), expected_vjp, rtol=1e-5, atol=1e-5)
  # Penalty: mean_b ||W^T v_b||^2.
  assert float(regularizers.gradient_penalty(vjp)) == pytest.approx(
      np.mean(np.sum(expected_vjp ** 2, axis=1)), rel=1e-5)


def test_gradient_penalty_estimates_the_squared_frobenius_norm():
  # E_v ||W^T v||^2 = ||W||_F^2 (Hutchinson): average over many probes.
  rng = np.random.default_rng(1)
  weights = rng.normal(size=(6, 3)).astype(np.float32)
  decoder = linear_decoder(weights)
  _, penalty = regularizers.decode_with_gp(
      decoder, tf.zeros((20_000, 3)), False, keras.random.SeedGenerator(0))
  # Relative std of the mean over 20k samples is ~1%: allow 5%.
  assert float(penalty) == pytest.approx(np.sum(weights ** 2), rel=0.05)


def test_authors_gradient_penalty_of_a_linear_decoder_closed_form():
  # D(z) = W z: grad_z sum_p D(z)_p^2 = 2 W^T W z per sample; the authors'
  # penalty is the mean over the (B, d) entries of its square.
  rng = np.random.default_rng(2)
  weights = rng.normal(size=(6, 3)).astype(np.float32)
  codes = rng.normal(size=(4, 3)).astype(np.float32)
  _, penalty = regularizers.decode_with_authors_gp(
      linear_decoder(weights), tf.constant(codes), False, None)
  gradients = 2.0 * codes @ weights.T @ weights  # (4, 3)
  assert float(penalty) == pytest.approx(np.mean(gradients ** 2), rel=1e-5)
  # The paper's quantity is ||W||_F^2 whatever z is: the two differ by a
  # data-dependent factor, here at z = 0 the authors' is 0.
  _, at_zero = regularizers.decode_with_authors_gp(
      linear_decoder(weights), tf.zeros((4, 3)), False, None)
  assert float(at_zero) == 0.0


def test_gp_form_selects_the_penalty():
  assert regularizers.decode_function("gp") is regularizers.decode_with_gp
  assert regularizers.decode_function(
      "gp", gp_form="authors") is regularizers.decode_with_authors_gp
  with pytest.raises(ValueError, match="--gp_form must be one of"):
    regularizers.decode_function("gp", gp_form="exact")


def test_probed_jacobian_matches_finite_differences():
  # A smooth float64 decoder (tanh, sigmoid: no ReLU kinks, no float32
  # rounding), so central differences are accurate to ~1e-9.
  keras.utils.set_random_seed(0)
  codes_in = keras.Input((3,), dtype="float64")
  hidden = keras.layers.Dense(32, activation="tanh", dtype="float64")(codes_in)
  flat = keras.layers.Dense(2 * 4 * 1, activation="sigmoid",
                            dtype="float64")(hidden)
  decoder = keras.Model(codes_in, keras.layers.Reshape(
      (2, 4, 1), dtype="float64")(flat))
  rng = np.random.default_rng(2)
  codes = rng.normal(size=(2, 3))
  probe = rng.normal(size=(2, 2, 4, 1))
  _, vjp = regularizers.probed_jacobian(decoder, tf.constant(codes), probe,
                                        False)

  def projection(z):
    outputs = decoder(tf.constant(z), training=False).numpy()
    return np.sum(outputs * probe, axis=(1, 2, 3))  # (B,)

  epsilon = 1e-5
  finite_differences = np.zeros_like(codes)
  for j in range(3):
    step = np.zeros_like(codes)
    step[:, j] = epsilon
    finite_differences[:, j] = (projection(codes + step)
                                - projection(codes - step)) / (2 * epsilon)
  np.testing.assert_allclose(vjp.numpy(), finite_differences, rtol=1e-6,
                             atol=1e-9)


def test_gradient_penalty_trains_the_decoder():
  # The outer gradient goes through the inner one (double backward): every
  # decoder kernel gets a finite, non-zero gradient from the penalty alone.
  decoder = networks.build_decoder("conv32", (32, 32, 1), 3, width=0.0625)
  codes = tf.constant(np.random.default_rng(3).normal(size=(4, 3)), tf.float32)
  with tf.GradientTape() as tape:
    _, penalty = regularizers.decode_with_gp(
        decoder, codes, True, keras.random.SeedGenerator(0))
  kernels = networks.decoder_kernels(decoder)
  gradients = tape.gradient(penalty, kernels)
  for gradient in gradients:
    assert gradient is not None
    assert np.all(np.isfinite(gradient.numpy()))
    assert np.any(gradient.numpy() != 0)


def test_registry_has_an_explicit_no_op_and_rejects_unknown_names():
  _, penalty = regularizers.REGULARIZERS["none"].decode(
      linear_decoder(np.ones((6, 2), np.float32)), tf.ones((1, 2)), False,
      keras.random.SeedGenerator(0))
  assert float(penalty) == 0.0
  assert regularizers.REGULARIZERS["sn"].spectral_norm
  with pytest.raises(ValueError, match="--reg must be one of"):
    regularizers.get_regularizer("dropout")
