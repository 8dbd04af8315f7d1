r"""Command line: flags -> Config -> train.run.

    python -m rae_tf.main --dataset=mnist --reg=sn
    python -m rae_tf.main --flagfile=flags/mnist.flags --reg=l2

Unset numeric flags take the paper's per-dataset values (PAPER.md); width and
epochs take CPU-sized values when no GPU is visible. Errors caused by input
(flags, data files, work directory, diverging loss) end with one line on
stderr and exit status 2 (1 for a diverged loss).
"""

from __future__ import annotations

import datetime
import os
import sys

from absl import app
from absl import logging

from rae_tf import cli
from rae_tf import errors
from rae_tf import training_flags

FLAGS = training_flags.FLAGS


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  with errors.reported_as_one_line(
      "rae_tf", after_os_error="rerun the same command to resume"):
    config = training_flags.config_from_flags()
    workdir = FLAGS.workdir or os.path.join(
        "runs", f"{config.run_name}-"
        f"{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}")
    logging.info("configuration:\n%s", config.to_json())
    if not training_flags.gpu_available() and (FLAGS.width is None
                                               or FLAGS.epochs is None):
      logging.info("no GPU visible: width %.3g, %d epochs (the paper: 1.0, "
                   "%d); set --width/--epochs to override", config.width,
                   config.epochs, config.preset.epochs)
    from rae_tf import train  # pylint: disable=g-import-not-at-top
    results = train.run(config, workdir, overwrite=FLAGS.overwrite)
  if not results:  # a multi-worker run's non-chief worker
    sys.stdout.write("worker done; the chief (worker 0) writes the outputs\n")
    return
  sys.stdout.write(
      f"done in {results['wall_time_seconds']:.0f} s: test reconstruction "
      f"{results['test']['reconstruction']:.5f}; outputs in {workdir} "
      f"(images/, results.json, export/)\n")


def run():
  """The `rae-tf-train` console script: flags from sys.argv, then `main`."""
  cli.run_absl_main(main, __name__)


if __name__ == "__main__":
  run()
