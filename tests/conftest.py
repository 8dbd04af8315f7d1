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
