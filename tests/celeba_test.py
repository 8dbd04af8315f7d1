"""Tests of rae_tf/readers/celeba.py on a tiny directory in CelebA's layout."""

import os

import numpy as np
from PIL import Image
import pytest

from rae_tf import data
from rae_tf.data import DataError
from rae_tf.readers import celeba

WIDTH, HEIGHT = 178, 218  # CelebA's aligned images
PARTITIONS = (0, 0, 0, 0, 1, 1, 2, 2, 2)  # 4 train, 2 validation, 3 test


def grey_level(index):
  return 20 + 25 * index  # distinct after JPEG round trips: 20, 45, ...


def write_jpeg(path, pixels):
  Image.fromarray(pixels).save(path, quality=95)


def write_celeba(root, partitions=PARTITIONS, csv=False):
  """Writes img_align_celeba/00000i.jpg (flat grey `grey_level(i)`) + list."""
  image_dir = root / celeba.IMAGE_DIR
  image_dir.mkdir(parents=True)
  lines = ["image_id,partition"] if csv else []
  for i, partition in enumerate(partitions):
    name = f"{i + 1:06d}.jpg"
    write_jpeg(image_dir / name,
               np.full((HEIGHT, WIDTH, 3), grey_level(i), np.uint8))
    lines.append(f"{name},{partition}" if csv else f"{name} {partition}")
  list_name = "list_eval_partition." + ("csv" if csv else "txt")
  (root / list_name).write_text("\n".join(lines) + "\n")
  return image_dir


def levels(dataset):
  """Mean grey level (0..255) of each image in `dataset`, rounded."""
  return [round(float(np.mean(image)) * 255) for image in dataset]


def test_splits_follow_the_partition_list(tmp_path):
  write_celeba(tmp_path)
  splits = celeba.read_celeba(str(tmp_path))
  assert splits.sizes == {"train": 4, "validation": 2, "test": 3}
  expected = {name: [grey_level(i) for i, p in enumerate(PARTITIONS)
                     if p == data.SPLITS.index(name)]
              for name in data.SPLITS}
  for name in data.SPLITS:
    found = levels(getattr(splits, name))
    np.testing.assert_allclose(found, expected[name], atol=2)


def test_images_are_64x64_float_in_unit_range(tmp_path):
  write_celeba(tmp_path)
  splits = data.load_splits("celeba", str(tmp_path), (64, 64, 3))
  images = next(iter(data.batched(splits.train, 3)))
  assert images.shape == (3, 64, 64, 3) and images.dtype == np.float32
  assert 0.0 <= float(np.min(images)) and float(np.max(images)) <= 1.0


def test_centre_crop_window(tmp_path):
  # White exactly on the centred 140x140 window (rows 39..178, columns
  # 19..158 of 218x178), black around it: the output must be all white.
  pixels = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
  top, left = (HEIGHT - 140) // 2, (WIDTH - 140) // 2
  pixels[top:top + 140, left:left + 140] = 255
  path = tmp_path / "window.jpg"
  Image.fromarray(pixels).save(path, quality=100)
  image = celeba.decode_image(str(path)).numpy()
  assert image.shape == (64, 64, 3)
  assert image.mean() > 0.99 and image.min() > 0.9
  # And the inverse: black window, white frame: nothing of the frame leaks in.
  Image.fromarray(255 - pixels).save(path, quality=100)
  image = celeba.decode_image(str(path)).numpy()
  assert image.mean() < 0.01 and image.max() < 0.1


def test_crop_matches_full_decode(tmp_path):
  # Red = row index, green = column index: any shift of the window shows.
  rows, cols = np.meshgrid(np.arange(HEIGHT), np.arange(WIDTH), indexing="ij")
  pixels = np.stack([rows, cols, np.full_like(rows, 128)], -1).astype(np.uint8)
  path = tmp_path / "gradient.jpg"
  Image.fromarray(pixels).save(path, quality=95)
  decoded = np.asarray(Image.open(path).convert("RGB"), np.float32)
  crop = decoded[39:179, 19:159]  # the centred 140x140 window
  # The 64x64 image is a smoothed version of that crop: compare the means of
  # its four quadrants (JPEG decoders differ by a few levels).
  image = celeba.decode_image(str(path)).numpy() * 255
  for out_rows in (slice(0, 32), slice(32, 64)):
    for out_cols in (slice(0, 32), slice(32, 64)):
      crop_rows = slice(out_rows.start * 140 // 64, out_rows.stop * 140 // 64)
      crop_cols = slice(out_cols.start * 140 // 64, out_cols.stop * 140 // 64)
      np.testing.assert_allclose(
          image[out_rows, out_cols].mean((0, 1)),
          crop[crop_rows, crop_cols].mean((0, 1)), atol=2)


def test_stream_equals_one_by_one_decoding(tmp_path):
  # images_dataset resizes crops in batches of 32: 35 images also cover the
  # last, partial batch.
  rng = np.random.default_rng(0)
  paths = []
  for i in range(35):
    paths.append(str(tmp_path / f"{i:06d}.jpg"))
    write_jpeg(paths[-1], rng.integers(0, 256, (HEIGHT, WIDTH, 3), np.uint8))
  streamed = np.stack(list(celeba.images_dataset(paths)))
  one_by_one = np.stack([celeba.decode_image(path) for path in paths])
  assert streamed.shape == (35, 64, 64, 3)
  np.testing.assert_allclose(streamed, one_by_one, atol=1e-6)


def test_torchvision_and_kaggle_layouts(tmp_path):
  write_celeba(tmp_path / "celeba", csv=True)
  nested = tmp_path / "celeba" / celeba.IMAGE_DIR / celeba.IMAGE_DIR
  nested.mkdir()
  for name in os.listdir(nested.parent):
    if name.endswith(".jpg"):
      os.rename(nested.parent / name, nested / name)
  splits = celeba.read_celeba(str(tmp_path))
  assert splits.sizes == {"train": 4, "validation": 2, "test": 3}


def test_max_train_examples(tmp_path):
  write_celeba(tmp_path)
  splits = data.load_splits("celeba", str(tmp_path), (64, 64, 3),
                            max_train_examples=2)
  assert splits.sizes["train"] == 2 and len(list(splits.train)) == 2


def test_wrong_preset_is_rejected(tmp_path):
  write_celeba(tmp_path)
  with pytest.raises(DataError, match=r"\(64, 64, 3\).*preset expects"):
    data.load_splits("celeba", str(tmp_path), (32, 32, 3))


def test_data_dir_required():
  with pytest.raises(DataError, match="needs --data_dir.*img_align_celeba"):
    celeba.read_celeba(None)


def test_missing_directory(tmp_path):
  with pytest.raises(DataError, match="absent is not a directory"):
    celeba.read_celeba(str(tmp_path / "absent"))


def test_missing_partition_list(tmp_path):
  write_celeba(tmp_path)
  os.remove(tmp_path / "list_eval_partition.txt")
  with pytest.raises(DataError, match="no CelebA in .*list_eval_partition"):
    celeba.read_celeba(str(tmp_path))


@pytest.mark.parametrize("bad_line", [
    "000003.jpg", "000003.jpg 3", "000003.png 0", "000003.jpg 0 extra"])
def test_malformed_line_is_numbered(tmp_path, bad_line):
  write_celeba(tmp_path)
  path = tmp_path / "list_eval_partition.txt"
  lines = path.read_text().splitlines()
  lines[2] = bad_line
  path.write_text("\n".join(lines))
  with pytest.raises(DataError, match="list_eval_partition.txt line 3 is"):
    celeba.read_celeba(str(tmp_path))


def test_duplicate_line(tmp_path):
  write_celeba(tmp_path)
  path = tmp_path / "list_eval_partition.txt"
  path.write_text(path.read_text() + "000001.jpg 2\n")
  with pytest.raises(DataError, match="line 10 lists 000001.jpg a second"):
    celeba.read_celeba(str(tmp_path))


def test_empty_split(tmp_path):
  write_celeba(tmp_path, partitions=(0, 0, 2))
  with pytest.raises(DataError, match=r"no image in the validation split"):
    celeba.read_celeba(str(tmp_path))


def test_missing_images_are_counted_and_named(tmp_path):
  image_dir = write_celeba(tmp_path)
  for name in ("000002.jpg", "000005.jpg", "000009.jpg"):
    os.remove(image_dir / name)
  with pytest.raises(
      DataError,
      match="3 images named in the partition list are missing from .*"
      "000002.jpg, 000005.jpg, 000009.jpg"):
    celeba.read_celeba(str(tmp_path))


def test_corrupt_first_image_is_named(tmp_path):
  image_dir = write_celeba(tmp_path)
  path = image_dir / "000005.jpg"  # first of the validation split
  path.write_bytes(path.read_bytes()[:300])
  with pytest.raises(DataError, match="000005.jpg is not a readable JPEG"):
    celeba.read_celeba(str(tmp_path))


def test_not_a_jpeg_is_named(tmp_path):
  image_dir = write_celeba(tmp_path)
  (image_dir / "000001.jpg").write_text("not an image")
  with pytest.raises(DataError, match="000001.jpg is not a readable JPEG"):
    celeba.read_celeba(str(tmp_path))


def test_too_small_image_is_named(tmp_path):
  image_dir = write_celeba(tmp_path)
  write_jpeg(image_dir / "000007.jpg", np.zeros((100, 120, 3), np.uint8))
  with pytest.raises(DataError, match="000007.jpg is 120x100, smaller than"):
    celeba.read_celeba(str(tmp_path))


def test_verify_images_finds_every_bad_file(tmp_path):
  image_dir = write_celeba(tmp_path)
  for name in ("000003.jpg", "000008.jpg"):
    (image_dir / name).write_bytes(b"\xff\xd8 truncated")
  paths = sorted(str(image_dir / name) for name in os.listdir(image_dir))
  with pytest.raises(DataError, match="2 of 9 JPEGs .*000003.jpg, .*000008"):
    celeba.verify_images(paths)
