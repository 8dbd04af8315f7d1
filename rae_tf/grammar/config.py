"""Configuration of one GrammarRAE run: a frozen, validated dataclass.

No TensorFlow here: `make_config` turns flag values and the per-task
defaults of a profile (`PROFILES`) into a `GrammarConfig`, rejecting
out-of-range values with one `ConfigError` that names the flag.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Optional

from rae_tf.errors import ConfigError

TASKS = ("expressions", "molecules")
MODELS = ("grae", "gvae", "cvae")  # must match models.MODELS (tested)
REGULARIZERS = ("none", "l2", "gp")  # must match models.DECODER_REGULARIZERS
# Keras dtype policies; no mixed_float16, whose loss scaling the models'
# own train_step would have to do.
PRECISIONS = ("float32", "mixed_bfloat16")


@dataclasses.dataclass(frozen=True)
class Profile:
  """Per-task values of the flags a run leaves unset."""

  latent_dim: int
  epochs: int
  batch_size: int
  width: float
  max_examples: Optional[int]
  num_samples: int
  lr_patience: int
  reconstruction_strings: Optional[int]
  bo_trials: int


# --profile -> task -> defaults. "paper": the paper's nets and latent sizes
# on all the data, Kusner et al.'s schedule (x0.2 after `lr_patience` epochs
# without improvement: 1 for expressions, 3 for molecules) and protocol
# (BO: 10 trials of 5 rounds x 50 proposals; batch sizes and epochs are
# theirs too: 600 / 50 epochs for expressions, 500 / 100 for molecules).
# "cpu": minutes (expressions) or an hour (molecules) per model on 2 CPU
# cores, the same protocol on 500 held-out strings and 5 BO trials.
PROFILES: dict[str, dict[str, Profile]] = {
    "paper": {
        "expressions": Profile(
            latent_dim=25, epochs=50, batch_size=600, width=1.0,
            max_examples=None, num_samples=1000, lr_patience=1,
            reconstruction_strings=None, bo_trials=10),
        "molecules": Profile(
            latent_dim=56, epochs=100, batch_size=500, width=1.0,
            max_examples=None, num_samples=1000, lr_patience=3,
            reconstruction_strings=None, bo_trials=10),
    },
    "cpu": {
        "expressions": Profile(
            latent_dim=25, epochs=20, batch_size=256, width=0.5,
            max_examples=20_000, num_samples=1000, lr_patience=1,
            reconstruction_strings=500, bo_trials=5),
        "molecules": Profile(
            latent_dim=56, epochs=8, batch_size=100, width=0.1,
            max_examples=2_000, num_samples=200, lr_patience=3,
            reconstruction_strings=200, bo_trials=5),
    },
}


@dataclasses.dataclass(frozen=True)
class GrammarConfig:
  """Everything one grammar run depends on.

  Attributes:
    task: "expressions" or "molecules".
    model: "grae" (RAE objective + ex-post GMM), "gvae" (Grammar VAE),
      "cvae" (character VAE).
    smiles_file: SMILES file for --task=molecules; None = the MOSES train set.
    max_examples: use at most this many strings (None = all).
    latent_dim: size of z.
    epochs, batch_size, learning_rate: Adam training.
    width: multiplier of the GRU widths (1.0 = paper's); the encoder is
      Kusner et al.'s at every width.
    embedding_weight: beta, weight of 1/2 ||z||^2 (grae).
    reg: decoder regulariser of grae: "none", "l2" (||theta_D||^2), "gp".
    reg_weight: lambda, weight of the decoder regulariser (grae).
    kl_weight: weight of the KL term (gvae, cvae); 1.0 is the ELBO.
    gmm_components: components of the ex-post GMM.
    test_fraction: share of the strings held out for the measurements
      (never seen by training, the schedule or the checkpoint).
    validation_fraction: share of the remaining strings the learning-rate
      schedule and the best checkpoint watch (carved from the training set).
    lr_factor, lr_patience, min_learning_rate: the learning rate is
      multiplied by lr_factor after lr_patience epochs without a lower
      validation loss, down to min_learning_rate (Kusner et al.'s
      ReduceLROnPlateau: 0.2, 1 or 3, 1e-4).
    num_samples: codes drawn from each density for the valid shares.
    reconstruction_strings: held-out strings of the reconstruction accuracy
      (None: all of them).
    reconstruction_encodes, reconstruction_draws: Kusner et al.'s 10
      encodings x 100 sampled decodings per string.
    metric_samples: valid molecules sampled from each density for MOSES's
      metrics and the FCD (a fixed N, so that models compare).
    bo_iterations, bo_batch: Bayesian optimisation rounds and proposals per
      round.
    bo_trials: independent BO trials (each its own seed and GP subset).
    bo_train_points: training strings (codes and scores) the GP starts
      from, a random subsample per trial.
    seed: seed of weights, shuffling, sampling and BO.
    epochs: 0 measures the untrained model (random initialisation): the
      floor of every metric.
    length_percentile: p: the sequence length T is the p-th percentile of
      the strings' lengths (`sequence_length`), longer strings dropped;
      None keeps the fixed length (277 rules / 120 characters for
      molecules).
    curve_samples: if > 0, before training and after every epoch measure
      this many validation strings and GMM samples
      (`learning_curve.LearningCurve`, results.json's "learning_curve").
    max_train_minutes: stop training after the epoch during which this many
      minutes have passed (None: train `epochs` epochs).
    intra_op_threads, inter_op_threads: TensorFlow's thread pools (0: its
      default, one thread per core in each); set before the run's first op.
    precision: Keras dtype policy, "float32" or "mixed_bfloat16" (GRUs in
      bfloat16, variables, codes and logits in float32; 2.2x faster for
      250-unit GRUs on a CPU with AVX512-BF16, benchmarks/README.md).
  """

  task: str
  model: str
  latent_dim: int
  epochs: int
  batch_size: int
  width: float
  max_examples: Optional[int]
  num_samples: int
  lr_patience: int
  reconstruction_strings: Optional[int]
  bo_trials: int
  smiles_file: Optional[str] = None
  learning_rate: float = 1e-3
  embedding_weight: float = 1e-3
  reg: str = "l2"
  reg_weight: float = 1e-6
  kl_weight: float = 1.0
  gmm_components: int = 10
  test_fraction: float = 0.1
  validation_fraction: float = 0.1
  lr_factor: float = 0.2
  min_learning_rate: float = 1e-4
  reconstruction_encodes: int = 10
  reconstruction_draws: int = 100
  metric_samples: int = 1000
  bo_iterations: int = 5
  bo_batch: int = 50
  bo_train_points: int = 2000
  seed: int = 0
  length_percentile: Optional[float] = None
  curve_samples: int = 0
  max_train_minutes: Optional[float] = None
  intra_op_threads: int = 0
  inter_op_threads: int = 0
  precision: str = "float32"

  @property
  def run_name(self) -> str:
    return f"{self.task}_{self.model}"

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

  def to_flagfile(self) -> str:
    """Flags that rerun this configuration (None values are left out)."""
    lines = [f"--{name}={value}" for name, value in
             sorted(dataclasses.asdict(self).items()) if value is not None]
    return "\n".join(lines) + "\n"


def _check(condition: bool, message: str) -> None:
  if not condition:
    raise ConfigError(message)


def _validate(config: GrammarConfig) -> None:
  _check(config.task in TASKS,
         f"--task must be one of {list(TASKS)}; got {config.task!r}")
  _check(config.model in MODELS,
         f"--model must be one of {list(MODELS)}; got {config.model!r}")
  _check(config.precision in PRECISIONS,
         f"--precision must be one of {list(PRECISIONS)}; got "
         f"{config.precision!r}")
  _check(config.reg in REGULARIZERS,
         f"--reg must be one of {list(REGULARIZERS)}; got {config.reg!r}")
  for name in ("latent_dim", "batch_size", "gmm_components", "num_samples",
               "bo_batch", "bo_train_points", "lr_patience",
               "reconstruction_encodes", "reconstruction_draws",
               "metric_samples"):
    value = getattr(config, name)
    _check(isinstance(value, int) and value > 0,
           f"{name} must be a positive integer; got {value!r}")
  _check(config.reconstruction_strings is None
         or config.reconstruction_strings > 0,
         f"reconstruction_strings must be a positive integer; got "
         f"{config.reconstruction_strings!r}")
  _check(config.bo_train_points >= 2 or not config.bo_iterations,
         "bo_train_points must be at least 2")
  for name in ("epochs", "bo_iterations", "bo_trials", "curve_samples",
               "intra_op_threads", "inter_op_threads"):
    value = getattr(config, name)
    _check(isinstance(value, int) and value >= 0,
           f"{name} must be an integer >= 0; got {value!r}")
  _check(config.max_examples is None or config.max_examples >= 2,
         f"max_examples must be at least 2 (a train and a test string); got "
         f"{config.max_examples}")
  for name in ("learning_rate", "width"):
    value = getattr(config, name)
    _check(math.isfinite(value) and value > 0,
           f"{name} must be > 0; got {value}")
  for name in ("embedding_weight", "reg_weight", "kl_weight"):
    value = getattr(config, name)
    _check(math.isfinite(value) and value >= 0,
           f"{name} must be finite and >= 0; got {value}")
  _check(config.max_train_minutes is None or config.max_train_minutes > 0,
         f"max_train_minutes must be > 0; got {config.max_train_minutes}")
  _check(config.length_percentile is None
         or 0 < config.length_percentile <= 100,
         f"length_percentile must be in (0, 100]; got "
         f"{config.length_percentile}")
  for name in ("test_fraction", "validation_fraction"):
    value = getattr(config, name)
    _check(0 < value < 1, f"{name} must be in (0, 1); got {value}")
  _check(0 < config.lr_factor < 1,
         f"lr_factor must be in (0, 1); got {config.lr_factor}")
  _check(0 < config.min_learning_rate <= config.learning_rate,
         f"min_learning_rate must be in (0, learning_rate = "
         f"{config.learning_rate}]; got {config.min_learning_rate}")
  _check(config.smiles_file is None or config.task == "molecules",
         "--smiles_file is only read with --task=molecules; drop it or set "
         "--task=molecules")


def make_config(task: str, model: str, profile: str = "paper",
                **overrides) -> GrammarConfig:
  """A validated config; unset (None) values take the profile's defaults.

  Raises:
    ConfigError: an unknown task/model/profile/regulariser or an
      out-of-range value.
  """
  _check(profile in PROFILES,
         f"--profile must be one of {list(PROFILES)}; got {profile!r}")
  _check(task in TASKS, f"--task must be one of {list(TASKS)}; got {task!r}")
  defaults = dataclasses.asdict(PROFILES[profile][task])
  values = {name: value for name, value in overrides.items()
            if value is not None}
  config = GrammarConfig(task=task, model=model, **{**defaults, **values})
  _validate(config)
  return config
