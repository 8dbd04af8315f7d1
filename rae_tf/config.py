"""Run configuration: a frozen dataclass plus the paper's per-dataset presets.

No TensorFlow here: this module only turns names and numbers into a validated
`Config`. The paper's loss weights are stored in the authors' code form and
converted to this library's form by `embedding_weight_from_authors`.

Loss form used throughout rae_tf (see `regularizers.py`):

    L = mean_pixels (x - x_hat)^2 + embedding_weight * 1/2 ||z||^2 + reg_weight * L_reg

with every term averaged over the batch. The authors' code uses
`mean_pixels (x - x_hat)^2 + beta * mean_j z_j^2 + lambda * L_reg`, so the two
agree when `embedding_weight = 2 * beta / latent_dim` and `reg_weight = lambda`.

The baselines (vae, cvvae, wae, two_stage_vae; see `BASELINE_WEIGHTS`) use the
same reconstruction term; `baseline_weights_from_authors` converts the KL / MMD
weights of the authors' code, whose VAE loss sums the squared error over pixels.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Mapping, Optional

from rae_tf.errors import ConfigError

REGULARIZER_NAMES = ("none", "l2", "gp", "sn")

# The baseline models and the loss weights each trains with (Config fields,
# defaults in `DatasetPreset.baseline_weights`). They have no latent term
# and no decoder regulariser: --reg is for the RAE family ("rae", "ae").
BASELINE_WEIGHTS: dict[str, tuple[str, ...]] = {
    "vae": ("kl_weight",),
    "cvvae": ("kl_weight",),
    "wae": ("mmd_weight",),
    "two_stage_vae": ("kl_weight", "stage2_kl_weight"),
}
_RAE_WEIGHTS = ("embedding_weight", "reg_weight")
_BASELINE_WEIGHT_NAMES = ("kl_weight", "mmd_weight", "stage2_kl_weight")
# Second-stage epochs of the 2-stage VAE: the authors' 100, fewer on CPU.
STAGE2_EPOCHS = 100
STAGE2_CPU_EPOCHS = 20


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
    baseline_weights: per baseline model, its loss weights by Config field
      (this library's form; see `baseline_weights_from_authors`).
    baseline_learning_rates: Adam learning rate per baseline model.
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
  baseline_weights: Mapping[str, Mapping[str, float]]
  baseline_learning_rates: Mapping[str, float]


_MNIST_BETA = {"none": 5e-4, "l2": 1e-4, "gp": 1e-4, "sn": 0.009}
_MNIST_LAMBDA = {"none": 0.0, "l2": 1e-7, "gp": 5e-8, "sn": 0.0}
# The same on every dataset; the 2-stage VAE's stage 1 is trained as the VAE.
_BASELINE_LEARNING_RATES = {"vae": 1e-4, "cvvae": 1e-4, "two_stage_vae": 1e-4,
                            "wae": 1e-3}


def baseline_weights_from_authors(
    image_shape: tuple[int, int, int], *, vae_kl: float, cvvae_kl: float,
    wae_mmd: float, stage2_kl: float,
    wae_reconstruction_scale: float = 1.0) -> dict[str, dict[str, float]]:
  """The baselines' weights in this library's loss form.

  This library: mean_{h,w,c} (x - x_hat)^2 + weight * term. The authors' code:
    VAE, CV-VAE (and 2-stage stage 1): per sample, Keras `mse` (mean over
      channels) summed over the H x W pixels, + w KL; that is
      H W [mean_{h,w,c} (x - x_hat)^2 + w / (H W) KL], and Adam is invariant
      to the factor H W, so kl_weight = w / (H W).
    WAE: mean_{h,w,c} (x - x_hat)^2 + w MMD, or (CelebA) that mean times
      `wae_reconstruction_scale`, so mmd_weight = w / scale.
    2-stage VAE stage 2: mean_j (z'_j - z'_hat_j)^2 + w KL: as given.

  Args:
    image_shape: (H, W, C).
    vae_kl: the authors' VAE KL weight w.
    cvvae_kl: the authors' CV-VAE KL weight.
    wae_mmd: the authors' WAE MMD weight.
    stage2_kl: the authors' second-stage KL weight.
    wae_reconstruction_scale: the factor of the authors' WAE reconstruction
      term over the per-pixel mean.

  Returns:
    Model name -> {Config field: weight}.
  """
  pixels = image_shape[0] * image_shape[1]
  return {"vae": {"kl_weight": vae_kl / pixels},
          "cvvae": {"kl_weight": cvvae_kl / pixels},
          "wae": {"mmd_weight": wae_mmd / wae_reconstruction_scale},
          "two_stage_vae": {"kl_weight": vae_kl / pixels,
                            "stage2_kl_weight": stage2_kl}}


# VAE KL, WAE MMD, 2-stage KL: PAPER.md; CV-VAE KL: the authors' released
# configurations (0.0195 * 2, 9e-4, 0.01), which PAPER.md does not list.
_MNIST_BASELINE_WEIGHTS = baseline_weights_from_authors(
    (32, 32, 1), vae_kl=0.312, cvvae_kl=0.039, wae_mmd=0.03,
    stage2_kl=1.5e-3)

PRESETS: dict[str, DatasetPreset] = {
    "mnist": DatasetPreset(
        image_shape=(32, 32, 1), architecture="conv32", latent_dim=16,
        learning_rate=5e-4, epochs=100,
        authors_beta=_MNIST_BETA, authors_lambda=_MNIST_LAMBDA,
        cpu_width=0.25, cpu_epochs=20,
        baseline_weights=_MNIST_BASELINE_WEIGHTS,
        baseline_learning_rates=_BASELINE_LEARNING_RATES),
    # No paper values for Fashion-MNIST: it shares MNIST's net and weights.
    "fashion_mnist": DatasetPreset(
        image_shape=(32, 32, 1), architecture="conv32", latent_dim=16,
        learning_rate=5e-4, epochs=100,
        authors_beta=_MNIST_BETA, authors_lambda=_MNIST_LAMBDA,
        cpu_width=0.25, cpu_epochs=5,
        baseline_weights=_MNIST_BASELINE_WEIGHTS,
        baseline_learning_rates=_BASELINE_LEARNING_RATES),
    "cifar10": DatasetPreset(
        image_shape=(32, 32, 3), architecture="conv32", latent_dim=128,
        learning_rate=5e-4, epochs=100,
        authors_beta={"none": 1e-2, "l2": 1e-3, "gp": 9e-4, "sn": 0.03},
        # The released CIFAR GP weight is 0, which disables the penalty; we
        # use the MNIST/CelebA order of magnitude instead.
        authors_lambda={"none": 0.0, "l2": 1e-6, "gp": 1e-7, "sn": 0.0},
        cpu_width=0.25, cpu_epochs=5,
        baseline_weights=baseline_weights_from_authors(
            (32, 32, 3), vae_kl=0.024, cvvae_kl=9e-4, wae_mmd=0.006,
            stage2_kl=1e-3),
        baseline_learning_rates=_BASELINE_LEARNING_RATES),
    "celeba": DatasetPreset(
        image_shape=(64, 64, 3), architecture="conv64", latent_dim=64,
        learning_rate=1e-3, epochs=70,
        authors_beta={"none": 1e-4, "l2": 1e-4, "gp": 1e-4, "sn": 2.4e-3},
        authors_lambda={"none": 0.0, "l2": 1e-7, "gp": 1e-7, "sn": 0.0},
        cpu_width=0.125, cpu_epochs=2,
        # The authors' CelebA WAE reconstruction is 0.05 sum_{h,w,c}
        # (x - x_hat)^2 (the WAE paper's), 0.05 * 64 * 64 * 3 = 614.4 times
        # the per-pixel mean.
        baseline_weights=baseline_weights_from_authors(
            (64, 64, 3), vae_kl=0.09, cvvae_kl=0.01, wae_mmd=100.0,
            stage2_kl=2e-3, wae_reconstruction_scale=0.05 * 64 * 64 * 3),
        baseline_learning_rates=_BASELINE_LEARNING_RATES),
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
    deterministic: make TF ops deterministic (bitwise-reproducible runs,
      slower on some ops).
    kl_weight: weight of KL(q(z|x) || N(0, I)) (vae, cvvae, two_stage_vae).
    mmd_weight: weight of the MMD to N(0, I) (wae).
    constant_sigma: the fixed posterior standard deviation (cvvae).
    stage2_kl_weight: weight of the second stage's KL (two_stage_vae).
    stage2_epochs: epochs of the second stage on the training codes
      (two_stage_vae; the authors' 100 on GPU, fewer on CPU).
    stage2_learning_rate: Adam learning rate of the second stage
      (two_stage_vae; the authors' 1e-4).
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
  deterministic: bool = False
  kl_weight: float = 0.0
  mmd_weight: float = 0.0
  constant_sigma: float = 0.7
  stage2_kl_weight: float = 0.0
  stage2_epochs: int = STAGE2_CPU_EPOCHS
  stage2_learning_rate: float = 1e-4

  def __post_init__(self):
    if self.dataset not in PRESETS:
      raise ConfigError(
          f"dataset must be one of {sorted(PRESETS)}; got {self.dataset!r}")
    if self.reg not in REGULARIZER_NAMES:
      raise ConfigError(
          f"reg must be one of {list(REGULARIZER_NAMES)}; got {self.reg!r}")
    for name in ("latent_dim", "epochs", "batch_size", "gmm_components",
                 "lr_patience", "stage2_epochs"):
      value = getattr(self, name)
      if not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer; got {value!r}")
    for name in ("embedding_weight", "reg_weight", *_BASELINE_WEIGHT_NAMES):
      value = getattr(self, name)
      if not 0 <= value < math.inf:  # also rejects NaN
        raise ConfigError(f"{name} must be finite and >= 0; got {value!r}")
    for name in ("learning_rate", "stage2_learning_rate", "constant_sigma"):
      value = getattr(self, name)
      if not 0 < value < math.inf:  # also rejects NaN
        raise ConfigError(f"{name} must be > 0 and finite; got {value!r}")
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
    model: "ae" forces a zero latent weight and no regulariser; a baseline
      (a key of `BASELINE_WEIGHTS`) takes the preset's weights and learning
      rate for that model, with no latent weight nor regulariser; any other
      model takes the preset's weights for `reg`.
    reg: decoder regulariser name; only the RAE family ("rae") uses one.
    gpu_available: picks the paper's width/epochs/stage2_epochs (True) or
      CPU-sized ones (False) when `overrides` gives none.
    **overrides: any `Config` field; a value of None means "use the default".

  Returns:
    A validated Config.

  Raises:
    ConfigError: on unknown names, out-of-range values, a plain AE or a
      baseline asked for a regulariser, or a nonzero weight of a loss term
      the model does not have (e.g. --model=wae --kl_weight=1).
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
    used_weights = ()
    model_defaults = dict(embedding_weight=0.0, reg_weight=0.0)
  elif model in BASELINE_WEIGHTS:
    if reg != "none":
      raise ConfigError(
          f"--reg is a choice of the RAE family; --model={model} has no "
          f"decoder regulariser; got --reg={reg}. Leave --reg at none, or use "
          f"--model=rae --reg={reg}.")
    used_weights = BASELINE_WEIGHTS[model]
    model_defaults = dict(
        embedding_weight=0.0, reg_weight=0.0,
        learning_rate=preset.baseline_learning_rates[model],
        **preset.baseline_weights[model])
  else:
    used_weights = _RAE_WEIGHTS
    model_defaults = dict(
        embedding_weight=embedding_weight_from_authors(
            preset.authors_beta[reg], latent_dim),
        reg_weight=preset.authors_lambda[reg])
  for name in (*_RAE_WEIGHTS, *_BASELINE_WEIGHT_NAMES):
    if name not in used_weights and overrides.get(name, 0.0) != 0.0:
      raise ConfigError(
          f"--model={model} has no {name} term; got --{name}="
          f"{overrides[name]}. Its weights: "
          f"{', '.join(used_weights) or 'none (reconstruction only)'}.")
  defaults = dict(
      dataset=dataset, model=model, reg=reg, latent_dim=latent_dim,
      epochs=preset.epochs if gpu_available else preset.cpu_epochs,
      batch_size=100, learning_rate=preset.learning_rate,
      width=1.0 if gpu_available else preset.cpu_width,
      stage2_epochs=STAGE2_EPOCHS if gpu_available else STAGE2_CPU_EPOCHS)
  defaults.update(model_defaults)
  defaults.update(overrides)
  return Config(**defaults)
