r"""Scaling curves: epoch time vs data size, memory vs data size, step vs batch.

    python benchmarks/scaling.py                     # all three curves
    python benchmarks/scaling.py --curves=epoch --sizes=500,1000,2000,4000
    python benchmarks/scaling.py --curves=memory --celeba_sizes=2000,20000
    python benchmarks/scaling.py --curves=batch --widths=0.25 --precision=float32

Curves (each point in its own process, so memory and thread pools do not
carry over):

  epoch   one training epoch (`model.fit` over `rae_tf.data.epoch_batches`,
          the training pipeline) of the MNIST RAE-L2 net on the first N
          embedded digits; after an untimed epoch that traces the step.
          Expected linear in N.
  memory  peak resident memory while streaming one epoch of a generated
          CelebA of N JPEGs (fixtures from `input_pipeline.make_celeba`,
          cached in --cache_dir), in file order (`data.batched`) and then
          shuffled as training does (`data.epoch_batches`, 10,000-image
          buffer of decoded 64x64 images). The reader streams files, so the
          ordered pass must stay flat in N; the shuffled pass grows until
          the buffer is full (8,000 training images at N = 10,000).
  batch   mean time of `--steps` training steps (after `--warmup`) of the
          MNIST RAE-L2 net per batch size and width.

Prints a table per curve with the load average seen, and appends JSON lines
to --json if given.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

BENCHMARKS = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCHMARKS)
for path in (REPO_ROOT, BENCHMARKS):
  if path not in sys.path:
    sys.path.insert(0, path)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _rss_mib() -> float:
  with open("/proc/self/statm") as f:
    return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mib() -> float:
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _model(width: float, batch_size: int, precision: str):
  import keras  # pylint: disable=g-import-not-at-top
  from rae_tf import config as config_lib  # pylint: disable=g-import-not-at-top
  from rae_tf import models  # pylint: disable=g-import-not-at-top
  keras.mixed_precision.set_global_policy(precision)
  keras.utils.set_random_seed(0)
  config = config_lib.make_config("mnist", "rae", "l2", width=width,
                                  batch_size=batch_size)
  model = models.build_model(config)
  model.compile(optimizer=keras.optimizers.Adam(config.learning_rate))
  return model


class _EpochTimer:
  """A minimal Keras callback recording each epoch's wall time."""

  def __new__(cls):
    import keras  # pylint: disable=g-import-not-at-top

    class EpochTimer(keras.callbacks.Callback):

      def __init__(self):
        super().__init__()
        self.seconds, self._start = [], 0.0

      def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

      def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)

    return EpochTimer()


def epoch_point(size: int, args) -> dict:
  """Seconds of one training epoch over the first `size` embedded digits."""
  from rae_tf import data  # pylint: disable=g-import-not-at-top
  splits = data.load_splits("mnist", None, (32, 32, 1),
                            max_train_examples=size)
  model = _model(args.width, args.batch_size, args.precision)
  steps = -(-splits.sizes["train"] // args.batch_size)
  batches = data.epoch_batches(splits.train, args.batch_size, seed=0,
                               first_epoch=0, epochs=2)
  timer = _EpochTimer()
  model.fit(batches, steps_per_epoch=steps, epochs=2, verbose=0,
            callbacks=[timer])
  seconds = timer.seconds[1]  # epoch 0 includes tracing the step
  return {"curve": "epoch", "train_images": splits.sizes["train"],
          "width": args.width, "batch_size": args.batch_size,
          "precision": args.precision, "epoch_s": round(seconds, 2),
          "images_per_s": round(splits.sizes["train"] / seconds, 1)}


def memory_point(size: int, args) -> dict:
  """Peak RSS over an ordered and a shuffled epoch of an N-image CelebA."""
  import input_pipeline  # pylint: disable=g-import-not-at-top
  from rae_tf import data  # pylint: disable=g-import-not-at-top
  directory = input_pipeline.make_celeba(args.cache_dir, size)
  splits = data.load_splits("celeba", directory, (64, 64, 3))
  result = {"curve": "memory", "celeba_images": size,
            "train_images": splits.sizes["train"],
            "rss_before_mib": round(_rss_mib())}
  for _ in data.batched(splits.train, 64).take(3):
    pass  # trace the map functions, start the thread pools
  result["rss_warm_mib"] = round(_rss_mib())
  for name, dataset in (
      ("ordered", data.batched(splits.train, 64)),
      ("shuffled", data.epoch_batches(splits.train, 64, seed=0,
                                      first_epoch=0, epochs=1))):
    start, images = time.perf_counter(), 0
    for batch in dataset:
      images += int(batch.shape[0])
    result[f"{name}_images_per_s"] = round(images /
                                           (time.perf_counter() - start))
    # ru_maxrss never falls: the ordered figure is the peak of that pass,
    # the shuffled one the peak of both.
    result[f"{name}_peak_rss_mib"] = round(_peak_rss_mib())
    result[f"{name}_end_rss_mib"] = round(_rss_mib())
  return result


def batch_point(batch_size: int, args) -> dict:
  """Mean step time at `batch_size` (random images: speed only)."""
  model = _model(args.width, batch_size, args.precision)
  images = np.random.default_rng(0).random((batch_size, 32, 32, 1),
                                           np.float32)
  for _ in range(args.warmup):
    model.train_on_batch(images)
  start = time.perf_counter()
  for _ in range(args.steps):
    model.train_on_batch(images)
  seconds = (time.perf_counter() - start) / args.steps
  return {"curve": "batch", "width": args.width, "batch_size": batch_size,
          "precision": args.precision, "steps": args.steps,
          "step_ms": round(1000 * seconds, 1),
          "images_per_s": round(batch_size / seconds, 1)}


POINTS = {"epoch": epoch_point, "memory": memory_point, "batch": batch_point}


def _child(curve: str, value: int, args, extra: list[str]) -> dict:
  command = [sys.executable, os.path.abspath(__file__), "--child", curve,
             "--value", str(value), "--cache_dir", args.cache_dir,
             "--precision", args.precision, "--steps", str(args.steps),
             "--warmup", str(args.warmup), *extra]
  child = subprocess.run(command, capture_output=True, text=True,
                         cwd=REPO_ROOT, check=False)
  if child.returncode:
    sys.exit(f"{curve} {value} failed:\n{child.stderr[-3000:]}")
  result = json.loads(child.stdout.strip().splitlines()[-1])
  result["load_1min"] = round(os.getloadavg()[0], 2)
  print(json.dumps(result), file=sys.stderr, flush=True)
  if args.json:
    with open(args.json, "a") as f:
      f.write(json.dumps(result) + "\n")
  return result


def _ints(text: str) -> list[int]:
  return [int(x) for x in text.split(",") if x]


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--curves", default="epoch,memory,batch")
  parser.add_argument("--sizes", default="500,1000,2000,4000",
                      help="epoch curve: training digits")
  parser.add_argument("--epoch_width", type=float, default=0.25)
  parser.add_argument("--celeba_sizes", default="2000,5000,10000,20000")
  parser.add_argument("--batch_sizes", default="16,32,64,128,256")
  parser.add_argument("--widths", default="0.25,1.0",
                      help="batch curve: net widths")
  parser.add_argument("--precision", default="float32",
                      choices=["float32", "mixed_bfloat16"])
  parser.add_argument("--steps", type=int, default=3)
  parser.add_argument("--warmup", type=int, default=1)
  parser.add_argument("--cache_dir", default=os.path.join(
      tempfile.gettempdir(), "rae_tf_benchmarks"))
  parser.add_argument("--json", help="append every point here as a JSON line")
  parser.add_argument("--child", help=argparse.SUPPRESS)
  parser.add_argument("--value", type=int, help=argparse.SUPPRESS)
  parser.add_argument("--width", type=float, default=0.25,
                      help=argparse.SUPPRESS)
  parser.add_argument("--batch_size", type=int, default=100,
                      help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.child:
    print(json.dumps(POINTS[args.child](args.value, args)))
    return

  curves = args.curves.split(",")
  unknown = sorted(set(curves) - set(POINTS))
  if unknown:
    parser.error(f"--curves must be among {sorted(POINTS)}; got {unknown}")
  print(f"CPUs: {os.cpu_count()}, load average at start: "
        f"{os.getloadavg()[0]:.2f}, precision {args.precision}")
  if "epoch" in curves:
    rows = [_child("epoch", n, args, ["--width", str(args.epoch_width)])
            for n in _ints(args.sizes)]
    base = rows[0]["epoch_s"] / rows[0]["train_images"]
    print(f"\nepoch time vs training digits (width {args.epoch_width}, "
          "batch 100)")
    print(f"{'digits':>7} {'epoch s':>8} {'images/s':>9} {'vs linear':>10}"
          f" {'load':>5}")
    for r in rows:
      ratio = r["epoch_s"] / (base * r["train_images"])
      print(f"{r['train_images']:>7} {r['epoch_s']:>8.2f}"
            f" {r['images_per_s']:>9.1f} {ratio:>10.2f} {r['load_1min']:>5}")
  if "memory" in curves:
    rows = [_child("memory", n, args, []) for n in _ints(args.celeba_sizes)]
    print("\nCelebA streaming: peak RSS (MiB) vs images, batch 64")
    print(f"{'images':>7} {'train':>6} {'warm':>6} {'ordered':>8}"
          f" {'shuffled':>9} {'ordered img/s':>14} {'load':>5}")
    for r in rows:
      print(f"{r['celeba_images']:>7} {r['train_images']:>6}"
            f" {r['rss_warm_mib']:>6} {r['ordered_peak_rss_mib']:>8}"
            f" {r['shuffled_peak_rss_mib']:>9}"
            f" {r['ordered_images_per_s']:>14} {r['load_1min']:>5}")
  if "batch" in curves:
    print(f"\nstep time vs batch size ({args.warmup} warm-up + {args.steps} "
          "timed steps)")
    print(f"{'width':>6} {'batch':>6} {'step ms':>9} {'ms/image':>9}"
          f" {'images/s':>9} {'load':>5}")
    for width in [float(w) for w in args.widths.split(",")]:
      for batch_size in _ints(args.batch_sizes):
        r = _child("batch", batch_size, args, ["--width", str(width)])
        print(f"{width:>6} {batch_size:>6} {r['step_ms']:>9.1f}"
              f" {r['step_ms'] / batch_size:>9.2f} {r['images_per_s']:>9.1f}"
              f" {r['load_1min']:>5}", flush=True)


if __name__ == "__main__":
  main()
