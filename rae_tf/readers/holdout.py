"""Splits the files do not define, cut by seeds of their own (not --seed).

* `split_arrays`: consecutive train / validation / test sets of given sizes
  (the embedded MNIST, after its fixed permutation).
* `hold_out_validation`: idx / CIFAR training files -> train + validation, a
  fixed 5,000 images, or --validation_fraction of sets too small for it.
* `fraction_split`: one list of user images (--dataset=folder / npz) ->
  train + the held-out splits, each a fraction of the list (at least 1).

Held-out images are never trained on, and every split is the same whatever
the run's --seed is.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from absl import logging
import numpy as np

from rae_tf.data import DataError, SplitArrays

# Permutation seed of every split the files do not define: the same splits
# whatever --seed is.
SPLIT_SEED = 0
# A fixed validation hold-out (5,000 for idx / CIFAR) is used when the
# training files hold at least this many times as many images (MNIST 60,000,
# CIFAR-10 50,000); smaller sets hold out --validation_fraction instead.
_FIXED_HOLD_OUT_MULTIPLE = 10


def split_arrays(images: np.ndarray, sizes: Sequence[int]) -> SplitArrays:
  """Cuts `images` into consecutive, disjoint train / validation / test sets."""
  if sum(sizes) > len(images):
    raise DataError(f"asked for splits of sizes {tuple(sizes)} from only "
                    f"{len(images)} images")
  bounds = np.cumsum([0, *sizes])
  return SplitArrays(*(images[a:b] for a, b in zip(bounds[:-1], bounds[1:])))


def hold_out_validation(train: np.ndarray, test: np.ndarray,
                        validation_size: int, source: str,
                        seed: int = SPLIT_SEED,
                        validation_fraction: float = 0.05) -> SplitArrays:
  """Moves `validation_size` training images, fixed by `seed`, to validation.

  The validation split is never trained on, and it is the same whatever the
  run's --seed is. A set with fewer than 10 x `validation_size` training
  images holds out `validation_fraction` of them (at least 1) instead, and
  the log says so.

  Args:
    train: (N, H, W, C) images of the dataset's training files.
    test: (M, H, W, C) images of its test files.
    validation_size: images held out of `train`.
    source: what to name in the error (a directory).
    seed: permutation seed.
    validation_fraction: share held out of small sets.

  Raises:
    DataError: `train` has no image left to train on.
  """
  count = len(train)
  if count < _FIXED_HOLD_OUT_MULTIPLE * validation_size:
    fraction_size = max(1, round(validation_fraction * count))
    logging.info(
        "%s: %d training images, fewer than %d: holding out %d "
        "(--validation_fraction=%g) for validation instead of %d", source,
        count, _FIXED_HOLD_OUT_MULTIPLE * validation_size, fraction_size,
        validation_fraction, validation_size)
    validation_size = fraction_size
  if count <= validation_size:
    raise DataError(
        f"{source}: the training data hold {count} images, too few to "
        f"hold out {validation_size} for validation and train on the rest; "
        "add images")
  order = np.random.default_rng(seed).permutation(count)
  return SplitArrays(train=train[order[validation_size:]],
                     validation=train[order[:validation_size]], test=test)


def fraction_split(count: int, fractions: Mapping[str, float], source: str,
                   seed: int = SPLIT_SEED) -> dict[str, np.ndarray]:
  """Cuts `count` images into held-out splits of given shares and train.

  The images are permuted by `seed`; each held-out split takes the next
  max(1, round(fraction * count)) of them, in the order of `fractions`, and
  train the rest. Each split's indices are returned sorted, so files are
  read in their listed order.

  Args:
    count: images in the list.
    fractions: held-out split name -> share, e.g. {"validation": 0.05,
      "test": 0.05}.
    source: what to name in the error (a folder or file).
    seed: permutation seed.

  Returns:
    Split name ("train" and the keys of `fractions`) -> sorted (n,) int64
    indices into the list.

  Raises:
    DataError: no image would be left to train on.
  """
  sizes = {name: max(1, round(share * count))
           for name, share in fractions.items()}
  if count - sum(sizes.values()) < 1:
    shares = ", ".join(f"--{name}_fraction={share:g}"
                       for name, share in fractions.items())
    raise DataError(
        f"{source} holds {count} images, too few for a training split and "
        f"{' + '.join(map(str, sizes.values()))} held out ({shares}, at "
        "least 1 image each); add images")
  order = np.random.default_rng(seed).permutation(count)
  splits, start = {}, 0
  for name, size in sizes.items():
    splits[name] = np.sort(order[start:start + size])
    start += size
  splits["train"] = np.sort(order[start:])
  return splits
