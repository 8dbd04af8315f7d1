"""CelebA reader: aligned JPEGs streamed through tf.data, never held in memory.

Expects the official layout (https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html)
in `--data_dir` or `--data_dir/celeba` (torchvision's layout):

    img_align_celeba/000001.jpg ... 202599.jpg   (178 wide x 218 high)
    list_eval_partition.txt                      lines "000001.jpg 0"

Partition 0 / 1 / 2 is train / validation / test (162,770 / 19,867 / 19,962
images). Kaggle's copy (`list_eval_partition.csv` with an "image_id,partition"
header, images in `img_align_celeba/img_align_celeba/`) is read too.

Each image is centre-cropped to 140x140 and resized to 64x64 (the WAE / RAE
papers' preprocessing), here with an antialiased bilinear filter.

Checks before any streaming: the partition file parses, every image it names is
in the image directory, no split is empty, and the first image of each split
decodes and is at least 140x140. A corrupt JPEG further in is only found when
tf.data reaches it, with TensorFlow's own error (InvalidArgumentError naming
the JPEG decode op); `verify_images` decodes every file to find such files up
front (minutes for the full set).
"""

from __future__ import annotations

import os
from typing import Mapping, Optional, Sequence

from absl import logging
import tensorflow as tf

from rae_tf.data import SPLITS, DataError, ReadOptions, Splits

IMAGE_DIR = "img_align_celeba"
PARTITION_FILES = ("list_eval_partition.txt", "list_eval_partition.csv")
CROP_SIZE = 140
IMAGE_SIZE = 64
OFFICIAL_SIZES = {"train": 162_770, "validation": 19_867, "test": 19_962}
_MAX_LISTED = 5  # missing / corrupt files named in an error message
_RESIZE_BATCH = 32  # crops resized per call in `images_dataset`

_GET_IT = ("download img_align_celeba.zip and list_eval_partition.txt from "
           "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html, unzip the "
           "images next to the list and pass --data_dir=<that folder>")


def find_files(data_dir: str) -> tuple[str, str]:
  """Returns (image directory, partition file) of the CelebA copy in `data_dir`.

  Args:
    data_dir: the folder holding `img_align_celeba/` and the partition list,
      or its parent when they sit in a `celeba/` subfolder.

  Raises:
    DataError: no such layout under `data_dir`.
  """
  for root in (data_dir, os.path.join(data_dir, "celeba")):
    images = os.path.join(root, IMAGE_DIR)
    partitions = [os.path.join(root, name) for name in PARTITION_FILES]
    partitions = [path for path in partitions if os.path.isfile(path)]
    if os.path.isdir(images) and partitions:
      nested = os.path.join(images, IMAGE_DIR)  # Kaggle's double folder
      return (nested if os.path.isdir(nested) else images), partitions[0]
  raise DataError(
      f"no CelebA in {data_dir}: expected {IMAGE_DIR}/ and "
      f"{PARTITION_FILES[0]} there or in {data_dir}/celeba; {_GET_IT}")


def read_partition(path: str) -> dict[str, list[str]]:
  """Parses `list_eval_partition.txt` (or Kaggle's .csv).

  Args:
    path: the partition list: one "<file>.jpg <0|1|2>" per line (comma
      separated in the .csv, after an "image_id,partition" header).

  Returns:
    Split name -> image file names, in file order.

  Raises:
    DataError: unreadable file, malformed line (named by number), a file
      listed twice, or an empty split.
  """
  try:
    with open(path, encoding="utf-8") as f:
      lines = f.read().splitlines()
  except (OSError, UnicodeDecodeError) as e:
    raise DataError(f"cannot read {path}: {e}; {_GET_IT}") from e
  names = {name: [] for name in SPLITS}
  seen = set()
  for number, line in enumerate(lines, start=1):
    fields = line.replace(",", " ").split()
    if not fields or (number == 1 and fields == ["image_id", "partition"]):
      continue
    if (len(fields) != 2 or not fields[0].lower().endswith(".jpg")
        or fields[1] not in ("0", "1", "2")):
      raise DataError(
          f"{path} line {number} is {line[:80]!r}; expected "
          "'<name>.jpg <0|1|2>' (0 train, 1 validation, 2 test); "
          "re-download the file")
    if fields[0] in seen:
      raise DataError(f"{path} line {number} lists {fields[0]} a second time;"
                      " re-download the file")
    seen.add(fields[0])
    names[SPLITS[int(fields[1])]].append(fields[0])
  for split, files in names.items():
    if not files:
      raise DataError(f"{path} puts no image in the {split} split (partition "
                      f"{SPLITS.index(split)}); re-download the file")
  return names


def check_listed_images_exist(image_dir: str,
                              names: Mapping[str, Sequence[str]]) -> None:
  """Raises DataError naming the listed images absent from `image_dir`."""
  try:
    present = set(os.listdir(image_dir))  # one call, not one stat per file
  except OSError as e:
    raise DataError(f"cannot list {image_dir}: {e}; {_GET_IT}") from e
  missing = [name for files in names.values() for name in files
             if name not in present]
  if missing:
    raise DataError(
        f"{len(missing)} images named in the partition list are missing from "
        f"{image_dir}, e.g. {', '.join(missing[:_MAX_LISTED])}; unzip the "
        "whole img_align_celeba.zip there")


def check_image(path: str) -> None:
  """Decodes one JPEG in Python; raises DataError naming it if it fails.

  Args:
    path: a JPEG file.

  Raises:
    DataError: unreadable or corrupt JPEG, or one smaller than the 140x140
      crop.
  """
  try:
    data = tf.io.read_file(path)
    height, width, _ = tf.io.decode_jpeg(data, channels=3).shape
  except (tf.errors.OpError, ValueError) as e:
    message = str(e).splitlines()[0] if str(e) else type(e).__name__
    raise DataError(f"{path} is not a readable JPEG ({message}); the file is "
                    f"truncated or corrupt, re-extract it ({_GET_IT})") from e
  if height < CROP_SIZE or width < CROP_SIZE:
    raise DataError(
        f"{path} is {width}x{height}, smaller than the {CROP_SIZE}x"
        f"{CROP_SIZE} centre crop; use the aligned images (img_align_celeba,"
        " 178x218)")


def verify_images(paths: Sequence[str]) -> None:
  """Decodes every JPEG (slow: minutes for all of CelebA) to find bad files.

  Args:
    paths: JPEG files.

  Raises:
    DataError: naming the corrupt or too small files and their count.
  """
  bad = []
  for path in paths:
    try:
      check_image(path)
    except DataError:
      bad.append(path)
  if bad:
    raise DataError(
        f"{len(bad)} of {len(paths)} JPEGs do not decode or are too small, "
        f"e.g. {', '.join(bad[:_MAX_LISTED])}; re-extract them ({_GET_IT})")


def decode_crop(path: tf.Tensor) -> tf.Tensor:
  """Decodes the centred 140x140 window of one JPEG.

  `decode_and_crop_jpeg` skips the inverse DCT and colour conversion outside
  the window; the entropy decoding still reads the whole file.

  Args:
    path: scalar string tensor, a JPEG file of at least 140x140.

  Returns:
    (140, 140, 3) uint8.
  """
  data = tf.io.read_file(path)
  shape = tf.io.extract_jpeg_shape(data)  # (height, width, channels)
  window = tf.stack([(shape[0] - CROP_SIZE) // 2, (shape[1] - CROP_SIZE) // 2,
                     CROP_SIZE, CROP_SIZE])
  crop = tf.io.decode_and_crop_jpeg(data, window, channels=3)
  return tf.ensure_shape(crop, (CROP_SIZE, CROP_SIZE, 3))


def resize(crops: tf.Tensor) -> tf.Tensor:
  """Antialiased bilinear resize of crops to 64x64, scaled to [0, 1].

  Args:
    crops: (..., 140, 140, 3) uint8, one image or a batch.

  Returns:
    (..., 64, 64, 3) float32 in [0, 1].
  """
  images = tf.image.resize(crops, (IMAGE_SIZE, IMAGE_SIZE), method="bilinear",
                           antialias=True)  # float32 in [0, 255]
  return tf.clip_by_value(images / 255.0, 0.0, 1.0)


def decode_image(path: tf.Tensor) -> tf.Tensor:
  """Reads one aligned CelebA JPEG as a (64, 64, 3) float32 image in [0, 1]."""
  return resize(decode_crop(path))


def images_dataset(paths: Sequence[str]) -> tf.data.Dataset:
  """Streams JPEG files as (64, 64, 3) float32 images, in the given order.

  Crops are resized `_RESIZE_BATCH` at a time: the antialiased resize costs
  about as much per call as per pixel at this size, so batching it doubles
  the images/s (benchmarks/input_pipeline.py). The result is the same as
  `decode_image` on each path.
  """
  return (tf.data.Dataset.from_tensor_slices(list(paths))
          .map(decode_crop, num_parallel_calls=tf.data.AUTOTUNE)
          .batch(_RESIZE_BATCH)
          .map(resize, num_parallel_calls=tf.data.AUTOTUNE)
          .unbatch())


def read_celeba(data_dir: Optional[str],
                options: ReadOptions = ReadOptions()) -> Splits:
  """Streams CelebA's official train / validation / test splits.

  Args:
    data_dir: folder of `img_align_celeba/` and `list_eval_partition.txt`.
      Required: there is no system-wide copy.
    options: unused: CelebA's splits and size are fixed.

  Returns:
    Splits of (64, 64, 3) float32 images in [0, 1], sizes from the list.

  Raises:
    DataError: missing directory, partition list or listed image, malformed
      list, empty split, or a first image per split that does not decode.
  """
  if data_dir is None:
    raise DataError(f"CelebA needs --data_dir: {_GET_IT}")
  if not os.path.isdir(data_dir):
    raise DataError(f"--data_dir {data_dir} is not a directory; {_GET_IT}")
  image_dir, partition_file = find_files(data_dir)
  names = read_partition(partition_file)
  check_listed_images_exist(image_dir, names)
  paths = {split: [os.path.join(image_dir, name) for name in files]
           for split, files in names.items()}
  for split in SPLITS:
    check_image(paths[split][0])
  sizes = {split: len(paths[split]) for split in SPLITS}
  if sizes != OFFICIAL_SIZES:
    logging.warning("CelebA split sizes %s differ from the official %s (%s): "
                    "results are not comparable with published ones",
                    sizes, OFFICIAL_SIZES, partition_file)
  return Splits(sizes=sizes,
                **{split: images_dataset(paths[split]) for split in SPLITS})
