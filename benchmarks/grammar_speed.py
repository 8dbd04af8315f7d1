r"""GrammarRAE training speed on CPU: the options Keras offers for the GRUs.

    python benchmarks/grammar_speed.py [--model=grae] [--examples=2000]

Trains the molecule model on the first --examples MOSES SMILES (rules, or
characters for --model=cvae) for --epochs epochs per setting and prints the
median training speed of the epochs after the first (which traces), in
molecules per second, for every combination of
  width       0.25 / 0.5 (GRU units 125 / 250 of the paper's 501)
  length      the fixed 277 rules (120 characters) / the 99th percentile of
              the data (`--length_percentile=99`)
  jit_compile False (Keras' default on a CPU-only machine) / True (XLA)
  precision   float32 / mixed_bfloat16.
Run it alone on the machine: it times.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position

from rae_tf.grammar import config as config_lib  # pylint: disable=g-import-not-at-top,wrong-import-position
from rae_tf.grammar.models import autoencoders as models  # pylint: disable=g-import-not-at-top,wrong-import-position
from rae_tf.grammar.languages import sequence_length  # pylint: disable=g-import-not-at-top,wrong-import-position
from rae_tf.grammar import tasks  # pylint: disable=g-import-not-at-top,wrong-import-position


class _EpochTimes(keras.callbacks.Callback):

  def __init__(self):
    super().__init__()
    self.seconds = []

  def on_epoch_begin(self, epoch, logs=None):
    self._start = time.perf_counter()

  def on_epoch_end(self, epoch, logs=None):
    self.seconds.append(time.perf_counter() - self._start)


def molecules_per_second(config, symbols, strings, jit_compile: bool,
                         precision: str, epochs: int) -> float:
  """Median training speed over epochs 2.. of one setting."""
  keras.mixed_precision.set_global_policy(precision)
  keras.utils.set_random_seed(0)
  sequences, _ = symbols.one_hot(strings)
  model = models.build_model(config, symbols.sequence_length, symbols.allowed)
  model.compile(optimizer=keras.optimizers.Adam(1e-3),
                jit_compile=jit_compile)
  times = _EpochTimes()
  model.fit(sequences, batch_size=config.batch_size, epochs=epochs,
            shuffle=True, verbose=0, callbacks=[times])
  keras.backend.clear_session()
  keras.mixed_precision.set_global_policy("float32")
  return len(sequences) / float(np.median(times.seconds[1:]))


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--model", default="grae",
                      choices=config_lib.MODELS)
  parser.add_argument("--examples", type=int, default=2000)
  parser.add_argument("--epochs", type=int, default=3)
  parser.add_argument("--batch_size", type=int, default=100)
  parser.add_argument("--widths", default="0.25,0.5",
                      help="comma-separated width multipliers")
  parser.add_argument("--jit_compile", default="false,true",
                      help="comma-separated jit_compile values to try")
  args = parser.parse_args()
  widths = [float(w) for w in args.widths.split(",")]
  jits = [value.strip().lower() == "true"
          for value in args.jit_compile.split(",")]
  print("| width | GRU units | T | jit_compile | precision | molecules/s |")
  print("|---|---|---|---|---|---|")
  for width in widths:
    config = config_lib.make_config(
        "molecules", args.model, "cpu", width=width,
        max_examples=args.examples, batch_size=args.batch_size)
    strings = tasks.TASKS["molecules"].load(config)
    fixed = tasks.SYMBOLS[models.MODELS[args.model].symbols]("molecules")
    shorter, _ = sequence_length.choose(fixed, strings, 99)
    for symbols, jit, precision in itertools.product(
        (fixed, shorter), jits, ("float32", "mixed_bfloat16")):
      speed = molecules_per_second(config, symbols, strings, jit, precision,
                                   args.epochs)
      print(f"| {width:g} | {round(501 * width)} | "
            f"{symbols.sequence_length} | {jit} | {precision} | "
            f"{speed:.0f} |", flush=True)


if __name__ == "__main__":
  main()
