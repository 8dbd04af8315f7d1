"""--dataset=npz: images in a NumPy .npz file, the keras.datasets layout.

--data_dir is the file, as `numpy.savez(path, x_train=..., x_test=...)` (or
`savez_compressed`) writes it:

    x_train  (N, H, W) or (N, H, W, C) with C = 1 or 3;
             uint8 in 0..255, or floats in [0, 1]
    x_test   optional; the same layout (its own H, W)

Other arrays (y_train, ...) are ignored; pickled (object) arrays are refused.

Splits: --validation_fraction of x_train is held out for validation, and
without x_test --test_fraction more for testing, by a seed of their own (not
--seed; `readers/holdout.py`). Images are standardised as the folder reader's
(`readers/images.py`): grey <-> RGB by --channels, centre crop, antialiased
bilinear resize to --image_size; smaller images are enlarged (bilinear), with
a warning. keras.datasets' 28x28 MNIST digits at --image_size=32 are thus
enlarged, not zero-padded as --dataset=mnist does.

Memory: each array is loaded whole (an .npz member cannot be memory-mapped)
and kept as one tensor of its own dtype (uint8: one byte a value); images are
converted and resized one at a time as tf.data reaches them, and the training
split is shuffled as indices, before that.
"""

from __future__ import annotations

import os
import zipfile
from typing import Optional

from absl import logging
import numpy as np
import tensorflow as tf

from rae_tf.data import SPLITS, DataError, ReadOptions, Splits
from rae_tf.readers import holdout
from rae_tf.readers import images

_ZIP_MAGIC = b"PK"  # an .npz is a zip archive of .npy files
_NPY_MAGIC = b"\x93NUMPY"
_SAVE_IT = ("write it with numpy.savez(path, x_train=images[, x_test=...]), "
            "images (N, H, W[, C]) uint8 0..255 or floats in [0, 1]")


def _open(data_dir: Optional[str]) -> np.lib.npyio.NpzFile:
  """The .npz file, checked to be one and to hold x_train."""
  if data_dir is None:
    raise DataError(f"--dataset=npz needs --data_dir=<file>.npz; {_SAVE_IT}")
  if os.path.isdir(data_dir):
    raise DataError(
        f"--data_dir {data_dir} is a directory; --dataset=npz reads one .npz "
        "file: pass the file (for a folder of images use --dataset=folder)")
  if not os.path.isfile(data_dir):
    raise DataError(f"--data_dir {data_dir} does not exist; pass the .npz "
                    "file")
  with open(data_dir, "rb") as f:
    magic = f.read(len(_NPY_MAGIC))
  if magic.startswith(_NPY_MAGIC):
    raise DataError(f"{data_dir} holds a single array (.npy format), not "
                    f"named arrays; {_SAVE_IT}")
  if not magic.startswith(_ZIP_MAGIC):
    raise DataError(f"{data_dir} is not an .npz file (it starts with "
                    f"{magic!r}, not a zip archive's {_ZIP_MAGIC!r}); "
                    f"{_SAVE_IT}")
  try:
    loaded = np.load(data_dir, allow_pickle=False)
  except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
    raise DataError(f"{data_dir} is not a readable .npz file ({e}): it is "
                    f"truncated or corrupt; {_SAVE_IT}") from e
  if "x_train" not in loaded.files:
    loaded.close()
    raise DataError(
        f"{data_dir} has no x_train array (it has: "
        f"{', '.join(loaded.files) or 'no arrays'}); {_SAVE_IT}")
  return loaded


def _check_layout(shape: tuple[int, ...], dtype: np.dtype, key: str,
                  path: str) -> None:
  """Raises DataError unless `shape` / `dtype` are images as documented."""
  if len(shape) not in (3, 4):
    raise DataError(f"{path}: {key} has shape {shape}; expected images "
                    "(N, H, W) or (N, H, W, C)")
  if len(shape) == 4 and shape[-1] not in (1, 3):
    raise DataError(f"{path}: {key} has shape {shape}, {shape[-1]} channels;"
                    " expected 1 (grey) or 3 (RGB), last")
  if min(shape[:3]) == 0:
    raise DataError(f"{path}: {key} has shape {shape}: no images")
  if dtype != np.uint8 and not np.issubdtype(dtype, np.floating):
    raise DataError(
        f"{path}: {key} is {dtype}; expected uint8 0..255 or floats in "
        "[0, 1]: convert it with x.astype(np.uint8) or x / 255")


def _read_array(npz: np.lib.npyio.NpzFile, key: str,
                path: str) -> np.ndarray:
  """`npz[key]` as (N, H, W, C), checked (values too)."""
  try:
    array = npz[key]
  except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
    raise DataError(f"cannot read {key} from {path} ({e}); {_SAVE_IT}"
                    ) from e
  _check_layout(array.shape, array.dtype, key, path)
  if array.dtype != np.uint8:
    low, high = array.min(), array.max()
    if not (0 <= low and high <= 1):  # also catches NaN
      raise DataError(
          f"{path}: {key} is {array.dtype} with values in [{low:g}, "
          f"{high:g}]; expected floats in [0, 1] (or uint8 0..255): divide "
          "by 255 or rescale before saving")
  return array if array.ndim == 4 else array[..., np.newaxis]


def native_channels(data_dir: Optional[str]) -> int:
  """1 or 3: the channels of x_train, read from its header only. Logged.

  Raises:
    DataError: as `read_npz`, for the file and x_train's layout.
  """
  with _open(data_dir) as npz, npz.zip.open("x_train.npy") as f:
    version = np.lib.format.read_magic(f)
    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                   else np.lib.format.read_array_header_2_0)
    shape, _, dtype = read_header(f)
  _check_layout(shape, dtype, "x_train", data_dir)
  channels = 1 if len(shape) == 3 else shape[-1]
  logging.info("--channels unset: x_train of %s is %s: --channels=%d",
               data_dir, shape, channels)
  return channels


def read_npz(data_dir: Optional[str], options: ReadOptions) -> Splits:
  """Streams the arrays of an .npz file as the module docstring says.

  Args:
    data_dir: the .npz file.
    options: `image_size` and `channels` (required) and the fractions.

  Returns:
    Splits of (N, N, C) float32 images in [0, 1]; the training split also
    as shuffleable indices (`Splits.train_sources`).

  Raises:
    DataError: not an .npz file, no x_train, a wrong shape or dtype, values
      out of range, or too few images for the splits.
  """
  with _open(data_dir) as npz:
    arrays = {"x_train": _read_array(npz, "x_train", data_dir)}
    if "x_test" in npz.files:
      arrays["x_test"] = _read_array(npz, "x_test", data_dir)
  fractions = {"validation": options.validation_fraction}
  if "x_test" not in arrays:
    fractions["test"] = options.test_fraction
  indices = holdout.fraction_split(len(arrays["x_train"]), fractions,
                                   data_dir)
  if "x_test" in arrays:
    indices["test"] = np.arange(len(arrays["x_test"]))
  for key, array in arrays.items():
    if min(array.shape[1:3]) < options.image_size:
      logging.warning(
          "%s: %s images are %dx%d, smaller than %dx%d; they are enlarged "
          "(bilinear), which blurs them", data_dir, key, array.shape[2],
          array.shape[1], options.image_size, options.image_size)
  logging.info("npz %s: %d / %d / %d images (train / validation / test); "
               "%s held out of x_train (seed %d, not --seed)", data_dir,
               *(len(indices[name]) for name in SPLITS),
               " and ".join(fractions), holdout.SPLIT_SEED)

  def decoder(array: np.ndarray):
    pixels = tf.constant(array)  # (N, H, W, C), the file's dtype
    scale = 1.0 / 255 if array.dtype == np.uint8 else 1.0

    def decode(index):
      image = tf.cast(tf.gather(pixels, index), tf.float32) * scale
      return images.standardize(image, options.image_size, options.channels)

    return decode

  decode_train = decoder(arrays["x_train"])
  decode = {"train": decode_train, "validation": decode_train,
            "test": decoder(arrays["x_test"]) if "x_test" in arrays
                    else decode_train}
  sources = {name: tf.data.Dataset.from_tensor_slices(indices[name])
             for name in SPLITS}
  return Splits(
      sizes={name: len(indices[name]) for name in SPLITS},
      train_sources=sources["train"], decode=decode_train,
      **{name: sources[name].map(decode[name],
                                 num_parallel_calls=tf.data.AUTOTUNE)
         for name in SPLITS})
