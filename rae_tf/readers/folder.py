"""--dataset=folder: your own image files, decoded and streamed by tf.data.

Reads every PNG, JPEG, BMP and GIF (its first frame) under --data_dir, at
any depth, chosen by extension (.png .jpg .jpeg .bmp .gif, any case); other
files and hidden ones (macOS "._x.jpg" forks) are counted once in the log
and ignored; hidden folders (.git/) and links to folders are not searched.
Each image is standardised as `readers/images.py` says (alpha on white,
grey <-> RGB, centre crop, antialiased bilinear resize to --image_size). The
file paths are what is held and shuffled; images are decoded as tf.data
reaches them, in parallel, never all in memory.

Splits: `train/`, `validation/` and `test/` subfolders of --data_dir when
`train/` exists (files outside them are ignored; a missing validation/ or
test/ is held out of train/ by --validation_fraction / --test_fraction);
otherwise the sorted list of all images, permuted by a seed of its own (the
same whatever --seed is) and cut into --validation_fraction and
--test_fraction (at least 1 image each) and train.

Before any training every file is decoded once, in one parallel tf.data
pass: the cost of one more epoch of decoding (`benchmarks/
folder_pipeline.py`: ~700 files/s for 320x240 JPEGs on 2 shared cores in a
300-file smoke run, so some 15 s per 10,000 such files; minutes for
CelebA-sized folders, at every start and resume). It finds the files that
do not decode: the run stops naming the first (in sorted order), or with
--skip_bad_images leaves them out and logs their count; so training never
meets a bad file and the split sizes are exact. Images smaller than
--image_size after the centre crop are enlarged (bilinear, which blurs) and
counted in a warning.
"""

from __future__ import annotations

import collections
import os
from typing import Mapping, Optional, Sequence

from absl import logging
import numpy as np
import tensorflow as tf

from rae_tf.data import SPLITS, DataError, ReadOptions, Splits
from rae_tf.readers import holdout
from rae_tf.readers import images

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
PROBE_IMAGES = 50  # images whose majority channel count is the default
_ALL = "all"  # key of `list_images` without split subfolders
_SCAN_BATCH = 256
_MAX_LISTED = 3  # example file names in a message

_FORMATS = "PNG, JPEG, BMP or GIF"


def _check_folder(data_dir: Optional[str]) -> None:
  if data_dir is None:
    raise DataError("--dataset=folder needs --data_dir=<folder of images> "
                    f"({_FORMATS} files, searched recursively)")
  if os.path.isfile(data_dir):
    raise DataError(
        f"--data_dir {data_dir} is a file; --dataset=folder reads a folder "
        "of images: pass the folder (for a .npz file use --dataset=npz)")
  if not os.path.isdir(data_dir):
    raise DataError(f"--data_dir {data_dir} does not exist; point it at the "
                    "folder of images")


def list_images(data_dir: Optional[str]
               ) -> tuple[dict[str, list[str]], list[str]]:
  """Finds the image files under `data_dir`.

  Args:
    data_dir: the folder of images.

  Returns:
    ({split name: sorted paths} for the `train/`, `validation/`, `test/`
    subfolders present, or {"all": sorted paths} without `train/`; the
    sorted paths of the other, ignored files).

  Raises:
    DataError: `data_dir` is missing or a file, has a split subfolder but
      no `train/`, or holds no image file (or an empty split subfolder).
  """
  _check_folder(data_dir)
  present = [name for name in SPLITS
             if os.path.isdir(os.path.join(data_dir, name))]
  if present and "train" not in present:
    raise DataError(
        f"{data_dir} has {', '.join(p + '/' for p in present)} but no train/;"
        " add train/ with the training images, or rename those folders to "
        "let rae_tf cut the splits from all the images")
  found = {name: [] for name in present} if present else {_ALL: []}
  others = []
  for root, dirs, names in os.walk(data_dir):
    dirs[:] = sorted(d for d in dirs if not d.startswith("."))
    top = os.path.relpath(root, data_dir).split(os.sep)[0]
    split = top if present else _ALL
    for name in names:
      path = os.path.join(root, name)
      if (split in found and not name.startswith(".")
          and name.lower().endswith(IMAGE_EXTENSIONS)):
        found[split].append(path)
      else:
        others.append(path)
  others.sort()
  if not any(found.values()):
    example = f", e.g. {others[0]}" if others else ""
    raise DataError(
        f"no {_FORMATS} files under {data_dir} ({len(others)} other files"
        f"{example}); put the images there (subfolders are searched)")
  for split, paths in found.items():
    if not paths:
      fix = ("add the training images" if split == "train" else
             f"add images, or remove it to hold out --{split}_fraction of "
             "train/")
      raise DataError(f"{os.path.join(data_dir, split)}/ holds no {_FORMATS}"
                      f" files; {fix}")
  return {split: sorted(paths) for split, paths in found.items()}, others


def majority_channels(data_dir: Optional[str]) -> int:
  """1 or 3: what most of the first `PROBE_IMAGES` readable images have.

  Grey + alpha counts as grey, RGBA as RGB; a tie is RGB. Logged.

  Raises:
    DataError: as `list_images`, or none of the first files decodes.
  """
  found, _ = list_images(data_dir)
  paths = sorted(path for split in found.values() for path in split)
  counts = collections.Counter()
  for path in paths[:PROBE_IMAGES]:
    try:
      channels = images.decode_file(tf.constant(path)).shape[-1]
    except (tf.errors.OpError, ValueError):
      continue  # named by `read_folder`'s scan
    counts[1 if channels <= 2 else 3] += 1
  if not counts:
    reason = images.decode_error(paths[0])
    raise DataError(
        f"none of the first {min(len(paths), PROBE_IMAGES)} image files under "
        f"{data_dir} decodes, e.g. {paths[0]} ({reason}); replace them, or "
        "pass --channels and --skip_bad_images")
  channels = 3 if counts[3] >= counts[1] else 1
  logging.info("--channels unset: %d of the first %d readable images under %s"
               " are grey, %d colour: --channels=%d", counts[1],
               sum(counts.values()), data_dir, counts[3], channels)
  return channels


def scan(paths: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
  """Decodes every file once, in parallel, to find bad ones and their sizes.

  Args:
    paths: image files.

  Returns:
    ((n,) bool: decodes, (n, 2) int64: height and width, 0 if not).
  """
  def shape(index, path):
    return index, tf.shape(images.decode_file(path))[:2]

  dataset = (tf.data.Dataset.from_tensor_slices(
      (np.arange(len(paths)), list(paths)))
             .map(shape, num_parallel_calls=tf.data.AUTOTUNE,
                  deterministic=False)
             .ignore_errors()
             .batch(_SCAN_BATCH))
  readable = np.zeros(len(paths), bool)
  sizes = np.zeros((len(paths), 2), np.int64)
  for index, size in dataset.as_numpy_iterator():
    readable[index] = True
    sizes[index] = size
  return readable, sizes


def _readable(found: Mapping[str, list[str]], data_dir: str,
              options: ReadOptions) -> dict[str, list[str]]:
  """`found` without the files that do not decode; warns of small ones."""
  paths = [path for split in found.values() for path in split]
  readable, sizes = scan(paths)
  bad = [path for path, ok in zip(paths, readable) if not ok]
  if bad and not options.skip_bad_images:
    raise DataError(
        f"{bad[0]} is not a readable image ({images.decode_error(bad[0])}); "
        f"{len(bad)} of the {len(paths)} image files under {data_dir} do not "
        "decode: replace or delete them, or pass --skip_bad_images to train "
        "without them")
  if bad:
    logging.warning("--skip_bad_images: leaving out %d of the %d image files "
                    "under %s that do not decode, e.g. %s", len(bad),
                    len(paths), data_dir, ", ".join(bad[:_MAX_LISTED]))
  sides = sizes.min(axis=1)
  small = np.flatnonzero(readable & (sides < options.image_size))
  if len(small):
    first = small[np.argmin(sides[small])]
    logging.warning(
        "%d of the %d readable images under %s are smaller than %dx%d after "
        "the centre crop (the smallest: %s, %dx%d); they are enlarged "
        "(bilinear), which blurs them", len(small), int(readable.sum()),
        data_dir, options.image_size, options.image_size, paths[first],
        sizes[first][1], sizes[first][0])
  good = set(path for path, ok in zip(paths, readable) if ok)
  kept = {split: [p for p in files if p in good]
          for split, files in found.items()}
  for split, files in kept.items():
    if found[split] and not files:
      raise DataError(
          f"none of the {len(found[split])} images of "
          f"{os.path.join(data_dir, split) if split != _ALL else data_dir} "
          "decode, so its split would be empty; replace them, or remove the "
          "folder to hold the split out of the others")
  return kept


def _split(found: Mapping[str, list[str]], data_dir: str,
           options: ReadOptions) -> dict[str, list[str]]:
  """The three splits: the subfolders', the rest held out of train."""
  fractions = {"validation": options.validation_fraction,
               "test": options.test_fraction}
  base = "train" if "train" in found else _ALL
  missing = {name: share for name, share in fractions.items()
             if name not in found}
  source = os.path.join(data_dir, "train") if base == "train" else data_dir
  indices = holdout.fraction_split(len(found[base]), missing, source)
  paths = {name: found[name] for name in SPLITS if name in found}
  for name, chosen in indices.items():
    paths[name] = [found[base][i] for i in chosen]
  how = ("the train/ validation/ test/ subfolders" if not missing else
         f"{', '.join(missing)} held out of {source} (seed "
         f"{holdout.SPLIT_SEED}, not --seed)")
  logging.info("folder %s: %d / %d / %d images (train / validation / test), "
               "from %s", data_dir, *(len(paths[name]) for name in SPLITS),
               how)
  return paths


def read_folder(data_dir: Optional[str], options: ReadOptions) -> Splits:
  """Streams the images under `data_dir` as the module docstring says.

  Args:
    data_dir: the folder of images.
    options: `image_size` and `channels` (required), the fractions,
      `skip_bad_images`.

  Returns:
    Splits of (N, N, C) float32 images in [0, 1]; the training split also
    as shuffleable file paths (`Splits.train_sources`).

  Raises:
    DataError: as `list_images`, a file that does not decode (without
      `skip_bad_images`), or too few images for three splits.
  """
  found, others = list_images(data_dir)
  if others:
    logging.info("%s: ignoring %d files that are not %s images%s, e.g. %s",
                 data_dir, len(others), _FORMATS,
                 " in train/, validation/, test/" if _ALL not in found else "",
                 ", ".join(others[:_MAX_LISTED]))
  paths = _split(_readable(found, data_dir, options), data_dir, options)

  def decode(path):
    return images.standardize(images.decode_file(path), options.image_size,
                              options.channels)

  sources = {name: tf.data.Dataset.from_tensor_slices(paths[name])
             for name in SPLITS}
  return Splits(
      sizes={name: len(paths[name]) for name in SPLITS},
      train_sources=sources["train"], decode=decode,
      **{name: sources[name].map(decode, num_parallel_calls=tf.data.AUTOTUNE)
         for name in SPLITS})
