r"""One CPU-budget run per model on the same data; a Markdown table of the results.

    python benchmarks/model_table.py --epochs=10 --out=runs/model_table

Runs `python -m rae_tf.main` for AE, RAE, RAE-L2, RAE-GP, RAE-SN, VAE,
CV-VAE, WAE and the two-stage VAE (each with its paper defaults, the same
`--width` / `--epochs` for all), reusing a run whose results.json exists,
and prints test reconstruction error, mean validation log-likelihood of the
codes under the ex-post Gaussian and GMM, training images/s and wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

MODELS = {
    "AE": ["--model=ae"],
    "RAE": ["--model=rae", "--reg=none"],
    "RAE-L2": ["--model=rae", "--reg=l2"],
    "RAE-GP": ["--model=rae", "--reg=gp"],
    "RAE-SN": ["--model=rae", "--reg=sn"],
    "VAE": ["--model=vae"],
    "CV-VAE": ["--model=cvvae"],
    "WAE": ["--model=wae"],
    "2sVAE": ["--model=two_stage_vae"],
}


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--dataset", default="mnist")
  parser.add_argument("--width", default="0.25")
  parser.add_argument("--epochs", default="10")
  parser.add_argument("--out", default="runs/model_table")
  parser.add_argument("--models", default=",".join(MODELS))
  args = parser.parse_args()
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  rows = []
  for name in args.models.split(","):
    workdir = os.path.join(args.out, name)
    results_path = os.path.join(workdir, "results.json")
    if not os.path.exists(results_path):
      subprocess.run(
          [sys.executable, "-m", "rae_tf.main", f"--dataset={args.dataset}",
           f"--width={args.width}", f"--epochs={args.epochs}",
           f"--workdir={workdir}", "--overwrite", *MODELS[name]],
          cwd=root, check=True,
          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    with open(results_path) as f:
      results = json.load(f)
    densities = results["densities"]
    rows.append(
        f"| {name} | {results['test']['reconstruction']:.5f} | "
        f"{densities['gaussian']['validation_mean_log_likelihood']:.1f} | "
        f"{densities['gmm']['validation_mean_log_likelihood']:.1f} | "
        f"{results['train_images_per_second']:.0f} | "
        f"{results['wall_time_seconds']:.0f} |")
  print(f"{args.dataset}, width {args.width}, {args.epochs} epochs, batch 100"
        "; test = held-out split")
  print("| model | test reconstruction (per-pixel MSE) | val log-lik, N | "
        "val log-lik, GMM | train images/s | wall s |")
  print("|---|---|---|---|---|---|")
  print("\n".join(rows))


if __name__ == "__main__":
  main()
