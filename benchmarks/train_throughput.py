r"""Training throughput of the paper's nets: images/s, GFLOP/s, loss parity.

    python benchmarks/train_throughput.py --dataset=mnist --reg=l2 --width=1.0
    python benchmarks/train_throughput.py --precision=mixed_bfloat16 --jit
    python benchmarks/train_throughput.py --dataset=celeba --reg=sn

Times `--steps` training steps (after `--warmup` untimed ones, which include
tracing) on real MNIST digits (the embedded set; random images for CelebA),
reports images/s and the achieved GFLOP/s from an analytic FLOP count, and
the reconstruction loss after the timed steps, so that precision and
compilation variants can be compared at equal quality.

FLOPs: forward multiply-accumulates of every Conv / ConvTranspose / Dense
layer, counted from the layer shapes; one training step costs
3 x forward (the backward pass computes gradients w.r.t. both inputs and
weights) x 2 FLOPs per MAC. RAE-GP adds a second decoder backward and its
double backward; that is not counted, so its GFLOP/s is a lower bound.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # pylint: disable=g-import-not-at-top,wrong-import-position
import tensorflow as tf  # pylint: disable=g-import-not-at-top,wrong-import-position


def forward_macs(model: keras.Model) -> int:
  """Multiply-accumulates of one image through every kernel layer."""
  total = 0
  for layer in model.layers:
    if isinstance(layer, keras.Model):
      total += forward_macs(layer)
      continue
    inner = getattr(layer, "layer", layer)  # SpectralNormalization
    if isinstance(inner, keras.layers.Conv2DTranspose):
      # Every input pixel scatters a k x k x C_out patch.
      _, height, width, channels = layer.input.shape
      kh, kw = inner.kernel_size
      total += height * width * kh * kw * channels * inner.filters
    elif isinstance(inner, keras.layers.Conv2D):
      _, height, width, _ = layer.output.shape
      kh, kw = inner.kernel_size
      total += height * width * kh * kw * layer.input.shape[-1] * inner.filters
    elif isinstance(inner, keras.layers.Dense):
      total += layer.input.shape[-1] * inner.units
  return total


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--dataset", default="mnist",
                      choices=["mnist", "cifar10", "celeba"])
  parser.add_argument("--model", default="rae")
  parser.add_argument("--reg", default="l2", choices=["none", "l2", "gp", "sn"])
  parser.add_argument("--width", type=float, default=1.0)
  parser.add_argument("--batch_size", type=int, default=100)
  parser.add_argument("--precision", default="float32",
                      choices=["float32", "mixed_bfloat16", "mixed_float16"])
  parser.add_argument("--jit", action="store_true", help="XLA-compile steps")
  parser.add_argument("--steps", type=int, default=20)
  parser.add_argument("--warmup", type=int, default=3)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--json", help="append the result as a JSON line here")
  args = parser.parse_args()

  from rae_tf import config as config_lib  # pylint: disable=g-import-not-at-top
  from rae_tf import models  # pylint: disable=g-import-not-at-top

  keras.mixed_precision.set_global_policy(args.precision)
  keras.utils.set_random_seed(args.seed)
  config = config_lib.make_config(args.dataset, args.model, args.reg,
                                  width=args.width,
                                  batch_size=args.batch_size)
  model = models.build_model(config)
  model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                jit_compile=args.jit)
  if args.dataset == "mnist":
    from rae_tf.readers import mnist  # pylint: disable=g-import-not-at-top
    digits = mnist.read_embedded().train.astype(np.float32) / 255.0
    images = np.pad(digits, ((0, 0), (2, 2), (2, 2), (0, 0)))
  else:
    images = np.random.default_rng(0).random(
        (2000, *config.image_shape), np.float32)
  batches = [images[i:i + args.batch_size]
             for i in range(0, len(images) - args.batch_size + 1,
                            args.batch_size)]
  def run(count, offset):
    for i in range(count):
      logs = model.train_on_batch(batches[(offset + i) % len(batches)],
                                  return_dict=True)
    return logs

  run(args.warmup, 0)
  start = time.perf_counter()
  logs = run(args.steps, args.warmup)
  seconds = time.perf_counter() - start

  # Quality after the fixed number of steps: inference-mode reconstruction
  # error of the first 500 images.
  held = tf.constant(images[:500])
  reconstruction = float(tf.reduce_mean(tf.square(
      tf.cast(model(held, training=False), tf.float32) - held)))
  macs = forward_macs(model.encoder) + forward_macs(model.decoder)
  images_per_second = args.steps * args.batch_size / seconds
  result = {
      "dataset": args.dataset, "model": args.model, "reg": args.reg,
      "width": args.width, "batch_size": args.batch_size,
      "precision": args.precision, "jit": args.jit,
      "forward_gmac_per_image": macs / 1e9,
      "images_per_second": images_per_second,
      "step_ms": 1000 * seconds / args.steps,
      "train_gflops": images_per_second * 3 * 2 * macs / 1e9,
      "running_mean_loss": logs["loss"],
      "reconstruction_after_steps": reconstruction,
      "steps": args.warmup + args.steps,
  }
  print(json.dumps(result))
  if args.json:
    with open(args.json, "a") as f:
      f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
  main()
