"""AuthorsSpectralNormalization against numpy SVDs, finite differences and
the plain layers run with the normalised kernel."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rae_tf import networks
from rae_tf.spectral_norm import AuthorsSpectralNormalization

RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 5)).astype(np.float32)  # Dense inputs (B, in)
W = RNG.normal(size=(5, 3)).astype(np.float32)  # Dense kernel (in, out)
B = RNG.normal(size=(3,)).astype(np.float32)
IMAGES = RNG.normal(size=(2, 6, 6, 3)).astype(np.float32)


def _top_singular_value(kernel):
  return np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]),
                       compute_uv=False)[0]


def _converged_dense():
  """Wrapped Dense(3) with kernel W, bias B and u after 50 training calls."""
  sn = AuthorsSpectralNormalization(keras.layers.Dense(3))
  sn.build((None, 5))
  sn.layer.kernel.assign(W)
  sn.layer.bias.assign(B)
  for _ in range(50):
    sn(X, training=True)
  return sn


def test_sigma_is_the_top_singular_value_and_inference_uses_w_over_it():
  sn = _converged_dense()
  sigma = _top_singular_value(W)
  assert float(sn.sigma()) == pytest.approx(sigma, rel=1e-3)
  np.testing.assert_allclose(sn(X, training=False), X @ (W / sigma) + B,
                             rtol=1e-3, atol=1e-4)
  np.testing.assert_array_equal(sn.layer.kernel.numpy(), W)  # W stays raw


def test_only_training_calls_update_u():
  sn = AuthorsSpectralNormalization(keras.layers.Dense(3))
  sn.build((None, 5))
  u = sn.vector_u.numpy()
  first = sn(X, training=False).numpy()
  second = sn(X).numpy()
  np.testing.assert_array_equal(sn.vector_u.numpy(), u)
  np.testing.assert_array_equal(first, second)
  sn(X, training=True)
  assert not np.allclose(sn.vector_u.numpy(), u)


def _l2_normalize(x):
  return x / np.linalg.norm(x)


def _loss_and_gradient(sn, weights):
  """L = Σ G·sn(X) in inference, and ∂L/∂kernel by tf.GradientTape."""
  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(sn(X, training=False) * weights)
  return float(loss), tape.gradient(loss, sn.layer.kernel).numpy()


def test_gradient_is_miyatos_with_u_and_v_held_constant():
  # Fresh u: one power-iteration step from it, in numpy.
  sn = AuthorsSpectralNormalization(keras.layers.Dense(3))
  sn.build((None, 5))
  sn.layer.kernel.assign(W)
  sn.layer.bias.assign(B)
  weights = RNG.normal(size=(4, 3)).astype(np.float32)
  v = _l2_normalize(sn.vector_u.numpy() @ W.T)  # (1, in)
  u = _l2_normalize(v @ W)  # (1, out)
  sigma = float((v @ W @ u.T)[0, 0])
  loss, gradient = _loss_and_gradient(sn, weights)
  # ∂σ/∂W = vᵀu, so ∂L/∂W = Xᵀ·G/σ - (Σ G·XW/σ) vᵀu / σ.
  linear = loss - float(np.sum(weights * B))
  np.testing.assert_allclose(
      gradient, X.T @ weights / sigma - linear / sigma * v.T @ u,
      rtol=1e-4, atol=1e-5)


def test_gradient_flows_through_sigma():
  # Once u has converged to the top singular vectors, σ is stationary in
  # u and v, so the gradient with u, v held constant (stop_gradient) is the
  # total derivative that finite differences measure.
  sn = _converged_dense()
  weights = RNG.normal(size=(4, 3)).astype(np.float32)
  _, gradient = _loss_and_gradient(sn, weights)
  constant_sigma = X.T @ weights / float(sn.sigma())
  assert np.max(np.abs(gradient - constant_sigma)) > 0.1

  step = 1e-2
  for i, j in [(0, 0), (2, 1), (4, 2)]:
    losses = []
    for sign in (1.0, -1.0):
      perturbed = W.copy()
      perturbed[i, j] += sign * step
      sn.layer.kernel.assign(perturbed)
      losses.append(_loss_and_gradient(sn, weights)[0])
    sn.layer.kernel.assign(W)
    finite_difference = (losses[0] - losses[1]) / (2 * step)
    assert finite_difference == pytest.approx(gradient[i, j], rel=2e-3,
                                              abs=2e-3)


@pytest.mark.parametrize("layer_class, output_shape, u_size", [
    (keras.layers.Conv2D, (2, 3, 3, 4), 4),
    (networks.Conv2D, (2, 3, 3, 4), 4),
    # (k_h, k_w, out, in) kernel: u runs over the 3 input channels.
    (keras.layers.Conv2DTranspose, (2, 12, 12, 4), 3),
], ids=["keras_conv2d", "networks_conv2d", "conv2d_transpose"])
def test_conv_equals_the_plain_layer_with_the_normalised_kernel(
    layer_class, output_shape, u_size):
  layer = layer_class(4, 3, strides=2, padding="same")
  sn = AuthorsSpectralNormalization(layer)
  sn.build(IMAGES.shape)
  kernel = RNG.normal(size=layer.kernel.shape).astype(np.float32)
  bias = RNG.normal(size=(4,)).astype(np.float32)
  layer.set_weights([kernel, bias])
  for _ in range(50):
    sn(IMAGES, training=True)
  assert sn.vector_u.shape == (1, u_size)
  sigma = _top_singular_value(kernel)
  assert float(sn.sigma()) == pytest.approx(sigma, rel=1e-3)

  plain = layer_class.from_config(layer.get_config())
  plain.build(IMAGES.shape)
  plain.set_weights([kernel / float(sn.sigma()), bias])
  outputs = sn(IMAGES, training=False)
  assert outputs.shape == output_shape
  np.testing.assert_allclose(outputs, plain(IMAGES), rtol=1e-5, atol=1e-5)


def test_config_round_trip():
  sn = AuthorsSpectralNormalization(keras.layers.Dense(3), power_iterations=2)
  sn.build((None, 5))
  copy = AuthorsSpectralNormalization.from_config(sn.get_config())
  assert copy.power_iterations == 2
  copy.build((None, 5))
  copy.set_weights(sn.get_weights())
  np.testing.assert_array_equal(copy(X), sn(X))


def test_model_saves_and_loads(tmp_path):
  model = keras.Sequential([
      keras.Input(IMAGES.shape[1:]),
      AuthorsSpectralNormalization(
          keras.layers.Conv2D(4, 3, strides=2, padding="same")),
      AuthorsSpectralNormalization(
          keras.layers.Conv2DTranspose(2, 3, strides=2, padding="same")),
      keras.layers.Flatten(),
      AuthorsSpectralNormalization(keras.layers.Dense(3)),
  ])
  model(IMAGES, training=True)  # moves every u off its initial value
  path = str(tmp_path / "model.keras")
  model.save(path)
  loaded = keras.models.load_model(path)
  for original, restored in zip(model.weights, loaded.weights):
    np.testing.assert_array_equal(original.numpy(), restored.numpy())
  np.testing.assert_array_equal(loaded(IMAGES, training=False),
                                model(IMAGES, training=False))
