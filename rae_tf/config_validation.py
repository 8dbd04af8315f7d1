"""Validation of a run configuration: the values each `config.Config` field
may take.

No TensorFlow here. `Config` calls `validate` when it is built, so every
Config that exists is valid.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rae_tf.errors import ConfigError
from rae_tf.presets import BASELINE_WEIGHT_NAMES
from rae_tf.presets import BASELINE_WEIGHTS
from rae_tf.presets import GP_FORMS
from rae_tf.presets import REGULARIZER_NAMES
from rae_tf.presets import SN_FORMS
from rae_tf.presets import dataset_preset

if TYPE_CHECKING:
  from rae_tf.config import Config

DISTRIBUTE_NAMES = ("none", "mirrored", "multi_worker")  # distribute.STRATEGIES
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
# num_samples of the exported `sample` signature is int32: the largest
# --max_samples_per_request.
MAX_INT32 = 2**31 - 1
# --model values: the RAE family and the baselines (models.MODELS; tested
# in models_test).
MODEL_NAMES = ("rae", "ae", *BASELINE_WEIGHTS)


def validate(config: Config) -> None:
  """Checks every field of `config` against the values it may take.

  Args:
    config: the Config being built.

  Raises:
    ConfigError: naming the first bad field, its value and what is allowed.
  """
  dataset_preset(config.dataset, config.image_size,
                 config.channels)  # validates
  for name in ("validation_fraction", "test_fraction"):
    value = getattr(config, name)
    if not 0 < value < 1:  # also rejects NaN
      raise ConfigError(f"{name} must be in (0, 1); got {value!r}")
  if config.validation_fraction + config.test_fraction >= 1:
    raise ConfigError(
        "validation_fraction + test_fraction must be < 1 (the rest is "
        f"trained on); got {config.validation_fraction!r} + "
        f"{config.test_fraction!r}")
  if config.distribute not in DISTRIBUTE_NAMES:
    raise ConfigError(f"distribute must be one of {list(DISTRIBUTE_NAMES)}; "
                      f"got {config.distribute!r}")
  if config.precision not in PRECISIONS:
    raise ConfigError(f"precision must be one of {list(PRECISIONS)}; "
                      f"got {config.precision!r}")
  if config.model not in MODEL_NAMES:
    raise ConfigError(
        f"model must be one of {list(MODEL_NAMES)}; got {config.model!r}")
  if config.reg not in REGULARIZER_NAMES:
    raise ConfigError(
        f"reg must be one of {list(REGULARIZER_NAMES)}; got {config.reg!r}")
  for name, choices in (("gp_form", GP_FORMS), ("sn_form", SN_FORMS)):
    if getattr(config, name) not in choices:
      raise ConfigError(f"{name} must be one of {list(choices)}; got "
                        f"{getattr(config, name)!r}")
  for name in ("latent_dim", "epochs", "batch_size", "gmm_components",
               "lr_patience", "stage2_epochs"):
    value = getattr(config, name)
    if not isinstance(value, int) or value < 1:
      raise ConfigError(f"{name} must be a positive integer; got {value!r}")
  for name in ("embedding_weight", "reg_weight", *BASELINE_WEIGHT_NAMES):
    value = getattr(config, name)
    if not 0 <= value < math.inf:  # also rejects NaN
      raise ConfigError(f"{name} must be finite and >= 0; got {value!r}")
  for name in ("learning_rate", "stage2_learning_rate", "constant_sigma"):
    value = getattr(config, name)
    if not 0 < value < math.inf:  # also rejects NaN
      raise ConfigError(f"{name} must be > 0 and finite; got {value!r}")
  if (isinstance(config.max_samples_per_request, bool) or
      not isinstance(config.max_samples_per_request, int) or
      not 1 <= config.max_samples_per_request <= MAX_INT32):
    raise ConfigError(
        "max_samples_per_request must be a positive integer <= "
        f"{MAX_INT32} (num_samples is int32); got "
        f"{config.max_samples_per_request!r}")
  if not 0 <= config.input_noise_stddev < math.inf or (
      config.input_noise_stddev and config.model != "wae"):
    raise ConfigError("input_noise_stddev must be finite, >= 0, and 0 for "
                      f"--model={config.model} (a WAE option); got "
                      f"{config.input_noise_stddev!r}")
  if not 0 < config.width <= 8:
    raise ConfigError(f"width must be in (0, 8]; got {config.width!r}")
  if config.max_train_examples is not None and config.max_train_examples < 1:
    raise ConfigError("max_train_examples must be a positive integer or "
                      f"None; got {config.max_train_examples!r}")
