"""Inception pool_3 features of images, the FID way, and cached references.

Images in [0, 1] (or uint8) -> uint8 -> 0..255 floats -> TF1 legacy bilinear
resize to 299x299 -> (x - 128) / 128 -> `rae_tf.evaluation.inception` network ->
(N, 2048), as TTUR's TF1 code and pytorch-fid compute them. `rae_tf.evaluation.fid`
turns features into distances.

`PRECISIONS` names the network's arithmetic: "float32" (the default, the
reference numbers) or "bfloat16" (batch norm folded into the convolutions,
bfloat16 activations and kernels, float32 pool_3 output): ~2x faster on CPUs
with AVX512-BF16, features ~2% apart, FIDs 0.3-0.6% lower (MNIST; not to be
mixed with float32 numbers;
benchmarks/README.md, "FID features in bfloat16").
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import time
from typing import Callable, Optional

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from rae_tf import files
from rae_tf import precision as precision_lib
from rae_tf.evaluation import inception

_FEATURES_DIR = "fid_features"
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_]+$")
_RANGE_TOLERANCE = 1e-3  # float images may overshoot [0, 1] by rounding


def to_uint8(images: np.ndarray) -> np.ndarray:
  """(N, H, W, C) images -> (N, H, W, 3) uint8, grey replicated to RGB.

  uint8 images pass unchanged; float images in [0, 1] become
  floor(255 x + 0.5) (round half up, as PIL and torchvision write PNGs).

  Raises:
    ValueError: not 4-D, empty, C not in {1, 3}, another dtype, or floats
      outside [0, 1].
  """
  images = np.asarray(images)
  if images.ndim != 4 or not images.size or images.shape[-1] not in (1, 3):
    raise ValueError("images must be (N, H, W, C) with N >= 1 and C = 1 or 3;"
                     f" got shape {images.shape}")
  if np.issubdtype(images.dtype, np.floating):
    low, high = float(images.min()), float(images.max())
    if (not np.isfinite([low, high]).all() or low < -_RANGE_TOLERANCE or
        high > 1 + _RANGE_TOLERANCE):
      raise ValueError(
          f"float images must lie in [0, 1]; got values in [{low}, {high}]: "
          "pass decoder outputs (sigmoid) or uint8 pixels")
    images = np.floor(np.clip(images, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
  elif images.dtype != np.uint8:
    raise ValueError(f"images must be uint8 (0..255) or float in [0, 1]; got "
                     f"dtype {images.dtype}")
  if images.shape[-1] == 1:
    images = np.repeat(images, 3, axis=-1)
  return images


class _FoldedConvBN(keras.layers.Layer):
  """`inception.ConvBN` with its batch norm folded into the convolution.

  relu(conv(x, kernel * s) + beta - moving_mean * s), s = 1 / sqrt(var + eps)
  per output channel, folded in float64 and cast to the compute dtype, so
  one fused convolution + bias + ReLU runs instead of four passes.
  """

  def __init__(self, source: inception.ConvBN, **kwargs):
    super().__init__(name=source.name, **kwargs)
    scale = 1.0 / np.sqrt(
        source.moving_variance.numpy().astype(np.float64) + source.epsilon)
    self.folded_kernel = (source.kernel.numpy() * scale).astype(np.float32)
    self.folded_bias = (source.beta.numpy() - source.moving_mean.numpy() *
                        scale).astype(np.float32)  # (filters,)
    self.strides = source.strides
    self.padding = source.padding.upper()

  def call(self, inputs):
    kernel = tf.cast(tf.constant(self.folded_kernel), inputs.dtype)
    bias = tf.cast(tf.constant(self.folded_bias), inputs.dtype)
    x = tf.nn.conv2d(inputs, kernel, self.strides, self.padding)
    return tf.nn.relu(tf.nn.bias_add(x, bias))


def _bfloat16_network(model: keras.Model) -> keras.Model:
  """A copy of the FID Inception computing in bfloat16, float32 features.

  Batch norms are folded into the convolutions (in bfloat16 they cost more
  accuracy than the convolutions: unfolded, FID moved 1.4% on MNIST); pools
  and concatenations run in bfloat16; pool_3's average and the output are
  float32.
  """
  policy = keras.DTypePolicy("mixed_bfloat16")

  def clone(layer):
    if isinstance(layer, inception.ConvBN):
      return _FoldedConvBN(layer, dtype=policy)
    if layer is model.layers[-1]:  # pool2: (B, 8, 8, 2048) -> float32 mean
      return layer.__class__.from_config(layer.get_config())
    return layer.__class__.from_config({**layer.get_config(), "dtype": policy})

  network = keras.models.clone_model(model, clone_function=clone)
  network.trainable = False
  return network


PRECISIONS: dict[str, Callable[[keras.Model], keras.Model]] = {
    "float32": lambda model: model,
    "bfloat16": _bfloat16_network,
}


class FeatureExtractor:
  """Images -> (N, 2048) FID Inception pool_3 features, in batches."""

  def __init__(self, model=None, batch_size: int = 50,
               precision: str = "float32"):
    """Loads the network.

    Args:
      model: the network of `rae_tf.evaluation.inception`; default: loaded from the
        weights cache (`inception.load_fid_inception`).
      batch_size: images per forward pass.
      precision: a key of `PRECISIONS`; "bfloat16" needs `model` to be the
        FID Inception (its `inception.ConvBN` layers are folded).

    Raises:
      inception.WeightsError: no converted weights in the cache.
      ValueError: batch_size < 1 or an unknown precision; "bfloat16" where
        this CPU runs no bfloat16 convolution (an errors.ConfigError).
    """
    if batch_size < 1:
      raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    if precision not in PRECISIONS:
      raise ValueError(f"precision must be one of {sorted(PRECISIONS)}; got "
                       f"{precision!r}")
    if precision == "bfloat16":
      precision_lib.require_bfloat16_kernels("precision='bfloat16'",
                                             "'float32'")
    self.model = PRECISIONS[precision](model if model is not None else (
        inception.load_fid_inception()))
    self.batch_size = batch_size
    self.precision = precision

    @tf.function(input_signature=[
        tf.TensorSpec([None, None, None, 3], tf.uint8)])
    def features(images):  # (B, H, W, 3) uint8 -> (B, 2048) float32
      return self.model(preprocess(images), training=False)

    self._features = features

  def __call__(self, images: np.ndarray) -> np.ndarray:
    """Features of (N, H, W, C) uint8 or [0, 1] float images, C in {1, 3}.

    Returns:
      (N, 2048) float64 features.
    """
    images = to_uint8(images)
    start = time.perf_counter()
    batches = []
    for i in range(0, len(images), self.batch_size):
      batches.append(self._features(images[i:i + self.batch_size]).numpy())
      logging.log_every_n_seconds(logging.INFO, "FID features: %d / %d images",
                                  60, i + len(batches[-1]), len(images))
    logging.info("FID features of %d images: %.1f images/s", len(images),
                 len(images) / (time.perf_counter() - start))
    return np.concatenate(batches).astype(np.float64)


def preprocess(images: tf.Tensor) -> tf.Tensor:
  """(B, H, W, 3) 0..255 -> (B, 299, 299, 3) in [-1, 1), the FID way.

  TF1's legacy bilinear resize (`tf.compat.v1.image.resize_bilinear`, here as
  its raw op; align_corners=False, half_pixel_centers=False: source pixel =
  destination pixel * in_size / 299; tf.image.resize samples differently),
  then (x - 128) / 128.
  """
  images = tf.raw_ops.ResizeBilinear(
      images=tf.cast(images, tf.float32),
      size=[inception.IMAGE_SIZE, inception.IMAGE_SIZE], align_corners=False,
      half_pixel_centers=False)
  return (images - 128.0) / 128.0


def reference_features(images: np.ndarray, dataset: str, split: str,
                       extractor: Optional[FeatureExtractor] = None,
                       cache_dir: Optional[str] = None) -> np.ndarray:
  """Features of a dataset split, computed once and cached.

  The cache file is
  `<cache_dir>/fid_features/<dataset>-<split>-n<N>-<digest>.npy`, where the
  digest is a SHA-1 of the uint8 pixels, so a different subset or source of
  the "same" split (embedded 5k MNIST vs the idx files) never reuses stale
  features. A bfloat16 extractor writes `...-<digest>-bfloat16.npy`, so its
  features never mix with float32 ones. Features (not only their statistics)
  are kept because precision/recall clusters them with the generated ones.

  Args:
    images: (N, H, W, C) uint8 or [0, 1] float images of the split.
    dataset: dataset name, e.g. "mnist" (letters, digits, underscores).
    split: split name, e.g. "test".
    extractor: feature extractor; created on a cache miss if None.
    cache_dir: default `inception.default_cache_dir()`.

  Returns:
    (N, 2048) float64 features, float32-exact (they are stored as float32).
  """
  for what, name in (("dataset", dataset), ("split", split)):
    if not _NAME_PATTERN.match(name):
      raise ValueError(f"{what} must be letters, digits and underscores; got "
                       f"{name!r}")
  images = to_uint8(images)
  digest = hashlib.sha1(str(images.shape).encode() + images.tobytes())
  precision = getattr(extractor, "precision", "float32")  # duck-typed ones too
  suffix = "" if precision == "float32" else f"-{precision}"
  path = os.path.join(
      cache_dir or inception.default_cache_dir(), _FEATURES_DIR,
      f"{dataset}-{split}-n{len(images)}-{digest.hexdigest()[:12]}{suffix}.npy")
  if os.path.isfile(path):
    logging.info("FID reference features from %s", path)
    return np.load(path).astype(np.float64)
  extractor = extractor or FeatureExtractor()
  features = extractor(images).astype(np.float32)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  buffer = io.BytesIO()
  np.save(buffer, features)
  files.atomic_write_bytes(path, buffer.getvalue())
  logging.info("FID reference features of %s/%s (N=%d) written to %s",
               dataset, split, len(features), path)
  return features.astype(np.float64)
