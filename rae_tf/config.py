"""Run configuration: a frozen dataclass plus the paper's per-dataset presets.

No TensorFlow here: this module only turns names and numbers into a validated
`Config`. The paper's loss weights are stored in the authors' code form and
converted to this library's form by `embedding_weight_from_authors`.

Loss form used throughout rae_tf (see `regularizers.py`):

    L = mean_pixels (x - x_hat)^2 + embedding_weight * 1/2 ||z||^2 + reg_weight * L_reg

with every term averaged over the batch. The authors' code uses
`mean_pixels (x - x_hat)^2 + beta * mean_j z_j^2 + lambda * L_reg`, so the two
agree when `embedding_weight = 2 * beta / latent_dim` and `reg_weight = lambda`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Mapping, Optional

from rae_tf.errors import ConfigError

REGULARIZER_NAMES = ("none", "l2", "gp", "sn")


@dataclasses.dataclass(frozen=True)
class DatasetPreset:
  """The paper's settings for one dataset (PAPER.md, "Training").

  Attributes:
    image_shape: (height, width, channels) fed to the encoder, after padding.
    architecture: name of the encoder/decoder pair in `networks.ARCHITECTURES`.
    latent_dim: d, the size of z.
    learning_rate: Adam learning rate for AE / RAE models.
    epochs: training epochs of the paper.
    authors_beta: latent weight beta per regulariser, authors' code form
      (beta * mean_j z_j^2).
    authors_lambda: decoder-regulariser weight per regulariser.
    cpu_width: channel multiplier used when no GPU is visible.
    cpu_epochs: epochs used when no GPU is visible.
  """

  image_shape: tuple[int, int, int]
  architecture: str
  latent_dim: int
  learning_rate: float
  epochs: int
  authors_beta: Mapping[str, float]
  authors_lambda: Mapping[str, float]
  cpu_width: float
  cpu_epochs: int


_MNIST_BETA = {"none": 5e-4, "l2": 1e-4, "gp": 1e-4, "sn": 0.009}
_MNIST_LAMBDA = {"none": 0.0, "l2": 1e-7, "gp": 5e-8, "sn": 0.0}

PRESETS: dict[str, DatasetPreset] = {
    "mnist": DatasetPreset(
        image_shape=(32, 32, 1), architecture="conv32", latent_dim=16,
        learning_rate=5e-4, epochs=100,
        authors_beta=_MNIST_BETA, authors_lambda=_MNIST_LAMBDA,
        cpu_width=0.25, cpu_epochs=20),
    # No paper values for Fashion-MNIST: it shares MNIST's net and weights.
    "fashion_mnist": DatasetPreset(
        image_shape=(32, 32, 1), architecture="conv32", latent_dim=16,
        learning_rate=5e-4, epochs=100,
        authors_beta=_MNIST_BETA, authors_lambda=_MNIST_LAMBDA,
        cpu_width=0.25, cpu_epochs=5),
    "cifar10": DatasetPreset(
        image_shape=(32, 32, 3), architecture="conv32", latent_dim=128,
        learning_rate=5e-4, epochs=100,
        authors_beta={"none": 1e-2, "l2": 1e-3, "gp": 9e-4, "sn": 0.03},
        # The released CIFAR GP weight is 0, which disables the penalty; we
        # use the MNIST/CelebA order of magnitude instead.
        authors_lambda={"none": 0.0, "l2": 1e-6, "gp": 1e-7, "sn": 0.0},
        cpu_width=0.25, cpu_epochs=5),
    "celeba": DatasetPreset(
        image_shape=(64, 64, 3), architecture="conv64", latent_dim=64,
        learning_rate=1e-3, epochs=70,
        authors_beta={"none": 1e-4, "l2": 1e-4, "gp": 1e-4, "sn": 2.4e-3},
        authors_lambda={"none": 0.0, "l2": 1e-7, "gp": 1e-7, "sn": 0.0},
        cpu_width=0.125, cpu_epochs=2),
}


def embedding_weight_from_authors(beta: float, latent_dim: int) -> float:
  """Converts the authors' `beta * mean_j z_j^2` weight to `w * 1/2 ||z||^2`.

  beta * (1/d) sum_j z_j^2 == w * 1/2 sum_j z_j^2  <=>  w = 2 beta / d.

  Args:
    beta: the authors' latent weight.
    latent_dim: d.

  Returns:
    The embedding weight of this library's loss.
  """
  return 2.0 * beta / latent_dim


@dataclasses.dataclass(frozen=True)
class Config:
  """Everything one training run depends on.

  Attributes:
    dataset: key of `PRESETS`.
    model: key of `models.MODELS` ("rae", "ae", ...).
    reg: decoder regulariser, one of `REGULARIZER_NAMES`.
    latent_dim: size of the code z.
    embedding_weight: weight of 1/2 ||z||^2 (batch mean).
    reg_weight: weight of the decoder regulariser.
    epochs: passes over the training split.
    batch_size: examples per step.
    learning_rate: initial Adam learning rate.
    width: multiplier of every convolution width (1.0 = the paper's nets).
    data_dir: directory of the dataset's standard files; None = default.
    seed: seed of weights, shuffling and sampling.
    sn_encoder: also spectrally normalise the encoder (the authors did).
    gmm_components: components of the ex-post Gaussian mixture.
    lr_patience: epochs without validation improvement before halving the
      learning rate.
    max_train_examples: use only the first N training examples (None = all).
  """

  dataset: str
  model: str
  reg: str
  latent_dim: int
  embedding_weight: float
  reg_weight: float
  epochs: int
  batch_size: int
  learning_rate: float
  width: float
  data_dir: Optional[str] = None
  seed: int = 0
  sn_encoder: bool = False
  gmm_components: int = 10
  lr_patience: int = 5
  max_train_examples: Optional[int] = None

  def __post_init__(self):
    if self.dataset not in PRESETS:
      raise ConfigError(
          f"dataset must be one of {sorted(PRESETS)}; got {self.dataset!r}")
    if self.reg not in REGULARIZER_NAMES:
      raise ConfigError(
          f"reg must be one of {list(REGULARIZER_NAMES)}; got {self.reg!r}")
    for name in ("latent_dim", "epochs", "batch_size", "gmm_components",
                 "lr_patience"):
      value = getattr(self, name)
      if not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer; got {value!r}")
    for name in ("embedding_weight", "reg_weight"):
      value = getattr(self, name)
      if not 0 <= value < math.inf:  # also rejects NaN
        raise ConfigError(f"{name} must be finite and >= 0; got {value!r}")
    if not 0 < self.learning_rate < math.inf:
      raise ConfigError(
          f"learning_rate must be > 0; got {self.learning_rate!r}")
    if not 0 < self.width <= 8:
      raise ConfigError(f"width must be in (0, 8]; got {self.width!r}")
    if self.max_train_examples is not None and self.max_train_examples < 1:
      raise ConfigError("max_train_examples must be a positive integer or "
                       f"None; got {self.max_train_examples!r}")

  @property
  def run_name(self) -> str:
    """Short name of what is trained, e.g. "mnist_rae_l2" or "mnist_ae"."""
    parts = [self.dataset, self.model]
    if self.reg != "none":
      parts.append(self.reg)
    return "_".join(parts)

  @property
  def preset(self) -> DatasetPreset:
    return PRESETS[self.dataset]

  @property
  def image_shape(self) -> tuple[int, int, int]:
    return self.preset.image_shape

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

  @classmethod
  def from_json(cls, text: str) -> "Config":
    return cls(**json.loads(text))

  def to_flagfile(self) -> str:
    """The absl flagfile that reproduces this configuration."""
    lines = []
    for key, value in sorted(dataclasses.asdict(self).items()):
      if value is None:
        continue
      if isinstance(value, bool):
        value = str(value).lower()
      lines.append(f"--{key}={value}")
    return "\n".join(lines) + "\n"


def make_config(dataset: str = "mnist",
                model: str = "rae",
                reg: str = "none",
                *,
                gpu_available: bool = False,
                **overrides) -> Config:
  """Fills in the paper's defaults for `dataset`, then applies `overrides`.

  Args:
    dataset: key of `PRESETS`.
    model: "ae" forces a zero latent weight and no regulariser; any other
      model takes the preset's weights for `reg`.
    reg: decoder regulariser name.
    gpu_available: picks the paper's width/epochs (True) or the preset's
      CPU-sized ones (False) when `overrides` gives none.
    **overrides: any `Config` field; a value of None means "use the default".

  Returns:
    A validated Config.

  Raises:
    ConfigError: on unknown names, out-of-range values, or a plain AE asked
      for a latent term or a regulariser.
  """
  if dataset not in PRESETS:
    raise ConfigError(
        f"--dataset must be one of {sorted(PRESETS)}; got {dataset!r}")
  if reg not in REGULARIZER_NAMES:
    raise ConfigError(
        f"--reg must be one of {list(REGULARIZER_NAMES)}; got {reg!r}")
  overrides = {k: v for k, v in overrides.items() if v is not None}
  preset = PRESETS[dataset]
  latent_dim = overrides.get("latent_dim", preset.latent_dim)
  if not isinstance(latent_dim, int) or latent_dim < 1:
    raise ConfigError(
        f"latent_dim must be a positive integer; got {latent_dim!r}")
  if model == "ae":
    if reg != "none":
      raise ConfigError(
          f"--model=ae has neither latent term nor regulariser; got "
          f"--reg={reg}. Use --model=rae --reg={reg} instead.")
    for name in ("embedding_weight", "reg_weight"):
      if overrides.get(name, 0.0) != 0.0:
        raise ConfigError(
            f"--model=ae trains without latent term or regulariser; got "
            f"--{name}={overrides[name]}. Use --model=rae for a weighted "
            "latent term.")
    embedding_weight, reg_weight = 0.0, 0.0
  else:
    embedding_weight = embedding_weight_from_authors(
        preset.authors_beta[reg], latent_dim)
    reg_weight = preset.authors_lambda[reg]
  defaults = dict(
      dataset=dataset, model=model, reg=reg, latent_dim=latent_dim,
      embedding_weight=embedding_weight, reg_weight=reg_weight,
      epochs=preset.epochs if gpu_available else preset.cpu_epochs,
      batch_size=100, learning_rate=preset.learning_rate,
      width=1.0 if gpu_available else preset.cpu_width)
  defaults.update(overrides)
  return Config(**defaults)
