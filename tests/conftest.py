"""Shared test set-up: quiet TensorFlow logs, repository root on sys.path."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
  sys.path.insert(0, REPO_ROOT)


import pytest  # pylint: disable=g-import-not-at-top,wrong-import-position


@pytest.fixture(autouse=True)
def seeded():
  """Every test starts from the same Keras / TF / numpy random state."""
  import keras  # pylint: disable=g-import-not-at-top
  keras.utils.set_random_seed(0)


@pytest.fixture
def bfloat16_policy():
  """Models built in the test compute in bfloat16 (mixed_bfloat16)."""
  import kernels  # pylint: disable=g-import-not-at-top
  with kernels.dtype_policy("mixed_bfloat16"):
    yield


@pytest.fixture(scope="module")
def digits():
  """16 real MNIST digits, padded to (16, 32, 32, 1) in [0, 1]."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from rae_tf.readers import mnist  # pylint: disable=g-import-not-at-top
  images = mnist.read_embedded().train[:16].astype(np.float32) / 255.0
  return np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)))


@pytest.fixture
def read_weights():
  """Returns a reader: `.weights.h5` path -> {dataset path: array}."""
  import h5py  # pylint: disable=g-import-not-at-top

  def read(path):
    arrays = {}
    with h5py.File(path, "r") as f:
      f.visititems(lambda name, item: arrays.__setitem__(name, item[()])
                   if isinstance(item, h5py.Dataset) else None)
    return arrays

  return read


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
  """A small RAE-SN and GMM exported once per module (tests/export_toy.py).

  Returns:
    (model, gmm, version dir).
  """
  import export_toy  # pylint: disable=g-import-not-at-top
  return export_toy.export_small_model(str(tmp_path_factory.mktemp("export")))
