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
  bo_iterations: int
  bo_batch: int
  bo_seeds: int
  bo_train_points: int


# --profile -> task -> defaults. "paper": the paper's nets and latent sizes
# on all the data, BO as Kusner et al. (5 rounds of 50 points; epochs and
# batch sizes are ours, the RAE paper does not state them). "cpu": a few
# minutes per task and model on 2 CPU cores (README, "Structured data").
PROFILES: dict[str, dict[str, Profile]] = {
    "paper": {
        "expressions": Profile(
            latent_dim=25, epochs=50, batch_size=256, width=1.0,
            max_examples=None, num_samples=1000, bo_iterations=5,
            bo_batch=50, bo_seeds=10, bo_train_points=500),
        "molecules": Profile(
            latent_dim=56, epochs=50, batch_size=128, width=1.0,
            max_examples=None, num_samples=1000, bo_iterations=5,
            bo_batch=50, bo_seeds=5, bo_train_points=500),
    },
    "cpu": {
        "expressions": Profile(
            latent_dim=25, epochs=20, batch_size=256, width=0.5,
            max_examples=20_000, num_samples=500, bo_iterations=3,
            bo_batch=10, bo_seeds=2, bo_train_points=300),
        "molecules": Profile(
            latent_dim=56, epochs=8, batch_size=100, width=0.1,
            max_examples=2_000, num_samples=200, bo_iterations=3,
            bo_batch=10, bo_seeds=2, bo_train_points=300),
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
    width: multiplier of the conv, hidden and GRU widths (1.0 = paper's).
    embedding_weight: beta, weight of 1/2 ||z||^2 (grae).
    reg: decoder regulariser of grae: "none", "l2" (||theta_D||^2), "gp".
    reg_weight: lambda, weight of the decoder regulariser (grae).
    kl_weight: weight of the KL term (gvae, cvae); 1.0 is the ELBO.
    gmm_components: components of the ex-post GMM.
    test_fraction: share of the strings held out (reconstruction accuracy,
      validation loss).
    num_samples: codes drawn from each density to measure the valid share.
    bo_iterations, bo_batch: Bayesian optimisation rounds and points per
      round.
    bo_seeds: independent BO runs (seeds 0 .. bo_seeds - 1 offset by seed).
    bo_train_points: training strings (codes and scores) the GP starts
      from, a random subsample.
    seed: seed of weights, shuffling, sampling and BO.
    length_percentile: p: the sequence length T is the p-th percentile of
      the strings' lengths (`sequence_length`), longer strings dropped;
      None keeps the fixed length (277 rules / 120 characters for
      molecules).
    curve_samples: if > 0, after every epoch decode this many ex-post GMM
      samples (`learning_curve.ValidShareCurve`) and report their valid
      share in results.json's "learning_curve".
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
  bo_iterations: int
  bo_batch: int
  bo_seeds: int
  bo_train_points: int
  smiles_file: Optional[str] = None
  learning_rate: float = 1e-3
  embedding_weight: float = 1e-3
  reg: str = "l2"
  reg_weight: float = 1e-6
  kl_weight: float = 1.0
  gmm_components: int = 10
  test_fraction: float = 0.1
  seed: int = 0
  length_percentile: Optional[float] = None
  curve_samples: int = 0
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
  for name in ("latent_dim", "epochs", "batch_size", "gmm_components",
               "num_samples", "bo_batch", "bo_train_points"):
    value = getattr(config, name)
    _check(isinstance(value, int) and value > 0,
           f"{name} must be a positive integer; got {value!r}")
  for name in ("bo_iterations", "bo_seeds", "curve_samples"):
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
  _check(config.length_percentile is None
         or 0 < config.length_percentile <= 100,
         f"length_percentile must be in (0, 100]; got "
         f"{config.length_percentile}")
  _check(0 < config.test_fraction < 1,
         f"test_fraction must be in (0, 1); got {config.test_fraction}")
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
