"""Tests of rae_tf/readers/cifar10.py on tiny batches in the real formats."""

import os
import pickle
import struct

import numpy as np
import pytest

from rae_tf import data
from rae_tf.data import DataError
from rae_tf.readers import cifar10


def python2_pickle(batch):
  """Pickles `batch` exactly as the real files are: Python 2, protocol 2.

  Python 3's pickler cannot emit Python-2 `str` (BINSTRING) opcodes nor the
  numpy 1 module name `numpy.core.multiarray`, so the opcodes are written out.

  Args:
    batch: dict of bytes keys -> uint8 ndarray, list of ints / bytes, bytes.

  Returns:
    The pickle's bytes.
  """

  def string(value):  # a Python-2 str
    if len(value) < 256:
      return b"U" + bytes([len(value)]) + value
    return b"T" + struct.pack("<i", len(value)) + value

  def integer(value):
    return b"K" + bytes([value]) if value < 256 else (
        b"J" + struct.pack("<i", value))

  def array(value):  # a 2-D uint8 ndarray.__reduce__ under numpy 1
    rows, cols = value.shape
    return (b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
            + integer(0) + b"\x85" + string(b"b") + b"\x87R("
            + integer(1) + integer(rows) + integer(cols) + b"\x86"
            + b"cnumpy\ndtype\n" + string(b"u1") + integer(0) + integer(1)
            + b"\x87R(" + integer(3) + string(b"|") + b"NNNJ\xff\xff\xff\xff"
            + b"J\xff\xff\xff\xff" + integer(0) + b"tb\x89"
            + string(value.tobytes()) + b"tb")

  def item(value):
    if isinstance(value, np.ndarray):
      return array(value)
    if isinstance(value, bytes):
      return string(value)
    if isinstance(value, list):
      return b"](" + b"".join(item(v) for v in value) + b"e"
    return integer(value)

  body = b"".join(string(k) + item(v) for k, v in batch.items())
  return b"\x80\x02}(" + body + b"u."


def numbered_rows(count, start):
  """(count, 3072) uint8 rows; the first two red values hold the index."""
  rows = np.random.default_rng(start).integers(
      0, 256, (count, cifar10.IMAGE_BYTES), dtype=np.uint8)
  index = np.arange(start, start + count)
  rows[:, 0], rows[:, 1] = index // 256, index % 256
  return rows


def ids(images):
  """The indices written by `numbered_rows`, from (N, 32, 32, 3) images."""
  return {int(a) * 256 + int(b) for a, b in images[:, 0, :2, 0]}


def batch_dict(rows, name):
  return {b"batch_label": name.encode(),
          b"labels": [i % 10 for i in range(len(rows))],
          b"data": rows,
          b"filenames": [f"img_{i}.png".encode() for i in range(len(rows))]}


def write_py_batches(directory, per_batch, test_size=3, python3=False):
  """Writes data_batch_1..5 + test_batch; image indices 0.. then 1000.."""
  os.makedirs(directory, exist_ok=True)
  names = [*cifar10.TRAIN_FILES, cifar10.TEST_FILE]
  for b, name in enumerate(names):
    rows = (numbered_rows(test_size, 1000) if name == cifar10.TEST_FILE
            else numbered_rows(per_batch, b * per_batch))
    batch = batch_dict(rows, name)
    with open(os.path.join(directory, name), "wb") as f:
      f.write(pickle.dumps(batch, protocol=2) if python3
              else python2_pickle(batch))


def write_bin_batches(directory, per_batch, test_size=3):
  os.makedirs(directory, exist_ok=True)
  names = [*cifar10.TRAIN_FILES, cifar10.TEST_FILE]
  for b, name in enumerate(names):
    rows = (numbered_rows(test_size, 1000) if name == cifar10.TEST_FILE
            else numbered_rows(per_batch, b * per_batch))
    labels = np.arange(len(rows), dtype=np.uint8)[:, None] % 10
    with open(os.path.join(directory, name + ".bin"), "wb") as f:
      f.write(np.concatenate([labels, rows], axis=1).tobytes())


def planes_image():
  """One (3072,) row whose R, G, B planes are row index, column, 200."""
  r, c = np.meshgrid(np.arange(32), np.arange(32), indexing="ij")
  return np.concatenate([r.ravel(), c.ravel(), np.full(1024, 200)]).astype(
      np.uint8)


def test_python2_pickle_helper_matches_real_format():
  rows = numbered_rows(2, 0)
  loaded = pickle.loads(python2_pickle(batch_dict(rows, "x")),
                        encoding="bytes")
  np.testing.assert_array_equal(loaded[b"data"], rows)
  assert loaded[b"labels"] == [0, 1] and loaded[b"batch_label"] == b"x"


@pytest.mark.parametrize("python3", [False, True])
def test_pickle_batch_channel_order(tmp_path, python3):
  rows = np.stack([planes_image(), numbered_rows(1, 0)[0]])
  batch = batch_dict(rows, "b")
  path = tmp_path / "data_batch_1"
  path.write_bytes(pickle.dumps(batch, protocol=2) if python3
                   else python2_pickle(batch))
  images = cifar10.read_pickle_batch(str(path))
  assert images.shape == (2, 32, 32, 3) and images.dtype == np.uint8
  r, c = np.meshgrid(np.arange(32), np.arange(32), indexing="ij")
  np.testing.assert_array_equal(images[0, ..., 0], r)  # red: row index
  np.testing.assert_array_equal(images[0, ..., 1], c)  # green: column
  np.testing.assert_array_equal(images[0, ..., 2], 200)  # blue


def test_binary_batch_channel_order(tmp_path):
  path = tmp_path / "data_batch_1.bin"
  path.write_bytes(b"\x07" + planes_image().tobytes())
  image = cifar10.read_binary_batch(str(path))[0]
  r, c = np.meshgrid(np.arange(32), np.arange(32), indexing="ij")
  np.testing.assert_array_equal(image[..., 0], r)
  np.testing.assert_array_equal(image[..., 1], c)
  np.testing.assert_array_equal(image[..., 2], 200)


@pytest.mark.parametrize("layout", ["py", "bin", "py_parent", "bin_parent"])
def test_splits_are_disjoint(tmp_path, layout):
  parent = layout.endswith("_parent")
  kind = layout.split("_")[0]
  directory = tmp_path / f"cifar-10-batches-{kind}" if parent else tmp_path
  (write_py_batches if kind == "py" else write_bin_batches)(directory, 8)
  # 40 training images are 10 x 4: the fixed hold-out applies.
  arrays = cifar10.read_cifar10(str(tmp_path), validation_size=4)
  assert (len(arrays.train), len(arrays.validation), len(arrays.test)) == (
      36, 4, 3)
  assert not ids(arrays.train) & ids(arrays.validation)
  assert ids(arrays.train) | ids(arrays.validation) == set(range(40))
  assert ids(arrays.test) == {1000, 1001, 1002}


def test_validation_split_is_fixed(tmp_path):
  write_bin_batches(tmp_path, 8)
  first = cifar10.read_cifar10(str(tmp_path), validation_size=4)
  second = cifar10.read_cifar10(str(tmp_path), validation_size=4)
  assert ids(first.validation) == ids(second.validation)


def test_load_splits_of_a_small_set_holds_out_5_percent(tmp_path):
  # 40 training images, under 10 x 5,000: 5% (2) instead of 5,000.
  write_py_batches(tmp_path / cifar10.PY_DIR, 8)
  splits = data.load_splits("cifar10", str(tmp_path), (32, 32, 3))
  assert splits.sizes == {"train": 38, "validation": 2, "test": 3}
  images = np.stack(list(splits.train))
  assert images.shape == (38, 32, 32, 3) and images.dtype == np.float32
  assert 0.0 <= images.min() and images.max() <= 1.0
  with pytest.raises(DataError, match=r"preset expects \(32, 32, 1\)"):
    data.load_splits("cifar10", str(tmp_path), (32, 32, 1))


def test_data_dir_required():
  with pytest.raises(DataError, match="needs --data_dir.*cifar-10-python"):
    cifar10.read_cifar10(None)


def test_missing_directory(tmp_path):
  with pytest.raises(DataError, match="absent is not a directory"):
    cifar10.read_cifar10(str(tmp_path / "absent"))


def test_directory_without_batches(tmp_path):
  with pytest.raises(DataError, match="no CIFAR-10 batches in .*data_batch_1"):
    cifar10.read_cifar10(str(tmp_path))


@pytest.mark.parametrize("kind", ["py", "bin"])
def test_missing_batch_is_named(tmp_path, kind):
  (write_py_batches if kind == "py" else write_bin_batches)(tmp_path, 4)
  suffix = "" if kind == "py" else ".bin"
  os.remove(tmp_path / f"data_batch_3{suffix}")
  os.remove(tmp_path / f"test_batch{suffix}")
  with pytest.raises(DataError,
                     match=f"lacks data_batch_3{suffix}, test_batch{suffix}"):
    cifar10.read_cifar10(str(tmp_path), validation_size=2)


def test_truncated_pickle(tmp_path):
  write_py_batches(tmp_path, 4)
  path = tmp_path / "data_batch_2"
  path.write_bytes(path.read_bytes()[:5000])
  with pytest.raises(DataError, match="data_batch_2 is not a readable CIFAR"):
    cifar10.read_cifar10(str(tmp_path), validation_size=2)


def test_truncated_binary_batch(tmp_path):
  write_bin_batches(tmp_path, 4)
  path = tmp_path / "test_batch.bin"
  path.write_bytes(path.read_bytes()[:-10])
  with pytest.raises(DataError, match="test_batch.bin has 9209 bytes.*3073"):
    cifar10.read_cifar10(str(tmp_path), validation_size=2)


def test_pickle_with_other_globals_is_refused(tmp_path):
  path = tmp_path / "data_batch_1"
  path.write_bytes(b"cos\nsystem\n(S'echo hacked'\ntR.")
  with pytest.raises(DataError, match="refusing to load os.system"):
    cifar10.read_pickle_batch(str(path))


def test_pickle_without_data_array(tmp_path):
  path = tmp_path / "data_batch_1"
  path.write_bytes(pickle.dumps({b"labels": [1]}, protocol=2))
  with pytest.raises(DataError, match="holds no b'data' array"):
    cifar10.read_pickle_batch(str(path))


def test_pickle_with_wrong_row_size(tmp_path):
  path = tmp_path / "data_batch_1"
  path.write_bytes(python2_pickle({b"data": np.zeros((2, 784), np.uint8)}))
  with pytest.raises(DataError, match=r"uint8 \(2, 784\).*not a CIFAR-10"):
    cifar10.read_pickle_batch(str(path))


def test_small_set_holds_out_validation_fraction(tmp_path):
  write_bin_batches(tmp_path, 2)  # 10 training images
  arrays = cifar10.read_cifar10(str(tmp_path))
  assert (len(arrays.train), len(arrays.validation)) == (9, 1)  # at least 1
  arrays = cifar10.read_cifar10(str(tmp_path), data.ReadOptions(
      validation_fraction=0.3))
  assert (len(arrays.train), len(arrays.validation)) == (7, 3)
  assert not ids(arrays.train) & ids(arrays.validation)
