"""A learning curve of what separates learning from noise, per epoch.

The validation loss says little about whether a decoder reconstructs or
samples valid strings. `LearningCurve` records after every epoch, beside the
epoch's losses and the seconds since training began:
  token_accuracy, greedy_accuracy, sampled_accuracy   `reconstruction.py`
      on a fixed subset of `strings` validation strings (the sampled one
      with one encoding and `SAMPLED_DRAWS` draws per string);
  gmm_valid, gmm_distinct_valid   greedy decodings of `strings` samples of
      an ex-post GMM fitted to the codes of (at most `MAX_FIT_STRINGS`)
      training strings;
  fcd   molecules: the FCD of one sampled decoding per GMM code, codes drawn
      until `strings` are valid (at most 20x as many), against the run's
      held-out reference (`molecule_metrics.Reference`).
Each point costs seconds; the first is taken before training (epoch 0), so
that every curve starts at its untrained floor.
"""

from __future__ import annotations

import time
from typing import Optional

import keras
import numpy as np

from rae_tf.grammar.decoding import draws as draws_lib
from rae_tf.grammar.measurements import molecule_metrics
from rae_tf.grammar.measurements import reconstruction
from rae_tf.grammar.measurements import samples as samples_lib

MAX_FIT_STRINGS = 2000
SAMPLED_DRAWS = 100
_MAX_CODES_PER_VALID = 20


class LearningCurve(keras.callbacks.Callback):
  """Reconstruction and sample quality after each epoch (module docstring).

  Attributes:
    points: one dict per epoch (0 = before training).
  """

  def __init__(self, train: np.ndarray, validation: np.ndarray, symbols,
               task, num_components: int, strings: int, seed: int,
               reference: Optional[molecule_metrics.Reference] = None):
    """Creates the callback.

    Args:
      train: (M, T, S) one-hot training sequences (the GMM's codes).
      validation: (V, T, S) validation sequences (reconstruction).
      symbols: their symbol set.
      task: a `tasks.Task` (validity).
      num_components: GMM components (at most the number of codes).
      strings: validation strings measured, GMM samples decoded, and valid
        molecules wanted for the FCD, per point.
      seed: seed of the GMM fits, samples and draws (the same every epoch).
      reference: molecules only: the held-out reference of the FCD.
    """
    super().__init__()
    self.train = train[:MAX_FIT_STRINGS]
    self.validation = validation[:strings]
    self.symbols = symbols
    self.task = task
    self.num_components = min(num_components, len(self.train))
    self.strings = strings
    self.seed = seed
    self.reference = reference
    self.points = []
    self._start = None

  def on_train_begin(self, logs=None):
    self._start = time.perf_counter()
    self.points.append(self.measure(0, {}))

  def on_epoch_end(self, epoch, logs=None):
    self.points.append(self.measure(epoch + 1, logs or {}))

  def measure(self, epoch: int, logs: dict) -> dict:
    """The point of `epoch` (its losses from `logs`)."""
    rng = np.random.default_rng(self.seed)
    model = self.model
    codes = reconstruction.encode(model, self.train)
    gmm = model.ex_post_densities(codes, self.num_components,
                                  self.seed)["gmm"]
    gmm_codes = samples_lib.draw_codes(
        gmm, self.strings * _MAX_CODES_PER_VALID, self.seed)
    greedy = draws_lib.greedy_strings(model.decoder,
                                      gmm_codes[:self.strings], self.symbols)
    valid = [s for s in greedy if self.task.is_valid(s)]
    point = {
        "epoch": epoch,
        "loss": float(logs.get("loss", np.nan)),
        "val_loss": float(logs.get("val_loss", np.nan)),
        "token_accuracy": reconstruction.token_accuracy(
            model, self.validation, self.symbols),
        "greedy_accuracy": reconstruction.greedy_accuracy(
            model, self.validation, self.symbols),
        "sampled_accuracy": reconstruction.sampled_accuracy(
            model, self.validation, self.symbols, 1, SAMPLED_DRAWS,
            rng)["mean"],
        "gmm_valid": len(valid) / len(greedy),
        "gmm_distinct_valid": len(set(valid)),
        "fcd": None,
    }
    if self.reference is not None:
      drawn = samples_lib.sample_set(model.decoder, gmm_codes, self.symbols,
                                     self.task.is_valid, self.strings, rng)
      point["fcd"] = molecule_metrics.metrics_against(
          drawn, self.reference)["fcd"]
    point["seconds"] = time.perf_counter() - self._start
    return point
