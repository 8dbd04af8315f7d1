"""Tests of rae_tf.evaluation.features: uint8 conversion, preprocessing, the extractor.

None of these needs torch or the converted weights: the extractor tests use a
stand-in network. The real network is tested in inception_test.py.
"""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from rae_tf.evaluation import features
from rae_tf.evaluation import inception
from kernels import NEEDS_BFLOAT16  # tests/kernels.py


def test_to_uint8_rounds_half_up_and_replicates_grey():
  images = np.array([0.0, 0.5, 1 / 255, 1.0], np.float32).reshape(1, 2, 2, 1)
  out = features.to_uint8(images)
  assert out.dtype == np.uint8 and out.shape == (1, 2, 2, 3)
  # 0.5 * 255 = 127.5 -> 128; 1/255 * 255 = 1.
  np.testing.assert_array_equal(out[0, :, :, 0], [[0, 128], [1, 255]])
  np.testing.assert_array_equal(out[..., 0], out[..., 2])
  pixels = np.arange(12, dtype=np.uint8).reshape(1, 2, 2, 3)
  np.testing.assert_array_equal(features.to_uint8(pixels), pixels)


@pytest.mark.parametrize("images, message", [
    (np.full((1, 2, 2, 1), 1.5, np.float32), r"\[0, 1\]; got values in"),
    (np.zeros((1, 2, 2, 1), np.int64), "dtype int64"),
    (np.zeros((2, 2, 2), np.float32), r"shape \(2, 2, 2\)"),
    (np.zeros((1, 2, 2, 4), np.uint8), r"C = 1 or 3"),
    (np.zeros((0, 2, 2, 1), np.uint8), r"N >= 1"),
])
def test_to_uint8_rejects(images, message):
  with pytest.raises(ValueError, match=message):
    features.to_uint8(images)


def test_preprocess_is_tf1_legacy_bilinear_then_scaled():
  # Legacy resize: output pixel j samples the input at x = j * in / out
  # (no half-pixel shift), linearly between floor(x) and floor(x) + 1,
  # clamped at the last pixel.
  rng = np.random.default_rng(2)
  image = rng.integers(0, 256, (1, 5, 7, 3)).astype(np.uint8)
  out = features.preprocess(tf.constant(image)).numpy()
  assert out.shape == (1, 299, 299, 3)

  def weights(size):  # (299, size) interpolation matrix
    x = np.arange(299) * size / 299
    low = np.floor(x).astype(int)
    high = np.minimum(low + 1, size - 1)
    matrix = np.zeros((299, size))
    matrix[np.arange(299), low] += 1 - (x - low)
    matrix[np.arange(299), high] += x - low
    return matrix

  expected = np.einsum("ih,jw,hwc->ijc", weights(5), weights(7),
                       image[0].astype(np.float64))
  np.testing.assert_allclose(out[0], (expected - 128) / 128, atol=1e-5)


def _mean_colour_net():
  """Stand-in for the Inception: (B, 299, 299, 3) -> (B, 3) mean colour."""
  inputs = keras.Input((299, 299, 3))
  return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(inputs))


def test_feature_extractor_batches_and_accepts_grey_and_float():
  extractor = features.FeatureExtractor(_mean_colour_net(), batch_size=3)
  rng = np.random.default_rng(3)
  grey = rng.integers(0, 256, (7, 6, 6, 1)).astype(np.uint8)
  grey_features = extractor(grey)
  assert grey_features.shape == (7, 3) and grey_features.dtype == np.float64
  # The legacy resize keeps the mean of a 6x6 image only approximately, but
  # grey replicated to RGB must give three equal channels.
  np.testing.assert_array_equal(grey_features[:, 0], grey_features[:, 2])
  one_batch = features.FeatureExtractor(_mean_colour_net(), batch_size=50)
  np.testing.assert_allclose(grey_features, one_batch(grey), rtol=1e-6)
  np.testing.assert_allclose(extractor(grey.astype(np.float32) / 255),
                             grey_features, rtol=1e-6)


def test_missing_weights_name_the_conversion_command(tmp_path, monkeypatch):
  monkeypatch.setenv(inception.CACHE_ENV, str(tmp_path))
  with pytest.raises(inception.WeightsError) as error:
    features.FeatureExtractor()
  assert str(tmp_path) in str(error.value)
  assert "python -m rae_tf.evaluation.convert_inception" in str(error.value)


class _CountingExtractor(features.FeatureExtractor):

  def __init__(self):
    super().__init__(_mean_colour_net())
    self.calls = 0

  def __call__(self, images):
    self.calls += 1
    return super().__call__(images)


def test_reference_features_are_cached_per_content(tmp_path):
  extractor = _CountingExtractor()
  images = np.random.default_rng(4).integers(0, 256, (5, 4, 4, 1),
                                             dtype=np.uint8)
  first = features.reference_features(images, "mnist", "test", extractor,
                                      cache_dir=str(tmp_path))
  again = features.reference_features(images, "mnist", "test", extractor,
                                      cache_dir=str(tmp_path))
  assert extractor.calls == 1 and first.shape == again.shape == (5, 3)
  assert first.dtype == again.dtype == np.float64
  np.testing.assert_array_equal(first, again)
  np.testing.assert_allclose(first, extractor(images), rtol=1e-6)
  [name] = os.listdir(tmp_path / "fid_features")
  assert name.startswith("mnist-test-n5-") and name.endswith(".npy")
  # Other pixels under the same names are not served the cached features.
  features.reference_features(255 - images, "mnist", "test", extractor,
                              cache_dir=str(tmp_path))
  assert extractor.calls == 3
  with pytest.raises(ValueError, match="got '../test'"):
    features.reference_features(images, "mnist", "../test", extractor,
                                cache_dir=str(tmp_path))


def _small_conv_bn_net(seed: int = 5):
  """ConvBN -> max pool -> ConvBN | avg pool -> concat -> mean, random BN."""
  inputs = keras.Input((299, 299, 3))
  x = inception.ConvBN(8, 3, 2, "valid", name="conv")(inputs)
  x = keras.layers.MaxPooling2D(3, 2, name="pool")(x)
  branch = inception.ConvBN(4, (1, 3), name="branch")(x)
  pool = keras.layers.AveragePooling2D(3, 1, "same", name="branch_pool")(x)
  x = keras.layers.Concatenate(name="mixed")([branch, pool])
  model = keras.Model(inputs,
                      keras.layers.GlobalAveragePooling2D(name="pool2")(x))
  rng = np.random.default_rng(seed)
  for layer in model.layers:
    if isinstance(layer, inception.ConvBN):
      layer.kernel.assign(rng.normal(0, 0.3, layer.kernel.shape))
      layer.beta.assign(rng.normal(0, 1, layer.filters))
      layer.moving_mean.assign(rng.normal(0, 1, layer.filters))
      layer.moving_variance.assign(rng.uniform(0.5, 2, layer.filters))
  return model


@NEEDS_BFLOAT16
def test_bfloat16_precision_folds_batch_norm_and_keeps_float32_features():
  model = _small_conv_bn_net()
  images = np.random.default_rng(6).integers(0, 256, (3, 12, 12, 1),
                                             dtype=np.uint8)
  exact = features.FeatureExtractor(model)(images)
  fast = features.FeatureExtractor(model, precision="bfloat16")
  assert fast.model.output.dtype == "float32"
  assert fast.model.get_layer("conv").compute_dtype == "bfloat16"
  # bfloat16 keeps 8 significant bits (relative rounding 2^-9 ~ 0.2%).
  np.testing.assert_allclose(fast(images), exact, rtol=0.03, atol=0.03)
  # The fold itself is exact: relu(conv(x, k s) + beta - mean s) in float32
  # equals ConvBN's relu((conv(x, k) - mean) s + beta), s = 1/sqrt(var + eps).
  layer = model.get_layer("conv")
  folded = features._FoldedConvBN(layer)  # pylint: disable=protected-access
  x = features.preprocess(tf.constant(features.to_uint8(images)))
  np.testing.assert_allclose(folded(x), layer(x), rtol=1e-4, atol=1e-4)


def test_unknown_precision_is_rejected():
  with pytest.raises(ValueError, match=r"precision must be one of \['bfloat16'"
                     r", 'float32'\]; got 'float16'"):
    features.FeatureExtractor(_mean_colour_net(), precision="float16")


@NEEDS_BFLOAT16
def test_bfloat16_reference_features_are_cached_apart(tmp_path):
  images = np.zeros((2, 4, 4, 1), np.uint8)
  model = _small_conv_bn_net()
  for precision in ("float32", "bfloat16"):
    features.reference_features(
        images, "mnist", "test",
        features.FeatureExtractor(model, precision=precision),
        cache_dir=str(tmp_path))
  names = sorted(os.listdir(tmp_path / "fid_features"))
  assert len(names) == 2 and names[0].endswith("-bfloat16.npy")
  assert not names[1].endswith("-bfloat16.npy")
