"""Behaviour of the RAE models: steps, overfitting, loss form, round trips."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rae_tf import config as config_lib
from rae_tf import config_validation
from rae_tf import export
from rae_tf import models
from rae_tf import networks
from rae_tf import regularizers
from rae_tf import sampler
from rae_tf import spectral_norm
from kernels import dtype_policy  # tests/kernels.py


def small_model(reg, model="rae", width=0.0625, **overrides):
  config = config_lib.make_config("mnist", model, reg, width=width,
                                  **overrides)
  rae = models.build_model(config)
  rae.compile(optimizer=keras.optimizers.Adam(1e-3))
  return rae


def snapshot(model):
  return [w.numpy().copy() for w in model.weights]


@pytest.mark.parametrize("reg", ["none", "l2", "gp", "sn"])
def test_train_step_changes_weights_and_test_step_does_not(reg, digits):
  model = small_model(reg)
  before = snapshot(model)
  model.test_on_batch(digits)
  after_test = snapshot(model)
  for a, b in zip(before, after_test):
    np.testing.assert_array_equal(a, b)
  model.train_on_batch(digits)
  changed = [not np.array_equal(a, b)
             for a, b in zip(after_test, snapshot(model))]
  trainable = {id(w) for w in model.trainable_weights}
  for weight, did_change in zip(model.weights, changed):
    if id(weight) in trainable:
      assert did_change, weight.path


@pytest.mark.parametrize("reg", ["l2", "gp", "sn"])
def test_metrics_report_every_loss_term(reg, digits):
  logs = small_model(reg).train_on_batch(digits, return_dict=True)
  assert set(logs) == {"loss", "reconstruction", "embedding", "regularization"}
  assert all(np.isfinite(v) for v in logs.values())
  if reg == "sn":
    assert logs["regularization"] == 0.0
  else:
    assert logs["regularization"] > 0.0


def test_mixed_float16_steps_as_far_as_float32(digits):
  # compile() wraps the optimizer of a mixed_float16 model in a
  # LossScaleOptimizer, which divides the gradients by its scale (2^15 at
  # first): unless train_step multiplies the loss by it, every step is
  # 32768 times too short. One SGD step from the same weights, compared.
  config = config_lib.make_config("mnist", "rae", "l2", width=0.0625)
  reference = models.build_model(config)
  reference.compile(optimizer=keras.optimizers.SGD(0.1))
  with dtype_policy("mixed_float16"):
    half = models.build_model(config)
  half.compile(optimizer=keras.optimizers.SGD(0.1))
  assert isinstance(half.optimizer, keras.optimizers.LossScaleOptimizer)
  half.set_weights(reference.get_weights())
  before = [w.numpy().copy() for w in reference.trainable_weights]
  reference.train_on_batch(digits)
  half.train_on_batch(digits)
  step = np.concatenate([(w.numpy() - b).ravel() for w, b in zip(
      reference.trainable_weights, before)])
  half_step = np.concatenate([(w.numpy() - b).ravel() for w, b in zip(
      half.trainable_weights, before)])
  assert np.linalg.norm(half_step - step) < 0.05 * np.linalg.norm(step)


def test_overfitting_one_batch_cuts_the_loss_tenfold(digits):
  model = small_model("l2", width=0.125)
  first = model.train_on_batch(digits, return_dict=True)["reconstruction"]
  for _ in range(80):
    logs = model.train_on_batch(digits, return_dict=True)
  # The metrics are running means; evaluate the final weights directly.
  final = model.loss_terms(digits, training=True)["reconstruction"]
  assert float(final) < first / 10, (first, float(final), logs)


def test_loss_equals_the_authors_form_with_converted_weights(digits):
  # Authors: mean_pixels (x - x_hat)^2 + beta * mean_j z_j^2 + lambda ||W||^2
  # with W the ConvTranspose kernels alone (rae_mnist.py's
  # kernel_regularizer): not the Dense kernel, no bias, no BN parameter.
  beta, lam = 1e-4, 1e-7  # PAPER.md, MNIST RAE-L2
  model = small_model("l2", latent_dim=16, embedding_weight=None)
  codes = model.encoder(digits, training=False).numpy()
  reconstructions = model.decoder(codes, training=False).numpy()
  kernels = [layer.kernel for layer in model.decoder.layers
             if isinstance(layer, keras.layers.Conv2DTranspose)]
  assert len(kernels) == 3
  authors = (np.mean((digits - reconstructions) ** 2)
             + beta * np.mean(np.mean(codes ** 2, axis=1))
             + lam * sum(float(np.sum(k.numpy() ** 2)) for k in kernels))
  ours = float(model.loss_terms(digits, training=False)["loss"])
  assert ours == pytest.approx(authors, rel=1e-5)


@pytest.mark.parametrize("dataset,penalised", [
    ("mnist", {"Conv2DTranspose"}), ("fashion_mnist", {"Conv2DTranspose"}),
    ("cifar10", {"Conv2DTranspose"}), ("celeba", {"Dense", "Conv2DTranspose"})])
def test_l2_penalises_the_kernels_the_authors_regularised(dataset, penalised):
  config = config_lib.make_config(dataset, "rae", "l2", width=0.03125)
  model = models.build_model(config)
  kernels = [layer.kernel for layer in model.decoder.layers
             if type(layer).__name__ in penalised]
  expected = sum(float(np.sum(k.numpy() ** 2)) for k in kernels)
  codes = np.zeros((1, config.latent_dim), np.float32)
  penalty = model.loss_terms(model.decoder(codes), training=False)[
      "regularization"]
  assert float(penalty) == pytest.approx(expected, rel=1e-5)
  # Not every kernel: on the 32x32 nets the Dense kernel is left out.
  every = sum(float(np.sum(k.numpy() ** 2))
              for k in networks.decoder_kernels(model.decoder))
  assert (float(penalty) < every) == (dataset != "celeba")


def test_gp_form_reaches_the_model_and_its_config(digits):
  model = small_model("gp", gp_form="authors")
  assert model.get_config()["gp_form"] == "authors"
  codes = model.encoder(digits, training=False)
  _, expected = regularizers.decode_with_authors_gp(
      model.decoder, codes, False, None)
  penalty = model.loss_terms(digits, training=False)["regularization"]
  assert float(penalty) == pytest.approx(float(expected), rel=1e-5)


def test_ae_trains_on_reconstruction_alone(digits):
  model = small_model("none", model="ae")
  terms = model.loss_terms(digits, training=False)
  assert float(terms["loss"]) == pytest.approx(float(terms["reconstruction"]))


def test_sn_encoder_flag_wraps_the_encoder_too():
  def wrapped(net):
    return sum(isinstance(layer, keras.layers.SpectralNormalization)
               for layer in net.layers)
  assert wrapped(small_model("sn").encoder) == 0
  assert wrapped(small_model("sn", sn_encoder=True).encoder) == 5
  assert wrapped(small_model("sn").decoder) == 4


def test_authors_sn_form_normalises_every_call_and_survives_export(
    digits, tmp_path):
  model = small_model("sn", sn_encoder=True, sn_form="authors")
  layers = [layer for net in (model.encoder, model.decoder)
            for layer in net.layers
            if isinstance(layer, spectral_norm.AuthorsSpectralNormalization)]
  assert len(layers) == 9  # 4 conv + Dense; Dense + 3 ConvTranspose
  for _ in range(3):
    model.train_on_batch(digits)
  # Inference divides by sigma too: each layer's effective kernel has norm
  # ~1 (one power iteration per step, so after 3 steps only approximately).
  for layer in layers:
    kernel = layer.layer.kernel.numpy()
    effective = kernel.reshape(-1, kernel.shape[-1]) / float(layer.sigma())
    assert np.linalg.svd(effective, compute_uv=False)[0] == pytest.approx(
        1.0, rel=0.2)
  gmm = sampler.fit_gmm(model.encode(digits).numpy(), 2, 0)
  version_dir = export.export_model(
      model, code_sampler=sampler.MixtureSampler.from_mixture(gmm),
      export_base=str(tmp_path), model_name="sn", image_shape=(32, 32, 1),
      latent_dim=model.encoder.output_shape[-1])
  served = tf.saved_model.load(version_dir).signatures["reconstruct"]
  np.testing.assert_allclose(served(images=tf.constant(digits))["images"],
                             model(digits, training=False).numpy(),
                             rtol=1e-4, atol=1e-5)


def test_get_config_round_trip(digits):
  model = small_model("gp")
  clone = models.RegularizedAutoencoder.from_config(model.get_config())
  clone.set_weights(model.get_weights())
  assert (clone.reg, clone.reg_weight, clone.embedding_weight) == (
      model.reg, model.reg_weight, model.embedding_weight)
  np.testing.assert_allclose(clone(digits).numpy(), model(digits).numpy(),
                             rtol=1e-6)


def test_command_line_model_names_match_the_registry():
  assert set(config_validation.MODEL_NAMES) == set(models.MODELS)
