"""CIFAR-10 reader: the standard python pickles or the binary batches.

Reads either layout of https://www.cs.toronto.edu/~kriz/cifar.html, extracted:

* `cifar-10-batches-py/`: `data_batch_1` .. `data_batch_5`, `test_batch`;
  each a Python-2 pickle of a dict whose `b"data"` is an (N, 3072) uint8 array
  (1024 red, then 1024 green, then 1024 blue values, each a row-major 32x32
  plane) and whose `b"labels"` lists N ints.
* `cifar-10-batches-bin/`: `data_batch_1.bin` .. `data_batch_5.bin`,
  `test_batch.bin`; records of 1 label byte + 3072 pixel bytes, same order.

`--data_dir` may be the batches directory itself or its parent. The pickles
are loaded with an unpickler that only allows the numpy classes the real files
use, so a stray pickle in that directory cannot run code.
"""

from __future__ import annotations

import io
import os
import pickle
from typing import Optional

import numpy as np

from rae_tf.data import DataError, ReadOptions, SplitArrays
from rae_tf.readers.holdout import hold_out_validation

TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
PY_DIR = "cifar-10-batches-py"
BIN_DIR = "cifar-10-batches-bin"
IMAGE_BYTES = 32 * 32 * 3
_RECORD_BYTES = 1 + IMAGE_BYTES  # label byte + pixels in the .bin batches

# Fixed seed of the validation hold-out, independent of --seed, so every run
# validates on the same 5,000 training images.
_SPLIT_SEED = 0
VALIDATION_SIZE = 5000

_GET_IT = ("download cifar-10-python.tar.gz (or cifar-10-binary.tar.gz) from "
           "https://www.cs.toronto.edu/~kriz/cifar.html, extract it and pass "
           "--data_dir=<the folder holding cifar-10-batches-py>")

# The globals a CIFAR-10 pickle may name: numpy's array rebuilders (under
# their numpy 1 and 2 module names) and, for pickles re-saved by Python 3,
# the codec that protocol 2 uses for bytes.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _BatchUnpickler(pickle.Unpickler):
  """Unpickler that refuses every global except numpy's array rebuilders."""

  def find_class(self, module, name):
    if (module, name) not in _ALLOWED_GLOBALS:
      raise pickle.UnpicklingError(
          f"refusing to load {module}.{name}, which no CIFAR-10 batch uses")
    if module.startswith("numpy.core."):  # numpy 2 renamed numpy.core
      module = "numpy._core." + module[len("numpy.core."):]
    return super().find_class(module, name)


def _to_images(rows: np.ndarray) -> np.ndarray:
  """(N, 3072) channel-major rows -> (N, 32, 32, 3) uint8 images."""
  return np.ascontiguousarray(
      rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))


def read_pickle_batch(path: str) -> np.ndarray:
  """Reads one `cifar-10-batches-py` file.

  Args:
    path: e.g. `.../cifar-10-batches-py/data_batch_1`.

  Returns:
    (N, 32, 32, 3) uint8 images.

  Raises:
    DataError: unreadable, truncated or not a CIFAR-10 pickle.
  """
  try:
    with open(path, "rb") as f:
      data = f.read()
    batch = _BatchUnpickler(io.BytesIO(data), encoding="bytes").load()
  except OSError as e:
    raise DataError(f"cannot read {path}: {e}; {_GET_IT}") from e
  except Exception as e:  # pickle raises many types on corrupt input
    raise DataError(
        f"{path} is not a readable CIFAR-10 pickle ({type(e).__name__}: {e}); "
        f"the file is truncated or corrupt, re-extract it ({_GET_IT})") from e
  rows = batch.get(b"data", batch.get("data")) if isinstance(
      batch, dict) else None
  if not isinstance(rows, np.ndarray):
    raise DataError(
        f"{path} is a pickle but holds no b'data' array (got "
        f"{type(batch).__name__}); {_GET_IT}")
  if rows.dtype != np.uint8 or rows.ndim != 2 or rows.shape[1] != IMAGE_BYTES:
    raise DataError(
        f"{path}: b'data' is {rows.dtype} {rows.shape}, expected uint8 "
        f"(N, {IMAGE_BYTES}); this is not a CIFAR-10 batch")
  return _to_images(rows)


def read_binary_batch(path: str) -> np.ndarray:
  """Reads one `cifar-10-batches-bin` file.

  Args:
    path: e.g. `.../cifar-10-batches-bin/data_batch_1.bin`.

  Returns:
    (N, 32, 32, 3) uint8 images.

  Raises:
    DataError: unreadable file or a size that is not whole records.
  """
  try:
    data = np.fromfile(path, np.uint8)
  except OSError as e:
    raise DataError(f"cannot read {path}: {e}; {_GET_IT}") from e
  if data.size == 0 or data.size % _RECORD_BYTES:
    raise DataError(
        f"{path} has {data.size} bytes, not a whole number of "
        f"{_RECORD_BYTES}-byte records; the file is truncated or corrupt, "
        f"re-extract it ({_GET_IT})")
  return _to_images(data.reshape(-1, _RECORD_BYTES)[:, 1:])


def _find_batches(data_dir: str) -> tuple[str, str]:
  """Returns (directory, "py" | "bin") of the batches under `data_dir`."""
  for directory in (data_dir, os.path.join(data_dir, PY_DIR),
                    os.path.join(data_dir, BIN_DIR)):
    for kind, suffix in (("py", ""), ("bin", ".bin")):
      if os.path.isfile(os.path.join(directory, TRAIN_FILES[0] + suffix)):
        return directory, kind
  raise DataError(
      f"no CIFAR-10 batches in {data_dir} (looked for {TRAIN_FILES[0]} and "
      f"{TRAIN_FILES[0]}.bin there and in {PY_DIR}/, {BIN_DIR}/); {_GET_IT}")


def read_cifar10(data_dir: Optional[str],
                 options: ReadOptions = ReadOptions(),
                 validation_size: int = VALIDATION_SIZE) -> SplitArrays:
  """Reads CIFAR-10: 45,000 / 5,000 / 10,000 images.

  The validation split is `validation_size` training images held out after a
  fixed permutation, disjoint from the training split
  (`options.validation_fraction` of them for sets under 10 x that size,
  `holdout.hold_out_validation`); the test split is `test_batch`.

  Args:
    data_dir: folder holding `cifar-10-batches-py/` or `-bin/`, or either
      batches folder itself. Required: there is no system-wide copy.
    options: the reader options; only `validation_fraction` applies.
    validation_size: training images held out for validation.

  Returns:
    SplitArrays of (N, 32, 32, 3) uint8 images.

  Raises:
    DataError: missing directory or batch file, corrupt batch, too few images.
  """
  if data_dir is None:
    raise DataError(f"CIFAR-10 needs --data_dir: {_GET_IT}")
  if not os.path.isdir(data_dir):
    raise DataError(f"--data_dir {data_dir} is not a directory; {_GET_IT}")
  directory, kind = _find_batches(data_dir)
  suffix, read = ("", read_pickle_batch) if kind == "py" else (
      ".bin", read_binary_batch)
  names = [name + suffix for name in (*TRAIN_FILES, TEST_FILE)]
  missing = [n for n in names if not os.path.isfile(os.path.join(directory, n))]
  if missing:
    raise DataError(
        f"{directory} lacks {', '.join(missing)} of the CIFAR-10 batches "
        f"{', '.join(names)}; re-extract the archive ({_GET_IT})")
  train = np.concatenate(
      [read(os.path.join(directory, n)) for n in names[:-1]])
  test = read(os.path.join(directory, names[-1]))
  return hold_out_validation(train, test, validation_size, directory,
                             _SPLIT_SEED, options.validation_fraction)
