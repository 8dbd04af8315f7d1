r"""RAE-SN: the spectral norms of the kernels a trained model serves.

    python benchmarks/sn_sigma.py --workdir=runs/table-mnist/rae_sn

Keras' `SpectralNormalization` normalises only in training mode, by
assigning W / sigma(W) to the kernel before the forward pass; the optimiser
step then moves that kernel, and inference (validation, the export) uses it
as it is. So the served kernels are normalised only up to the last step's
update, where the authors' layer divides by sigma in every call. This loads a
finished run's best weights and prints, per normalised layer, the largest
singular value of its kernel reshaped as Keras reshapes it, (-1, last
dimension) (exact, by SVD): 1.0 means train and inference agree.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # pylint: disable=g-import-not-at-top,wrong-import-position

from rae_tf import config as config_lib  # pylint: disable=g-import-not-at-top,wrong-import-position
from rae_tf import models  # pylint: disable=g-import-not-at-top,wrong-import-position


def spectral_norms(network: keras.Model) -> dict[str, float]:
  """Layer name -> sigma_max of each SpectralNormalization layer's kernel."""
  norms = {}
  for layer in network.layers:
    if isinstance(layer, keras.layers.SpectralNormalization):
      kernel = np.asarray(layer.layer.kernel)
      # The matrix Keras' power iteration normalises: the kernel reshaped to
      # (-1, last dimension), whatever the layer type.
      matrix = kernel.reshape(-1, kernel.shape[-1])
      norms[layer.name] = float(np.linalg.svd(matrix, compute_uv=False)[0])
  return norms


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--workdir", required=True,
                      help="a finished rae_tf.main run with --reg=sn")
  args = parser.parse_args()
  with open(os.path.join(args.workdir, "config.json")) as f:
    config = config_lib.Config.from_json(f.read())
  model = models.build_model(config)
  model.load_weights(os.path.join(args.workdir, "checkpoints",
                                  "best.weights.h5"))
  result = {"workdir": args.workdir,
            "decoder": spectral_norms(model.decoder),
            "encoder": spectral_norms(model.encoder)}
  values = [v for part in ("decoder", "encoder") for v in result[part].values()]
  if values:
    result["range"] = [min(values), max(values)]
  print(json.dumps(result, indent=2))


if __name__ == "__main__":
  main()
