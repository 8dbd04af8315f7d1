"""Run configuration: a frozen, validated dataclass and `make_config`.

No TensorFlow here: this module turns flag values and the paper's presets
(`presets.py`) into a `Config`, whose fields `config_validation.py` checks.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Optional

from rae_tf import config_validation
from rae_tf.errors import ConfigError
from rae_tf.presets import BASELINE_WEIGHT_NAMES
from rae_tf.presets import BASELINE_WEIGHTS
from rae_tf.presets import DatasetPreset
from rae_tf.presets import RAE_WEIGHT_NAMES
from rae_tf.presets import REGULARIZER_NAMES
from rae_tf.presets import STAGE2_CPU_EPOCHS
from rae_tf.presets import STAGE2_EPOCHS
from rae_tf.presets import dataset_preset
from rae_tf.weight_conversion import embedding_weight_from_authors
from rae_tf.presets import paper_details

# Largest `num_samples` one request to the exported `sample` signature may
# ask for (--max_samples_per_request); at most config_validation.MAX_INT32.
DEFAULT_MAX_SAMPLES_PER_REQUEST = 10_000


@dataclasses.dataclass(frozen=True)
class Config:
  """Everything one training run depends on.

  Attributes:
    dataset: one of `presets.DATASET_NAMES`.
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
    gp_form: what --reg=gp penalises: "jacobian" (the paper's
      ||grad_z D(z)||_F^2) or "authors" (their code's mean (d sum x_hat^2 /
      dz)^2); see `regularizers.GP_FORMS`.
    sn_form: the spectral normalisation of --reg=sn: "keras" (Keras'
      wrapper) or "authors" (W / sigma in every call); see
      `networks.SN_WRAPPERS`.
    gmm_components: components of the ex-post Gaussian mixture.
    lr_patience: epochs without validation improvement before halving the
      learning rate.
    max_train_examples: use only the first N training examples (None = all).
    deterministic: make TF ops deterministic (bitwise-reproducible runs,
      slower on some ops).
    distribute: tf.distribute strategy, a key of `distribute.STRATEGIES`.
    precision: Keras dtype policy: "float32", or "mixed_bfloat16" (1.5x
      faster on CPUs with AVX512-BF16 at equal quality) / "mixed_float16".
    kl_weight: weight of KL(q(z|x) || N(0, I)) (vae, cvvae, two_stage_vae).
    mmd_weight: weight of the MMD to N(0, I) (wae).
    constant_sigma: the fixed posterior standard deviation (cvvae).
    stage2_kl_weight: weight of the second stage's KL (two_stage_vae).
    stage2_epochs: epochs of the second stage on the training codes
      (two_stage_vae; the authors' 100 on GPU, fewer on CPU).
    stage2_learning_rate: Adam learning rate of the second stage
      (two_stage_vae; the authors' 1e-4).
    max_samples_per_request: largest `num_samples` the exported `sample`
      signature accepts; larger requests fail before allocating anything.
    image_size: side of the square images of --dataset=folder / npz (32,
      64, 128 or 256); None for the paper's datasets.
    channels: 1 or 3 for --dataset=folder / npz; None otherwise.
    validation_fraction: share of the images held out for validation when
      the files define no validation split (folder / npz, and idx / CIFAR
      sets too small for the standard 5,000).
    test_fraction: likewise for the test split (folder / npz).
    skip_bad_images: --dataset=folder skips undecodable files (counted in
      the log) instead of stopping at the first.
    signed_inputs: the encoder sees 2x - 1 instead of x in [0, 1] (the
      authors' 32x32 nets).
    input_noise_stddev: s > 0 trains a WAE on encoder inputs
      x + clip(N(0, s^2), -s, s), reconstructing x (the authors' CelebA WAE).
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
  gp_form: str = "jacobian"
  sn_form: str = "keras"
  gmm_components: int = 10
  lr_patience: int = 5
  max_train_examples: Optional[int] = None
  deterministic: bool = False
  distribute: str = "none"
  precision: str = "float32"
  kl_weight: float = 0.0
  mmd_weight: float = 0.0
  constant_sigma: float = 0.7
  stage2_kl_weight: float = 0.0
  stage2_epochs: int = STAGE2_CPU_EPOCHS
  stage2_learning_rate: float = 1e-4
  max_samples_per_request: int = DEFAULT_MAX_SAMPLES_PER_REQUEST
  image_size: Optional[int] = None
  channels: Optional[int] = None
  validation_fraction: float = 0.05
  test_fraction: float = 0.05
  skip_bad_images: bool = False
  signed_inputs: bool = False
  input_noise_stddev: float = 0.0

  def __post_init__(self):
    config_validation.validate(self)

  @property
  def run_name(self) -> str:
    """Short name of what is trained, e.g. "mnist_rae_l2" or "mnist_ae"."""
    parts = [self.dataset, self.model]
    if self.reg != "none":
      parts.append(self.reg)
    return "_".join(parts)

  @property
  def preset(self) -> DatasetPreset:
    return dataset_preset(self.dataset, self.image_size, self.channels)

  @property
  def image_shape(self) -> tuple[int, int, int]:
    return self.preset.image_shape

  @property
  def data_options(self) -> dict:
    """Keyword arguments of `data.load_splits` beyond the image shape."""
    return dict(validation_fraction=self.validation_fraction,
                test_fraction=self.test_fraction,
                skip_bad_images=self.skip_bad_images)

  @property
  def authors_loss_scale(self) -> float:
    """Authors' loss / ours for this model (`weight_conversion.authors_loss_scales`)."""
    return self.preset.authors_loss_scales.get(self.model, 1.0)

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

  @classmethod
  def from_json(cls, text: str) -> "Config":
    return cls(**json.loads(text))

  def fields_differing_from(self, saved_json: str) -> list[str]:
    """Names of the fields whose value in a saved config.json differs.

    Fields added since that file was written take their defaults, so a run
    saved by an older version still matches the same flags.
    """
    saved = json.loads(Config.from_json(saved_json).to_json())
    current = json.loads(self.to_json())
    return sorted(k for k in current if saved.get(k) != current[k])

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
    dataset: one of `presets.DATASET_NAMES`; "folder" and "npz" need
      `image_size` and `channels` in `overrides`.
    model: "ae" forces a zero latent weight and no regulariser; a baseline
      (a key of `BASELINE_WEIGHTS`) takes the preset's weights and learning
      rate for that model, with no latent weight nor regulariser; any other
      model takes the preset's weights for `reg`.
    reg: decoder regulariser name; only the RAE family ("rae") uses one.
    gpu_available: picks the paper profile (True: the paper's width, epochs
      and stage2_epochs, then the authors' per-run details of
      `presets.paper_details`) or CPU-sized values (False) where
      `overrides` gives none.
    **overrides: any `Config` field; a value of None means "use the default".

  Returns:
    A validated Config.

  Raises:
    ConfigError: on unknown names, out-of-range values, a plain AE or a
      baseline asked for a regulariser, or a nonzero weight of a loss term
      the model does not have (e.g. --model=wae --kl_weight=1).
  """
  overrides = {k: v for k, v in overrides.items() if v is not None}
  preset = dataset_preset(dataset, overrides.get("image_size"),
                          overrides.get("channels"))
  if reg not in REGULARIZER_NAMES:
    raise ConfigError(
        f"--reg must be one of {list(REGULARIZER_NAMES)}; got {reg!r}")
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
    used_weights = RAE_WEIGHT_NAMES
    model_defaults = dict(
        embedding_weight=embedding_weight_from_authors(
            preset.authors_beta[reg], latent_dim),
        reg_weight=preset.authors_lambda[reg])
  for name in (*RAE_WEIGHT_NAMES, *BASELINE_WEIGHT_NAMES):
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
  if gpu_available:
    defaults.update(paper_details(preset, model, reg))
  defaults.update(overrides)
  return Config(**defaults)
