r"""Where a training step spends its time: a TensorFlow profiler trace, summarised.

    python benchmarks/profile_step.py
    python benchmarks/profile_step.py --precisions=mixed_bfloat16 --steps=5
    tensorboard --logdir /tmp/rae_tf_profile   # with tensorboard-plugin-profile

Traces `--steps` training steps (after `--warmup` untimed ones) of the
paper's MNIST net (RAE-L2, batch 100, real digits) per precision with
`tf.profiler.experimental`, into `--logdir/<precision>/plugins/profile/...`
(the TensorBoard profile plugin reads it). The script then reads the trace's
XSpace (`*.xplane.pb`, the protobuf shipped inside TensorFlow, so no plugin
is needed) and prints

  * the top ops by self time per step, with the GFLOP/s of every
    convolution / matmul op;
  * the same grouped by op type (oneDNN kernels keep their `_Mkl*` names);
  * the achieved GFLOP/s against a measured matmul peak (a 4096^3 oneDNN
    matmul, fp32 and bf16, on the same cores).

FLOPs of an op come from its layer: the forward op, the gradient w.r.t. the
input and the gradient w.r.t. the kernel of a Conv / ConvTranspose / Dense
layer each cost the layer's forward multiply-accumulates x 2 x batch. Ops
are tied to layers by renaming every layer `e03_conv2d`-style (encoder layer
3) before tracing; names do not enter the maths.

Self time is an op's duration on its executor thread minus that of ops
nested in it. Each op's time is wall time on one inter-op thread while its
kernel may use both cores, and two ops can run at once, so the op times of a
step may add up to more or less than its wall time; both are printed.
"""

from __future__ import annotations

import argparse
import collections
import glob
import os
import re
import shutil
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # pylint: disable=g-import-not-at-top,wrong-import-position
import tensorflow as tf  # pylint: disable=g-import-not-at-top,wrong-import-position
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # pylint: disable=g-import-not-at-top,wrong-import-position

_LAYER = re.compile(r"(?:^|/)([ed])(\d\d)_")
_KERNEL_OPS = ("Conv2D", "MatMul")  # op types whose FLOPs are counted


def layer_macs(layer: keras.layers.Layer) -> int:
  """Forward multiply-accumulates of one image through `layer` (0 if none)."""
  inner = getattr(layer, "layer", layer)  # SpectralNormalization
  if isinstance(inner, keras.layers.Conv2DTranspose):
    _, height, width, channels = layer.input.shape
    kh, kw = inner.kernel_size
    return height * width * kh * kw * channels * inner.filters
  if isinstance(inner, keras.layers.Conv2D):
    _, height, width, _ = layer.output.shape
    kh, kw = inner.kernel_size
    return height * width * kh * kw * layer.input.shape[-1] * inner.filters
  if isinstance(inner, keras.layers.Dense):
    return layer.input.shape[-1] * inner.units
  return 0


def tag_layers(model) -> dict[str, tuple[str, int]]:
  """Renames the layers `e00_conv2d`, `d03_conv2d_transpose`, ...

  Returns:
    {tag: (new layer name, forward MACs per image)}, tag = "e03" etc.
  """
  tags = {}
  for prefix, network in (("e", model.encoder), ("d", model.decoder)):
    for index, layer in enumerate(network.layers):
      tag = f"{prefix}{index:02d}"
      layer.name = f"{tag}_{layer.name}"
      tags[tag] = (layer.name, layer_macs(layer))
  return tags


def read_xspace(logdir: str) -> xplane_pb2.XSpace:
  """The newest XSpace written under `logdir`."""
  paths = glob.glob(os.path.join(logdir, "plugins", "profile", "*",
                                 "*.xplane.pb"))
  if not paths:
    raise FileNotFoundError(f"no *.xplane.pb under {logdir}/plugins/profile")
  space = xplane_pb2.XSpace()
  with open(max(paths, key=os.path.getmtime), "rb") as f:
    space.ParseFromString(f.read())
  return space


def op_self_times(space: xplane_pb2.XSpace):
  """Self time (s) per TF op name summed over the trace, its type, step walls.

  TF ops appear on the executor threads' lines as events named
  "op_name:OpType"; the Python thread carries our "train" step events.
  """
  plane = next(p for p in space.planes if p.name == "/host:CPU")
  names = {key: meta.name for key, meta in plane.event_metadata.items()}
  self_seconds = collections.Counter()
  op_types = {}
  step_walls = []
  for line in plane.lines:
    ops = []
    for event in line.events:
      name = names[event.metadata_id]
      if name == "train":
        step_walls.append(event.duration_ps * 1e-12)
      elif re.fullmatch(r"[\w./-]+:\w+", name):  # "op_name:OpType"
        ops.append((event.offset_ps, event.offset_ps + event.duration_ps,
                    name))
    ops.sort(key=lambda op: (op[0], -op[1]))
    stack = []  # [end, name, duration, children's duration]
    def pop():
      end, name, duration, children = stack.pop()
      del end
      op_name, op_type = name.rsplit(":", 1)
      self_seconds[op_name] += (duration - children) * 1e-12
      op_types[op_name] = op_type
      if stack:
        stack[-1][3] += duration
    for start, end, name in ops:
      while stack and stack[-1][0] <= start:
        pop()
      stack.append([end, name, end - start, 0])
    while stack:
      pop()
  return self_seconds, op_types, step_walls


def matmul_peak(dtype: tf.DType, size: int = 4096, repeats: int = 5) -> float:
  """GFLOP/s of a size^3 matmul (oneDNN), the best of `repeats`."""
  a = tf.cast(tf.random.normal((size, size)), dtype)
  matmul = tf.function(tf.linalg.matmul)
  best = float("inf")
  for _ in range(repeats + 1):
    start = time.perf_counter()
    matmul(a, a).numpy()
    best = min(best, time.perf_counter() - start)
  return 2 * size**3 / best / 1e9


def profile(precision: str, args) -> dict:
  """Traces the steps under `precision` and returns the per-op summary."""
  from rae_tf import config as config_lib  # pylint: disable=g-import-not-at-top
  from rae_tf import models  # pylint: disable=g-import-not-at-top
  from rae_tf.readers import mnist  # pylint: disable=g-import-not-at-top

  keras.mixed_precision.set_global_policy(precision)
  keras.utils.set_random_seed(0)
  config = config_lib.make_config("mnist", "rae", "l2", width=args.width,
                                  batch_size=args.batch_size)
  model = models.build_model(config)
  tags = tag_layers(model)
  model.compile(optimizer=keras.optimizers.Adam(config.learning_rate))
  digits = mnist.read_embedded().train.astype(np.float32) / 255.0
  images = np.pad(digits, ((0, 0), (2, 2), (2, 2), (0, 0)))  # (N, 32, 32, 1)
  batches = [images[i:i + args.batch_size]
             for i in range(0, (args.warmup + args.steps) * args.batch_size,
                            args.batch_size)]
  for batch in batches[:args.warmup]:
    model.train_on_batch(batch)
  logdir = os.path.join(args.logdir, precision)
  shutil.rmtree(logdir, ignore_errors=True)
  tf.profiler.experimental.start(logdir)
  for step, batch in enumerate(batches[args.warmup:]):
    with tf.profiler.experimental.Trace("train", step_num=step, _r=1):
      model.train_on_batch(batch)
  tf.profiler.experimental.stop()

  self_seconds, op_types, step_walls = op_self_times(read_xspace(logdir))
  rows = []
  for op_name, seconds in self_seconds.items():
    op_type = op_types[op_name]
    match = _LAYER.search(op_name)
    flops = 0
    if match and any(kind in op_type for kind in _KERNEL_OPS):
      flops = 2 * tags[match.group(1) + match.group(2)][1] * args.batch_size
    rows.append({"op": op_name, "type": op_type,
                 "ms": 1000 * seconds / args.steps, "gflop": flops / 1e9})
  return {"precision": precision, "logdir": logdir, "rows": rows,
          "step_ms": 1000 * float(np.mean(step_walls)),
          "step_flops": 3 * 2 * sum(m for _, m in tags.values())
                        * args.batch_size}


def print_summary(result: dict, top: int, peaks: dict) -> None:
  """Prints the top ops, the per-type table and the step's GFLOP/s."""
  rows = sorted(result["rows"], key=lambda r: -r["ms"])
  total_ms = sum(r["ms"] for r in rows)
  peak = peaks["bfloat16" if "bfloat16" in result["precision"] else "float32"]
  print(f"\n== {result['precision']}: step {result['step_ms']:.0f} ms wall, "
        f"op self time {total_ms:.0f} ms/step, "
        f"{result['step_flops'] / result['step_ms'] / 1e6:.0f} GFLOP/s "
        f"achieved ({peak:.0f} matmul peak); trace in {result['logdir']}")
  print(f"{'op (self time per step)':<72} {'type':<40} {'ms':>7} {'%':>5}"
        f" {'GFLOP/s':>8}")
  for row in rows[:top]:
    speed = f"{row['gflop'] / row['ms'] * 1000:.0f}" if row["gflop"] else ""
    print(f"{row['op'][-72:]:<72} {row['type'][:40]:<40} {row['ms']:>7.1f}"
          f" {100 * row['ms'] / total_ms:>5.1f} {speed:>8}")
  by_type = collections.defaultdict(lambda: [0.0, 0.0, 0])
  for row in rows:
    by_type[row["type"]][0] += row["ms"]
    by_type[row["type"]][1] += row["gflop"]
    by_type[row["type"]][2] += 1
  print(f"\n{'op type':<44} {'ops':>4} {'ms':>7} {'%':>5} {'GFLOP/s':>8}"
        f" {'% of peak':>9}")
  for op_type, (ms, gflop, count) in sorted(by_type.items(),
                                            key=lambda kv: -kv[1][0])[:top]:
    speed = gflop / ms * 1000 if gflop else 0
    print(f"{op_type[:44]:<44} {count:>4} {ms:>7.1f} {100 * ms / total_ms:>5.1f}"
          + (f" {speed:>8.0f} {100 * speed / peak:>9.0f}" if gflop else ""))
  kernel_ms = sum(r["ms"] for r in rows if r["gflop"])
  print(f"conv/matmul ops: {kernel_ms:.0f} ms/step "
        f"({100 * kernel_ms / total_ms:.0f}% of op time), "
        f"{sum(r['gflop'] for r in rows) / kernel_ms * 1000:.0f} GFLOP/s "
        "while they run")


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--precisions", default="float32,mixed_bfloat16")
  parser.add_argument("--width", type=float, default=1.0)
  parser.add_argument("--batch_size", type=int, default=100)
  parser.add_argument("--steps", type=int, default=3)
  parser.add_argument("--warmup", type=int, default=2)
  parser.add_argument("--top", type=int, default=20)
  parser.add_argument("--logdir", default="/tmp/rae_tf_profile")
  parser.add_argument("--inter_op_threads", type=int, default=0,
                      help="ops run at once (0: TensorFlow's default, the "
                      "number of cores)")
  args = parser.parse_args()
  tf.config.threading.set_inter_op_parallelism_threads(args.inter_op_threads)
  peaks = {"float32": matmul_peak(tf.float32),
           "bfloat16": matmul_peak(tf.bfloat16)}
  print(f"4096^3 matmul peak: fp32 {peaks['float32']:.0f} GFLOP/s, "
        f"bf16 {peaks['bfloat16']:.0f} GFLOP/s; load average "
        f"{os.getloadavg()[0]:.2f}")
  for precision in args.precisions.split(","):
    print_summary(profile(precision, args), args.top, peaks)
  print(f"\nload average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
  main()
