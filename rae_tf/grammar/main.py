r"""Command line of GrammarRAE: flags -> GrammarConfig -> train.run.

    python -m rae_tf.grammar.main --task=expressions --model=grae
    python -m rae_tf.grammar.main --flagfile=flags/grammar_molecules.flags \
        --model=gvae --smiles_file=zinc250k.csv
    python -m rae_tf.grammar.main --flagfile=flags/grammar_cpu.flags \
        --task=molecules --model=cvae

Unset flags take the values of --profile for the task (`config.PROFILES`):
"paper" (the paper's nets on all the data) or "cpu" (minutes on 2 cores).
Errors caused by input (flags, SMILES files, work directory, diverging loss)
end with one line on stderr and exit status 2 (1 for a diverged loss).
"""

from __future__ import annotations

import datetime
import os
import sys

from absl import app
from absl import flags
from absl import logging

from rae_tf import cli
from rae_tf import errors
from rae_tf.grammar import config as config_lib

FLAGS = flags.FLAGS
flags.DEFINE_enum("task", "expressions", config_lib.TASKS,
                  "expressions (arithmetic expressions in x) or molecules "
                  "(SMILES).")
flags.DEFINE_enum("model", "grae", config_lib.MODELS,
                  "grae: grammar RAE (RAE objective, ex-post GMM); gvae: "
                  "grammar VAE; cvae: character VAE.")
flags.DEFINE_enum("profile", "paper", sorted(config_lib.PROFILES),
                  "Defaults of the unset flags: paper (the paper's nets, all "
                  "data) or cpu (a few minutes per run on 2 CPU cores).")
flags.DEFINE_string("smiles_file", None,
                    "SMILES file for --task=molecules (.csv with a SMILES "
                    "column, or .smi/.txt, optionally .gz; ZINC-250k works). "
                    "Default: the MOSES training set in the molsets wheel.")
flags.DEFINE_integer("max_examples", None,
                     "Use at most this many strings. Default: per profile.")
flags.DEFINE_integer("epochs", None,
                     "Training epochs; 0 measures the untrained model (the "
                     "floor of every metric). Default: per profile.")
flags.DEFINE_integer("batch_size", None, "Batch size. Default: per profile.")
flags.DEFINE_float("learning_rate", None, "Adam learning rate. Default: 1e-3.")
flags.DEFINE_float("width", None,
                   "Multiplier of the GRU widths (the encoder is Kusner et "
                   "al.'s at every width); 1.0 = the paper's nets. Default: "
                   "per profile.")
flags.DEFINE_integer("latent_dim", None,
                     "Code size d. Default: the paper's (25 / 56).")
flags.DEFINE_float("embedding_weight", None,
                   "grae: weight beta of 1/2 ||z||^2. Default: 1e-3.")
flags.DEFINE_enum("reg", None, config_lib.REGULARIZERS,
                  "grae: decoder regulariser (l2: ||theta_D||^2, gp: "
                  "||dD/dz||^2, none). Default: l2.")
flags.DEFINE_float("reg_weight", None,
                   "grae: weight lambda of the regulariser. Default: 1e-6.")
flags.DEFINE_float("kl_weight", None,
                   "gvae, cvae: weight of the KL term. Default: 1.0 (ELBO).")
flags.DEFINE_integer("gmm_components", None,
                     "Components of the ex-post GMM. Default: 10.")
flags.DEFINE_float("test_fraction", None,
                   "Share of strings held out for the measurements. "
                   "Default: 0.1.")
flags.DEFINE_float("validation_fraction", None,
                   "Share of the other strings that the learning-rate "
                   "schedule and the best checkpoint watch. Default: 0.1.")
flags.DEFINE_float("lr_factor", None,
                   "Learning-rate factor on a validation plateau. Default: "
                   "0.2 (Kusner et al.).")
flags.DEFINE_integer("lr_patience", None,
                     "Epochs without improvement before the factor applies. "
                     "Default: 1 (expressions) / 3 (molecules).")
flags.DEFINE_float("min_learning_rate", None,
                   "Lowest learning rate of the schedule. Default: 1e-4.")
flags.DEFINE_integer("num_samples", None,
                     "Codes decoded per density for the valid shares. "
                     "Default: per profile.")
flags.DEFINE_integer("reconstruction_strings", None,
                     "Held-out strings of the reconstruction accuracy. "
                     "Default: per profile (all for paper).")
flags.DEFINE_integer("reconstruction_encodes", None,
                     "Encodings per string (Kusner et al.: 10).")
flags.DEFINE_integer("reconstruction_draws", None,
                     "Sampled decodings per encoding (Kusner et al.: 100).")
flags.DEFINE_integer("metric_samples", None,
                     "Valid molecules sampled per density for MOSES's "
                     "metrics and the FCD. Default: 1000.")
flags.DEFINE_integer("bo_iterations", None,
                     "Bayesian optimisation rounds (0: none). Default: 5.")
flags.DEFINE_integer("bo_batch", None,
                     "Proposals per BO round. Default: 50.")
flags.DEFINE_integer("bo_trials", None,
                     "Independent BO trials, each with its own seed and GP "
                     "subset. Default: per profile.")
flags.DEFINE_integer("bo_train_points", None,
                     "Training codes the GP of a trial starts from. "
                     "Default: 2000.")
flags.DEFINE_string("workdir", None,
                    "Run directory. Default: runs/<task>_<model>-<time>.")
flags.DEFINE_bool("overwrite", False, "Replace a non-empty --workdir.")
flags.DEFINE_integer("seed", None, "Seed of weights, data, sampling, BO.")
flags.DEFINE_integer("curve_samples", None,
                     "If > 0, before training and after every epoch measure "
                     "this many validation strings (token and reconstruction "
                     "accuracy) and GMM samples (valid share, FCD) "
                     "(results.json learning_curve). Default: 0 (off).")
flags.DEFINE_float("max_train_minutes", None,
                   "Stop training after the epoch during which this many "
                   "minutes have passed (a time budget). Default: none.")
flags.DEFINE_integer("intra_op_threads", None,
                     "TensorFlow threads per op (0: one per core).")
flags.DEFINE_integer("inter_op_threads", None,
                     "TensorFlow ops run at once (0: one per core). The "
                     "molecule CPU profile sets 1 / 2: small GRU ops train "
                     "1.9x faster on 2 cores side by side than each split "
                     "over both (benchmarks/README.md).")
flags.DEFINE_float("length_percentile", None,
                   "Sequence length T = this percentile of the strings' "
                   "lengths (rules or characters); longer strings are "
                   "dropped and counted. Default: the fixed length (277 rules"
                   " / 120 characters for molecules).")
flags.DEFINE_enum("precision", None, config_lib.PRECISIONS,
                  "Keras dtype policy: float32, or mixed_bfloat16 (GRUs in "
                  "bfloat16; pays off for wide GRUs on CPUs with "
                  "AVX512-BF16). Default: float32.")

_OPTIONAL = ("smiles_file", "max_examples", "epochs", "batch_size",
             "learning_rate", "width", "latent_dim", "embedding_weight", "reg",
             "reg_weight", "kl_weight", "gmm_components", "test_fraction",
             "validation_fraction", "lr_factor", "lr_patience",
             "min_learning_rate", "num_samples", "reconstruction_strings",
             "reconstruction_encodes", "reconstruction_draws",
             "metric_samples", "bo_iterations", "bo_batch", "bo_trials",
             "bo_train_points", "seed", "length_percentile", "curve_samples",
             "max_train_minutes", "intra_op_threads", "inter_op_threads",
             "precision")


def config_from_flags() -> config_lib.GrammarConfig:
  """The run's GrammarConfig from the parsed flags (None = default)."""
  return config_lib.make_config(
      FLAGS.task, FLAGS.model, FLAGS.profile,
      **{name: getattr(FLAGS, name) for name in _OPTIONAL})


def summary(results: dict) -> str:
  """One line: reconstruction, valid shares, BO outcome."""
  accuracy = results["reconstruction"]["sampled_accuracy"]["mean"]
  validity = {name: results["samples"][name]["validity"]
              for name in ("prior", "gmm")}
  text = (f"reconstruction accuracy {accuracy:.1%} (token accuracy "
          f"{results['reconstruction']['token_accuracy']:.1%}), valid "
          f"{validity['prior']['per_draw']:.0%} (prior) / "
          f"{validity['gmm']['per_draw']:.0%} (GMM) per draw")
  bo = results["bayesopt"]
  if bo:
    text += f"; BO: {bo['valid_share']['mean']:.0%} valid"
    if bo["top3"]:
      best = bo["top3"][0]
      text += f", best {best['string']!r} ({best['score']:.3f})"
  return text


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  with errors.reported_as_one_line("rae_tf", after_os_error="rerun"):
    config = config_from_flags()
    workdir = FLAGS.workdir or os.path.join(
        "runs", f"{config.run_name}-"
        f"{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}")
    logging.info("configuration:\n%s", config.to_json())
    from rae_tf.grammar import train  # pylint: disable=g-import-not-at-top
    results = train.run(config, workdir, overwrite=FLAGS.overwrite)
  sys.stdout.write(f"done in {results['wall_time_seconds']:.0f} s: "
                   f"{summary(results)}; outputs in {workdir}\n")


def run():
  """The `rae-tf-grammar` console script: flags from sys.argv, then `main`."""
  cli.run_absl_main(main, __name__)


if __name__ == "__main__":
  run()
