"""Tests of rae_tf/readers/folder.py: --dataset=folder.

Listing, the channel probe, splits and errors; the decoding and conversions
are in images_test.py, the command line in folder_end_to_end_test.py.
"""

import logging
import os

import keras
import numpy as np
import pytest

from rae_tf import data
from rae_tf.data import DataError, ReadOptions
from rae_tf.readers import folder
from rae_tf.readers import holdout
from image_folders import numbered, read, save  # tests/image_folders.py


def numbers(dataset):
  return sorted(int(round(image[0, 0, 0] * 255)) for image in
                dataset.as_numpy_iterator())


# Files and channels.


def test_every_format_recursively_other_files_counted_once(tmp_path, caplog):
  caplog.set_level(logging.INFO, logger="absl")  # WARNING once flags parse
  rng = np.random.default_rng(0)
  for i, ext in enumerate(["png", "jpg", "JPEG", "bmp", "gif", "PNG"] * 2):
    save(tmp_path / f"d{i % 3}" / "deeper" / f"{i}.{ext}",
         rng.integers(0, 256, (24, 24, 3), np.uint8))
  (tmp_path / "notes.txt").write_text("not an image")
  (tmp_path / "d1" / "labels.csv").write_text("a,b")
  (tmp_path / "d1" / "._0.jpg").write_bytes(b"macOS fork, not a JPEG")
  os.makedirs(tmp_path / ".git")
  (tmp_path / ".git" / "x.png").write_bytes(b"not searched")
  splits = read(tmp_path, image_size=16)
  assert sum(splits.sizes.values()) == 12
  assert splits.sizes == {"train": 10, "validation": 1, "test": 1}
  ignored = [r.getMessage() for r in caplog.records if "ignoring" in
             r.getMessage()]
  assert len(ignored) == 1 and "ignoring 3 files" in ignored[0]
  image = next(splits.test.as_numpy_iterator())
  assert image.shape == (16, 16, 3) and image.dtype == np.float32


@pytest.mark.parametrize("modes,expected", [
    (["L", "L", "LA", "RGB", "RGBA"], 1),  # 3 grey (LA is grey) vs 2
    (["L", "RGB"], 3),  # a tie is RGB
    (["RGBA", "RGB", "L"], 3),
])
def test_default_channels_is_the_majority(tmp_path, modes, expected, caplog):
  caplog.set_level(logging.INFO, logger="absl")  # WARNING once flags parse
  channels = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}
  for i, mode in enumerate(modes):
    pixels = np.zeros((8, 8, channels[mode]), np.uint8).squeeze(-1) if (
        mode == "L") else np.zeros((8, 8, channels[mode]), np.uint8)
    save(tmp_path / f"{i}.png", pixels, mode)
  (tmp_path / "z_broken.png").write_bytes(b"not a png")  # skipped
  assert folder.majority_channels(str(tmp_path)) == expected
  assert f"--channels={expected}" in caplog.text
  assert data.native_channels("folder", str(tmp_path)) == expected


def test_channel_probe_reads_at_most_50_images(tmp_path):
  for i in range(folder.PROBE_IMAGES):
    save(tmp_path / f"a{i:02d}.png", np.zeros((4, 4), np.uint8))
  for i in range(folder.PROBE_IMAGES + 10):
    save(tmp_path / f"b{i:02d}.png", np.zeros((4, 4, 3), np.uint8))
  assert folder.majority_channels(str(tmp_path)) == 1


# Splits.


def test_split_subfolders_are_used_as_they_are(tmp_path, caplog):
  caplog.set_level(logging.INFO, logger="absl")  # WARNING once flags parse
  numbered(tmp_path / "train", 5)
  numbered(tmp_path / "validation", 3, start=10)
  numbered(tmp_path / "test" / "nested", 2, start=20)
  numbered(tmp_path / "elsewhere", 4, start=30)  # ignored
  numbered(tmp_path, 1, start=40)  # ignored too
  splits = read(tmp_path)
  assert splits.sizes == {"train": 5, "validation": 3, "test": 2}
  assert numbers(splits.train) == [0, 1, 2, 3, 4]
  assert numbers(splits.validation) == [10, 11, 12]
  assert numbers(splits.test) == [20, 21]
  assert "ignoring 5 files" in caplog.text


def test_missing_split_folders_are_held_out_of_train(tmp_path):
  numbered(tmp_path / "train", 40)
  numbered(tmp_path / "test", 3, start=100)
  splits = read(tmp_path, validation_fraction=0.1)
  assert splits.sizes == {"train": 36, "validation": 4, "test": 3}
  assert not set(numbers(splits.train)) & set(numbers(splits.validation))
  assert numbers(splits.test) == [100, 101, 102]


def test_flat_folder_split_by_fractions_at_least_one_each(tmp_path):
  numbered(tmp_path, 40)
  splits = read(tmp_path, validation_fraction=0.25, test_fraction=0.1)
  assert splits.sizes == {"train": 26, "validation": 10, "test": 4}
  seen = [numbers(getattr(splits, name)) for name in data.SPLITS]
  assert sorted(sum(seen, [])) == list(range(40))  # disjoint, complete
  # The split is holdout.fraction_split of the sorted file list.
  expected = holdout.fraction_split(
      40, {"validation": 0.25, "test": 0.1}, "x")
  for name, chosen in expected.items():
    assert numbers(getattr(splits, name)) == chosen.tolist()
  small = tmp_path / "small"
  numbered(small, 3)
  assert read(small).sizes == {"train": 1, "validation": 1, "test": 1}


def test_split_does_not_depend_on_the_run_seed(tmp_path):
  numbered(tmp_path, 30)
  seen = []
  for seed in (1, 2):
    keras.utils.set_random_seed(seed)
    splits = read(tmp_path)
    seen.append([numbers(getattr(splits, name)) for name in data.SPLITS])
  assert seen[0] == seen[1]


def test_training_batches_shuffle_paths_per_epoch_reproducibly(tmp_path):
  numbered(tmp_path / "train", 12)
  numbered(tmp_path / "validation", 1, start=50)
  numbered(tmp_path / "test", 1, start=60)
  splits = read(tmp_path)
  assert splits.train_sources is not None

  def epochs(seed):
    batches = data.training_batches(splits, 12, seed, first_epoch=0,
                                    epochs=2)
    return [np.round(b[:, 0, 0, 0] * 255).astype(int).tolist()
            for b in batches.as_numpy_iterator()]

  first, second = epochs(3)
  assert sorted(first) == sorted(second) == list(range(12))
  assert first != second and first != list(range(12))
  assert epochs(3) == [first, second]
  limited = data.load_splits("folder", str(tmp_path), (32, 32, 3),
                             max_train_examples=4)
  assert limited.sizes["train"] == 4
  assert sorted(sum(epochs_of(limited), [])) == [0, 0, 1, 1, 2, 2, 3, 3]


def epochs_of(splits):
  return [np.round(b[:, 0, 0, 0] * 255).astype(int).tolist() for b in
          data.training_batches(splits, 8, 0, 0, 2).as_numpy_iterator()]


# Errors.


def test_folder_missing_is_a_file_or_not_given(tmp_path):
  with pytest.raises(DataError, match="nowhere does not exist"):
    read(tmp_path / "nowhere")
  (tmp_path / "x.npz").write_bytes(b"")
  with pytest.raises(DataError, match=r"x\.npz is a file; .*--dataset=npz"):
    read(tmp_path / "x.npz")
  with pytest.raises(DataError, match="needs --data_dir"):
    folder.read_folder(None, ReadOptions(image_size=32, channels=3))


def test_no_image_files_counts_the_others(tmp_path):
  (tmp_path / "a.txt").write_text("x")
  (tmp_path / "b.tiff").write_bytes(b"x")
  with pytest.raises(DataError, match=r"no PNG, JPEG, BMP or GIF files under "
                     r".*\(2 other files, e\.g\. .*a\.txt\)"):
    read(tmp_path)
  (tmp_path / "empty").mkdir()
  with pytest.raises(DataError, match=r"\(0 other files\)"):
    read(tmp_path / "empty")


def test_split_folders_without_train_or_empty(tmp_path):
  numbered(tmp_path / "validation", 2)
  with pytest.raises(DataError, match=r"has validation/ but no train/"):
    read(tmp_path)
  numbered(tmp_path / "train", 5)
  os.makedirs(tmp_path / "test")
  with pytest.raises(DataError, match=r"test/ holds no .* remove it to hold "
                     r"out --test_fraction"):
    read(tmp_path)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_first_bad_file_stops_the_read_naming_it(tmp_path, damage):
  paths = numbered(tmp_path, 10, ext="jpg")
  for path in (paths[3], paths[7]):
    raw = open(path, "rb").read()
    with open(path, "wb") as f:
      f.write({"truncate": raw[:len(raw) // 2], "garbage": b"GIF89a" * 20,
               "empty": b""}[damage])
  with pytest.raises(DataError, match=(
      f"{paths[3]} is not a readable image .*; 2 of the 10 image files under "
      ".* do not decode: .*--skip_bad_images")):
    read(tmp_path)


def test_skip_bad_images_leaves_them_out_and_logs_the_count(tmp_path,
                                                            caplog):
  caplog.set_level(logging.INFO, logger="absl")  # WARNING once flags parse
  paths = numbered(tmp_path, 12)
  for path in paths[:2]:
    with open(path, "wb") as f:
      f.write(b"\x89PNG\r\n\x1a\n broken")
  splits = read(tmp_path, skip_bad_images=True)
  assert sum(splits.sizes.values()) == 10
  assert "leaving out 2 of the 12 image files" in caplog.text
  assert 0 not in numbers(splits.train) + numbers(splits.validation) + (
      numbers(splits.test))


def test_skipping_every_image_of_a_split_folder_is_an_error(tmp_path):
  numbered(tmp_path / "train", 6)
  for path in numbered(tmp_path / "test", 2):
    with open(path, "wb") as f:
      f.write(b"\x89PNG\r\n\x1a\n broken")
  with pytest.raises(DataError, match=r"none of the 2 images of .*test "
                     r"decode, so its split would be empty"):
    read(tmp_path, skip_bad_images=True)


def test_small_images_are_enlarged_with_a_warning(tmp_path, caplog):
  caplog.set_level(logging.INFO, logger="absl")  # WARNING once flags parse
  numbered(tmp_path, 4, size=(32, 32))
  numbered(tmp_path, 2, size=(20, 30), start=10)
  splits = read(tmp_path, image_size=24)
  assert "2 of the 6 readable images" in caplog.text
  assert "smaller than 24x24" in caplog.text and "30x20" in caplog.text
  assert all(image.shape == (24, 24, 3) for name in data.SPLITS
             for image in getattr(splits, name).as_numpy_iterator())


def test_too_few_images_for_three_splits(tmp_path):
  numbered(tmp_path, 2)
  with pytest.raises(DataError, match=r"holds 2 images, too few for a "
                     r"training split and 1 \+ 1 held out"):
    read(tmp_path)
