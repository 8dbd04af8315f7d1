"""Fashion-MNIST written as PNGs and read back by --dataset=folder, one by one.

A full-scale real-data check of `rae_tf/readers/folder.py`:

1. Reads the 60,000 + 10,000 Fashion-MNIST images from the idx files
   (`rae_tf.readers.mnist.read_idx_images`, as --dataset=fashion_mnist does),
   pads each 28x28 image to 32x32 with the 2-pixel zero border that
   `data.load_splits` adds on the idx path, and writes them with Pillow (an
   encoder independent of TensorFlow's decoder) as 8-bit greyscale PNGs:
   `train/00000.png ... train/59999.png`, `test/00000.png ... test/09999.png`,
   so sorted file order is array order. Before that, the padding is checked
   against the idx path itself: the test split of
   `data.load_splits("fashion_mnist", ...)`, in file order, must equal these
   padded arrays / 255 bit for bit.
2. Loads the folder with `data.load_splits("folder", DIR, (32, 32, 1))` (its
   up-front scan decodes every file once) and decodes every image again
   through the reader's tf.data pipelines (`Splits.train`, `.validation`,
   `.test`, batched in order by `data.batched`). The reader holds
   --validation_fraction of train/ out as validation (there is no
   validation/ subfolder); each image is mapped back to its file: train by
   the reader's own path list (`Splits.train_sources`, the dataset
   `Splits.train` decodes), validation by the complement of it in train/
   (the held-out indices, sorted as the reader keeps them, are recomputed
   with `holdout.fraction_split` and must equal that complement), test by
   sorted order.
3. Compares every decoded image with its source: round(x * 255) must equal
   the padded uint8 image; also reported are the max abs difference from
   uint8 / 255 in float32 and the max distance in float32 ulps (TensorFlow's
   decoder multiplies by 1/255, the idx path divides by 255).

Prints phase wall times, write and read rates, peak RSS (getrusage) and a
JSON summary; exits 1 if any image differs or any image is missing.

Usage:
  python benchmarks/folder_parity.py               # all 70,000 images
  python benchmarks/folder_parity.py --limit=500   # smoke run: 500 per split
"""

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time

import numpy as np

# Run from a checkout without installing: make `rae_tf` importable.
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
  sys.path.insert(0, REPO_ROOT)

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
IMAGE_SHAPE = (32, 32, 1)
IDX_FILES = {"train": "train-images-idx3-ubyte",
             "test": "t10k-images-idx3-ubyte"}
_PNG_GREY_8BIT = (8, 0)  # IHDR bit depth, colour type 0 (greyscale)


def peak_rss_mib() -> float:
  """Peak resident set size of this process so far, MiB (ru_maxrss is KiB)."""
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_padded(idx_dir: str, limit: int) -> dict:
  """{"train", "test"}: (N, 32, 32) uint8, the idx images zero-padded by 2."""
  from rae_tf.readers import mnist  # pylint: disable=g-import-not-at-top
  padded = {}
  for split, stem in IDX_FILES.items():
    images = mnist.read_idx_images(mnist.find_idx_file(idx_dir, stem))
    if limit:
      images = images[:limit]
    # As data._pad_or_check: top, left = (32 - 28) // 2, zeros around.
    top = (IMAGE_SHAPE[0] - images.shape[1]) // 2
    left = (IMAGE_SHAPE[1] - images.shape[2]) // 2
    padded[split] = np.pad(images[..., 0], (
        (0, 0), (top, IMAGE_SHAPE[0] - images.shape[1] - top),
        (left, IMAGE_SHAPE[1] - images.shape[2] - left)))
  return padded


def check_idx_padding(idx_dir: str, test: np.ndarray, batch_size: int) -> dict:
  """Checks `test` / 255 against the idx path's test split, bit for bit."""
  from rae_tf import data  # pylint: disable=g-import-not-at-top
  splits = data.load_splits("fashion_mnist", idx_dir, IMAGE_SHAPE)
  reference = test.astype(np.float32)[..., None] / np.float32(255)
  equal, seen = 0, 0
  for batch in data.batched(splits.test.take(len(test)),
                            batch_size).as_numpy_iterator():
    expected = reference[seen:seen + len(batch)]
    equal += int(np.all(batch == expected, axis=(1, 2, 3)).sum())
    seen += len(batch)
  return {"images": seen, "bitwise_equal": equal}


def write_pngs(root: str, padded: dict) -> dict:
  """Writes `root/<split>/<index>.png` with Pillow; returns sizes and timing."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  start = time.perf_counter()
  total_bytes, first = 0, None
  for split, images in padded.items():
    directory = os.path.join(root, split)
    os.makedirs(directory)
    width = len(str(len(images) - 1))  # zero-padded: sorted = array order
    for index, image in enumerate(images):
      path = os.path.join(directory, f"{index:0{width}d}.png")
      Image.fromarray(image).save(path)  # (32, 32) uint8 -> mode "L"
      total_bytes += os.path.getsize(path)
      first = first or path
  seconds = time.perf_counter() - start
  count = sum(len(images) for images in padded.values())
  with open(first, "rb") as f:
    header = f.read(26)  # signature (8) + IHDR length, type, w, h, depth, type
  if (header[24], header[25]) != _PNG_GREY_8BIT:
    raise RuntimeError(f"wrote PNGs of bit depth {header[24]}, colour type "
                       f"{header[25]}; expected 8-bit greyscale")
  return {"write_s": round(seconds, 2), "images": count,
          "write_images_per_s": round(count / seconds),
          "png_mean_bytes": round(total_bytes / count)}


def _index_of(path: bytes, split: str) -> int:
  directory, name = os.path.split(path.decode())
  if os.path.basename(directory) != split or not name.endswith(".png"):
    raise RuntimeError(f"the reader's {split} split holds {path!r}")
  return int(name[:-len(".png")])


def compare(images, reference: np.ndarray, order: np.ndarray,
            batch_size: int) -> dict:
  """Decodes `images` batch by batch and compares with reference[order]."""
  from rae_tf import data  # pylint: disable=g-import-not-at-top
  result = {"images": 0, "exact_images": 0, "bitwise_equal_images": 0,
            "max_abs_diff": 0.0, "max_ulp": 0, "pixels_off_by_ulps": 0,
            "first_differing": []}
  compare_s, seen = 0.0, 0
  start = time.perf_counter()
  for batch in data.batched(images, batch_size).as_numpy_iterator():
    tick = time.perf_counter()
    rows = order[seen:seen + len(batch)]
    source = reference[rows][..., None]  # (B, 32, 32, 1) uint8
    expected = source.astype(np.float32) / np.float32(255)
    back = np.round(batch.astype(np.float64) * 255)
    exact = np.all(back == source, axis=(1, 2, 3))
    result["exact_images"] += int(exact.sum())
    result["bitwise_equal_images"] += int(
        np.all(batch == expected, axis=(1, 2, 3)).sum())
    result["max_abs_diff"] = max(result["max_abs_diff"],
                                 float(np.abs(batch - expected).max()))
    # Non-negative float32s order like their bit patterns: ulp distance.
    ulps = np.abs(batch.view(np.int32).astype(np.int64)
                  - expected.view(np.int32).astype(np.int64))
    result["max_ulp"] = max(result["max_ulp"], int(ulps.max()))
    result["pixels_off_by_ulps"] += int((ulps > 0).sum())
    for row in rows[~exact][:3 - len(result["first_differing"])]:
      result["first_differing"].append(int(row))
    seen += len(batch)
    compare_s += time.perf_counter() - tick
  result["images"] = seen
  result["seconds"] = time.perf_counter() - start
  result["compare_s"] = compare_s
  return result


def check_folder(root: str, padded: dict, validation_fraction: float,
                 batch_size: int) -> dict:
  """Loads `root` through the folder reader and compares every image."""
  from rae_tf import data  # pylint: disable=g-import-not-at-top
  from rae_tf.readers import holdout  # pylint: disable=g-import-not-at-top
  summary = {}
  start = time.perf_counter()
  splits = data.load_splits("folder", root, IMAGE_SHAPE,
                            validation_fraction=validation_fraction)
  summary["load_s"] = round(time.perf_counter() - start, 2)
  count = sum(len(images) for images in padded.values())
  summary["scan_files_per_s"] = round(count / summary["load_s"])
  summary["sizes"] = dict(splits.sizes)
  summary["rss_after_load_mib"] = round(peak_rss_mib())

  # Which file each decoded image comes from.
  train_rows = np.array([_index_of(path, "train") for path in
                         splits.train_sources.as_numpy_iterator()], np.int64)
  held_out = np.setdiff1d(np.arange(len(padded["train"])), train_rows)
  recomputed = holdout.fraction_split(
      len(padded["train"]), {"validation": validation_fraction},
      os.path.join(root, "train"))["validation"]
  if not np.array_equal(held_out, recomputed):
    raise RuntimeError(
        f"the {len(held_out)} train/ files missing from the reader's train "
        f"split are not the {len(recomputed)} that holdout.fraction_split "
        "holds out; cannot map the validation split back to its files")
  orders = {"train": (splits.train, "train", train_rows),
            "validation": (splits.validation, "train", held_out),
            "test": (splits.test, "test", np.arange(len(padded["test"])))}

  results = {}
  for name, (images, source, order) in orders.items():
    results[name] = compare(images, padded[source], order, batch_size)
  seconds = sum(r["seconds"] for r in results.values())
  decoded = sum(r["images"] for r in results.values())
  summary["decode_compare_s"] = round(seconds, 2)
  summary["numpy_compare_s"] = round(
      sum(r["compare_s"] for r in results.values()), 2)
  summary["decode_images_per_s"] = round(decoded / seconds)
  summary["decoded_images"] = decoded
  summary["expected_images"] = count
  summary["exact_images"] = sum(r["exact_images"] for r in results.values())
  summary["bitwise_equal_images"] = sum(
      r["bitwise_equal_images"] for r in results.values())
  summary["max_abs_diff"] = max(r["max_abs_diff"] for r in results.values())
  summary["max_ulp"] = max(r["max_ulp"] for r in results.values())
  summary["pixels_off_by_ulps"] = sum(
      r["pixels_off_by_ulps"] for r in results.values())
  summary["per_split"] = {
      name: {key: r[key] for key in ("images", "exact_images", "max_ulp",
                                     "first_differing")}
      for name, r in results.items()}
  return summary


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--idx_dir", default=FASHION_MNIST_DIR,
                      help="folder of the Fashion-MNIST idx files")
  parser.add_argument("--limit", type=int, default=0,
                      help="first N images of each idx file (0: all)")
  parser.add_argument("--out_dir", help="write the PNGs here (must not exist "
                      "or be empty; kept); default: a temporary folder, "
                      "deleted at the end")
  parser.add_argument("--validation_fraction", type=float, default=0.05,
                      help="share of train/ the reader holds out")
  parser.add_argument("--batch_size", type=int, default=1000)
  parser.add_argument("--json", help="also write the summary here")
  args = parser.parse_args()
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

  if args.out_dir:
    if os.path.isdir(args.out_dir) and os.listdir(args.out_dir):
      sys.exit(f"--out_dir {args.out_dir} is not empty; pass a new folder")
    os.makedirs(args.out_dir, exist_ok=True)
    root = args.out_dir
  else:
    root = tempfile.mkdtemp(prefix="rae_tf_folder_parity_")
  summary = {"idx_dir": args.idx_dir, "limit": args.limit, "png_dir": root,
             "cpus": os.cpu_count(),
             "load_average_start": [round(x, 1) for x in os.getloadavg()]}
  phases = {}
  try:
    start = time.perf_counter()
    padded = read_padded(args.idx_dir, args.limit)
    phases["read_idx_s"] = round(time.perf_counter() - start, 2)

    start = time.perf_counter()
    summary["idx_padding_check"] = check_idx_padding(
        args.idx_dir, padded["test"], args.batch_size)
    phases["idx_padding_check_s"] = round(time.perf_counter() - start, 2)
    summary["rss_after_idx_mib"] = round(peak_rss_mib())
    print(f"idx path vs padded arrays: {summary['idx_padding_check']}",
          file=sys.stderr)

    summary["write"] = write_pngs(root, padded)
    phases["write_png_s"] = summary["write"]["write_s"]
    print(f"wrote {summary['write']}", file=sys.stderr)

    start = time.perf_counter()
    summary["folder"] = check_folder(root, padded, args.validation_fraction,
                                     args.batch_size)
    phases["folder_load_s"] = summary["folder"]["load_s"]
    phases["folder_decode_compare_s"] = summary["folder"]["decode_compare_s"]
  finally:
    if not args.out_dir:
      start_rm = time.perf_counter()
      shutil.rmtree(root, ignore_errors=True)
      phases["cleanup_s"] = round(time.perf_counter() - start_rm, 2)
  summary["phases"] = phases
  summary["peak_rss_mib"] = round(peak_rss_mib())
  summary["load_average_end"] = [round(x, 1) for x in os.getloadavg()]
  folder, idx = summary["folder"], summary["idx_padding_check"]
  ok = (folder["decoded_images"] == folder["expected_images"]
        == folder["exact_images"]
        and idx["bitwise_equal"] == idx["images"] == len(padded["test"]))
  summary["ok"] = ok
  print(json.dumps(summary, indent=1))
  if args.json:
    with open(args.json, "w") as f:
      json.dump(summary, f, indent=2)
  print(f"{folder['exact_images']:,} of {folder['expected_images']:,} images "
        f"decoded by --dataset=folder equal their source (round(x * 255)); "
        f"max |x - idx/255| = {folder['max_abs_diff']:.3g} "
        f"({folder['max_ulp']} ulp); {folder['decode_images_per_s']:,} "
        f"images/s; peak RSS {summary['peak_rss_mib']:,} MiB",
        file=sys.stderr)
  sys.exit(0 if ok else 1)


if __name__ == "__main__":
  main()
