"""--dataset=folder end to end: real digits as PNGs, the command line, flags."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from rae_tf import data
from image_folders import numbered, save  # tests/image_folders.py

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_embedded_mnist_digits_as_pngs_give_the_mnist_pixels(tmp_path):
  # 60 real digits as the mnist reader gives them (28x28 zero-padded to
  # 32x32), written as 8-bit PNGs: the folder reader at --image_size=32
  # must give the same pixels (no resampling at the native size).
  expected = np.stack(list(data.load_splits(
      "mnist", None, (32, 32, 1)).train.take(60).as_numpy_iterator()))
  for i, image in enumerate(expected):
    split = data.SPLITS[i % 3]
    path = tmp_path / split / f"{i:03d}.png"
    os.makedirs(path.parent, exist_ok=True)
    path.write_bytes(tf.io.encode_png(
        np.round(image * 255).astype(np.uint8)).numpy())
  splits = data.load_splits("folder", str(tmp_path), (32, 32, 1))
  for offset, name in enumerate(data.SPLITS):
    images = np.stack(list(getattr(splits, name).as_numpy_iterator()))
    want = expected[offset::3]
    assert images.shape == want.shape == (20, 32, 32, 1)
    # The same 8-bit values; the floats differ by at most one float32 ulp
    # (decode_image multiplies by 1/255, the mnist reader divides by 255).
    np.testing.assert_array_equal(np.round(images * 255),
                                  np.round(want * 255))
    np.testing.assert_allclose(images, want, rtol=0, atol=6e-8)


def test_command_line_trains_fits_the_gmm_and_exports(tmp_path):
  rng = np.random.default_rng(5)
  for i in range(40):  # blobs of varying size and colour, some grey
    pixels = np.zeros((36, 40, 3), np.uint8)
    pixels[8 + i % 10:24 + i % 10, 10:30] = rng.integers(50, 256, 3)
    save(tmp_path / "images" / f"{i:02d}.png", pixels)
  workdir = tmp_path / "run"
  result = subprocess.run(
      [sys.executable, "-m", "rae_tf.main", "--dataset=folder",
       f"--data_dir={tmp_path / 'images'}", "--image_size=32",
       "--width=0.03125", "--epochs=1", "--batch_size=8",
       f"--workdir={workdir}"],
      cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
      env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
  assert result.returncode == 0, result.stderr[-5000:]
  results = json.loads((workdir / "results.json").read_text())
  assert results["dataset_sizes"] == {"train": 36, "validation": 2,
                                      "test": 2}
  assert results["densities"]["gmm"]["components"] == 10
  config = json.loads((workdir / "config.json").read_text())
  assert (config["image_size"], config["channels"]) == (32, 3)
  assert "--channels=3" in (workdir / "flags.txt").read_text()
  assert (workdir / "export" / "folder_rae" / "1" / "saved_model.pb").exists()
  loaded = tf.saved_model.load(str(workdir / "export" / "folder_rae" / "1"))
  samples = loaded.signatures["sample"](
      num_samples=tf.constant(2), seed=tf.constant(1, tf.int64))["images"]
  assert samples.shape == (2, 32, 32, 3)


def test_unset_channels_come_from_the_folder_via_the_flags(tmp_path):
  from absl.testing import flagsaver  # pylint: disable=g-import-not-at-top
  from rae_tf import errors  # pylint: disable=g-import-not-at-top
  from rae_tf import training_flags  # pylint: disable=g-import-not-at-top
  if not training_flags.FLAGS.is_parsed():
    training_flags.FLAGS(["rae_tf"])
  for i in range(3):
    save(tmp_path / f"{i}.png", np.zeros((8, 8), np.uint8))
  with flagsaver.flagsaver(dataset="folder", data_dir=str(tmp_path),
                           image_size=64):
    assert training_flags.config_from_flags().image_shape == (64, 64, 1)
  # Without --image_size the config's error comes first, not the data's.
  with flagsaver.flagsaver(dataset="folder", data_dir=str(tmp_path / "no")):
    with pytest.raises(errors.ConfigError, match="needs --image_size"):
      training_flags.config_from_flags()


def test_command_line_bad_image_is_one_line_and_writes_nothing(tmp_path):
  paths = numbered(tmp_path / "images", 12)
  with open(paths[5], "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n truncated")
  workdir = tmp_path / "run"
  result = subprocess.run(
      [sys.executable, "-m", "rae_tf.main", "--dataset=folder",
       f"--data_dir={tmp_path / 'images'}", "--image_size=32",
       f"--workdir={workdir}"],
      cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
      env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
  assert result.returncode == 2, result.stderr[-3000:]
  assert "Traceback" not in result.stderr
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith(f"rae_tf: error: {paths[5]} is not a readable image")
  assert "--skip_bad_images" in last
  assert not workdir.exists() or not os.listdir(workdir)
