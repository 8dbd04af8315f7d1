r"""Does the plain AE's N column fall behind the RAEs' as training goes on?

    python benchmarks/long_study.py

Paper, Table 1, MNIST (100 epochs on 60,000 digits, full width): the plain
AE's N column (FID of samples decoded from one Gaussian fitted to the
training codes) is 58.73, the RAEs' 19.7-23.9; after the README's 10 CPU
epochs every deterministic model's N is 70-74. This trains AE, RAE, RAE-L2
and VAE once each on the embedded MNIST (4,000 / 500 / 500) at width 0.25 for
--epochs (100) as `rae_tf.train.run` does (optimiser, learning-rate plateau,
seeded data order, batch 100), saves the weights at the end of each of
--eval_epochs (10, 30, 100; that epoch's weights, not the best-validation
ones `train.run` restores) and scores each with Table 1's REC / N / GMM /
Interp. (FID, KID) against the test split (N_ref = 500). REC and Interp.
reconstruct and interpolate the validation images (N = 500), never a
reference image; real validation images give the floor of every column.

Time on the 2-core AMD EPYC, measured: 11-13 min of training per model,
about 45 s per checkpoint evaluation, 62 min in all (the README's table).

Writes to --out_dir (default runs/long_study): <model>/epoch-NNN.weights.h5
(weights and Adam state), <model>/history.json (per-epoch losses, training
wall time, configuration), <model>/epoch-NNN.evaluation.json (scores), and
study.json (every number, N, N_ref, sources, seed, wall times) and study.md
(tables and command), both rewritten after each model. Rerunning the same
command resumes cheaply: a model whose history.json and checkpoints all
exist is not retrained (one interrupted while training starts again from
epoch 1), and an evaluation newer than its checkpoint with the same N, N_ref
and seed is reused; `rae_tf.evaluation.features` caches the reference and floor features.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import sys
import time

# Run from a checkout without installing: make `rae_tf` importable.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # pylint: disable=wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position
from absl import app  # pylint: disable=wrong-import-position
from absl import flags  # pylint: disable=wrong-import-position
from absl import logging  # pylint: disable=wrong-import-position

from rae_tf import callbacks as callbacks_lib  # pylint: disable=wrong-import-position
from rae_tf import config as config_lib  # pylint: disable=wrong-import-position
from rae_tf import data  # pylint: disable=wrong-import-position
from rae_tf import errors  # pylint: disable=wrong-import-position
from rae_tf.evaluation import evaluate  # pylint: disable=wrong-import-position
from rae_tf.evaluation import features  # pylint: disable=wrong-import-position
from rae_tf import files  # pylint: disable=wrong-import-position
from rae_tf.evaluation import fid  # pylint: disable=wrong-import-position
from rae_tf.evaluation import kid  # pylint: disable=wrong-import-position
from rae_tf import models  # pylint: disable=wrong-import-position
from rae_tf import train  # pylint: disable=wrong-import-position

import long_study_markdown  # pylint: disable=wrong-import-position

DATASET = "mnist"  # the embedded 5,000 digits
# Key -> (display name, --model, --reg). No two-stage VAE: its N column is
# its own second stage, not an ex-post density.
STUDY_MODELS = {
    "ae": ("AE", "ae", "none"), "rae": ("RAE", "rae", "none"),
    "rae_l2": ("RAE-L2", "rae", "l2"), "rae_gp": ("RAE-GP", "rae", "gp"),
    "rae_sn": ("RAE-SN", "rae", "sn"), "vae": ("VAE", "vae", "none"),
    "cvvae": ("CV-VAE", "cvvae", "none"), "wae": ("WAE", "wae", "none"),
}

FLAGS = flags.FLAGS
flags.DEFINE_list("models", ["ae", "rae", "rae_l2", "vae"],
                  f"Models to train, from {list(STUDY_MODELS)}.")
flags.DEFINE_integer("epochs", 100, "Training epochs of every model.")
flags.DEFINE_list("eval_epochs", ["10", "30", "100"],
                  "Epochs (1..--epochs) whose final weights are evaluated.")
flags.DEFINE_float("width", 0.25, "Width multiplier of the networks.")
flags.DEFINE_string("out_dir", "runs/long_study",
                    "Directory of the checkpoints, evaluations and tables.")
flags.DEFINE_integer("seed", 0, "Seed of weights, data order and sampling.")
flags.DEFINE_integer("fid_samples", 500,
                     "Images per FID set: N of every column (validation "
                     "images, samples) and N_ref of the test reference; at "
                     "most the split's size.")


class EpochCheckpoints(keras.callbacks.Callback):
  """Saves the weights at the end of chosen epochs, atomically."""

  def __init__(self, paths: dict[int, str]):
    """Args: paths: 1-based epoch -> `.weights.h5` path."""
    super().__init__()
    self._paths = paths

  def on_epoch_end(self, epoch, logs=None):
    path = self._paths.get(epoch + 1)
    if path:
      tmp = path[:-len(".weights.h5")] + ".tmp.weights.h5"
      self.model.save_weights(tmp)
      os.replace(tmp, path)


def _parse_flags() -> list[int]:
  """Checks the flags; returns the sorted evaluation epochs."""
  unknown = sorted(set(FLAGS.models) - set(STUDY_MODELS))
  if unknown or not FLAGS.models:
    raise errors.ConfigError(f"--models must name some of "
                             f"{list(STUDY_MODELS)}; got {FLAGS.models}")
  if FLAGS.epochs < 1 or FLAGS.fid_samples < 2:
    raise errors.ConfigError(f"--epochs must be >= 1 and --fid_samples >= 2;"
                             f" got {FLAGS.epochs} and {FLAGS.fid_samples}")
  try:
    epochs = sorted({int(e) for e in FLAGS.eval_epochs})
  except ValueError:
    epochs = []
  if not epochs or not 1 <= epochs[0] <= epochs[-1] <= FLAGS.epochs:
    raise errors.ConfigError(
        f"--eval_epochs must be integers in 1..{FLAGS.epochs} (--epochs); "
        f"got {FLAGS.eval_epochs}")
  return epochs


def _checkpoint(model_dir: str, epoch: int) -> str:
  return os.path.join(model_dir, f"epoch-{epoch:03d}.weights.h5")


def train_or_reuse(config, model_dir: str, eval_epochs: list[int]) -> dict:
  """Trains `config`, saving `eval_epochs`' weights; returns history.json.

  Raises:
    errors.WorkdirError: `model_dir` holds checkpoints of other settings.
  """
  history_path = os.path.join(model_dir, "history.json")
  paths = {epoch: _checkpoint(model_dir, epoch) for epoch in eval_epochs}
  if all(map(os.path.isfile, [history_path, *paths.values()])):
    with open(history_path) as f:
      saved = json.load(f)
    differ = config.fields_differing_from(json.dumps(saved["config"]))
    if differ:
      raise errors.WorkdirError(
          f"{model_dir} holds checkpoints trained with other settings "
          f"({', '.join(differ)} differ); choose another --out_dir")
    logging.info("reusing the checkpoints in %s", model_dir)
    return saved
  os.makedirs(model_dir, exist_ok=True)
  keras.utils.set_random_seed(config.seed)  # as train.run, in its order
  keras.mixed_precision.set_global_policy(config.precision)
  splits = data.load_splits(config.dataset, config.data_dir,
                            config.image_shape, config.max_train_examples)
  model = models.build_model(config)
  model.compile(optimizer=keras.optimizers.Adam(config.learning_rate))
  start = time.perf_counter()
  history = model.fit(
      data.epoch_batches(splits.train, config.batch_size, config.seed, 0,
                         config.epochs),
      steps_per_epoch=math.ceil(splits.sizes["train"] / config.batch_size),
      validation_data=data.batched(splits.validation, config.batch_size),
      epochs=config.epochs, shuffle=False, verbose=2,
      callbacks=[callbacks_lib.NonFiniteLossGuard(),
                 callbacks_lib.learning_rate_plateau(
                     config.lr_patience, config.authors_loss_scale),
                 EpochCheckpoints(paths)])
  record = {"config": json.loads(config.to_json()),
            "wall_time_seconds": time.perf_counter() - start,
            "epochs": {name: [float(v) for v in values]  # epoch 1 first
                       for name, values in history.history.items()}}
  files.atomic_write_text(history_path,
                          json.dumps(record, indent=2, sort_keys=True))
  keras.backend.clear_session()
  return record


def evaluate_checkpoint(config, weights_path: str, train_images,
                        held_out: np.ndarray, reference_features: np.ndarray,
                        extractor: features.FeatureExtractor) -> dict:
  """Table-1 columns of one checkpoint, cached in epoch-NNN.evaluation.json.

  The densities are fitted on the codes of `train_images` (the unbatched
  training split); REC and Interp. use `held_out`, (N, H, W, C) validation
  images; every column is scored against `reference_features` (N_ref, 2048).

  Returns:
    {"columns": {column: {"fid", "kid_mean", "kid_std"}},
     "reconstruction_mse", "num_samples", "num_reference", "seed"}.
  """
  path = weights_path.replace(".weights.h5", ".evaluation.json")
  inputs = (len(held_out), len(reference_features), config.seed)
  if os.path.isfile(path) and (os.path.getmtime(path) >=
                               os.path.getmtime(weights_path)):
    with open(path) as f:
      saved = json.load(f)
    if (saved["num_samples"], saved["num_reference"], saved["seed"]) == inputs:
      logging.info("reusing %s", path)
      return saved
  model = models.build_model(config)
  model.load_weights(weights_path)
  codes = train.encode_all(model, train_images)  # (N_train, d)
  densities = model.ex_post_densities(codes, config.gmm_components,
                                      config.seed)
  run = evaluate.TrainedRun(
      os.path.dirname(weights_path), config,
      encode=lambda x: model.encode(x, training=False).numpy(),
      decode=lambda z: np.asarray(model.decoder(z, training=False),
                                  np.float32),
      samplers={column: evaluate.mixture_sampler(densities[name])
                for column, name in (("N", "gaussian"), ("GMM", "gmm"))},
      # The VAE's REC decodes posterior draws, as Table 1 by default.
      reconstruct_sampled=(lambda x, seed: np.asarray(model.decoder(
          model.posterior_draw(x, seed), training=False), np.float32))
      if hasattr(model, "posterior_draw") else None)
  images = evaluate.generated_images(run, held_out, config.seed)
  columns = {}
  for column, generated in images.items():
    scores = columns[column] = evaluate.column_scores(
        extractor(generated), reference_features, config.seed, with_prd=False)
    logging.info("%s %s %s: %s, %s", config.run_name, os.path.basename(path),
                 column, fid.FidResult(**scores["fid"]),
                 kid.format_kid(scores["kid_mean"], scores["kid_std"]))
  evaluation = dict(
      columns=columns,
      reconstruction_mse=float(np.mean((images["REC"] - held_out)**2)),
      num_samples=inputs[0], num_reference=inputs[1], seed=inputs[2])
  files.atomic_write_text(path, json.dumps(evaluation, indent=2,
                                           sort_keys=True))
  keras.backend.clear_session()
  return evaluation


def run_study(eval_epochs: list[int]) -> str:
  """Trains, evaluates and writes study.json / study.md; returns the table."""
  start = time.perf_counter()
  configs = {key: config_lib.make_config(
      DATASET, *STUDY_MODELS[key][1:], width=FLAGS.width, epochs=FLAGS.epochs,
      seed=FLAGS.seed) for key in FLAGS.models}
  splits = data.load_splits(DATASET, None,
                            next(iter(configs.values())).image_shape)
  num_samples = min(FLAGS.fid_samples, splits.sizes["validation"])
  num_reference = min(FLAGS.fid_samples, splits.sizes["test"])
  extractor = features.FeatureExtractor()
  reference_features = features.reference_features(
      train.take_images(splits.test, num_reference), DATASET, "test",
      extractor)
  held_out = train.take_images(splits.validation, num_samples)
  floor = evaluate.column_scores(
      features.reference_features(held_out, DATASET, "validation", extractor),
      reference_features, FLAGS.seed, with_prd=False)
  logging.info("floor (real validation images): %s",
               fid.FidResult(**floor["fid"]))
  study = {
      "dataset": DATASET, "source": data.DEFAULT_SOURCES[DATASET],
      "train_images": splits.sizes["train"], "width": FLAGS.width,
      "epochs": FLAGS.epochs, "eval_epochs": eval_epochs, "seed": FLAGS.seed,
      "num_samples": num_samples, "num_reference": num_reference,
      "samples_source": f"the first {num_samples} validation images "
                        "(REC, Interp.), decoded N / GMM samples",
      "reference_source": f"the first {num_reference} test images",
      "floor": floor, "models": {},
      "command": shlex.join(["python", "benchmarks/long_study.py",
                             *sys.argv[1:]]),
  }
  os.makedirs(FLAGS.out_dir, exist_ok=True)
  for key, config in configs.items():
    model_dir = os.path.join(FLAGS.out_dir, key)
    history = train_or_reuse(config, model_dir, eval_epochs)
    evaluations = {}
    for epoch in eval_epochs:
      logging.info("evaluating %s after epoch %d", key, epoch)
      evaluations[str(epoch)] = evaluate_checkpoint(
          config, _checkpoint(model_dir, epoch), splits.train, held_out,
          reference_features, extractor)
    study["models"][key] = {
        "name": STUDY_MODELS[key][0], "model": config.model, "reg": config.reg,
        "training_wall_time_seconds": history["wall_time_seconds"],
        "history": history["epochs"], "evaluations": evaluations}
    # Rewritten after every model, so a long run shows its first rows early.
    study["wall_time_seconds_this_invocation"] = time.perf_counter() - start
    table = long_study_markdown.markdown(study)
    files.atomic_write_text(os.path.join(FLAGS.out_dir, "study.json"),
                            json.dumps(study, indent=2, sort_keys=True))
    files.atomic_write_text(os.path.join(FLAGS.out_dir, "study.md"), table)
  return table


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  with errors.reported_as_one_line("long_study",
                                   after_os_error="rerun the same command"):
    table = run_study(_parse_flags())
  sys.stdout.write(table + f"\nwritten to {FLAGS.out_dir}/study.md and "
                   "study.json\n")


if __name__ == "__main__":
  app.run(main)
