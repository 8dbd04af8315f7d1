"""Training callbacks: NaN guard, TensorBoard images, checkpoints, speed."""

from __future__ import annotations

import json
import math
import os
import time

import keras
import numpy as np
import tensorflow as tf

from rae_tf import errors
from rae_tf import files
from rae_tf import sampler as sampler_lib
from rae_tf import visualize


class NonFiniteLossGuard(keras.callbacks.Callback):
  """Raises NonFiniteLossError at the first batch whose loss is NaN or inf.

  The best-validation checkpoint written so far is left in place; no export
  or sampler is written after the error.
  """

  def __init__(self):
    super().__init__()
    self._epoch = 0

  def on_epoch_begin(self, epoch, logs=None):
    self._epoch = epoch

  def on_train_batch_end(self, batch, logs=None):
    loss = float((logs or {}).get("loss", 0.0))
    if not math.isfinite(loss):
      self.model.stop_training = True
      raise errors.NonFiniteLossError(
          f"the training loss became {loss} at epoch {self._epoch + 1}, batch "
          f"{batch + 1}; lower --learning_rate or the regulariser weight "
          "(--reg_weight / --embedding_weight) and run again")


class ImageGridSummary(keras.callbacks.Callback):
  """Each epoch, writes reconstructions and samples of a preview GMM.

  The GMM is refitted every epoch on the codes of a fixed subset of training
  images (fast for a few thousand codes), so the grid shows how samples
  evolve; the final GMM is fitted on all training codes after training.
  """

  def __init__(self, log_dir: str, held_out_images: np.ndarray,
               train_images: np.ndarray, num_components: int,
               num_samples: int = 64, seed: int = 0):
    """Creates the callback.

    Args:
      log_dir: TensorBoard directory for the image events.
      held_out_images: (N, H, W, C) images to reconstruct.
      train_images: (M, H, W, C) images whose codes fit the preview GMM.
      num_components: GMM components (reduced when M is small).
      num_samples: decoded GMM samples per grid.
      seed: sampling seed.
    """
    super().__init__()
    self._writer = tf.summary.create_file_writer(log_dir)
    self._held_out = held_out_images
    self._train = train_images
    self._num_components = min(num_components, len(train_images))
    self._num_samples = num_samples
    self._seed = seed

  def on_epoch_end(self, epoch, logs=None):
    # Direct calls, not predict(): under multi-worker training predict is a
    # collective, and this callback runs on the chief only.
    reconstructions = self.model(self._held_out, training=False).numpy()
    codes = self.model.encode(self._train).numpy()
    mixture = sampler_lib.fit_gmm(codes, self._num_components, self._seed)
    sampled_codes = sampler_lib.MixtureSampler.from_mixture(mixture).sample(
        self._num_samples, self._seed)
    samples = self.model.decoder(sampled_codes, training=False).numpy()
    pairs = np.concatenate([self._held_out, reconstructions])
    with self._writer.as_default(step=epoch):
      tf.summary.image(
          "reconstructions",
          visualize.image_grid(pairs, columns=len(self._held_out))[None],
          description="top row: held-out inputs; bottom row: reconstructions")
      tf.summary.image("gmm_samples",
                       visualize.image_grid(samples, columns=8)[None])
    self._writer.flush()

  def on_train_end(self, logs=None):
    self._writer.close()


class BestWeightsCheckpoint(keras.callbacks.Callback):
  """Saves the weights of the epoch with the lowest `monitor`, atomically.

  Weights go to a temporary `.weights.h5` file that is renamed over `path`,
  so a kill during the save leaves the previous best checkpoint intact.
  """

  def __init__(self, path: str, monitor: str = "val_loss"):
    super().__init__()
    self.path = path
    self.monitor = monitor
    self.best = math.inf
    self.best_epoch = None

  def on_epoch_end(self, epoch, logs=None):
    value = float((logs or {}).get(self.monitor, math.inf))
    if value < self.best:
      self.best, self.best_epoch = value, epoch
      files.atomic_save_weights(self.model, self.path)


class TimeLimit(keras.callbacks.Callback):
  """Stops training after the epoch during which `minutes` have passed.

  The clock starts at `on_train_begin`; an epoch is never cut short, so a
  run trains whole epochs and ends at most one epoch past the limit.
  """

  def __init__(self, minutes: float):
    super().__init__()
    self.seconds = 60.0 * minutes
    self.stopped_after_epoch = None
    self._start = None

  def on_train_begin(self, logs=None):
    self._start = time.perf_counter()

  def on_epoch_end(self, epoch, logs=None):
    if time.perf_counter() - self._start >= self.seconds:
      self.stopped_after_epoch = epoch + 1
      self.model.stop_training = True


class TrainingThroughput(keras.callbacks.Callback):
  """Measures training images/s per epoch (validation excluded)."""

  def __init__(self, images_per_epoch: int):
    super().__init__()
    self.images_per_epoch = images_per_epoch
    self.images_per_second = []
    self._start = None

  def on_epoch_begin(self, epoch, logs=None):
    self._start = time.perf_counter()

  def on_test_begin(self, logs=None):
    if self._start is not None:  # validation inside fit: training is done
      self.images_per_second.append(
          self.images_per_epoch / (time.perf_counter() - self._start))
      self._start = None

  def on_epoch_end(self, epoch, logs=None):
    self.on_test_begin()  # epochs without validation


# Keras' ReduceLROnPlateau default min_delta, which the authors trained with,
# in the units of their losses.
AUTHORS_MIN_DELTA = 1e-4


def learning_rate_plateau(
    patience: int,
    authors_loss_scale: float = 1.0) -> keras.callbacks.ReduceLROnPlateau:
  """Halves the learning rate after `patience` epochs without improvement.

  An epoch improves when val_loss < best - min_delta. Keras' min_delta is
  absolute, so the threshold the authors trained with (1e-4 of their loss)
  is expressed in ours: min_delta = 1e-4 / authors_loss_scale. A VAE whose
  loss is our per-pixel mean, 1 / (H W) of the authors' sum, thus halves when
  the authors' VAE would, not whenever it improves by less than 1e-4 of a
  loss near 0.02; and scaling a loss together with its scale leaves the
  schedule unchanged.

  Args:
    patience: epochs without improvement before halving.
    authors_loss_scale: the authors' loss over ours
      (`Config.authors_loss_scale`).
  """
  return keras.callbacks.ReduceLROnPlateau(
      monitor="val_loss", factor=0.5, patience=patience,
      min_delta=AUTHORS_MIN_DELTA / authors_loss_scale, verbose=1)


class ResumeCheckpoint(keras.callbacks.Callback):
  """Saves everything needed to continue training after a kill, each epoch.

  The directory holds `epoch-NNNN.weights.h5` (model and optimizer state,
  learning rate included) and `state.json`, which names the weights file and
  stores what `save_weights` does not: the epoch, the model's random-probe
  seed state, the last epoch's logs and the states of the plateau and
  best-weights callbacks. The weights are written first and `state.json` is
  then replaced atomically, so whenever the process dies, `state.json` names
  a complete checkpoint.
  """

  STATE = "state.json"

  def __init__(self, directory: str,
               plateau: keras.callbacks.ReduceLROnPlateau,
               best: BestWeightsCheckpoint):
    super().__init__()
    self.directory = directory
    self.plateau = plateau
    self.best = best
    self.last_logs = {}

  @classmethod
  def exists(cls, directory: str) -> bool:
    return os.path.isfile(os.path.join(directory, cls.STATE))

  def on_epoch_end(self, epoch, logs=None):
    self.last_logs = {k: float(v) for k, v in (logs or {}).items()}
    os.makedirs(self.directory, exist_ok=True)
    name = f"epoch-{epoch + 1:04d}.weights.h5"
    files.atomic_save_weights(self.model, os.path.join(self.directory, name))
    state = {
        "epoch": epoch + 1,
        "weights": name,
        "seed_state": self.model.seed_generator.state.numpy().tolist(),
        "logs": self.last_logs,
        "plateau": {"wait": self.plateau.wait, "best": self.plateau.best,
                    "cooldown_counter": self.plateau.cooldown_counter},
        "best": {"value": self.best.best, "epoch": self.best.best_epoch},
    }
    files.atomic_write_text(os.path.join(self.directory, self.STATE),
                            json.dumps(state))
    for old in os.listdir(self.directory):
      if old.startswith("epoch-") and old != name:
        os.remove(os.path.join(self.directory, old))

  def restore(self) -> int:
    """Loads the saved state into the model and callbacks.

    Call after `compile` and before `fit`.

    Returns:
      The number of finished epochs, `fit`'s `initial_epoch`.
    """
    with open(os.path.join(self.directory, self.STATE)) as f:
      state = json.load(f)
    self.model.optimizer.build(self.model.trainable_variables)
    self.model.load_weights(os.path.join(self.directory, state["weights"]))
    self.model.seed_generator.state.assign(
        np.array(state["seed_state"], self.model.seed_generator.state.dtype))
    for key, value in state["plateau"].items():
      setattr(self.plateau, key, value)
    self.best.best = state["best"]["value"]
    self.best.best_epoch = state["best"]["epoch"]
    self.last_logs = state["logs"]
    return state["epoch"]
