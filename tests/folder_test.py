"""Tests of rae_tf/readers/folder.py (and images.py): --dataset=folder."""

import json
import logging
import os
import subprocess
import sys

import keras
import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from rae_tf import data
from rae_tf.data import DataError, ReadOptions
from rae_tf.readers import folder
from rae_tf.readers import holdout

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def save(path, pixels, mode=None, **kwargs):
  """Writes (H, W[, C]) uint8 `pixels` with PIL; the format from the name."""
  os.makedirs(os.path.dirname(path), exist_ok=True)
  Image.fromarray(np.asarray(pixels), mode).save(path, **kwargs)
  return str(path)


def numbered(directory, count, size=(32, 32), ext="png", start=0):
  """`count` RGB images whose pixel [0, 0, 0] is their number."""
  paths = []
  for i in range(start, start + count):
    pixels = np.full((*size, 3), 100, np.uint8)
    pixels[0, 0, 0] = i
    paths.append(save(os.path.join(directory, f"{i:03d}.{ext}"), pixels))
  return paths


def numbers(dataset):
  return sorted(int(round(image[0, 0, 0] * 255)) for image in
                dataset.as_numpy_iterator())


def read(directory, image_size=32, channels=3, **kwargs):
  return folder.read_folder(str(directory), ReadOptions(
      image_size=image_size, channels=channels, **kwargs))


def single(directory, **kwargs):
  """The one image of a folder holding it in train/ (and dummies)."""
  for split in ("validation", "test"):
    numbered(os.path.join(directory, split), 1, start=200)
  return next(read(directory, **kwargs).train.as_numpy_iterator())


# Formats, pixels, conversions.


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


def test_square_png_of_the_image_size_keeps_its_pixels(tmp_path):
  pixels = np.random.default_rng(1).integers(0, 256, (32, 32, 3), np.uint8)
  save(tmp_path / "train" / "a.png", pixels)
  np.testing.assert_allclose(single(tmp_path), pixels / 255.0, atol=1e-7)


def test_centre_crop_then_antialiased_bilinear_resize(tmp_path):
  # 40 high x 64 wide: the centred 40x40 square is columns 12..51. Mark the
  # 12 columns cut on each side with 255: none may reach the output.
  rng = np.random.default_rng(2)
  pixels = rng.integers(0, 200, (40, 64, 3), np.uint8)
  pixels[:, :12] = pixels[:, 52:] = 255
  save(tmp_path / "train" / "a.png", pixels)
  crop = pixels[:, 12:52].astype(np.float32) / 255.0
  expected = tf.image.resize(crop, (32, 32), method="bilinear",
                             antialias=True).numpy()
  image = single(tmp_path)
  np.testing.assert_allclose(image, expected, atol=1e-6)
  assert image.max() < 200 / 255 + 1e-6


def test_rgb_to_grey_is_the_bt601_luma_and_grey_to_rgb_repeats(tmp_path):
  rgb = np.random.default_rng(3).integers(0, 256, (32, 32, 3), np.uint8)
  save(tmp_path / "rgb" / "train" / "a.png", rgb)
  grey = single(tmp_path / "rgb", channels=1)
  luma = rgb.astype(np.float32) / 255 @ np.array([0.2989, 0.5870, 0.1140])
  assert grey.shape == (32, 32, 1)
  np.testing.assert_allclose(grey[..., 0], luma, atol=1e-6)
  save(tmp_path / "grey" / "train" / "a.png", rgb[..., 0])
  colour = single(tmp_path / "grey", channels=3)
  np.testing.assert_allclose(colour, np.repeat(rgb[..., :1], 3, -1) / 255,
                             atol=1e-7)


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_is_composited_on_white(tmp_path, mode):
  colour = np.full((32, 32, 3 if mode == "RGBA" else 1), 40, np.uint8)
  alpha = np.full((32, 32, 1), 255, np.uint8)
  alpha[0, 0] = 0  # transparent: white whatever colour is stored
  alpha[0, 1] = 51  # 20% opaque: 0.2 * 40/255 + 0.8
  save(tmp_path / "train" / "a.png", np.concatenate([colour, alpha], -1),
       mode)
  image = single(tmp_path, channels=3 if mode == "RGBA" else 1)
  np.testing.assert_allclose(image[0, 0], 1.0, atol=1e-6)
  np.testing.assert_allclose(image[0, 1], 0.2 * 40 / 255 + 0.8, atol=1e-6)
  np.testing.assert_allclose(image[5, 5], 40 / 255, atol=1e-6)


def test_16_bit_png_matches_its_8_bit_version_and_keeps_its_depth(tmp_path):
  rng = np.random.default_rng(4)
  eight = rng.integers(0, 256, (32, 32, 1), np.uint8)
  # 16-bit values: the 8-bit ones times 257, plus up to 200/65535 of detail
  # that an 8-bit decode would lose.
  sixteen = np.minimum(eight.astype(np.int32) * 257
                       + rng.integers(0, 200, eight.shape), 65535).astype(
                           np.uint16)
  for name, pixels in (("eight", eight), ("sixteen", sixteen)):
    path = tmp_path / name / "train" / "a.png"
    os.makedirs(path.parent)
    path.write_bytes(tf.io.encode_png(pixels).numpy())
  from_eight = single(tmp_path / "eight", channels=1)
  from_sixteen = single(tmp_path / "sixteen", channels=1)
  assert np.abs(from_sixteen - from_eight).max() <= 1 / 255
  np.testing.assert_allclose(from_sixteen, sixteen / 65535.0, atol=1e-6)


def test_gif_gives_its_first_frame(tmp_path):
  first = Image.new("RGB", (32, 32), (255, 0, 0))
  second = Image.new("RGB", (32, 32), (0, 0, 255))
  os.makedirs(tmp_path / "train")
  first.save(tmp_path / "train" / "a.gif", save_all=True,
             append_images=[second], duration=100)
  np.testing.assert_allclose(single(tmp_path)[5, 5], [1.0, 0.0, 0.0],
                             atol=1e-6)


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


# Real data, end to end.


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
  from rae_tf import main  # pylint: disable=g-import-not-at-top
  if not main.FLAGS.is_parsed():
    main.FLAGS(["rae_tf"])
  for i in range(3):
    save(tmp_path / f"{i}.png", np.zeros((8, 8), np.uint8))
  with flagsaver.flagsaver(dataset="folder", data_dir=str(tmp_path),
                           image_size=64):
    assert main.config_from_flags().image_shape == (64, 64, 1)
  # Without --image_size the config's error comes first, not the data's.
  with flagsaver.flagsaver(dataset="folder", data_dir=str(tmp_path / "no")):
    with pytest.raises(errors.ConfigError, match="needs --image_size"):
      main.config_from_flags()


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
