r"""GrammarRAE speed on CPU: training options, sampled decoding and a BO trial.

    python benchmarks/grammar_speed.py [--model=grae] [--examples=2000]
    python benchmarks/grammar_speed.py --protocol [--width=0.25]

Trains the molecule model on the first --examples MOSES SMILES (rules, or
characters for --model=cvae) for --epochs epochs per setting and prints the
median training speed of the epochs after the first (which traces), in
molecules per second, for every combination of
  width       0.25 / 0.5 (GRU units 125 / 250 of the paper's 501)
  length      the fixed 277 rules (120 characters) / the 99th percentile of
              the data (`--length_percentile=99`)
  jit_compile False (Keras' default on a CPU-only machine) / True (XLA)
  precision   float32 / mixed_bfloat16.
With --protocol it times Kusner et al.'s sampled protocol instead, on the
molecule GRAE of `flags/grammar_molecules_cpu.flags` (untrained: decoding
costs the same whatever the weights): sampled draws per second (one decoder
pass, --draws draws per code, RDKit's check of each distinct string), and
one BO trial of 5 rounds x 50 proposals x 500 draws from an ARD GP on 2,000
training codes. Run it alone on the machine: it times.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position

from rae_tf import precision as rae_precision  # pylint: disable=g-import-not-at-top,wrong-import-position
from rae_tf.grammar import config as config_lib  # pylint: disable=g-import-not-at-top,wrong-import-position
from rae_tf.grammar.models import autoencoders as models  # pylint: disable=g-import-not-at-top,wrong-import-position
from rae_tf.grammar.languages import sequence_length  # pylint: disable=g-import-not-at-top,wrong-import-position
from rae_tf.grammar import tasks  # pylint: disable=g-import-not-at-top,wrong-import-position
from rae_tf.grammar.decoding import draws as draws_lib  # pylint: disable=g-import-not-at-top,wrong-import-position
from rae_tf.grammar.measurements import bayesopt  # pylint: disable=g-import-not-at-top,wrong-import-position
from rae_tf.grammar.measurements import reconstruction  # pylint: disable=g-import-not-at-top,wrong-import-position


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
  with rae_precision.policy(precision):
    keras.utils.set_random_seed(0)
    sequences, _ = symbols.one_hot(strings)
    model = models.build_model(config, symbols.sequence_length,
                               symbols.allowed)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  jit_compile=jit_compile)
    times = _EpochTimes()
    model.fit(sequences, batch_size=config.batch_size, epochs=epochs,
              shuffle=True, verbose=0, callbacks=[times])
    keras.backend.clear_session()
  return len(sequences) / float(np.median(times.seconds[1:]))


def protocol_speed(width: float, draws: int) -> None:
  """Prints draws/s and the seconds of one BO trial (module docstring)."""
  config = config_lib.make_config(
      "molecules", "grae", "cpu", width=width, max_examples=40_000,
      length_percentile=99)
  task = tasks.TASKS["molecules"]
  symbols, _ = sequence_length.choose(
      tasks.SYMBOLS["rules"]("molecules"), task.load(config), 99)
  strings = task.load(config)[:2000]
  sequences, kept = symbols.one_hot(strings)
  strings = [strings[i] for i in kept]
  keras.utils.set_random_seed(0)
  model = models.build_model(config, symbols.sequence_length, symbols.allowed)
  codes = reconstruction.encode(model, sequences)
  rng = np.random.default_rng(0)
  draws_lib.decode_codes(model.decoder, codes[:10], symbols, rng, 2)  # trace
  start = time.perf_counter()
  decoded = draws_lib.decode_codes(model.decoder, codes[:50], symbols, rng,
                                   draws)
  chosen = [draws_lib.most_frequent_valid(row, task.is_valid)
            for row in decoded]
  seconds = time.perf_counter() - start
  print(f"| sampled decoding | 50 codes x {draws} draws, RDKit check, "
        f"most frequent valid | {50 * draws / seconds:,.0f} draws/s | "
        f"{sum(s is not None for s, _ in chosen)} of 50 codes valid |")
  start = time.perf_counter()
  summary, _ = bayesopt.run_bayesopt(
      model.decoder, symbols, task, strings, codes, tempfile.mkdtemp(), trials=1,
      iterations=5, batch_size=50, train_points=2000, seed=0)
  print(f"| BO trial | 5 x 50 proposals x {task.draws} draws, ARD GP on "
        f"{summary['start_points']} codes | "
        f"{summary['seconds_per_trial'][0]:.0f} s per trial | "
        f"{time.perf_counter() - start:.0f} s with the training scores |")


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
  parser.add_argument("--protocol", action="store_true",
                      help="time sampled decoding and a BO trial instead")
  parser.add_argument("--width", type=float, default=0.25,
                      help="--protocol: the GRAE's width")
  parser.add_argument("--draws", type=int, default=500,
                      help="--protocol: draws per code")
  args = parser.parse_args()
  if args.protocol:
    protocol_speed(args.width, args.draws)
    return
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
