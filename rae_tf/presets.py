"""The paper's per-dataset settings and the authors' per-run details.

No TensorFlow here. The loss weights are stored as the authors' code has
them; `weight_conversion` turns them into this library's loss form (the
baselines: vae, cvvae, wae, two_stage_vae, see `BASELINE_WEIGHTS`). The
user's own images (--dataset=folder / npz) take the settings of the
closest paper net for their --image_size (`user_preset`).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Mapping, Optional

from rae_tf.errors import ConfigError
from rae_tf.weight_conversion import authors_loss_scales
from rae_tf.weight_conversion import baseline_weights_from_authors

REGULARIZER_NAMES = ("none", "l2", "gp", "sn")
# What --reg=gp penalises (regularizers.GP_FORMS): the paper's Jacobian norm
# or the authors' code's quantity.
GP_FORMS = ("jacobian", "authors")
# The wrapper of --reg=sn's layers (networks.SN_WRAPPERS): Keras' built-in
# (normalises in training only) or the authors' (in every call).
SN_FORMS = ("keras", "authors")

# The baseline models and the loss weights each trains with (Config fields,
# defaults in `DatasetPreset.baseline_weights`). They have no latent term
# and no decoder regulariser: --reg is for the RAE family ("rae", "ae").
BASELINE_WEIGHTS: dict[str, tuple[str, ...]] = {
    "vae": ("kl_weight",),
    "cvvae": ("kl_weight",),
    "wae": ("mmd_weight",),
    "two_stage_vae": ("kl_weight", "stage2_kl_weight"),
}
RAE_WEIGHT_NAMES = ("embedding_weight", "reg_weight")
BASELINE_WEIGHT_NAMES = ("kl_weight", "mmd_weight", "stage2_kl_weight")
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
    authors_loss_scales: per model, the factor by which the authors' loss
      exceeds this library's (`weight_conversion.authors_loss_scales`); models not listed: 1.
    paper_details: per run key (`run_key`; "*" for every model), Config
      values of the authors' runs that only the paper profile (a GPU) takes:
      per-model batch sizes, epochs, widths, the 32x32 nets' 2x - 1 input
      mapping and the CelebA WAE's input noise (`paper_details`).
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
  authors_loss_scales: Mapping[str, float]
  paper_details: Mapping[str, Mapping[str, object]] = dataclasses.field(
      default_factory=dict)


_MNIST_BETA = {"none": 5e-4, "l2": 1e-4, "gp": 1e-4, "sn": 0.009}
_MNIST_LAMBDA = {"none": 0.0, "l2": 1e-7, "gp": 5e-8, "sn": 0.0}
# The same on every dataset; the 2-stage VAE's stage 1 is trained as the VAE.
_BASELINE_LEARNING_RATES = {"vae": 1e-4, "cvvae": 1e-4, "two_stage_vae": 1e-4,
                            "wae": 1e-3}


# VAE KL, WAE MMD, 2-stage KL: PAPER.md, except CelebA's VAE KL, which the
# authors' released configuration gives as 0.09024 (PAPER.md rounds it to
# 0.09); CV-VAE KL: their configurations (0.0195 * 2, 9e-4, 0.01), which
# PAPER.md does not list.
_MNIST_AUTHORS_BASELINES = dict(vae_kl=0.312, cvvae_kl=0.039, wae_mmd=0.03,
                                stage2_kl=1.5e-3)
_CELEBA_AUTHORS_BASELINES = dict(vae_kl=0.09024, cvvae_kl=0.01, wae_mmd=100.0,
                                 stage2_kl=2e-3)
_MNIST_BASELINE_WEIGHTS = baseline_weights_from_authors(
    (32, 32, 1), **_MNIST_AUTHORS_BASELINES)

# The authors' CelebA WAE reconstruction is 0.05 sum_{h,w,c} (x - x_hat)^2
# (the WAE paper's), 0.05 * 64 * 64 * 3 = 614.4 times the per-pixel mean.
_CELEBA_WAE_SUM_WEIGHT = 0.05
_CELEBA_WAE_SCALE = _CELEBA_WAE_SUM_WEIGHT * 64 * 64 * 3

# The authors' released configurations (configurations/config.py) and nets:
# the 32x32 encoder maps its input to 2x - 1 (rae_mnist.py, also used for
# CIFAR); CIFAR's WAE, CV-VAE and RAE-GP ran 70 epochs; CelebA's VAE and
# 2sVAE stage 1 batches of 1,000, its WAE encoded x + clip(N(0, 0.01^2),
# +-0.01) (get_wae_given_enc_dec.py). Left out: their CelebA CV-VAE's 64
# base filters instead of 128, since --width=0.5 would also halve the
# decoder's 8x8x1024 base, which theirs keeps (rae_celeba.py).
_SIGNED_INPUTS = {"*": {"signed_inputs": True}}
_CIFAR_DETAILS = {**_SIGNED_INPUTS, **{key: {"epochs": 70} for key in
                                       ("wae", "cvvae", "rae_gp")}}
_CELEBA_DETAILS = {"vae": {"batch_size": 1000},
                   "two_stage_vae": {"batch_size": 1000},
                   "wae": {"input_noise_stddev": 0.01}}

PRESETS: dict[str, DatasetPreset] = {
    "mnist": DatasetPreset(
        image_shape=(32, 32, 1), architecture="conv32", latent_dim=16,
        learning_rate=5e-4, epochs=100,
        authors_beta=_MNIST_BETA, authors_lambda=_MNIST_LAMBDA,
        cpu_width=0.25, cpu_epochs=20,
        baseline_weights=_MNIST_BASELINE_WEIGHTS,
        baseline_learning_rates=_BASELINE_LEARNING_RATES,
        authors_loss_scales=authors_loss_scales((32, 32, 1)),
        paper_details=_SIGNED_INPUTS),
    # No paper values for Fashion-MNIST: it shares MNIST's net and weights.
    "fashion_mnist": DatasetPreset(
        image_shape=(32, 32, 1), architecture="conv32", latent_dim=16,
        learning_rate=5e-4, epochs=100,
        authors_beta=_MNIST_BETA, authors_lambda=_MNIST_LAMBDA,
        cpu_width=0.25, cpu_epochs=5,
        baseline_weights=_MNIST_BASELINE_WEIGHTS,
        baseline_learning_rates=_BASELINE_LEARNING_RATES,
        authors_loss_scales=authors_loss_scales((32, 32, 1)),
        paper_details=_SIGNED_INPUTS),
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
        baseline_learning_rates=_BASELINE_LEARNING_RATES,
        authors_loss_scales=authors_loss_scales((32, 32, 3)),
        paper_details=_CIFAR_DETAILS),
    "celeba": DatasetPreset(
        image_shape=(64, 64, 3), architecture="conv64", latent_dim=64,
        learning_rate=1e-3, epochs=70,
        authors_beta={"none": 1e-4, "l2": 1e-4, "gp": 1e-4, "sn": 2.4e-3},
        authors_lambda={"none": 0.0, "l2": 1e-7, "gp": 1e-7, "sn": 0.0},
        cpu_width=0.125, cpu_epochs=2,
        baseline_weights=baseline_weights_from_authors(
            (64, 64, 3), wae_reconstruction_scale=_CELEBA_WAE_SCALE,
            **_CELEBA_AUTHORS_BASELINES),
        baseline_learning_rates=_BASELINE_LEARNING_RATES,
        authors_loss_scales=authors_loss_scales(
            (64, 64, 3), wae_reconstruction_scale=_CELEBA_WAE_SCALE),
        paper_details=_CELEBA_DETAILS),
}

# The user's own images: --dataset=folder (image files) or npz (arrays), at
# --image_size x --image_size x --channels. Sizes -> networks.ARCHITECTURES.
USER_DATASETS = ("folder", "npz")
DATASET_NAMES = tuple(sorted((*PRESETS, *USER_DATASETS)))
USER_ARCHITECTURES = {32: "conv32", 64: "conv64", 128: "conv128",
                      256: "conv256"}
USER_LATENT_DIM = 64
USER_CPU_WIDTHS = {32: 0.25, 64: 0.125, 128: 0.0625, 256: 0.0625}
USER_CPU_EPOCHS = 20


@functools.lru_cache(maxsize=None)
def user_preset(image_size: int, channels: int) -> DatasetPreset:
  """Settings for user images of `image_size` x `image_size` x `channels`.

  The paper has no values for other data, so they follow the closest paper
  net: at 32 pixels MNIST's (conv32, learning rate 5e-4, 100 epochs, the
  MNIST betas / lambdas), at 64 and above CelebA's (conv64 and its
  extensions, 1e-3, 70 epochs, the CelebA betas / lambdas), with the
  baselines' authors' weights converted for this image shape. The latent
  size is CelebA's 64 at every size: MNIST's 16 is few for photos, and at
  CIFAR's 128 a 10-component GMM fitted to a few thousand codes has fewer
  codes per component than dimensions. Without a GPU: `USER_CPU_WIDTHS`,
  `USER_CPU_EPOCHS`. Of the authors' per-run details only the 32x32 nets'
  input mapping carries over (the others are of their datasets' runs).

  Args:
    image_size: one of `USER_ARCHITECTURES`.
    channels: 1 (grey) or 3 (RGB).

  Returns:
    The DatasetPreset of that image shape.
  """
  shape = (image_size, image_size, channels)
  if image_size == 32:
    basis, authors, wae_scale = PRESETS["mnist"], _MNIST_AUTHORS_BASELINES, 1.0
  else:
    basis, authors = PRESETS["celeba"], _CELEBA_AUTHORS_BASELINES
    wae_scale = _CELEBA_WAE_SUM_WEIGHT * image_size * image_size * channels
  return dataclasses.replace(
      basis, image_shape=shape, architecture=USER_ARCHITECTURES[image_size],
      latent_dim=USER_LATENT_DIM, cpu_width=USER_CPU_WIDTHS[image_size],
      cpu_epochs=USER_CPU_EPOCHS,
      paper_details=_SIGNED_INPUTS if image_size == 32 else {},
      baseline_weights=baseline_weights_from_authors(
          shape, wae_reconstruction_scale=wae_scale, **authors),
      authors_loss_scales=authors_loss_scales(
          shape, wae_reconstruction_scale=wae_scale))


def dataset_preset(dataset: str, image_size: Optional[int] = None,
                   channels: Optional[int] = None) -> DatasetPreset:
  """The preset of `dataset`; for user data, of its image size and channels.

  Args:
    dataset: one of `DATASET_NAMES`.
    image_size: --image_size; required by (and only allowed for) the
      `USER_DATASETS`.
    channels: --channels, likewise.

  Raises:
    ConfigError: unknown dataset, a missing or unsupported size or channel
      count, or either given for a paper dataset.
  """
  if dataset in PRESETS:
    if image_size is not None or channels is not None:
      shape = "x".join(map(str, PRESETS[dataset].image_shape))
      raise ConfigError(
          f"--image_size / --channels are for --dataset=folder or npz; "
          f"{dataset} is {shape} (the paper's); got --image_size="
          f"{image_size} --channels={channels}: drop them")
    return PRESETS[dataset]
  if dataset not in USER_DATASETS:
    raise ConfigError(
        f"--dataset must be one of {list(DATASET_NAMES)}; got {dataset!r}")
  if image_size not in USER_ARCHITECTURES:
    raise ConfigError(
        f"--dataset={dataset} needs --image_size, one of "
        f"{sorted(USER_ARCHITECTURES)} (the sizes the nets are built for; "
        f"images are centre-cropped and resized to it); got {image_size!r}")
  if channels not in (1, 3):
    raise ConfigError(
        f"--channels must be 1 (grey) or 3 (RGB); got {channels!r}")
  return user_preset(image_size, channels)


def run_key(model: str, reg: str) -> str:
  """The Table-1 row of a run: the model, "rae_<reg>" for a regularised RAE."""
  return f"{model}_{reg}" if reg != "none" else model


def paper_details(preset: DatasetPreset, model: str,
                  reg: str) -> dict[str, object]:
  """Config values the authors' run of `model` / `reg` used on the preset's
  dataset (`DatasetPreset.paper_details`: "*", then the run's own key)."""
  return {**preset.paper_details.get("*", {}),
          **preset.paper_details.get(run_key(model, reg), {})}
