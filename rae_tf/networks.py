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

Larger user images (--dataset=folder / npz, --image_size=128 or 256) take
conv64 extended by one stride-2 block per doubling of the size, at both
ends: the encoder gains a first Conv of half the width of the next one, the
decoder a last ConvT of half the width of the one before, so the paper's
blocks stay as they are, and every encoder still ends on a 4x4x1024 map
flattened into Dense(d), every decoder starts from Dense(8*8*1024). The
kernels (5x5) and the layers RAE-L2 penalises are CelebA's:

  conv128  encoder: Conv 64, 128, 256, 512, 1024        (128 -> 4)
           decoder: ConvT 512, 256, 128, 64 -> ConvT C  (8 -> 128)
  conv256  encoder: Conv 32, 64, 128, 256, 512, 1024    (256 -> 4)
           decoder: ConvT 512, 256, 128, 64, 32 -> ConvT C

Each added block works at twice the resolution of the next with half its
channels (the DCGAN rule the paper's nets follow), so it adds few weights
(conv128: 200,320 encoder parameters more than conv64 at 3 channels) but
the largest activations: the first encoder block's output, 64x64x64 at 128,
is larger than all the later ones together.

With `spectral_norm=True` every Dense / Conv layer is wrapped in
`keras.layers.SpectralNormalization` (one power iteration). Keras' wrapper
normalises only when called with `training=True`, and it does so by assigning
W / sigma(W) to the kernel variable; the gradient then flows to that rescaled
kernel with sigma treated as a constant, whereas Miyato et al. (2018)
back-propagate through sigma(W). Both keep the layer's spectral norm at 1.
`sn_form="authors"` wraps them in `spectral_norm.AuthorsSpectralNormalization`
instead, the authors' form: W / sigma(W) in every call, inference included,
with the gradient through sigma.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import keras

from rae_tf import spectral_norm as spectral_norm_lib


# Keras' default BN momentum (0.99) makes the moving statistics lag the
# weights by ~100 steps; on CPU-sized runs (40 steps per epoch on the embedded
# MNIST) inference-mode losses were then 5x the training-mode ones. 0.9
# (PyTorch's default) tracks within ~10 steps and changes nothing else.
BATCH_NORM_MOMENTUM = 0.9


# A convolution with at most this many output positions is computed as one
# (B * positions, k * k * C_in) x (k * k * C_in, C_out) matmul of its patches
# (`Conv2D` below): oneDNN's kernel-gradient convolution crawls at such
# sizes (the last conv32 encoder layer, 4x4 -> 2x2, 512 -> 1024 channels: 15
# GFLOP/s in bfloat16, ~16% of a training step; benchmarks/profile_step.py),
# while the matmul and its two gradient matmuls run near peak.
PATCH_MATMUL_MAX_POSITIONS = 4


# The class is named Conv2D on purpose: Keras' `.weights.h5` files key the
# layers of a model by their snake-cased class name ("conv2d_3"), so this
# name keeps checkpoints interchangeable with plain keras.layers.Conv2D nets.
@keras.saving.register_keras_serializable(package="rae_tf",
                                          name="PatchMatmulConv2D")
class Conv2D(keras.layers.Conv2D):
  """keras.layers.Conv2D computed as patches @ kernel, for tiny outputs.

  Same weights (kernel (k_h, k_w, C_in, C_out), bias), same output shape
  and the same sums as `keras.layers.Conv2D` up to float rounding (the
  accumulation order differs); only the kernels TensorFlow runs differ.
  Supports what the nets use: channels-last, "same" padding, no dilation,
  one group. One slice per output position, so meant for outputs of a few
  positions (see `PATCH_MATMUL_MAX_POSITIONS`).
  """

  def __init__(self, *args, **kwargs):
    super().__init__(*args, **kwargs)
    unsupported = {
        "padding": (self.padding, "same"),
        "data_format": (self.data_format, "channels_last"),
        "dilation_rate": (tuple(self.dilation_rate), (1, 1)),
        "groups": (self.groups, 1)}
    for name, (value, allowed) in unsupported.items():
      if value != allowed:
        raise ValueError(
            f"networks.Conv2D supports {name}={allowed!r} only; got "
            f"{value!r}: use keras.layers.Conv2D")

  def convolution_op(self, inputs, kernel):
    _, height, width, channels = inputs.shape  # (B, H, W, C_in)
    kernel_h, kernel_w = self.kernel_size
    stride_h, stride_w = self.strides
    out_h, out_w = -(-height // stride_h), -(-width // stride_w)
    # "same" padding as TensorFlow splits it: the odd pixel goes after.
    pad_h = max((out_h - 1) * stride_h + kernel_h - height, 0)
    pad_w = max((out_w - 1) * stride_w + kernel_w - width, 0)
    padded = keras.ops.pad(inputs, [[0, 0], [pad_h // 2, pad_h - pad_h // 2],
                                    [pad_w // 2, pad_w - pad_w // 2], [0, 0]])
    patches = keras.ops.stack(
        [padded[:, i * stride_h:i * stride_h + kernel_h,
                j * stride_w:j * stride_w + kernel_w, :]
         for i in range(out_h) for j in range(out_w)],
        axis=1)  # (B, out_h * out_w, k_h, k_w, C_in)
    outputs = keras.ops.matmul(
        keras.ops.reshape(patches, (-1, kernel_h * kernel_w * channels)),
        keras.ops.reshape(kernel, (kernel_h * kernel_w * channels,
                                   self.filters)))
    return keras.ops.reshape(outputs, (-1, out_h, out_w, self.filters))


@dataclasses.dataclass(frozen=True)
class Architecture:
  """Layer sizes of one encoder/decoder pair at width 1.0."""

  kernel_size: int
  encoder_filters: Sequence[int]
  decoder_base: tuple[int, int, int]  # (h, w, channels) after the first Dense
  decoder_filters: Sequence[int]
  # Classes of the decoder layers whose kernels RAE-L2 penalises, as the
  # authors' `rae_mnist.py` / `rae_cifar.py` (the ConvTransposes) and
  # `rae_celeba.py` (the first Dense too).
  l2_layers: tuple[str, ...]


ARCHITECTURES = {
    "conv32": Architecture(kernel_size=4, encoder_filters=(128, 256, 512, 1024),
                           decoder_base=(8, 8, 1024),
                           decoder_filters=(512, 256),
                           l2_layers=("Conv2DTranspose",)),
    "conv64": Architecture(kernel_size=5, encoder_filters=(128, 256, 512, 1024),
                           decoder_base=(8, 8, 1024),
                           decoder_filters=(512, 256, 128),
                           l2_layers=("Dense", "Conv2DTranspose")),
    # conv64 extended for user images (module docstring).
    "conv128": Architecture(kernel_size=5,
                            encoder_filters=(64, 128, 256, 512, 1024),
                            decoder_base=(8, 8, 1024),
                            decoder_filters=(512, 256, 128, 64),
                            l2_layers=("Dense", "Conv2DTranspose")),
    "conv256": Architecture(kernel_size=5,
                            encoder_filters=(32, 64, 128, 256, 512, 1024),
                            decoder_base=(8, 8, 1024),
                            decoder_filters=(512, 256, 128, 64, 32),
                            l2_layers=("Dense", "Conv2DTranspose")),
}


def scaled(filters: int, width: float) -> int:
  """Number of channels at `width` (at least 1)."""
  return max(1, int(round(filters * width)))


def _batch_norm(synchronized: bool) -> keras.layers.Layer:
  return keras.layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM,
                                         synchronized=synchronized)


# --sn_form -> the wrapper of every spectrally normalised layer.
SN_WRAPPERS = {"keras": keras.layers.SpectralNormalization,
               "authors": spectral_norm_lib.AuthorsSpectralNormalization}


def _maybe_sn(layer: keras.layers.Layer, spectral_norm: bool, sn_form: str):
  return SN_WRAPPERS[sn_form](layer) if spectral_norm else layer


def build_encoder(architecture: str,
                  image_shape: Sequence[int],
                  latent_dim: int,
                  width: float = 1.0,
                  spectral_norm: bool = False,
                  synchronized_batch_norm: bool = False,
                  signed_inputs: bool = False,
                  sn_form: str = "keras",
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
    signed_inputs: first map x to 2x - 1, as the authors' 32x32 encoder.
    sn_form: the spectral normalisation wrapper, a key of `SN_WRAPPERS`.
    name: model name.

  Returns:
    A functional keras.Model whose output layer is linear.
  """
  arch = ARCHITECTURES[architecture]
  images = keras.Input(shape=tuple(image_shape), name="images")
  x = images
  if signed_inputs:
    x = keras.layers.Rescaling(2.0, offset=-1.0, name="signed_inputs")(x)
  for filters in arch.encoder_filters:
    positions = -(-x.shape[1] // 2) * -(-x.shape[2] // 2)  # of the output
    conv = (Conv2D if positions <= PATCH_MATMUL_MAX_POSITIONS
            else keras.layers.Conv2D)
    x = _maybe_sn(conv(scaled(filters, width), arch.kernel_size, strides=2,
                       padding="same"),
                  spectral_norm, sn_form)(x)
    x = _batch_norm(synchronized_batch_norm)(x)
    x = keras.layers.ReLU()(x)
  x = keras.layers.Flatten()(x)
  codes = _maybe_sn(keras.layers.Dense(latent_dim), spectral_norm,
                    sn_form)(x)
  return keras.Model(images, codes, name=name)


def build_decoder(architecture: str,
                  image_shape: Sequence[int],
                  latent_dim: int,
                  width: float = 1.0,
                  spectral_norm: bool = False,
                  synchronized_batch_norm: bool = False,
                  sn_form: str = "keras",
                  name: str = "decoder") -> keras.Model:
  """Builds D: (B, latent_dim) codes -> (B, H, W, C) images in (0, 1).

  Args:
    architecture: key of `ARCHITECTURES`.
    image_shape: (H, W, C) of the output.
    latent_dim: d.
    width: conv width multiplier.
    spectral_norm: wrap every Dense / ConvTranspose in SpectralNormalization.
    synchronized_batch_norm: batch statistics over all replicas.
    sn_form: the spectral normalisation wrapper, a key of `SN_WRAPPERS`.
    name: model name.

  Returns:
    A functional keras.Model with a sigmoid output.
  """
  arch = ARCHITECTURES[architecture]
  base_h, base_w, base_c = arch.decoder_base
  base_c = scaled(base_c, width)
  codes = keras.Input(shape=(latent_dim,), name="codes")
  x = _maybe_sn(keras.layers.Dense(base_h * base_w * base_c),
                spectral_norm, sn_form)(codes)
  x = keras.layers.Reshape((base_h, base_w, base_c))(x)
  for filters in arch.decoder_filters:
    x = _maybe_sn(keras.layers.Conv2DTranspose(
        scaled(filters, width), arch.kernel_size, strides=2, padding="same"),
                  spectral_norm, sn_form)(x)
    x = _batch_norm(synchronized_batch_norm)(x)
    x = keras.layers.ReLU()(x)
  x = _maybe_sn(keras.layers.Conv2DTranspose(
      image_shape[-1], arch.kernel_size, strides=1, padding="same"),
                spectral_norm, sn_form)(x)
  # Sigmoid in float32 so mixed-precision policies keep outputs in [0, 1].
  images = keras.layers.Activation("sigmoid", dtype="float32")(x)
  if tuple(images.shape[1:]) != tuple(image_shape):
    raise ValueError(
        f"architecture {architecture!r} decodes to {tuple(images.shape[1:])}, "
        f"not the requested image shape {tuple(image_shape)}")
  return keras.Model(codes, images, name=name)


def decoder_kernels(decoder: keras.Model,
                    layer_types: Sequence[str] | None = None) -> list:
  """The kernels (not biases, not BN parameters) of the decoder's layers.

  Args:
    decoder: D.
    layer_types: class names of the layers to take (e.g. an architecture's
      `l2_layers`); None takes every layer with a kernel.
  """
  kernels = []
  for layer in decoder.layers:
    inner = getattr(layer, "layer", layer)  # unwrap SpectralNormalization
    if hasattr(inner, "kernel") and (
        layer_types is None or type(inner).__name__ in layer_types):
      kernels.append(inner.kernel)
  return kernels
