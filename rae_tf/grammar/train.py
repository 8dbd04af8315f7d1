"""One GrammarRAE run, into a work directory, as named stages.

  data      strings -> one-hot sequences, split train / validation / test
  fit       the model on train; the learning-rate schedule and the best
            checkpoint watch validation (`--epochs=0`: no training, the
            untrained floor)
  densities ex-post Gaussian and GMM of the training codes
  measure   Kusner et al.'s protocol on the test split, the densities' samples
            and Bayesian optimisation (`measurements/protocol.py`)

The work directory of a run holds:
  config.json, flags.txt         the configuration (flags.txt is a flagfile)
  checkpoints/best.weights.h5    the best-validation weights (restored)
  samplers/{gaussian,gmm}.npz    ex-post densities of the training codes
  samples/{prior,gmm}.txt        sampled decodings, one per line ("<invalid>"
                                 marks an unfinished derivation)
  bayesopt.json                  every BO proposal: trial, iteration, code,
                                 string, valid draws, score
  results.json                   every measurement with its protocol, the
                                 learning curve, timings (written last)
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from typing import Optional

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from rae_tf import callbacks as callbacks_lib
from rae_tf import errors
from rae_tf import files
from rae_tf import precision
from rae_tf import provenance
from rae_tf.grammar import config as config_lib
from rae_tf.grammar import tasks
from rae_tf.grammar.languages import sequence_length
from rae_tf.grammar.measurements import learning_curve
from rae_tf.grammar.measurements import molecule_metrics
from rae_tf.grammar.measurements import protocol
from rae_tf.grammar.measurements import reconstruction
from rae_tf.grammar.models import autoencoders


class EncodingError(errors.UserError, ValueError):
  """Too few of the input strings can be encoded to train on."""


@dataclasses.dataclass(frozen=True)
class Data:
  """A run's strings, their sequences and the split (index arrays)."""

  symbols: object  # decoding.symbols.RuleSymbols / CharacterSymbols
  strings: list  # the encodable strings, in sequence order
  sequences: np.ndarray  # (N, T, S) one-hot
  train: np.ndarray
  validation: np.ndarray
  test: np.ndarray
  read: int  # strings read before encoding
  length_choice: Optional[sequence_length.LengthChoice]

  def strings_of(self, index: np.ndarray) -> list:
    return [self.strings[i] for i in index]


def split(count: int, test_fraction: float, validation_fraction: float,
          seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Disjoint shuffled (train, validation, test) index arrays.

  The test split takes `test_fraction` of all, the validation split
  `validation_fraction` of the rest; each gets at least one index and the
  training split keeps at least one.

  Raises:
    EncodingError: fewer than 3 strings.
  """
  if count < 3:
    raise EncodingError(f"a run needs at least 3 encodable strings (train, "
                        f"validation, test); got {count}")
  order = np.random.default_rng(seed).permutation(count)
  test = min(max(1, round(count * test_fraction)), count - 2)
  validation = min(max(1, round((count - test) * validation_fraction)),
                   count - test - 1)
  return (order[test + validation:], order[test:test + validation],
          order[:test])


def load_data(config: config_lib.GrammarConfig, task: tasks.Task) -> Data:
  """Reads, encodes and splits the task's strings.

  Raises:
    EncodingError: too few strings can be encoded.
  """
  symbols = tasks.SYMBOLS[autoencoders.MODELS[config.model].symbols](
      config.task)
  raw = task.load(config)
  source = f" in {config.smiles_file}" if config.smiles_file else ""
  choice = None
  if config.length_percentile is not None:
    try:
      symbols, choice = sequence_length.choose(symbols, raw,
                                               config.length_percentile)
    except ValueError:
      raise EncodingError(
          f"none of the {len(raw)} {config.task} strings{source} can be "
          f"encoded for --model={config.model}; give other strings") from None
    logging.info("sequence length %d: percentile %g of %d strings' lengths "
                 "(longest %d); %d longer strings are dropped", choice.length,
                 choice.percentile, choice.measured, choice.longest,
                 choice.dropped)
  sequences, kept = symbols.one_hot(raw)
  strings = [raw[i] for i in kept]
  logging.info("%s: encoded %d of %d strings as sequences of length %d",
               config.task, len(strings), len(raw), symbols.sequence_length)
  if len(strings) < 3:
    raise EncodingError(
        f"only {len(strings)} of {len(raw)} {config.task} strings{source} "
        f"can be encoded for --model={config.model} as sequences of "
        f"{symbols.sequence_length} symbols (see the warning above); give "
        "more or other strings")
  train, validation, test = split(len(strings), config.test_fraction,
                                  config.validation_fraction, config.seed)
  return Data(symbols, strings, sequences, train, validation, test, len(raw),
              choice)


def fit(config: config_lib.GrammarConfig, workdir: str, data: Data,
        model: keras.Model, curve: Optional[keras.callbacks.Callback]) -> dict:
  """Trains `model` on data.train; restores the best-validation weights.

  Returns:
    {"epochs_trained", "best_epoch", "final_train", "fit_seconds"}
    (best_epoch None when config.epochs is 0).

  Raises:
    errors.NonFiniteLossError: the validation loss was never finite.
  """
  start = time.perf_counter()
  if not config.epochs:
    if curve:
      curve.set_model(model)
      curve.on_train_begin()
    return {"epochs_trained": 0, "best_epoch": None, "final_train": None,
            "fit_seconds": time.perf_counter() - start}
  os.makedirs(os.path.join(workdir, "checkpoints"), exist_ok=True)
  best = callbacks_lib.BestWeightsCheckpoint(
      os.path.join(workdir, "checkpoints", "best.weights.h5"))
  schedule = keras.callbacks.ReduceLROnPlateau(
      monitor="val_loss", factor=config.lr_factor,
      patience=config.lr_patience, min_lr=config.min_learning_rate, verbose=1)
  limit = ([callbacks_lib.TimeLimit(config.max_train_minutes)]
           if config.max_train_minutes else [])
  history = model.fit(
      data.sequences[data.train], batch_size=config.batch_size,
      epochs=config.epochs, shuffle=True,
      validation_data=tf.data.Dataset.from_tensor_slices(
          data.sequences[data.validation]).batch(config.batch_size),
      verbose=1 if sys.stdout.isatty() else 2,
      callbacks=[callbacks_lib.NonFiniteLossGuard(), schedule, best,
                 *([curve] if curve else []), *limit])
  if best.best_epoch is None:
    raise errors.NonFiniteLossError(
        "the validation loss was never finite; lower --learning_rate and run "
        "again")
  model.load_weights(best.path)
  return {"epochs_trained": len(history.history["loss"]),
          "best_epoch": best.best_epoch + 1,
          "final_train": {k: float(v[-1]) for k, v in history.history.items()
                          if not k.startswith("val_") and k != "learning_rate"},
          "fit_seconds": time.perf_counter() - start}


def densities(config: config_lib.GrammarConfig, workdir: str, data: Data,
              model: keras.Model) -> tuple[np.ndarray, dict]:
  """Training codes and the ex-post densities, saved under samplers/."""
  codes = reconstruction.encode(model, data.sequences[data.train])
  fitted = model.ex_post_densities(
      codes, min(config.gmm_components, len(codes)), config.seed)
  os.makedirs(os.path.join(workdir, "samplers"), exist_ok=True)
  for name, mixture in fitted.items():
    mixture.save(os.path.join(workdir, "samplers", f"{name}.npz"))
  return codes, fitted


def use_threads(intra_op: int, inter_op: int) -> None:
  """Sizes TensorFlow's thread pools (0 keeps its default).

  Raises:
    errors.ConfigError: TensorFlow has run an op already in this process.
  """
  for size, setter in (
      (intra_op, tf.config.threading.set_intra_op_parallelism_threads),
      (inter_op, tf.config.threading.set_inter_op_parallelism_threads)):
    if size:
      try:
        setter(size)
      except RuntimeError:
        raise errors.ConfigError(
            "--intra_op_threads / --inter_op_threads must be set before "
            "TensorFlow runs its first op; run in a fresh process") from None


def run(config: config_lib.GrammarConfig, workdir: str,
        overwrite: bool = False) -> dict:
  """Trains `config` into `workdir` and returns what results.json holds.

  Raises:
    errors.UserError subclasses: bad work directory, unreadable data, too
      few encodable strings, a density fit failure, a non-finite loss.
  """
  start = time.perf_counter()
  use_threads(config.intra_op_threads, config.inter_op_threads)
  with precision.policy(config.precision):
    files.prepare_workdir(workdir, overwrite)
    files.atomic_write_text(os.path.join(workdir, "config.json"),
                            config.to_json())
    files.atomic_write_text(os.path.join(workdir, "flags.txt"),
                            config.to_flagfile())
    keras.utils.set_random_seed(config.seed)
    task = tasks.TASKS[config.task]
    data = load_data(config, task)
    reference = (molecule_metrics.reference(data.strings_of(data.train),
                                            data.strings_of(data.test))
                 if task.molecules else None)
    model = autoencoders.build_model(config, data.symbols.sequence_length,
                                     data.symbols.allowed)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate))
    curve = learning_curve.LearningCurve(
        data.sequences[data.train], data.sequences[data.validation],
        data.symbols, task, config.gmm_components, config.curve_samples,
        config.seed, reference) if config.curve_samples else None
    fitted = fit(config, workdir, data, model, curve)
    codes, mixtures = densities(config, workdir, data, model)
    measured = protocol.measure(config, workdir, data, task, model, codes,
                                mixtures, reference)
    results = {
        "run_name": config.run_name,
        "config": json.loads(config.to_json()),
        "code": provenance.stamp(),
        "strings": {"read": data.read, "encoded": len(data.strings),
                    "train": len(data.train),
                    "validation": len(data.validation),
                    "test": len(data.test)},
        "sequence_length": data.symbols.sequence_length,
        "sequence_length_choice": (dataclasses.asdict(data.length_choice)
                                   if data.length_choice else None),
        "symbols": len(data.symbols.allowed),
        "parameters": int(model.count_params()),
        **fitted,
        "test": protocol.losses(model, data.sequences[data.test],
                                config.batch_size),
        **measured,
        "learning_curve": curve.points if curve else None,
        "wall_time_seconds": time.perf_counter() - start,
    }
  files.atomic_write_text(os.path.join(workdir, "results.json"),
                          json.dumps(results, indent=2, sort_keys=True))
  return results
