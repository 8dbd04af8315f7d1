"""Images per second and peak memory of the --dataset=folder input pipeline.

For each --image_size (64, 128, 256 by default), in a process of its own so
peak memory figures do not mix: `data.load_splits("folder", ...)`, whose
up-front scan decodes every file once (its seconds are reported as
`load_s`), then one shuffled training epoch of `data.training_batches`
(file paths shuffled, decoded in parallel, centre-cropped, resized with the
antialiased bilinear filter), reporting images/s and the peak resident
memory. The memory must not grow with the number of images: only paths are
held and shuffled.

Data: --data_dir (any folder the reader accepts), or --images generated
JPEGs of --source_size pixels (smooth random colour blobs plus noise, which
decode like photos; the CelebA fixture of benchmarks/input_pipeline.py),
written once into --cache_dir and reused.

Usage:
  python benchmarks/folder_pipeline.py                      # 10,000 JPEGs
  python benchmarks/folder_pipeline.py --data_dir ~/photos --sizes 128
  python benchmarks/folder_pipeline.py --images 300 --sizes 64  # smoke run
"""

import argparse
import json
import os
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

SIZES = (64, 128, 256)
_DONE = "COMPLETE"  # marker written after a fixture is fully generated


def peak_rss_mib() -> float:
  """Peak resident set size of this process so far, MiB (ru_maxrss is KiB)."""
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_jpegs(root: str, count: int, width: int, height: int) -> str:
  """Writes `count` width x height JPEGs (photo-like) under `root`, once."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  directory = os.path.join(root, f"folder_{count}_{width}x{height}")
  if os.path.exists(os.path.join(directory, _DONE)):
    return directory
  os.makedirs(directory, exist_ok=True)
  rng = np.random.default_rng(0)
  start = time.perf_counter()
  for i in range(count):
    low = Image.fromarray(rng.integers(0, 256, (14, 12, 3), dtype=np.uint8))
    pixels = np.asarray(low.resize((width, height), Image.BICUBIC), np.int16)
    pixels = pixels + rng.normal(0, 3, pixels.shape).astype(np.int16)
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(
        os.path.join(directory, f"{i:06d}.jpg"), quality=90)
  open(os.path.join(directory, _DONE), "w").close()
  print(f"  generated {count} JPEGs in {time.perf_counter() - start:.0f} s",
        file=sys.stderr)
  return directory


def run_one(size: int, args) -> dict:
  """Measures the pipeline at --image_size=`size` in this process."""
  from rae_tf import data  # pylint: disable=g-import-not-at-top
  result = {"image_size": size}
  start = time.perf_counter()
  splits = data.load_splits("folder", args.data_dir, (size, size, 3))
  result["load_s"] = round(time.perf_counter() - start, 2)
  result["sizes"] = dict(splits.sizes)
  batches = data.training_batches(splits, args.batch_size, seed=0,
                                  first_epoch=0, epochs=1)
  if args.max_batches:
    batches = batches.take(args.max_batches)
  iterator = iter(batches)
  images = int(next(iterator).shape[0])  # warm-up: tracing, thread pools
  start = time.perf_counter()
  timed = 0
  for batch in iterator:
    timed += int(batch.shape[0])
  seconds = time.perf_counter() - start
  result["epoch_images"] = images + timed
  result["images_per_s"] = round(timed / seconds) if seconds else None
  result["scan_images_per_s"] = round(
      sum(splits.sizes.values()) / result["load_s"])
  result["peak_rss_mib"] = round(peak_rss_mib())
  return result


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--data_dir", help="a folder of images (default: "
                      "generated JPEGs)")
  parser.add_argument("--images", type=int, default=10_000,
                      help="generated JPEGs")
  parser.add_argument("--source_size", default="320x240",
                      help="WxH of the generated JPEGs")
  parser.add_argument("--sizes", default=",".join(map(str, SIZES)),
                      help="comma-separated --image_size values")
  parser.add_argument("--cache_dir", default=os.path.join(
      tempfile.gettempdir(), "rae_tf_benchmarks"),
                      help="where generated fixtures are kept")
  parser.add_argument("--batch_size", type=int, default=64)
  parser.add_argument("--max_batches", type=int, default=0,
                      help="stop the epoch after this many batches (0: all)")
  parser.add_argument("--json", help="also write the results here")
  parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.child:  # one size, in a fresh process
    print(json.dumps(run_one(args.child, args)))
    return
  if not args.data_dir:
    width, height = map(int, args.source_size.split("x"))
    args.data_dir = make_jpegs(args.cache_dir, args.images, width, height)
  results = []
  for size in map(int, args.sizes.split(",")):
    print(f"--image_size={size} ...", file=sys.stderr)
    command = [sys.executable, os.path.abspath(__file__), "--child",
               str(size), "--data_dir", args.data_dir,
               "--batch_size", str(args.batch_size),
               "--max_batches", str(args.max_batches)]
    child = subprocess.run(command, capture_output=True, text=True,
                           env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
                           cwd=REPO_ROOT, check=False)
    if child.returncode:
      sys.exit(f"--image_size={size} failed:\n{child.stderr}")
    results.append(json.loads(child.stdout.strip().splitlines()[-1]))
    print(json.dumps(results[-1]), file=sys.stderr)
  print(f"\n{args.data_dir}; CPUs: {os.cpu_count()}, load average at end: "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
  print(f"{'size':>5} {'images/s':>9} {'peak RSS MiB':>13} {'load s':>7} "
        f"{'scan img/s':>11}  sizes")
  for r in results:
    print(f"{r['image_size']:>5} {r['images_per_s']:>9} "
          f"{r['peak_rss_mib']:>13} {r['load_s']:>7} "
          f"{r['scan_images_per_s']:>11}  {r['sizes']}")
  if args.json:
    with open(args.json, "w") as f:
      json.dump(results, f, indent=2)


if __name__ == "__main__":
  main()
