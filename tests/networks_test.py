"""Tests of rae_tf.networks: shapes, parameter counts, spectral norm."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rae_tf import networks


def conv(k, c_in, c_out):
  return k * k * c_in * c_out + c_out  # kernel + bias


def batch_norm(c):
  return 4 * c  # gamma, beta, moving mean, moving variance


def dense(n_in, n_out):
  return n_in * n_out + n_out


def expected_encoder(k, channels, spatial_out, latent_dim):
  widths = (channels, 128, 256, 512, 1024)
  total = sum(conv(k, a, b) + batch_norm(b) for a, b in zip(widths, widths[1:]))
  return total + dense(spatial_out * spatial_out * 1024, latent_dim)


def expected_decoder(k, channels, latent_dim, filters):
  total = dense(latent_dim, 8 * 8 * 1024)
  widths = (1024, *filters)
  total += sum(conv(k, a, b) + batch_norm(b) for a, b in zip(widths, widths[1:]))
  return total + conv(k, filters[-1], channels)


@pytest.mark.parametrize("architecture,shape,latent_dim,k,spatial,filters", [
    ("conv32", (32, 32, 1), 16, 4, 2, (512, 256)),      # MNIST
    ("conv32", (32, 32, 3), 128, 4, 2, (512, 256)),     # CIFAR-10
    ("conv64", (64, 64, 3), 64, 5, 4, (512, 256, 128)),  # CelebA
])
def test_parameter_counts_match_the_paper_nets(architecture, shape, latent_dim,
                                               k, spatial, filters):
  encoder = networks.build_encoder(architecture, shape, latent_dim)
  decoder = networks.build_decoder(architecture, shape, latent_dim)
  assert encoder.count_params() == expected_encoder(k, shape[-1], spatial,
                                                    latent_dim)
  assert decoder.count_params() == expected_decoder(k, shape[-1], latent_dim,
                                                    filters)


def test_mnist_parameter_count_golden():
  # Encoder: 2,176 + 524,544 + 2,097,664 + 8,389,632 (convs)
  #   + 7,680 (BN: 4 * (128 + 256 + 512 + 1024)) + 65,552 (Dense 4096 -> 16)
  #   = 11,087,248.
  assert networks.build_encoder("conv32", (32, 32, 1), 16).count_params() == (
      11_087_248)
  # Decoder: 1,114,112 (Dense 16 -> 65,536) + 8,389,120 + 2,097,408 + 4,097
  #   (ConvTs) + 3,072 (BN: 4 * (512 + 256)) = 11,607,809.
  assert networks.build_decoder("conv32", (32, 32, 1), 16).count_params() == (
      11_607_809)


@pytest.mark.parametrize("architecture,shape", [
    ("conv32", (32, 32, 1)), ("conv32", (32, 32, 3)), ("conv64", (64, 64, 3))])
def test_shapes_and_output_range(architecture, shape):
  encoder = networks.build_encoder(architecture, shape, 8, width=0.0625)
  decoder = networks.build_decoder(architecture, shape, 8, width=0.0625)
  images = np.random.default_rng(0).random((3, *shape), np.float32)
  codes = encoder(images)
  assert codes.shape == (3, 8)
  outputs = decoder(codes).numpy()
  assert outputs.shape == (3, *shape)
  assert outputs.min() >= 0.0 and outputs.max() <= 1.0


def test_width_scales_every_conv():
  encoder = networks.build_encoder("conv32", (32, 32, 1), 16, width=0.25)
  convs = [layer for layer in encoder.layers
           if isinstance(layer, keras.layers.Conv2D)]
  assert [layer.filters for layer in convs] == [32, 64, 128, 256]
  assert networks.scaled(3, 0.01) == 1  # never zero channels


def test_spectral_norm_wraps_every_kernel_layer():
  decoder = networks.build_decoder("conv32", (32, 32, 1), 16, width=0.0625,
                                   spectral_norm=True)
  wrapped = [layer for layer in decoder.layers
             if isinstance(layer, keras.layers.SpectralNormalization)]
  assert len(wrapped) == 4  # Dense + 3 ConvTranspose
  assert len(networks.decoder_kernels(decoder)) == 4


def test_spectral_norm_of_all_ones_kernel_is_two():
  # W = [[1, 1], [1, 1]] has singular values 2 and 0. After one training call
  # the wrapper replaces W by W / sigma(W): the power iteration is exact for
  # this rank-one matrix, so every entry becomes 1/2.
  layer = keras.layers.SpectralNormalization(
      keras.layers.Dense(2, use_bias=False, kernel_initializer="ones"))
  layer(np.ones((1, 2), np.float32), training=True)
  np.testing.assert_allclose(layer.layer.kernel.numpy(), np.full((2, 2), 0.5),
                             rtol=1e-6)
  assert np.linalg.svd(layer.layer.kernel.numpy(), compute_uv=False)[0] == (
      pytest.approx(1.0))


def test_decoder_kernels_excludes_biases_and_batch_norm():
  decoder = networks.build_decoder("conv32", (32, 32, 1), 4, width=0.0625)
  kernels = networks.decoder_kernels(decoder)
  assert [tuple(k.shape) for k in kernels] == [
      (4, 8 * 8 * 64), (4, 4, 32, 64), (4, 4, 16, 32), (4, 4, 1, 16)]


@pytest.mark.parametrize("size, strides, kernel_size", [
    ((4, 4), 2, 4), ((3, 5), 2, 5), ((2, 2), 1, 4), ((5, 3), 1, 3)])
def test_patch_matmul_conv_equals_keras_conv(size, strides, kernel_size):
  rng = np.random.default_rng(0)
  inputs = tf.constant(rng.normal(size=(3, *size, 6)), tf.float32)
  reference = keras.layers.Conv2D(5, kernel_size, strides=strides,
                                  padding="same")
  patch = networks.Conv2D(5, kernel_size, strides=strides, padding="same")
  reference.build(inputs.shape)
  patch.build(inputs.shape)
  patch.set_weights(reference.get_weights())
  gradients = []
  for layer in (reference, patch):
    with tf.GradientTape() as tape:
      tape.watch(inputs)
      outputs = layer(inputs)
      loss = tf.reduce_sum(outputs * tf.range(1.0, outputs.shape[-1] + 1))
    gradients.append((outputs, *tape.gradient(loss, [inputs, layer.kernel])))
  for expected, actual in zip(*gradients):
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)


def test_patch_matmul_conv_rejects_what_it_does_not_compute():
  with pytest.raises(ValueError, match="padding='same' only; got 'valid'"):
    networks.Conv2D(4, 3, padding="valid")


def test_checkpoints_load_across_plain_and_patch_matmul_encoders(
    tmp_path, monkeypatch):
  # Only the last conv32 encoder layer (4x4 -> 2x2) becomes a patch matmul.
  images = np.random.default_rng(1).uniform(0, 1, (2, 32, 32, 1))
  patched = networks.build_encoder("conv32", (32, 32, 1), 16, width=0.0625)
  assert [type(layer) for layer in patched.layers].count(networks.Conv2D) == 1
  monkeypatch.setattr(networks, "PATCH_MATMUL_MAX_POSITIONS", 0)
  plain = networks.build_encoder("conv32", (32, 32, 1), 16, width=0.0625)
  assert networks.Conv2D not in [type(layer) for layer in plain.layers]
  for source, target in ((patched, plain), (plain, patched)):
    path = str(tmp_path / f"{source.name}.weights.h5")
    source.save_weights(path)
    target.load_weights(path)
    np.testing.assert_allclose(target(images, training=False),
                               source(images, training=False), rtol=1e-5,
                               atol=1e-6)
