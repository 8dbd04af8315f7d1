r"""RAE-GP: the paper's penalty and the authors' code's, on a trained decoder.

    python benchmarks/gp_forms.py --workdir=runs/table-mnist/rae_gp

The paper penalises ||grad_z D(z)||_F^2 (`--gp_form=jacobian`, estimated in
training with one Hutchinson probe); the authors' code penalises
mean_{b,j} (d sum_p x_hat_p^2 / dz_j)^2 = mean_{b,j} (2 J_b^T x_hat_b)_j^2
(`--gp_form=authors`), for which their lambda was tuned. This loads a
finished run's best weights, decodes the codes of its validation images and
prints both quantities (the paper's computed exactly with the full (P, d)
Jacobian, not estimated) and their ratio, per image averaged; the ratio says
how the authors' lambda translates to the paper's quantity on this decoder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # pylint: disable=g-import-not-at-top,wrong-import-position

from rae_tf import config as config_lib  # pylint: disable=g-import-not-at-top,wrong-import-position
from rae_tf import data  # pylint: disable=g-import-not-at-top,wrong-import-position
from rae_tf import models  # pylint: disable=g-import-not-at-top,wrong-import-position
from rae_tf import regularizers  # pylint: disable=g-import-not-at-top,wrong-import-position
from rae_tf import train  # pylint: disable=g-import-not-at-top,wrong-import-position

_BATCH = 50


def frobenius_squared(decoder, codes: tf.Tensor) -> np.ndarray:
  """(B,) exact ||dD(z_b)/dz_b||_F^2, one forward-mode column J e_j at a time.

  (tape.batch_jacobian's pfor crashed on these decoders; d forward-mode
  passes give the same d columns.)
  """
  total = np.zeros(len(codes))
  for j in range(codes.shape[1]):
    tangent = tf.one_hot(tf.fill([len(codes)], j), codes.shape[1])  # (B, d)
    with tf.autodiff.ForwardAccumulator(codes, tangent) as accumulator:
      outputs = decoder(codes, training=False)
    column = accumulator.jvp(outputs)  # (B, H, W, C), J_b e_j
    total += tf.reduce_sum(tf.square(column), axis=(1, 2, 3)).numpy()
  return total


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--workdir", required=True,
                      help="a finished rae_tf.main run (results.json)")
  parser.add_argument("--num_images", type=int, default=500)
  args = parser.parse_args()
  with open(os.path.join(args.workdir, "config.json")) as f:
    config = config_lib.Config.from_json(f.read())
  model = models.build_model(config)
  model.load_weights(os.path.join(args.workdir, "checkpoints",
                                  "best.weights.h5"))
  splits = data.load_splits(config.dataset, config.data_dir,
                            config.image_shape, config.max_train_examples,
                            **config.data_options)
  images = train.take_images(splits.validation, args.num_images)
  paper, authors = [], []
  for start in range(0, len(images), _BATCH):
    codes = model.encode(images[start:start + _BATCH])  # (B, d)
    paper.append(frobenius_squared(model.decoder, codes))
    _, penalty = regularizers.decode_with_authors_gp(model.decoder, codes,
                                                     False, None)
    # The authors' penalty is a mean over B * d entries: per image, x d.
    authors.append(float(penalty) * codes.shape[1])
  paper_mean = float(np.mean(np.concatenate(paper)))
  authors_mean = float(np.mean(authors))
  print(json.dumps({
      "workdir": args.workdir, "images": len(images),
      "latent_dim": config.latent_dim, "trained_gp_form": config.gp_form,
      "paper_frobenius_squared_per_image": paper_mean,
      "authors_sum_over_code_per_image": authors_mean,
      "authors_mean_over_batch_and_code": authors_mean / config.latent_dim,
      "ratio_authors_penalty_to_paper": authors_mean / config.latent_dim
                                        / paper_mean,
  }, indent=2))


if __name__ == "__main__":
  main()
