"""Images per second of the FID feature extractor, and sanity FIDs.

Throughput: `rae_tf.evaluation.features.FeatureExtractor` (uint8 -> TF1 bilinear resize to
299x299 -> Keras Inception -> 2048-d) on the CPU, and on the GPU when TF sees
one, after one warm-up batch.

With --precisions float32,bfloat16 each network precision of
`features.PRECISIONS` is timed, and (--accuracy_n N > 0) compared with the
first: features of N embedded-MNIST validation and N test images, their
relative difference (||f - f_float32|| / ||f_float32|| per image), and the
FID and KID of validation vs test.

Sanity FIDs (with --fid_n N > 0), N images per side, the checks of
/work/shared/OFFLINE.md (N = 1000 there: 11.1, 195, 426). FID is biased
upward at small N, so compare values at equal N only:
  mnist_vs_mnist    embedded MNIST train[:N] vs the disjoint train[N:2N]
  mnist_vs_fashion  MNIST train[:N] vs Fashion-MNIST test[:N] (skipped when
                    /usr/share/datasets/fashion-mnist is absent)
  mnist_vs_noise    MNIST train[:N] vs N grey images of uniform [0, 1] noise
each with PRD (F_8, F_1/8) unless --no_prd.

Needs the converted weights (`python -m rae_tf.evaluation.convert_inception`).

Usage:
  python benchmarks/fid_throughput.py --images 200
  python benchmarks/fid_throughput.py --images 100 --fid_n 500 --json out.json
  python benchmarks/fid_throughput.py --images 400 \
      --precisions float32,bfloat16 --accuracy_n 500
"""

import argparse
import json
import os
import sys
import time

import numpy as np

# Run from a checkout without installing: make `rae_tf` importable.
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
  sys.path.insert(0, REPO_ROOT)

import tensorflow as tf  # pylint: disable=wrong-import-position

from rae_tf import data  # pylint: disable=wrong-import-position
from rae_tf import train  # pylint: disable=wrong-import-position
from rae_tf.evaluation import features  # pylint: disable=wrong-import-position
from rae_tf.evaluation import fid  # pylint: disable=wrong-import-position
from rae_tf.evaluation import kid  # pylint: disable=wrong-import-position
from rae_tf.evaluation import prd  # pylint: disable=wrong-import-position
from rae_tf.readers import mnist  # pylint: disable=wrong-import-position


def throughput(device: str, images: np.ndarray, batch_size: int,
               precision: str = "float32") -> dict:
  """Feature images/s on `device`, after a warm-up batch (tracing)."""
  with tf.device(device):
    extractor = features.FeatureExtractor(batch_size=batch_size,
                                          precision=precision)
    extractor(images[:batch_size])
    start = time.perf_counter()
    extractor(images)
    seconds = time.perf_counter() - start
  return {"device": device, "precision": precision, "images": len(images),
          "batch_size": batch_size, "seconds": round(seconds, 1),
          "images_per_s": round(len(images) / seconds, 1)}


def precision_accuracy(precisions: list, n: int, batch_size: int) -> list:
  """FID / KID of MNIST validation[:n] vs test[:n] per precision.

  Also the relative feature difference to the first precision, per image:
  ||f - f_0|| / ||f_0||, median and max.
  """
  splits = data.load_splits("mnist", None, (32, 32, 1))
  images = np.concatenate([train.take_images(splits.validation, n),
                           train.take_images(splits.test, n)])
  results, first = [], None
  for precision in precisions:
    extractor = features.FeatureExtractor(batch_size=batch_size,
                                          precision=precision)
    image_features = extractor(images)  # (2n, 2048): validation, then test
    if first is None:
      first = image_features
    difference = (np.linalg.norm(image_features - first, axis=1) /
                  np.linalg.norm(first, axis=1))
    reference = fid.FeatureStatistics.from_features(image_features[n:])
    kid_mean, kid_std = kid.kernel_inception_distance(image_features[:n],
                                                      image_features[n:])
    result = {"precision": precision, "n": n,
              "feature_rel_diff_median": float(np.median(difference)),
              "feature_rel_diff_max": float(difference.max()),
              "fid": fid.fid_from_features(image_features[:n],
                                           reference).value,
              "kid": kid_mean, "kid_std": kid_std}
    results.append(result)
    print(json.dumps(result), file=sys.stderr)
  return results


def sanity_fids(n: int, batch_size: int, with_prd: bool, seed: int) -> list:
  """FID (and PRD) of MNIST against three other sets, N images per side."""
  digits = mnist.read_embedded().train
  if 2 * n > len(digits):
    raise SystemExit(f"--fid_n {n} needs {2 * n} MNIST digits; the embedded "
                     f"training split has {len(digits)}")
  others = {"mnist_vs_mnist": digits[n:2 * n],
            "mnist_vs_noise": np.random.default_rng(seed).uniform(
                size=(n, 28, 28, 1)).astype(np.float32)}
  try:
    others["mnist_vs_fashion"] = mnist.read_fashion_mnist(None).test[:n]
  except data.DataError as e:
    print(f"mnist_vs_fashion skipped: {e}", file=sys.stderr)
  extractor = features.FeatureExtractor(batch_size=batch_size)
  start = time.perf_counter()
  reference_features = extractor(digits[:n])
  reference = fid.FeatureStatistics.from_features(reference_features)
  results = []
  for name, images in others.items():
    image_features = extractor(images)
    result = {"pair": name, "fid": round(fid.fid_from_features(
        image_features, reference).value, 2), "n": n, "n_reference": n}
    if with_prd:
      curve = prd.prd_from_features(image_features, reference_features,
                                    seed=seed)
      result.update(f_8=round(curve.f_8, 3), f_1_8=round(curve.f_1_8, 3))
    results.append(result)
    print(json.dumps(result), file=sys.stderr)
  print(f"sanity FIDs: {time.perf_counter() - start:.0f} s", file=sys.stderr)
  return results


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--images", type=int, default=200,
                      help="images timed per device")
  parser.add_argument("--batch_size", type=int, default=50)
  parser.add_argument("--precisions", default="float32",
                      help="comma-separated keys of features.PRECISIONS")
  parser.add_argument("--accuracy_n", type=int, default=0,
                      help="MNIST validation and test images per side of the "
                      "precision comparison (0: skip)")
  parser.add_argument("--fid_n", type=int, default=0,
                      help="images per side of the sanity FIDs (0: skip)")
  parser.add_argument("--no_prd", action="store_true",
                      help="skip PRD on the sanity pairs")
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--json", help="also write the results here")
  args = parser.parse_args()
  precisions = args.precisions.split(",")
  unknown = sorted(set(precisions) - set(features.PRECISIONS))
  if unknown:
    parser.error(f"--precisions must be among {sorted(features.PRECISIONS)}; "
                 f"got {unknown}")

  digits = mnist.read_embedded().train
  images = digits[np.arange(args.images) % len(digits)]
  devices = ["/CPU:0"] + (["/GPU:0"] if tf.config.list_physical_devices(
      "GPU") else [])
  results = {"throughput": [throughput(d, images, args.batch_size, p)
                            for d in devices for p in precisions]}
  for r in results["throughput"]:
    print(json.dumps(r), file=sys.stderr)
  if args.accuracy_n:
    results["accuracy"] = precision_accuracy(precisions, args.accuracy_n,
                                             args.batch_size)
  if args.fid_n:
    results["sanity"] = sanity_fids(args.fid_n, args.batch_size,
                                    not args.no_prd, args.seed)

  print(f"\nCPUs: {os.cpu_count()}, load average at end: "
        f"{os.getloadavg()[0]:.1f}")
  print(f"{'device':<8} {'precision':<9} {'images/s':>9}  (batch "
        f"{args.batch_size}, {args.images} MNIST images, 28x28 -> 299x299)")
  for r in results["throughput"]:
    print(f"{r['device']:<8} {r['precision']:<9} {r['images_per_s']:>9}")
  for r in results.get("accuracy", []):
    print(f"{r['precision']:<9} MNIST val vs test (N={r['n']}): FID "
          f"{r['fid']:.4f}, KID {r['kid']:.3e} +- {r['kid_std']:.1e}, "
          f"feature rel. diff median {r['feature_rel_diff_median']:.2e} "
          f"max {r['feature_rel_diff_max']:.2e}")
  for r in results.get("sanity", []):
    extra = (f"  PRD (F_8, F_1/8) = ({r['f_8']}, {r['f_1_8']})"
             if "f_8" in r else "")
    print(f"{r['pair']:<17} FID {r['fid']:>7} (N={r['n']} per side){extra}")
  if args.json:
    with open(args.json, "w") as f:
      json.dump(results, f, indent=2)


if __name__ == "__main__":
  main()
