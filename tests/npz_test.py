"""Tests of rae_tf/readers/npz.py: --dataset=npz, the keras.datasets layout."""

import logging

import numpy as np
import pytest
import tensorflow as tf

from rae_tf import data
from rae_tf.data import DataError, ReadOptions
from rae_tf.readers import holdout
from rae_tf.readers import npz


def numbered(count, height=32, width=32, channels=None, start=0):
  """(count, H, W[, C]) uint8 images; pixel [0, 0(, 0)] holds start + i."""
  shape = (count, height, width) + ((channels,) if channels else ())
  images = np.random.default_rng(start).integers(0, 256, shape, np.uint8)
  images[(slice(None), 0, 0) + ((0,) if channels else ())] = np.arange(
      start, start + count)
  return images


def write(path, **arrays):
  np.savez(path, **arrays)
  return str(path)


def read(path, image_size=32, channels=1, **kwargs):
  return npz.read_npz(str(path), ReadOptions(
      image_size=image_size, channels=channels, **kwargs))


def numbers(dataset):
  return sorted(int(round(image[0, 0, 0] * 255))
                for image in dataset.as_numpy_iterator())


@pytest.mark.parametrize("channels", [None, 1])  # (N, H, W), (N, H, W, 1)
def test_uint8_grey_layouts_keep_their_pixels(tmp_path, channels):
  train, test = numbered(40, channels=channels), numbered(
      3, channels=channels, start=100)
  splits = read(write(tmp_path / "a.npz", x_train=train, x_test=test,
                      y_train=np.arange(40)))
  assert splits.sizes == {"train": 38, "validation": 2, "test": 3}
  images = np.stack(list(splits.test.as_numpy_iterator()))
  assert images.shape == (3, 32, 32, 1) and images.dtype == np.float32
  np.testing.assert_allclose(images, test.reshape(3, 32, 32, 1) / 255.0,
                             rtol=1e-6)
  # Validation is held out of x_train by the fixed seed, disjoint.
  expected = holdout.fraction_split(40, {"validation": 0.05}, "x")
  assert numbers(splits.validation) == expected["validation"].tolist()
  assert numbers(splits.train) == expected["train"].tolist()


def test_float_rgb_without_x_test_holds_out_a_test_split(tmp_path):
  train = numbered(40, channels=3).astype(np.float32) / 255
  splits = read(write(tmp_path / "a.npz", x_train=train), channels=3,
                validation_fraction=0.1, test_fraction=0.25)
  assert splits.sizes == {"train": 26, "validation": 4, "test": 10}
  seen = sum((numbers(getattr(splits, name)) for name in data.SPLITS), [])
  assert sorted(seen) == list(range(40))
  image = next(splits.train.as_numpy_iterator())
  assert image.shape == (32, 32, 3)


def test_channels_and_size_are_converted_like_the_folder_reader(tmp_path):
  rgb = numbered(4, 40, 64, channels=3)  # 40 high, 64 wide
  splits = read(write(tmp_path / "a.npz", x_train=rgb[:3], x_test=rgb[3:]),
                image_size=16, channels=1)
  image = next(splits.test.as_numpy_iterator())
  crop = rgb[3, :, 12:52].astype(np.float32) / 255
  grey = crop @ np.array([0.2989, 0.5870, 0.1140], np.float32)
  expected = tf.image.resize(grey[..., None], (16, 16), antialias=True)
  np.testing.assert_allclose(image, expected, atol=1e-5)
  grey_to_rgb = read(write(tmp_path / "b.npz", x_train=numbered(3)),
                     channels=3)
  image = next(grey_to_rgb.train.as_numpy_iterator())
  np.testing.assert_array_equal(image[..., 0], image[..., 2])


def test_small_images_are_enlarged_with_a_warning(tmp_path, caplog):
  caplog.set_level(logging.INFO, logger="absl")  # WARNING once flags parse
  splits = read(write(tmp_path / "a.npz", x_train=numbered(5, 28, 28)))
  assert "x_train images are 28x28, smaller than 32x32" in caplog.text
  assert next(splits.train.as_numpy_iterator()).shape == (32, 32, 1)


def test_training_split_is_shuffled_as_indices(tmp_path):
  splits = read(write(tmp_path / "a.npz", x_train=numbered(12, 8, 8),
                      x_test=numbered(1, 8, 8)), image_size=8,
                validation_fraction=0.2)
  assert splits.train_sources is not None
  epochs = [np.round(b[:, 0, 0, 0] * 255).astype(int).tolist()
            for b in data.training_batches(splits, 16, 0, 0, 2)
            .as_numpy_iterator()]
  # Each epoch holds every training image once, in an order of its own.
  assert sorted(epochs[0]) == sorted(epochs[1]) == numbers(splits.train)
  assert epochs[0] != epochs[1]


def test_native_channels_reads_only_the_header(tmp_path, caplog):
  caplog.set_level(logging.INFO, logger="absl")  # WARNING once flags parse
  assert npz.native_channels(write(tmp_path / "a.npz",
                                   x_train=numbered(2))) == 1
  path = tmp_path / "b.npz"
  np.savez_compressed(path, x_train=numbered(2, channels=3))
  assert data.native_channels("npz", str(path)) == 3
  assert "--channels=3" in caplog.text


# Errors.


def test_no_x_train_names_the_keys_found(tmp_path):
  path = write(tmp_path / "a.npz", images=numbered(2), labels=np.arange(2))
  with pytest.raises(DataError, match=r"has no x_train array \(it has: "
                     r"images, labels\); write it with numpy.savez"):
    read(path)
  with pytest.raises(DataError, match="no x_train"):
    npz.native_channels(path)


@pytest.mark.parametrize("array,message", [
    (np.zeros((4, 784), np.uint8), r"x_train has shape \(4, 784\); expected "
     r"images \(N, H, W\) or \(N, H, W, C\)"),
    (np.zeros((4, 8, 8, 4), np.uint8), r"4 channels; expected 1 \(grey\) or "
     r"3 \(RGB\)"),
    (np.zeros((0, 8, 8), np.uint8), "no images"),
    (np.zeros((4, 8, 8), np.int64), r"x_train is int64; expected uint8 "
     r"0\.\.255 or floats in \[0, 1\]: convert"),
    (np.full((4, 8, 8), 255.0, np.float32), r"x_train is float32 with values "
     r"in \[255, 255\]; expected floats in \[0, 1\] .*divide by 255"),
    (np.full((4, 8, 8), -0.5), r"float64 with values in \[-0.5, -0.5\]"),
    (np.full((4, 8, 8), np.nan, np.float32), r"values in \[nan, nan\]"),
])
def test_wrong_layouts_and_values_are_refused(tmp_path, array, message):
  with pytest.raises(DataError, match=message):
    read(write(tmp_path / "a.npz", x_train=array))


def test_x_test_is_checked_too(tmp_path):
  path = write(tmp_path / "a.npz", x_train=numbered(5),
               x_test=np.full((2, 8, 8), 2.0))
  with pytest.raises(DataError, match=r"x_test is float64 with values in "
                     r"\[2, 2\]"):
    read(path)


def test_directory_missing_file_and_not_an_npz(tmp_path):
  with pytest.raises(DataError, match=r"is a directory; --dataset=npz reads "
                     r"one \.npz file.*--dataset=folder"):
    read(tmp_path)
  with pytest.raises(DataError, match="absent.npz does not exist"):
    read(tmp_path / "absent.npz")
  with pytest.raises(DataError, match="needs --data_dir=<file>.npz"):
    npz.read_npz(None, ReadOptions(image_size=32, channels=1))
  (tmp_path / "text.npz").write_text("not numpy")
  with pytest.raises(DataError, match=r"text\.npz is not an \.npz file \(it "
                     r"starts with b'not nu', not a zip archive's b'PK'\)"):
    read(tmp_path / "text.npz")
  np.save(tmp_path / "one.npy", numbered(2))
  with pytest.raises(DataError, match=r"one\.npy holds a single array"):
    read(tmp_path / "one.npy")
  raw = open(write(tmp_path / "full.npz", x_train=numbered(40)), "rb").read()
  (tmp_path / "cut.npz").write_bytes(raw[:len(raw) // 2])
  with pytest.raises(DataError, match=r"cut\.npz is not a readable \.npz "
                     r"file \(.*\): it is truncated or corrupt"):
    read(tmp_path / "cut.npz")


def test_object_arrays_are_refused(tmp_path):
  path = tmp_path / "a.npz"
  np.savez(path, x_train=np.array([None, 1], dtype=object))
  with pytest.raises(DataError, match=r"cannot read x_train from .*a\.npz "
                     r"\(Object arrays cannot be loaded"):
    read(path)


def test_too_few_images_for_the_splits(tmp_path):
  with pytest.raises(DataError, match=r"holds 2 images, too few for a "
                     r"training split and 1 \+ 1 held out"):
    read(write(tmp_path / "a.npz", x_train=numbered(2)))


def test_load_splits_end_to_end(tmp_path):
  path = write(tmp_path / "a.npz", x_train=numbered(20, 64, 48, channels=3))
  splits = data.load_splits("npz", path, (32, 32, 3), max_train_examples=5)
  assert splits.sizes == {"train": 5, "validation": 1, "test": 1}
  batches = list(data.training_batches(splits, 4, 0, 0, 1)
                 .as_numpy_iterator())
  assert [b.shape for b in batches] == [(4, 32, 32, 3), (1, 32, 32, 3)]
