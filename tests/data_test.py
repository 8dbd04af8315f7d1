"""Tests of rae_tf/data.py: splitting, padding, size checks and batching."""

import numpy as np
import pytest
import tensorflow as tf

from rae_tf import data
from rae_tf.data import DataError, SplitArrays
from rae_tf.readers import holdout


def numbered(count, height=28, width=28, channels=1, start=0):
  """(count, H, W, C) uint8 images; pixel [0, 0, 0] holds start + i."""
  images = np.random.default_rng(start).integers(
      1, 256, (count, height, width, channels), dtype=np.uint8)
  images[:, 0, 0, 0] = np.arange(start, start + count)
  return images


@pytest.fixture
def fake_reader(monkeypatch):
  """Registers `arrays` as the "fake" dataset; returns the setter."""

  def register(arrays):
    monkeypatch.setitem(data.READERS, "fake",
                        lambda data_dir, options: arrays)

  return register


def test_readers_cover_every_dataset():
  from rae_tf import presets  # pylint: disable=g-import-not-at-top
  assert set(presets.DATASET_NAMES) == set(data.READERS)
  assert set(presets.USER_DATASETS) == set(data.CHANNEL_PROBES)


def test_split_arrays_are_consecutive_and_disjoint():
  arrays = holdout.split_arrays(numbered(10), (6, 3, 1))
  assert [a[:, 0, 0, 0].tolist() for a in (
      arrays.train, arrays.validation, arrays.test)] == [
          [0, 1, 2, 3, 4, 5], [6, 7, 8], [9]]


def test_split_arrays_too_many_asked():
  with pytest.raises(DataError, match=r"sizes \(6, 3, 2\) from only 10"):
    holdout.split_arrays(numbered(10), (6, 3, 2))


def test_splits_from_arrays_scales_to_unit_floats():
  arrays = SplitArrays(numbered(3), numbered(2), numbered(1))
  splits = data.splits_from_arrays(arrays)
  assert splits.sizes == {"train": 3, "validation": 2, "test": 1}
  image = next(iter(splits.train)).numpy()
  assert image.dtype == np.float32
  np.testing.assert_allclose(image, arrays.train[0] / 255.0, rtol=1e-6)


def test_empty_split_is_rejected():
  arrays = SplitArrays(numbered(3), numbered(0), numbered(1))
  with pytest.raises(DataError, match="the validation split is empty"):
    data.splits_from_arrays(arrays)


def test_padding_28_to_32(fake_reader):
  arrays = SplitArrays(numbered(2), numbered(2, start=2), numbered(2, start=4))
  fake_reader(arrays)
  splits = data.load_splits("fake", None, (32, 32, 1))
  for name in data.SPLITS:
    images = np.stack(list(getattr(splits, name)))
    assert images.shape == (2, 32, 32, 1) and images.dtype == np.float32
    # 2-pixel zero border, original / 255 in the centre.
    border = np.ones((32, 32), bool)
    border[2:30, 2:30] = False
    assert not images[:, border].any()
    np.testing.assert_allclose(images[:, 2:30, 2:30],
                               getattr(arrays, name) / 255.0, rtol=1e-6)


def test_matching_size_is_not_padded(fake_reader):
  fake_reader(SplitArrays(*(numbered(1, 32, 32, 3) for _ in range(3))))
  splits = data.load_splits("fake", None, (32, 32, 3))
  assert tuple(splits.test.element_spec.shape) == (32, 32, 3)


@pytest.mark.parametrize("image_shape", [
    (32, 32, 3),  # wrong channels
    (24, 24, 1),  # images larger than the preset
    (64, 64, 1),  # far smaller: the wrong files, not a padding job
])
def test_wrong_size_is_rejected(fake_reader, image_shape):
  fake_reader(SplitArrays(*(numbered(1) for _ in range(3))))
  with pytest.raises(DataError, match=r"fake images are \(28, 28, 1\), but "
                     r"the preset expects .*--data_dir"):
    data.load_splits("fake", None, image_shape)


def test_max_train_examples_on_arrays(fake_reader):
  fake_reader(SplitArrays(numbered(5), numbered(2), numbered(2)))
  splits = data.load_splits("fake", None, (32, 32, 1), max_train_examples=3)
  assert splits.sizes["train"] == 3 and len(list(splits.train)) == 3


def test_max_train_examples_on_streams(monkeypatch):
  images = tf.data.Dataset.from_tensor_slices(np.zeros((5, 8, 8, 3),
                                                      np.float32))
  streamed = data.Splits(train=images, validation=images, test=images,
                         sizes={"train": 5, "validation": 5, "test": 5})
  monkeypatch.setitem(data.READERS, "fake",
                      lambda data_dir, options: streamed)
  splits = data.load_splits("fake", None, (8, 8, 3), max_train_examples=2)
  assert splits.sizes == {"train": 2, "validation": 5, "test": 5}
  assert len(list(splits.train)) == 2


def test_max_train_examples_on_sources_and_options_reach_the_reader(
    monkeypatch):
  # A streamed reader's sources (indices here) are cut like its images, and
  # the reader receives the image shape and the fractions as ReadOptions.
  seen = []

  def decode(index):
    return tf.fill((8, 8, 3), tf.cast(index, tf.float32))

  def reader(data_dir, options):
    seen.append(options)
    sources = tf.data.Dataset.range(5)
    images = sources.map(decode)
    return data.Splits(train=images, validation=images, test=images,
                       sizes={"train": 5, "validation": 5, "test": 5},
                       train_sources=sources, decode=decode)

  monkeypatch.setitem(data.READERS, "fake", reader)
  splits = data.load_splits("fake", None, (8, 8, 3), max_train_examples=3,
                            validation_fraction=0.2, skip_bad_images=True)
  assert seen == [data.ReadOptions(image_size=8, channels=3,
                                   validation_fraction=0.2,
                                   skip_bad_images=True)]
  epochs = [sorted(batch[:, 0, 0, 0].tolist()) for batch in
            data.training_batches(splits, 3, 0, 0, 2).as_numpy_iterator()]
  assert epochs == [[0, 1, 2], [0, 1, 2]]


def test_training_batches_of_arrays_are_epoch_batches():
  arrays = SplitArrays(numbered(7), numbered(2), numbered(2))
  splits = data.splits_from_arrays(arrays)
  ours = list(data.training_batches(splits, 3, 5, 1, 3).as_numpy_iterator())
  theirs = list(data.epoch_batches(splits.train, 3, 5, 1,
                                   3).as_numpy_iterator())
  assert len(ours) == len(theirs) == 6
  for a, b in zip(ours, theirs):
    np.testing.assert_array_equal(a, b)


def _tiny(count):
  return np.zeros((count, 1, 1, 1), np.uint8)


@pytest.mark.parametrize("count,validation", [
    (50_000, 5000),  # CIFAR-10's 50,000: the fixed 5,000 (10%)
    (60_000, 5000),  # MNIST's
    (49_999, 2500),  # under 10 x 5,000: --validation_fraction, 5%
    (5_005, 250),
    (5, 1),  # at least 1
])
def test_hold_out_validation_falls_back_to_a_fraction(count, validation,
                                                     caplog):
  import logging  # pylint: disable=g-import-not-at-top
  caplog.set_level(logging.INFO, logger="absl")  # WARNING once flags parse
  arrays = holdout.hold_out_validation(_tiny(count), _tiny(1), 5000, "/x")
  assert (len(arrays.train), len(arrays.validation)) == (
      count - validation, validation)
  fell_back = f"holding out {validation} (--validation_fraction=0.05)"
  assert (fell_back in caplog.text) == (count < 50_000)


def test_hold_out_validation_fraction_and_refusal():
  arrays = holdout.hold_out_validation(_tiny(100), _tiny(1), 5000, "/x",
                                       validation_fraction=0.2)
  assert len(arrays.validation) == 20
  with pytest.raises(DataError, match="/x: the training data hold 1 images, "
                     "too few to hold out 1 for validation"):
    holdout.hold_out_validation(_tiny(1), _tiny(1), 5000, "/x")


def test_fraction_split_worked_by_hand():
  # 40 images at 5% / 5%: round(2.0) = 2 each, 36 to train; 10 images:
  # round(0.5) = 0 -> at least 1 each, 8 to train.
  splits = holdout.fraction_split(40, {"validation": 0.05, "test": 0.05}, "x")
  assert {k: len(v) for k, v in splits.items()} == {
      "validation": 2, "test": 2, "train": 36}
  assert sorted(np.concatenate(list(splits.values())).tolist()) == list(
      range(40))
  assert all((np.diff(v) > 0).all() for v in splits.values())  # sorted
  small = holdout.fraction_split(10, {"validation": 0.05, "test": 0.05}, "x")
  assert {k: len(v) for k, v in small.items()} == {
      "validation": 1, "test": 1, "train": 8}
  again = holdout.fraction_split(40, {"validation": 0.05, "test": 0.05}, "y")
  assert all((again[k] == splits[k]).all() for k in splits)  # fixed seed
  with pytest.raises(DataError, match=r"x holds 2 images, too few for a "
                     r"training split and 1 \+ 1 held out "
                     r"\(--validation_fraction=0.05, --test_fraction=0.05"):
    holdout.fraction_split(2, {"validation": 0.05, "test": 0.05}, "x")


def test_unknown_dataset():
  with pytest.raises(ValueError, match="--dataset must be one of .*'mnist'"):
    data.load_splits("imagenet", None, (32, 32, 3))


def test_batched_keeps_order_without_seed():
  images = tf.data.Dataset.from_tensor_slices(
      np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1))
  batches = [b.numpy().ravel().tolist() for b in data.batched(images, 4)]
  assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_epoch_batches_shuffle_each_epoch_reproducibly():
  images = tf.data.Dataset.from_tensor_slices(
      np.arange(20, dtype=np.float32).reshape(20, 1, 1, 1))

  def epochs(seed):
    dataset = data.epoch_batches(images, 20, seed, first_epoch=0, epochs=2)
    return [batch.numpy().ravel().tolist() for batch in dataset]

  first, second = epochs(3)
  assert sorted(first) == list(range(20)) and first != list(range(20))
  assert first != second  # reshuffled each epoch
  assert epochs(3) == [first, second]


def test_data_error_is_reported_as_a_user_error():
  from rae_tf import errors  # pylint: disable=g-import-not-at-top
  assert issubclass(DataError, errors.UserError)
  assert issubclass(DataError, ValueError)


def test_default_sources_name_what_the_readers_read_without_a_directory():
  from rae_tf.readers import mnist  # pylint: disable=g-import-not-at-top
  assert data.DEFAULT_SOURCES["fashion_mnist"] == mnist.FASHION_MNIST_DIR
  assert set(data.DEFAULT_SOURCES) <= set(data.READERS)
