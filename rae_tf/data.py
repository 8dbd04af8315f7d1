"""Bytes on disk -> normalised, batched `tf.data.Dataset`s; knows no models.

`load_splits(dataset, data_dir, image_shape)` returns train / validation / test
datasets of single images, (H, W, C) float32 in [0, 1], padded to the preset's
`image_shape` (MNIST 28x28 -> 32x32 with a 2-pixel zero border, as the paper).
`training_batches` turns the training split into batches shuffled once per
epoch with a seed of its own (resumable); `batched` batches a split for
evaluation. The readers of the standard file formats and of the user's own
images (`folder`, `npz`) live in `rae_tf/readers/` and are registered in
`READERS`; each raises `DataError` with a one-line message naming the file
and the fix. Splits the files do not define are cut by fixed seeds, never by
--seed (`readers/holdout.py`).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
from typing import Callable, Mapping, Optional, Sequence

import numpy as np
import tensorflow as tf

from rae_tf import errors

SPLITS = ("train", "validation", "test")
_MAX_PAD = 4  # pixels of zero border `load_splits` may add per dimension


class DataError(errors.UserError, ValueError):
  """A dataset file or directory is missing, corrupt or of the wrong shape."""


@dataclasses.dataclass(frozen=True)
class SplitArrays:
  """In-memory splits: (N, H, W, C) uint8 arrays."""

  train: np.ndarray
  validation: np.ndarray
  test: np.ndarray


@dataclasses.dataclass(frozen=True)
class Splits:
  """Datasets of single (H, W, C) float32 images in [0, 1], plus their sizes.

  Streamed readers may also give the training split as per-image sources
  (file paths, indices) and `decode`, `train == train_sources.map(decode)`:
  `training_batches` then shuffles all the sources each epoch before
  decoding, not a buffer of 10,000 decoded images (1.8 GiB at 128x128x3).
  """

  train: tf.data.Dataset
  validation: tf.data.Dataset
  test: tf.data.Dataset
  sizes: Mapping[str, int]
  train_sources: Optional[tf.data.Dataset] = None
  decode: Optional[Callable[[tf.Tensor], tf.Tensor]] = None


@dataclasses.dataclass(frozen=True)
class ReadOptions:
  """What a reader may use besides its directory: the flags of these names.

  `image_size` (N of N x N) and `channels` are what the user-data readers
  produce; the fractions apply where the files define no such split.
  """

  image_size: Optional[int] = None
  channels: Optional[int] = None
  validation_fraction: float = 0.05
  test_fraction: float = 0.05
  skip_bad_images: bool = False


def _to_unit_float(image: tf.Tensor) -> tf.Tensor:
  return tf.cast(image, tf.float32) / 255.0  # (H, W, C) in [0, 1]


def splits_from_arrays(arrays: SplitArrays) -> Splits:
  """Wraps uint8 arrays as datasets that convert to [0, 1] floats lazily."""
  datasets, sizes = {}, {}
  for name in SPLITS:
    images = getattr(arrays, name)
    if len(images) == 0:
      raise DataError(f"the {name} split is empty; check the data files")
    datasets[name] = tf.data.Dataset.from_tensor_slices(images).map(
        _to_unit_float, num_parallel_calls=tf.data.AUTOTUNE)
    sizes[name] = len(images)
  return Splits(sizes=sizes, **datasets)


def _lazy_reader(module: str, function: str) -> Callable[..., object]:
  """`rae_tf.readers.<module>.<function>`, imported on first call.

  The readers import this module (for `DataError`, `SplitArrays`, `Splits`),
  so they cannot be imported at the top of it.
  """

  def read(*args):
    reader = getattr(importlib.import_module(f"rae_tf.readers.{module}"),
                     function)
    return reader(*args)

  read.__name__ = read.__qualname__ = function
  return read


# dataset name -> reader(data_dir or None, ReadOptions) -> SplitArrays |
# Splits. None = the reader's default: the embedded 5k MNIST digits, Debian's
# /usr/share/datasets/fashion-mnist; the others need a --data_dir.
READERS: dict[str, Callable[[Optional[str], ReadOptions],
                            SplitArrays | Splits]] = {
    "mnist": _lazy_reader("mnist", "read_mnist"),
    "fashion_mnist": _lazy_reader("mnist", "read_fashion_mnist"),
    "cifar10": _lazy_reader("cifar10", "read_cifar10"),
    "celeba": _lazy_reader("celeba", "read_celeba"),
    "folder": _lazy_reader("folder", "read_folder"),
    "npz": _lazy_reader("npz", "read_npz"),
}
# The user-data readers' own channel count, for --channels left unset:
# dataset name -> probe(data_dir) -> 1 or 3.
CHANNEL_PROBES: dict[str, Callable[[Optional[str]], int]] = {
    "folder": _lazy_reader("folder", "majority_channels"),
    "npz": _lazy_reader("npz", "native_channels"),
}
# What a reader reads when data_dir is None (the readers use these paths),
# for titles and logs.
DEFAULT_SOURCES = {
    "mnist": "embedded",
    "fashion_mnist": "/usr/share/datasets/fashion-mnist",
}


def native_channels(dataset: str, data_dir: Optional[str]) -> int:
  """1 or 3: the channel count of user data (`CHANNEL_PROBES`), logged.

  Raises:
    DataError: what the reader raises for a missing or unreadable source.
    ValueError: `dataset` has no probe.
  """
  if dataset not in CHANNEL_PROBES:
    raise ValueError(f"only {sorted(CHANNEL_PROBES)} have a native channel "
                     f"count; got {dataset!r}")
  return CHANNEL_PROBES[dataset](data_dir)


def _pad_or_check(splits: Splits, image_shape: Sequence[int],
                  dataset: str) -> Splits:
  """Zero-pads slightly smaller images to `image_shape`; rejects the rest.

  Only a border of up to `_MAX_PAD` pixels per dimension is added (MNIST's
  28 -> 32): a much smaller image means the wrong files, not a padding job.
  """
  height, width, channels = image_shape
  found = tuple(splits.train.element_spec.shape)
  if (len(found) != 3 or found[2] != channels
      or not 0 <= height - found[0] <= _MAX_PAD
      or not 0 <= width - found[1] <= _MAX_PAD):
    raise DataError(
        f"{dataset} images are {found}, but the preset expects "
        f"{tuple(image_shape)}; check that --data_dir holds {dataset} files")
  if found[:2] == (height, width):
    return splits
  top, left = (height - found[0]) // 2, (width - found[1]) // 2

  def pad(image):
    return tf.image.pad_to_bounding_box(image, top, left, height, width)

  return Splits(sizes=splits.sizes, **{
      name: getattr(splits, name).map(pad, num_parallel_calls=tf.data.AUTOTUNE)
      for name in SPLITS})


def load_splits(dataset: str,
                data_dir: Optional[str],
                image_shape: Sequence[int],
                max_train_examples: Optional[int] = None,
                *,
                validation_fraction: float = 0.05,
                test_fraction: float = 0.05,
                skip_bad_images: bool = False) -> Splits:
  """Reads `dataset` and returns its three splits at `image_shape`.

  Args:
    dataset: key of `READERS`.
    data_dir: directory of the standard files (or the .npz file); None =
      the reader's default.
    image_shape: (H, W, C) expected by the networks; the user-data readers
      produce it (H = W).
    max_train_examples: keep only the first N training images.
    validation_fraction, test_fraction, skip_bad_images: `ReadOptions`
      (`Config.data_options` holds a run's).

  Returns:
    Splits of single images, (H, W, C) float32 in [0, 1].

  Raises:
    DataError: missing / corrupt files, wrong image size, empty split.
    ValueError: unknown dataset.
  """
  if dataset not in READERS:
    raise ValueError(
        f"--dataset must be one of {sorted(READERS)}; got {dataset!r}")
  options = ReadOptions(
      image_size=image_shape[0], channels=image_shape[2],
      validation_fraction=validation_fraction, test_fraction=test_fraction,
      skip_bad_images=skip_bad_images)
  splits = READERS[dataset](data_dir, options)
  if isinstance(splits, SplitArrays):
    if max_train_examples is not None:
      splits = dataclasses.replace(
          splits, train=splits.train[:max_train_examples])
    splits = splits_from_arrays(splits)
  elif max_train_examples is not None:
    sizes = dict(splits.sizes)
    sizes["train"] = min(sizes["train"], max_train_examples)
    sources = splits.train_sources
    if sources is not None:
      sources = sources.take(max_train_examples)
    splits = dataclasses.replace(
        splits, train=splits.train.take(max_train_examples), sizes=sizes,
        train_sources=sources)
  return _pad_or_check(splits, image_shape, dataset)


def batched(images: tf.data.Dataset, batch_size: int) -> tf.data.Dataset:
  """Batches single images in order (evaluation; training: training_batches).

  Args:
    images: dataset of (H, W, C) float32 images.
    batch_size: B.

  Returns:
    Dataset of (B, H, W, C) float32 batches (the last one may be smaller).
  """
  return images.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def epoch_batches(images: tf.data.Dataset,
                  batch_size: int,
                  seed: int,
                  first_epoch: int,
                  epochs: int,
                  shuffle_buffer: int = 10_000,
                  decode: Optional[Callable[[tf.Tensor], tf.Tensor]] = None
                  ) -> tf.data.Dataset:
  """Training batches for epochs `first_epoch .. epochs - 1`, back to back.

  Epoch e is shuffled with seed (seed, e), so its order depends only on the
  seed and the epoch number: a run resumed at epoch e in a new process sees
  the same batches as an uninterrupted one. Batches never straddle epochs;
  pass `steps_per_epoch = ceil(N / batch_size)` to `fit`.

  Args:
    images: dataset of (H, W, C) float32 images.
    batch_size: B.
    seed: base shuffle seed.
    first_epoch: first epoch to produce (0 for a fresh run).
    epochs: one past the last epoch.
    shuffle_buffer: shuffle window, in images.
    decode: if given, `images` holds per-image sources (file paths,
      indices), shuffled before `decode` makes each an image.

  Returns:
    Dataset of (B, H, W, C) float32 batches (the last of each epoch may be
    smaller).
  """
  if first_epoch >= epochs:
    epochs, first_epoch, images = 1, 0, images.take(0)
  parts = []
  for epoch in range(first_epoch, epochs):
    part = images.shuffle(shuffle_buffer, seed=(seed * 1_000_003 + epoch),
                          reshuffle_each_iteration=False)
    if decode is not None:
      part = part.map(decode, num_parallel_calls=tf.data.AUTOTUNE)
    parts.append(part.batch(batch_size))
  return functools.reduce(tf.data.Dataset.concatenate, parts).prefetch(
      tf.data.AUTOTUNE)


def training_batches(splits: Splits, batch_size: int, seed: int,
                     first_epoch: int, epochs: int) -> tf.data.Dataset:
  """`epoch_batches` of the training split, as cheaply as the reader allows.

  Streamed user data (`Splits.train_sources`) is shuffled whole, as file
  paths or indices, before decoding; other splits through a buffer of
  10,000 images.

  Args:
    splits: from `load_splits`.
    batch_size, seed, first_epoch, epochs: as `epoch_batches`.

  Returns:
    Dataset of (B, H, W, C) float32 batches.
  """
  if splits.train_sources is None:
    return epoch_batches(splits.train, batch_size, seed, first_epoch, epochs)
  return epoch_batches(splits.train_sources, batch_size, seed, first_epoch,
                       epochs, shuffle_buffer=max(1, splits.sizes["train"]),
                       decode=splits.decode)
