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


# The user-image sizes: conv64 extended by a stride-2 block per doubling.


def expected_extended_encoder(channels, widths, latent_dim, k=5):
  widths = (channels, *widths)
  total = sum(conv(k, a, b) + batch_norm(b) for a, b in zip(widths, widths[1:]))
  return total + dense(4 * 4 * 1024, latent_dim)  # every size ends at 4x4


def test_conv128_encoder_parameter_count_worked_by_hand():
  # 128x128x3 -> Conv 64, 128, 256, 512, 1024 (5x5, stride 2) -> 4x4x1024:
  #   convs  5*5*3*64 + 64          =      4,864
  #          5*5*64*128 + 128       =    204,928
  #          5*5*128*256 + 256      =    819,456
  #          5*5*256*512 + 512      =  3,277,312
  #          5*5*512*1024 + 1024    = 13,108,224
  #   BN     4 * (64 + 128 + 256 + 512 + 1024) = 7,936
  #   Dense  16,384 * 64 + 64       =  1,048,640
  #   total                           18,471,360
  # (conv64's encoder at 64x64x3, d = 64: 18,271,040, 200,320 fewer.)
  encoder = networks.build_encoder("conv128", (128, 128, 3), 64)
  assert encoder.count_params() == 18_471_360
  assert networks.build_encoder("conv64", (64, 64, 3), 64).count_params() == (
      18_271_040)


@pytest.mark.parametrize("architecture,size,encoder_widths,decoder_filters", [
    ("conv128", 128, (64, 128, 256, 512, 1024), (512, 256, 128, 64)),
    ("conv256", 256, (32, 64, 128, 256, 512, 1024), (512, 256, 128, 64, 32)),
])
@pytest.mark.parametrize("channels", [1, 3])
def test_parameter_counts_of_the_extended_nets(architecture, size,
                                               encoder_widths,
                                               decoder_filters, channels):
  shape = (size, size, channels)
  assert networks.build_encoder(architecture, shape, 64).count_params() == (
      expected_extended_encoder(channels, encoder_widths, 64))
  assert networks.build_decoder(architecture, shape, 64).count_params() == (
      expected_decoder(5, channels, 64, decoder_filters))


@pytest.mark.parametrize("architecture,shape", [
    ("conv128", (128, 128, 3)), ("conv256", (256, 256, 1))])
def test_extended_nets_shapes_output_range_and_l2_layers(architecture, shape):
  encoder = networks.build_encoder(architecture, shape, 8, width=0.03125)
  decoder = networks.build_decoder(architecture, shape, 8, width=0.03125)
  images = np.random.default_rng(0).random((2, *shape), np.float32)
  codes = encoder(images)
  outputs = decoder(codes).numpy()
  assert codes.shape == (2, 8) and outputs.shape == (2, *shape)
  assert outputs.min() >= 0.0 and outputs.max() <= 1.0
  # The CelebA design's regularised layers: the first Dense and the ConvTs.
  assert networks.ARCHITECTURES[architecture].l2_layers == (
      networks.ARCHITECTURES["conv64"].l2_layers)


def test_signed_inputs_feed_the_encoder_two_x_minus_one():
  common = dict(architecture="conv32", image_shape=(32, 32, 1),
                latent_dim=4, width=0.0625)
  signed = networks.build_encoder(signed_inputs=True, **common)
  plain = networks.build_encoder(**common)
  plain.set_weights(signed.get_weights())  # Rescaling has no weights
  images = np.random.default_rng(0).uniform(0, 1, (3, 32, 32, 1)).astype(
      np.float32)
  np.testing.assert_allclose(signed(images, training=False).numpy(),
                             plain(2 * images - 1, training=False).numpy(),
                             rtol=1e-5, atol=1e-5)
