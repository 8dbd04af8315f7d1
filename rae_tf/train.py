"""Orchestration of one run: fit, ex-post density, pictures, export.

The work directory of a run holds:
  config.json, flags.txt         the configuration (flags.txt is a flagfile)
  tensorboard/                   losses, learning rate, image grids per epoch
  checkpoints/best.weights.h5    the best-validation weights
  checkpoints/resume/            last epoch's full state: rerunning the same
                                 command continues an interrupted run
  samplers/{gaussian,gmm}.npz    ex-post densities fitted on training codes
  images/*.png                   reconstructions, samples, interpolations
  export/<run_name>/<version>/   SavedModel for TF Serving
  results.json                   losses, densities, speed (written last)
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from rae_tf import callbacks as callbacks_lib
from rae_tf import config as config_lib
from rae_tf import data
from rae_tf import distribute
from rae_tf import errors
from rae_tf import export
from rae_tf import files
from rae_tf import models
from rae_tf import precision
from rae_tf import provenance
from rae_tf import sampler as sampler_lib
from rae_tf import visualize

_ENCODE_BATCH = 500
_GRID_SAMPLES = 100  # 10 x 10 sample grids


def take_images(images: tf.data.Dataset, count: int) -> np.ndarray:
  """The first `count` images of an unbatched dataset, (N, H, W, C)."""
  return next(images.take(count).batch(count).as_numpy_iterator())


def encode_all(model: keras.Model, images: tf.data.Dataset) -> np.ndarray:
  """Codes of every image of an unbatched dataset, (N, d) float32."""
  batches = images.batch(_ENCODE_BATCH).prefetch(tf.data.AUTOTUNE)
  return np.concatenate(
      [model.encode(batch, training=False).numpy() for batch in batches])


def evaluate_losses(model: keras.Model,
                    batches: tf.data.Dataset) -> dict[str, float]:
  """Inference-mode loss terms, averaged over every image of `batches`.

  A plain loop on this worker, unlike `Model.evaluate`, which under
  multi-worker training needs every worker to call it.
  """
  totals, count = {}, 0
  for batch in batches:
    size = int(batch.shape[0])
    for name, value in model.loss_terms(batch, training=False).items():
      totals[name] = totals.get(name, 0.0) + float(value) * size
    count += size
  return {name: total / count for name, total in totals.items()}


def interpolation_grid(model: keras.Model, images_a: np.ndarray,
                       images_b: np.ndarray, steps: int = 8) -> np.ndarray:
  """Rows: x_a, D((1-t) z_a + t z_b) for `steps` values of t in [0, 1], x_b.

  Returns:
    (rows * (steps + 2), H, W, C) images, row-major.
  """
  codes_a = model.encode(images_a, training=False)
  codes_b = model.encode(images_b, training=False)
  t = tf.linspace(0.0, 1.0, steps)[None, :, None]  # (1, steps, 1)
  codes = (1.0 - t) * codes_a[:, None] + t * codes_b[:, None]  # (R, steps, d)
  decoded = model.decoder(tf.reshape(codes, (-1, codes.shape[-1])),
                          training=False).numpy()
  decoded = decoded.reshape((len(images_a), steps, *images_a.shape[1:]))
  rows = np.concatenate([images_a[:, None], decoded, images_b[:, None]], 1)
  return rows.reshape((-1, *images_a.shape[1:]))


def _write_png(path: str, images: np.ndarray, columns: int) -> None:
  files.atomic_write_bytes(
      path, visualize.png_bytes(visualize.image_grid(images, columns)))


def _write_samples(workdir: str, name: str, model: keras.Model,
                   code_sampler: keras.layers.Layer, seed: int) -> None:
  codes = code_sampler.sample(_GRID_SAMPLES, seed)
  _write_png(os.path.join(workdir, "images", f"samples_{name}.png"),
             model.decoder(codes, training=False).numpy(), columns=10)


def _open_workdir(workdir: str, config: config_lib.Config, overwrite: bool,
                  resume_dir: str) -> bool:
  """Prepares `workdir`; True if it holds an unfinished run to resume.

  An interrupted run (a resume checkpoint, no results.json) of the same
  configuration is resumed; one of another configuration is refused.
  Otherwise a non-empty directory needs `overwrite`.

  Raises:
    errors.WorkdirError: as above.
  """
  unfinished = (callbacks_lib.ResumeCheckpoint.exists(resume_dir) and
                not os.path.exists(os.path.join(workdir, "results.json")))
  if unfinished and not overwrite:
    with open(os.path.join(workdir, "config.json")) as f:
      differ = config.fields_differing_from(f.read())
    if differ:
      raise errors.WorkdirError(
          f"--workdir {workdir} holds an unfinished run with other settings "
          f"({', '.join(differ)} differ); rerun with the same flags to resume "
          "it, or pass --overwrite to start over")
    return True
  files.prepare_workdir(workdir, overwrite)
  return False


def run(config: config_lib.Config, workdir: str,
        overwrite: bool = False) -> dict:
  """Trains `config` into `workdir` and returns what results.json holds.

  Args:
    config: the run's configuration.
    workdir: run directory (created; must be empty unless `overwrite`).
    overwrite: delete a non-empty `workdir` first.

  Returns:
    The results dictionary written to `workdir/results.json`.

  Raises:
    errors.UserError subclasses: bad work directory, data or density fit,
      or a non-finite loss.
  """
  with precision.policy(config.precision):
    return _run(config, workdir, overwrite)


def _run(config: config_lib.Config, workdir: str, overwrite: bool) -> dict:
  """`run` under the run's dtype policy."""
  start = time.perf_counter()
  strategy = distribute.make_strategy(config.distribute)
  chief = distribute.is_chief(strategy)
  resume_dir = os.path.join(workdir, "checkpoints", "resume")
  resuming = distribute.chief_decides(
      strategy, chief and _open_workdir(workdir, config, overwrite, resume_dir))
  keras.utils.set_random_seed(config.seed)
  if config.deterministic:
    tf.config.experimental.enable_op_determinism()

  splits = data.load_splits(config.dataset, config.data_dir,
                            config.image_shape, config.max_train_examples,
                            **config.data_options)
  logging.info("%s splits: %s", config.dataset, dict(splits.sizes))
  # Written once the data is read: a data error leaves the workdir empty,
  # so the same command runs once the data is fixed.
  if chief and not resuming:
    files.atomic_write_text(os.path.join(workdir, "config.json"),
                            config.to_json())
    files.atomic_write_text(os.path.join(workdir, "flags.txt"),
                            config.to_flagfile())
  validation_batches = data.batched(splits.validation, config.batch_size)

  with strategy.scope():
    model = models.build_model(config)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate))

  log_dir = os.path.join(workdir, "tensorboard")
  plateau = callbacks_lib.learning_rate_plateau(config.lr_patience,
                                                config.authors_loss_scale)
  best = callbacks_lib.BestWeightsCheckpoint(
      os.path.join(workdir, "checkpoints", "best.weights.h5"))
  resume = callbacks_lib.ResumeCheckpoint(resume_dir, plateau, best)
  initial_epoch = 0
  if resuming:  # every worker loads the chief's checkpoint
    resume.set_model(model)
    initial_epoch = resume.restore()
    logging.info("resuming %s after epoch %d of %d", workdir, initial_epoch,
                 config.epochs)
  # Callbacks that run collectives (the plateau's LR change) go on every
  # worker; those that only write go on the chief.
  callbacks = [callbacks_lib.NonFiniteLossGuard(), plateau]
  throughput = callbacks_lib.TrainingThroughput(splits.sizes["train"])
  if chief:
    for sub in ("checkpoints", "samplers", "images"):
      os.makedirs(os.path.join(workdir, sub), exist_ok=True)
    callbacks += [
        best, resume, throughput,
        keras.callbacks.TensorBoard(log_dir, write_graph=False),
        callbacks_lib.ImageGridSummary(
            os.path.join(log_dir, "images"),
            take_images(splits.validation, 16),
            take_images(splits.train, min(2000, splits.sizes["train"])),
            config.gmm_components, seed=config.seed),
    ]
  model.fit(
      data.training_batches(splits, config.batch_size, config.seed,
                            initial_epoch, config.epochs),
      steps_per_epoch=math.ceil(splits.sizes["train"] / config.batch_size),
      validation_data=validation_batches, initial_epoch=initial_epoch,
      epochs=config.epochs,
      # training_batches shuffles, seeded per epoch; Keras' own shuffle flag
      # does not apply to a tf.data input and only warns.
      shuffle=False,
      # A progress bar on a terminal; one line per epoch in logs.
      verbose=1 if sys.stdout.isatty() else 2, callbacks=callbacks)
  if not chief:
    # Only for checking that the workers agree: their final weights (in a
    # directory of their own when the file system is not shared).
    checkpoints = os.path.join(workdir, "checkpoints")
    os.makedirs(checkpoints, exist_ok=True)
    model.save_weights(os.path.join(
        checkpoints, f"worker-{strategy.cluster_resolver.task_id}.weights.h5"))
    return {}
  if best.best_epoch is None:
    raise errors.NonFiniteLossError(
        "the validation loss was never finite; lower --learning_rate or the "
        "regulariser weight and run again")
  model.load_weights(best.path)
  logging.info("restored the weights of epoch %d (val_loss %.6f)",
               best.best_epoch + 1, best.best)

  # Ex-post densities on the training codes.
  codes = encode_all(model, splits.train)
  densities = model.ex_post_densities(codes, config.gmm_components,
                                      config.seed)
  validation_codes = encode_all(model, splits.validation)
  density_results = {}
  for name, mixture in densities.items():
    mixture.save(os.path.join(workdir, "samplers", f"{name}.npz"))
    _write_samples(workdir, name, model,
                   sampler_lib.MixtureSampler.from_mixture(mixture),
                   config.seed)
    density_results[name] = {
        "components": mixture.num_components,
        "validation_mean_log_likelihood":
            float(np.mean(mixture.log_prob(validation_codes))),
    }
  code_sampler = model.fit_code_sampler(codes)
  if code_sampler is None:
    code_sampler = sampler_lib.MixtureSampler.from_mixture(
        densities["gmm"], name="gmm_sampler")
  else:
    _write_samples(workdir, code_sampler.name, model, code_sampler,
                   config.seed)

  test_images = take_images(splits.test, 32)
  reconstructions = model(test_images[:16], training=False).numpy()
  _write_png(os.path.join(workdir, "images", "reconstructions.png"),
             np.concatenate([test_images[:16], reconstructions]), columns=16)
  # Rows between the test images not reconstructed above; a small test
  # split (user data) pairs up what it has.
  ends = test_images[16:] if len(test_images) == 32 else test_images
  pairs = max(1, min(8, len(ends) // 2))
  _write_png(os.path.join(workdir, "images", "interpolations.png"),
             interpolation_grid(model, ends[:pairs], ends[-pairs:]),
             columns=10)

  test_losses = evaluate_losses(
      model, data.batched(splits.test, config.batch_size))
  export_dir = export.export_model(
      model, code_sampler=code_sampler,
      export_base=os.path.join(workdir, "export"),
      model_name=config.run_name, image_shape=config.image_shape,
      latent_dim=config.latent_dim,
      max_samples_per_request=config.max_samples_per_request)
  logging.info("exported the serving model to %s", export_dir)

  speeds = throughput.images_per_second
  results = {
      "run_name": config.run_name,
      "config": json.loads(config.to_json()),
      "code": provenance.stamp(),
      "dataset_sizes": dict(splits.sizes),
      "epochs_run": config.epochs,
      "resumed_after_epoch": initial_epoch or None,
      "best_epoch": best.best_epoch + 1,
      "final_train": {k: v for k, v in resume.last_logs.items()
                      if not k.startswith("val_")},
      "best_validation_loss": best.best,
      "test": test_losses,
      "densities": density_results,
      # The first epoch includes tracing; the median of the rest is steadier.
      "train_images_per_second": float(np.median(speeds[1:] or speeds)),
      "export_dir": os.path.relpath(export_dir, workdir),
      "wall_time_seconds": time.perf_counter() - start,
  }
  # The two-stage VAE's second stage: its per-epoch losses.
  if getattr(code_sampler, "training_history", None):
    results["code_sampler_training"] = code_sampler.training_history
  files.atomic_write_text(os.path.join(workdir, "results.json"),
                          json.dumps(results, indent=2, sort_keys=True))
  return results
