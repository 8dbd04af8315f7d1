"""A learning curve of what the paper measures: valid decodings per epoch.

The validation loss says little about whether samples decode to valid
strings. `ValidShareCurve` records, after every epoch, the valid share and
the number of distinct valid strings among `num_samples` greedy decodings of
samples of an ex-post GMM fitted to the codes of a fixed subset of training
strings (at most `MAX_FIT_STRINGS`, so each point costs seconds), beside
the epoch's losses. It is what shows where a budget stalls.
"""

from __future__ import annotations

import time

import keras
import numpy as np

from rae_tf import sampler as sampler_lib
from rae_tf.grammar.decoding import stack as decoding

MAX_FIT_STRINGS = 2000
_ENCODE_BATCH = 500


class ValidShareCurve(keras.callbacks.Callback):
  """Valid share of decoded ex-post GMM samples after each epoch.

  Attributes:
    points: per epoch {"epoch", "seconds" (since training began, these
      points' own cost included), "loss", "val_loss", "gmm_valid",
      "gmm_distinct_valid"}.
  """

  def __init__(self, sequences: np.ndarray, symbols, is_valid,
               num_components: int, num_samples: int, seed: int):
    """Creates the callback.

    Args:
      sequences: (M, T, S) one-hot training sequences; the first
        MAX_FIT_STRINGS are encoded for the GMM.
      symbols: decodes logits to strings (`decoding.RuleSymbols`, ...).
      is_valid: string or None -> bool (`tasks.Task.is_valid`).
      num_components: GMM components (at most the number of codes).
      num_samples: codes sampled and decoded per point.
      seed: seed of the GMM fit and the samples (the same every epoch).
    """
    super().__init__()
    self.sequences = sequences[:MAX_FIT_STRINGS]
    self.symbols = symbols
    self.is_valid = is_valid
    self.num_components = min(num_components, len(self.sequences))
    self.num_samples = num_samples
    self.seed = seed
    self.points = []
    self._start = None

  def on_train_begin(self, logs=None):
    self._start = time.perf_counter()

  def on_epoch_end(self, epoch, logs=None):
    logs = logs or {}
    codes = np.concatenate([
        self.model.encode(self.sequences[i:i + _ENCODE_BATCH],
                          training=False).numpy()
        for i in range(0, len(self.sequences), _ENCODE_BATCH)])
    gmm = self.model.ex_post_densities(codes, self.num_components,
                                       self.seed)["gmm"]
    samples = sampler_lib.MixtureSampler.from_mixture(gmm).sample(
        self.num_samples, self.seed).numpy()
    _, strings = decoding.decode_codes(self.model.decoder, samples,
                                       self.symbols)
    valid = [s for s in strings if self.is_valid(s)]
    self.points.append({
        "epoch": epoch + 1,
        "loss": float(logs.get("loss", np.nan)),
        "val_loss": float(logs.get("val_loss", np.nan)),
        "gmm_valid": len(valid) / len(strings),
        "gmm_distinct_valid": len(set(valid)),
        "seconds": time.perf_counter() - self._start,
    })
