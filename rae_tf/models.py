"""Keras models: the deterministic RAE family and its `MODELS` registry.

Every model derives from `Autoencoder`, the interface the rest of the
library relies on:
  `encode(images) -> (B, d)` codes used for the ex-post density,
  `decoder`: a keras.Model mapping (B, d) codes to (B, H, W, C) images,
  `train_step` / `test_step` reporting one `keras.metrics.Mean` per loss term,
  `ex_post_densities` / `fit_code_sampler`: the after-training hooks.
"""

from __future__ import annotations

import importlib
from typing import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from rae_tf import config as config_lib
from rae_tf import networks
from rae_tf import regularizers
from rae_tf import sampler as sampler_lib


class Autoencoder(keras.Model):
  """Base of every model: shared train / test steps and ex-post hooks.

  Subclasses implement `loss_terms(images, training) -> dict` with a "loss"
  entry plus one entry per name in `LOSS_TERMS`; each is tracked by its own
  `keras.metrics.Mean`.
  """

  LOSS_TERMS: tuple[str, ...] = ("loss", "reconstruction")

  def __init__(self, encoder: keras.Model, decoder: keras.Model,
               seed: int | None = None, **kwargs):
    super().__init__(**kwargs)
    self.encoder = encoder
    self.decoder = decoder
    self.seed = seed
    self.seed_generator = keras.random.SeedGenerator(seed)
    self.trackers = {name: keras.metrics.Mean(name=name)
                     for name in self.LOSS_TERMS}
    # The sub-networks are functional models, built at construction.
    self.built = True

  @property
  def metrics(self):
    return list(self.trackers.values())

  def call(self, images, training=False):
    return self.decoder(self.encode(images, training=training),
                        training=training)

  def encode(self, images, training=False):
    """(B, H, W, C) images -> (B, d) float32 codes, for the ex-post density.

    Float32 whatever the dtype policy, so that densities, interpolations and
    the serving signatures see one dtype.
    """
    return tf.cast(self.encoder(images, training=training), tf.float32)

  def loss_terms(self, images, training: bool) -> dict[str, tf.Tensor]:
    raise NotImplementedError

  def _record(self, terms):
    for name, tracker in self.trackers.items():
      tracker.update_state(terms[name])
    logs = {name: tracker.result() for name, tracker in self.trackers.items()}
    if isinstance(tf.distribute.get_strategy(),
                  tf.distribute.MultiWorkerMirroredStrategy):
      # Keras 3.15's fit reduces each log with strategy.reduce(MEAN, axis=0)
      # under this strategy, which fails on scalars: give them an axis.
      logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
    return logs

  def train_step(self, data):
    images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
    # Under tf.distribute the optimizer sums the replicas' gradients, so each
    # replica's batch-mean loss is divided by the number of replicas. Under
    # mixed_float16 compile() wraps the optimizer in a LossScaleOptimizer,
    # which divides the gradients by its scale: scale_loss multiplies first
    # (a no-op for other optimizers), as Keras' own train_step does.
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    with tf.GradientTape() as tape:
      terms = self.loss_terms(images, training=True)
      scaled_loss = self.optimizer.scale_loss(terms["loss"] / replicas)
    gradients = tape.gradient(scaled_loss, self.trainable_variables)
    self.optimizer.apply(gradients, self.trainable_variables)
    return self._record(terms)

  def test_step(self, data):
    images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
    return self._record(self.loss_terms(images, training=False))

  def ex_post_densities(self, codes: np.ndarray, num_components: int,
                        seed: int) -> dict[str, sampler_lib.GaussianMixture]:
    """Densities over training codes, keyed by the paper's column names.

    "gaussian" is the paper's N column: for deterministic models a single
    full-covariance Gaussian fitted to the codes; "gmm" the K-component GMM.

    Args:
      codes: (N, d) codes of the training set.
      num_components: K.
      seed: EM seed.
    """
    return {"gaussian": sampler_lib.fit_gaussian(codes),
            "gmm": sampler_lib.fit_gmm(codes, num_components, seed)}

  def fit_code_sampler(self, codes: np.ndarray) -> keras.layers.Layer | None:
    """A model's own code sampler, trained after the model (or None).

    Returning a layer with `sample(num_samples, seed) -> (n, d)` makes it the
    sampler of the exported `sample` signature; None keeps the ex-post GMM.
    """
    del codes  # unused: deterministic models sample from the ex-post GMM
    return None

  def get_config(self):
    return {
        **super().get_config(),
        "encoder": keras.saving.serialize_keras_object(self.encoder),
        "decoder": keras.saving.serialize_keras_object(self.decoder),
        "seed": self.seed,
    }

  @classmethod
  def from_config(cls, config):
    config = dict(config)
    for key in ("encoder", "decoder"):
      config[key] = keras.saving.deserialize_keras_object(config[key])
    return cls(**config)


@keras.saving.register_keras_serializable(package="rae_tf")
class RegularizedAutoencoder(Autoencoder):
  """Deterministic autoencoder trained with the RAE objective.

      loss = reconstruction + embedding_weight * 1/2 ||z||^2
             + reg_weight * L_reg

  with z = E(x), x_hat = D(z) and L_reg picked by `reg` (see
  `regularizers.REGULARIZERS`). `embedding_weight = reg_weight = 0` and
  `reg = "none"` is a plain autoencoder.
  """

  LOSS_TERMS = ("loss", "reconstruction", "embedding", "regularization")

  def __init__(self,
               encoder: keras.Model,
               decoder: keras.Model,
               embedding_weight: float = 0.0,
               reg: str = "none",
               reg_weight: float = 0.0,
               l2_layers: Sequence[str] | None = None,
               gp_form: str = "jacobian",
               seed: int | None = None,
               **kwargs):
    """Creates the model.

    Args:
      encoder: E, (B, H, W, C) -> (B, d).
      decoder: D, (B, d) -> (B, H, W, C).
      embedding_weight: weight of 1/2 ||z||^2.
      reg: key of `regularizers.REGULARIZERS`.
      reg_weight: weight of the decoder regulariser's penalty.
      l2_layers: class names of the decoder layers whose kernels RAE-L2
        penalises (`networks.Architecture.l2_layers`); None: all.
      gp_form: what reg="gp" penalises, a key of `regularizers.GP_FORMS`.
      seed: seed of the random probes (RAE-GP).
      **kwargs: passed to keras.Model.
    """
    super().__init__(encoder, decoder, seed=seed, **kwargs)
    self.embedding_weight = float(embedding_weight)
    self.reg = reg
    self.reg_weight = float(reg_weight)
    self.l2_layers = None if l2_layers is None else tuple(l2_layers)
    self.gp_form = gp_form
    self._decode = regularizers.decode_function(
        reg, l2_layers=self.l2_layers, gp_form=gp_form)

  def loss_terms(self, images, training: bool) -> dict[str, tf.Tensor]:
    """Every term of the objective on one batch.

    Args:
      images: (B, H, W, C) in [0, 1].
      training: run the networks in training mode (BN batch statistics, SN
        power iteration).

    Returns:
      Dict of scalars keyed by `LOSS_TERMS`.
    """
    codes = self.encoder(images, training=training)
    reconstructions, penalty = self._decode(
        self.decoder, codes, training, self.seed_generator)
    terms = {
        "reconstruction": regularizers.reconstruction_loss(
            images, reconstructions),
        "embedding": regularizers.embedding_loss(codes),
        "regularization": penalty,
    }
    terms["loss"] = (terms["reconstruction"]
                     + self.embedding_weight * terms["embedding"]
                     + self.reg_weight * terms["regularization"])
    return terms

  def get_config(self):
    return {**super().get_config(),
            "embedding_weight": self.embedding_weight, "reg": self.reg,
            "reg_weight": self.reg_weight,
            "l2_layers": None if self.l2_layers is None
                         else list(self.l2_layers),
            "gp_form": self.gp_form}


def network_arguments(config: config_lib.Config) -> dict:
  """Keyword arguments of networks.build_encoder / build_decoder for `config`.

  Batch statistics are synchronised across replicas when training is
  distributed, so a distributed step computes what one device would on the
  global batch.
  """
  return dict(architecture=config.preset.architecture,
              image_shape=config.image_shape, latent_dim=config.latent_dim,
              width=config.width, sn_form=config.sn_form,
              synchronized_batch_norm=config.distribute != "none")


def encoder_arguments(config: config_lib.Config) -> dict:
  """`network_arguments` plus what only the encoder takes (its input map)."""
  return dict(network_arguments(config), signed_inputs=config.signed_inputs)


def build_regularized_autoencoder(
    config: config_lib.Config) -> RegularizedAutoencoder:
  """The paper's nets for `config.dataset`, wrapped in the RAE objective."""
  regularizer = regularizers.get_regularizer(config.reg)
  encoder = networks.build_encoder(
      spectral_norm=regularizer.spectral_norm and config.sn_encoder,
      **encoder_arguments(config))
  decoder = networks.build_decoder(
      spectral_norm=regularizer.spectral_norm, **network_arguments(config))
  return RegularizedAutoencoder(
      encoder, decoder, embedding_weight=config.embedding_weight,
      reg=config.reg, reg_weight=config.reg_weight,
      l2_layers=networks.ARCHITECTURES[config.preset.architecture].l2_layers,
      gp_form=config.gp_form, seed=config.seed,
      name=f"{config.model}_{config.reg}")


def _imported_on_use(module: str, builder: str):
  """`rae_tf.baselines.<module>.<builder>`, imported when first called.

  The baselines subclass `Autoencoder`, so their modules import this one;
  importing them here at load time would be circular.
  """
  def build(config: config_lib.Config) -> keras.Model:
    baselines = importlib.import_module(f"rae_tf.baselines.{module}")
    return getattr(baselines, builder)(config)
  build.__name__ = builder
  return build


# --model value -> builder(config) -> keras.Model with the interface above.
MODELS: dict[str, Callable[[config_lib.Config], keras.Model]] = {
    "rae": build_regularized_autoencoder,
    "ae": build_regularized_autoencoder,
    "vae": _imported_on_use("vae", "build_vae"),
    "cvvae": _imported_on_use("vae", "build_constant_variance_vae"),
    "wae": _imported_on_use("wae", "build_wasserstein_autoencoder"),
    "two_stage_vae": _imported_on_use("two_stage", "build_two_stage_vae"),
}


def build_model(config: config_lib.Config) -> keras.Model:
  if config.model not in MODELS:
    raise ValueError(
        f"--model must be one of {sorted(MODELS)}; got {config.model!r}")
  return MODELS[config.model](config)
