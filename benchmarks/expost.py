r"""Ex-post step costs: GMM fit time and the exported `sample` throughput.

    python benchmarks/expost.py                      # both measurements
    python benchmarks/expost.py --skip_sample        # GMM fits only

GMM: the paper's 10-component full-covariance fit (scikit-learn, max_iter
2000, tol 1e-3) on 60,000 x 16 codes (MNIST-sized) and 160,000 x 64 codes
(CelebA-sized), drawn from a 10-component mixture so EM has real structure.
Sampling: a SavedModel of the paper's nets at `--width` with a fitted GMM,
reloaded with tf.saved_model.load, `sample` signature called with
`--num_samples` per request (images decoded in the graph).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # pylint: disable=g-import-not-at-top,wrong-import-position

from rae_tf import config as config_lib  # pylint: disable=g-import-not-at-top,wrong-import-position
from rae_tf import export  # pylint: disable=g-import-not-at-top,wrong-import-position
from rae_tf import models  # pylint: disable=g-import-not-at-top,wrong-import-position
from rae_tf import sampler  # pylint: disable=g-import-not-at-top,wrong-import-position


def mixture_codes(count: int, dim: int, seed: int = 0) -> np.ndarray:
  rng = np.random.default_rng(seed)
  centres = rng.normal(scale=3.0, size=(10, dim))
  return centres[rng.integers(10, size=count)] + rng.normal(size=(count, dim))


def time_gmm(count: int, dim: int) -> dict:
  codes = mixture_codes(count, dim)
  start = time.perf_counter()
  sampler.fit_gmm(codes, num_components=10, seed=0)
  return {"codes": f"{count}x{dim}", "gmm_fit_seconds":
          time.perf_counter() - start}


def time_sampling(dataset: str, width: float, num_samples: int,
                  repeats: int) -> dict:
  config = config_lib.make_config(dataset, "rae", "l2", width=width)
  model = models.build_model(config)
  gmm = sampler.MixtureSampler.from_mixture(
      sampler.fit_gmm(mixture_codes(5000, config.latent_dim), 10))
  with tempfile.TemporaryDirectory() as tmp:
    path = export.export_model(
        model, code_sampler=gmm, export_base=tmp, model_name="bench",
        image_shape=config.image_shape, latent_dim=config.latent_dim,
        max_samples_per_request=max(num_samples,
                                    config.max_samples_per_request))
    sample = tf.saved_model.load(path).signatures["sample"]
    sample(num_samples=tf.constant(num_samples),
           seed=tf.constant(0, tf.int64))  # warm-up
    start = time.perf_counter()
    for seed in range(repeats):
      images = sample(num_samples=tf.constant(num_samples),
                      seed=tf.constant(seed, tf.int64))["images"]
      images.numpy()
    seconds = time.perf_counter() - start
  return {"dataset": dataset, "width": width, "num_samples": num_samples,
          "sample_images_per_second": repeats * num_samples / seconds}


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--width", type=float, default=1.0)
  parser.add_argument("--num_samples", type=int, default=100)
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--skip_gmm", action="store_true")
  parser.add_argument("--skip_sample", action="store_true")
  args = parser.parse_args()
  results = []
  if not args.skip_gmm:
    results += [time_gmm(60_000, 16), time_gmm(160_000, 64)]
  if not args.skip_sample:
    results += [time_sampling(dataset, args.width, args.num_samples,
                              args.repeats) for dataset in ("mnist", "celeba")]
  for result in results:
    print(json.dumps(result))


if __name__ == "__main__":
  main()
