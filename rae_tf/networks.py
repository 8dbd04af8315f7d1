"""Encoder / decoder builders: the paper's convolutional nets, width-scaled.

Architectures (PAPER.md, "Networks"); every conv width is multiplied by `width`:

  conv32 (MNIST, Fashion-MNIST, CIFAR-10; 32x32 input, 4x4 kernels)
    encoder: Conv 128, 256, 512, 1024 (stride 2, BN, ReLU) -> flatten -> Dense(d)
    decoder: Dense(8*8*1024) -> ConvT 512, 256 (stride 2, BN, ReLU)
             -> ConvT C (stride 1), sigmoid
  conv64 (CelebA; 64x64 input, 5x5 kernels)
    encoder: as conv32
    decoder: Dense(8*8*1024) -> ConvT 512, 256, 128 (stride 2, BN, ReLU)
             -> ConvT 3 (stride 1), sigmoid

With `spectral_norm=True` every Dense / Conv layer is wrapped in
`keras.layers.SpectralNormalization` (one power iteration). Keras' wrapper
normalises only when called with `training=True`, and it does so by assigning
W / sigma(W) to the kernel variable; the gradient then flows to that rescaled
kernel with sigma treated as a constant, whereas Miyato et al. (2018)
back-propagate through sigma(W). Both keep the layer's spectral norm at 1.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import keras


# Keras' default BN momentum (0.99) makes the moving statistics lag the
# weights by ~100 steps; on CPU-sized runs (40 steps per epoch on the embedded
# MNIST) inference-mode losses were then 5x the training-mode ones. 0.9
# (PyTorch's default) tracks within ~10 steps and changes nothing else.
BATCH_NORM_MOMENTUM = 0.9


@dataclasses.dataclass(frozen=True)
class Architecture:
  """Layer sizes of one encoder/decoder pair at width 1.0."""

  kernel_size: int
  encoder_filters: Sequence[int]
  decoder_base: tuple[int, int, int]  # (h, w, channels) after the first Dense
  decoder_filters: Sequence[int]


ARCHITECTURES = {
    "conv32": Architecture(kernel_size=4, encoder_filters=(128, 256, 512, 1024),
                           decoder_base=(8, 8, 1024),
                           decoder_filters=(512, 256)),
    "conv64": Architecture(kernel_size=5, encoder_filters=(128, 256, 512, 1024),
                           decoder_base=(8, 8, 1024),
                           decoder_filters=(512, 256, 128)),
}


def scaled(filters: int, width: float) -> int:
  """Number of channels at `width` (at least 1)."""
  return max(1, int(round(filters * width)))


def _batch_norm(synchronized: bool) -> keras.layers.Layer:
  return keras.layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM,
                                         synchronized=synchronized)


def _maybe_sn(layer: keras.layers.Layer, spectral_norm: bool):
  return keras.layers.SpectralNormalization(layer) if spectral_norm else layer


def build_encoder(architecture: str,
                  image_shape: Sequence[int],
                  latent_dim: int,
                  width: float = 1.0,
                  spectral_norm: bool = False,
                  synchronized_batch_norm: bool = False,
                  name: str = "encoder") -> keras.Model:
  """Builds E: (B, H, W, C) images in [0, 1] -> (B, latent_dim) codes.

  Args:
    architecture: key of `ARCHITECTURES`.
    image_shape: (H, W, C).
    latent_dim: d.
    width: conv width multiplier.
    spectral_norm: wrap every Conv / Dense in SpectralNormalization.
    synchronized_batch_norm: batch statistics over all replicas of a
      tf.distribute strategy (same maths as one device on the global batch).
    name: model name.

  Returns:
    A functional keras.Model whose output layer is linear.
  """
  arch = ARCHITECTURES[architecture]
  images = keras.Input(shape=tuple(image_shape), name="images")
  x = images
  for filters in arch.encoder_filters:
    x = _maybe_sn(keras.layers.Conv2D(scaled(filters, width), arch.kernel_size,
                                      strides=2, padding="same"),
                  spectral_norm)(x)
    x = _batch_norm(synchronized_batch_norm)(x)
    x = keras.layers.ReLU()(x)
  x = keras.layers.Flatten()(x)
  codes = _maybe_sn(keras.layers.Dense(latent_dim), spectral_norm)(x)
  return keras.Model(images, codes, name=name)


def build_decoder(architecture: str,
                  image_shape: Sequence[int],
                  latent_dim: int,
                  width: float = 1.0,
                  spectral_norm: bool = False,
                  synchronized_batch_norm: bool = False,
                  name: str = "decoder") -> keras.Model:
  """Builds D: (B, latent_dim) codes -> (B, H, W, C) images in (0, 1).

  Args:
    architecture: key of `ARCHITECTURES`.
    image_shape: (H, W, C) of the output.
    latent_dim: d.
    width: conv width multiplier.
    spectral_norm: wrap every Dense / ConvTranspose in SpectralNormalization.
    synchronized_batch_norm: batch statistics over all replicas.
    name: model name.

  Returns:
    A functional keras.Model with a sigmoid output.
  """
  arch = ARCHITECTURES[architecture]
  base_h, base_w, base_c = arch.decoder_base
  base_c = scaled(base_c, width)
  codes = keras.Input(shape=(latent_dim,), name="codes")
  x = _maybe_sn(keras.layers.Dense(base_h * base_w * base_c),
                spectral_norm)(codes)
  x = keras.layers.Reshape((base_h, base_w, base_c))(x)
  for filters in arch.decoder_filters:
    x = _maybe_sn(keras.layers.Conv2DTranspose(
        scaled(filters, width), arch.kernel_size, strides=2, padding="same"),
                  spectral_norm)(x)
    x = _batch_norm(synchronized_batch_norm)(x)
    x = keras.layers.ReLU()(x)
  x = _maybe_sn(keras.layers.Conv2DTranspose(
      image_shape[-1], arch.kernel_size, strides=1, padding="same"),
                spectral_norm)(x)
  # Sigmoid in float32 so mixed-precision policies keep outputs in [0, 1].
  images = keras.layers.Activation("sigmoid", dtype="float32")(x)
  if tuple(images.shape[1:]) != tuple(image_shape):
    raise ValueError(
        f"architecture {architecture!r} decodes to {tuple(images.shape[1:])}, "
        f"not the requested image shape {tuple(image_shape)}")
  return keras.Model(codes, images, name=name)


def decoder_kernels(decoder: keras.Model) -> list:
  """The kernels (not biases, not BN parameters) of every decoder layer."""
  kernels = []
  for layer in decoder.layers:
    inner = getattr(layer, "layer", layer)  # unwrap SpectralNormalization
    if hasattr(inner, "kernel"):
      kernels.append(inner.kernel)
  return kernels
