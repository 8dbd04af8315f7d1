"""VAE and constant-variance VAE baselines on the paper's nets.

Both have a diagonal Gaussian posterior q(z|x) = N(mu(x), diag sigma(x)^2)
and the prior N(0, I), and train on

    loss = reconstruction(x, D(z)) + kl_weight * KL(q(z|x) || N(0, I)),
    z = mu(x) + sigma(x) * eps,  eps ~ N(0, I)     (reparameterisation)

with the per-pixel mean squared error as reconstruction term, as every model
of this library. (The authors' VAE sums the squared error over the pixels;
`weight_conversion.baseline_weights_from_authors` divides their KL weights by H * W.)
They differ in sigma:
  vae    log sigma(x) = 5 tanh(Dense(features)), a second head on the
         encoder's flattened conv features (the authors' bound);
  cvvae  sigma = a constant (0.7 by default), so the encoder is the
         deterministic one of the RAEs and the KL reduces to
         1/2 ||mu||^2 + const.

The codes of the ex-post densities are the posterior means mu(x). The
"gaussian" density (the paper's N column) is the prior N(0, I) for the VAE
and, as the paper and the authors' CV-VAE configuration ("one gaussian fit"),
a Gaussian fitted to the means for the CV-VAE, whose converted KL weight
leaves its codes far from N(0, I).
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from rae_tf import config as config_lib
from rae_tf import models
from rae_tf import networks
from rae_tf.baselines import prior
from rae_tf import regularizers
from rae_tf import sampler as sampler_lib

# Bound of log sigma, as the authors: log sigma = 5 tanh(.), sigma in
# [e^-5, e^5], so that exp(.) never overflows early in training.
LOG_SCALE_BOUND = 5.0


def log_scale_head(features: keras.KerasTensor,
                   latent_dim: int) -> keras.KerasTensor:
  """log sigma = LOG_SCALE_BOUND * tanh(Dense(features)), (B, latent_dim)."""
  hidden = keras.layers.Dense(latent_dim, activation="tanh")(features)
  return keras.layers.Rescaling(LOG_SCALE_BOUND, name="log_scale")(hidden)


def build_networks(config: config_lib.Config) -> tuple[keras.Model,
                                                       keras.Model]:
  """The paper's nets for `config.dataset`, the encoder with a log sigma head.

  Args:
    config: gives the dataset's architecture, latent_dim and width.

  Returns:
    (encoder (B, H, W, C) images -> {"mean": (B, d), "log_scale": (B, d)},
     decoder (B, d) -> (B, H, W, C)), both functional keras.Models.
  """
  common = models.network_arguments(config)
  trunk = networks.build_encoder(**models.encoder_arguments(config))
  # The trunk ends in the linear Dense(d) of the means; its input is the
  # (B, F) flattened conv features, which the log sigma head shares.
  mean_layer = trunk.layers[-1]
  if not isinstance(mean_layer, keras.layers.Dense):
    raise TypeError("networks.build_encoder must end in a Dense layer; got "
                    f"{type(mean_layer).__name__}")
  encoder = keras.Model(
      trunk.input,
      {"mean": trunk.output,
       "log_scale": log_scale_head(mean_layer.input, config.latent_dim)},
      name="encoder")
  return encoder, networks.build_decoder(**common)


@keras.saving.register_keras_serializable(package="rae_tf")
class VariationalAutoencoder(models.Autoencoder):
  """VAE with a learned diagonal posterior variance (the `vae` model).

  Shape-agnostic: the two-stage VAE also uses it on (B, d) codes with MLPs.
  """

  LOSS_TERMS = ("loss", "reconstruction", "kl")
  # Standard deviation of the reparameterisation noise eps (1: the VAE).
  NOISE_STDDEV = 1.0

  def __init__(self,
               encoder: keras.Model,
               decoder: keras.Model,
               kl_weight: float = 1.0,
               seed: int | None = None,
               **kwargs):
    """Creates the model.

    Args:
      encoder: x -> {"mean": (B, d), "log_scale": (B, d)} (log sigma).
      decoder: D, (B, d) -> reconstructions shaped like x.
      kl_weight: weight of the KL term.
      seed: seed of the reparameterisation noise.
      **kwargs: passed to keras.Model.
    """
    super().__init__(encoder, decoder, seed=seed, **kwargs)
    self.kl_weight = float(kl_weight)

  def posterior(self, images, training=False):
    """Parameters of q(z|x): (mean (B, d), log variance log sigma^2 (B, d))."""
    outputs = self.encoder(images, training=training)
    return outputs["mean"], 2.0 * outputs["log_scale"]

  def encode(self, images, training=False):
    """The posterior means mu(x), (B, d): deterministic given x."""
    return tf.cast(self.posterior(images, training=training)[0], tf.float32)

  def sample_codes(self, mean: tf.Tensor,
                   log_variance: tf.Tensor) -> tf.Tensor:
    """z = mu + sigma * eps, eps ~ N(0, NOISE_STDDEV^2 I): (B, d) float32."""
    noise = keras.random.normal(tf.shape(mean), stddev=self.NOISE_STDDEV,
                                seed=self.seed_generator)
    return mean + tf.exp(0.5 * log_variance) * noise

  def posterior_draw(self, images, seed, code_sampler=None) -> tf.Tensor:
    """A seeded draw z = mu(x) + sigma(x) * eps of q(z|x), (B, d) float32.

    What the authors' VAEs decode when they reconstruct (their sampling
    layer is active at inference): the exported `reconstruct_sampled`
    signature and Table 1's REC column under --vae_reconstruction=sampled.

    Args:
      images: (B, H, W, C) in [0, 1].
      seed: scalar int; the same seed and images give the same draw.
      code_sampler: unused (the two-stage VAE draws through its stage 2).
    """
    del code_sampler
    mean, log_variance = self.posterior(images, training=False)
    mean = tf.cast(mean, tf.float32)
    noise = tf.random.stateless_normal(
        tf.shape(mean), seed=sampler_lib.stateless_seed(seed),
        stddev=self.NOISE_STDDEV)
    return mean + tf.exp(0.5 * tf.cast(log_variance, tf.float32)) * noise

  def loss_terms(self, images, training: bool) -> dict[str, tf.Tensor]:
    """Every term of the objective on one batch.

    Training decodes a reparameterised sample z = mu + sigma * eps; inference
    (validation, test) decodes the mean, so that evaluation is deterministic
    and its reconstruction term compares with the deterministic models'.

    Args:
      images: (B, H, W, C) in [0, 1] (or (B, d) codes for a second stage).
      training: sample z and run the networks in training mode.

    Returns:
      Dict of scalars keyed by `LOSS_TERMS`.
    """
    mean, log_variance = self.posterior(images, training=training)
    # float32 whatever the dtype policy: the decoder casts its input.
    mean = tf.cast(mean, tf.float32)
    log_variance = tf.cast(log_variance, tf.float32)
    codes = self.sample_codes(mean, log_variance) if training else mean
    reconstructions = self.decoder(codes, training=training)
    terms = {
        "reconstruction": regularizers.reconstruction_loss(
            images, reconstructions),
        "kl": prior.kl_divergence(mean, log_variance),
    }
    terms["loss"] = terms["reconstruction"] + self.kl_weight * terms["kl"]
    return terms

  def ex_post_densities(self, codes: np.ndarray, num_components: int,
                        seed: int) -> dict[str, sampler_lib.GaussianMixture]:
    """"gaussian": the prior N(0, I); "gmm": K components fitted to the means.

    Args:
      codes: (N, d) posterior means of the training set.
      num_components: K.
      seed: EM seed.
    """
    return prior.ex_post_densities(codes, num_components, seed)

  def get_config(self):
    return {**super().get_config(), "kl_weight": self.kl_weight}


@keras.saving.register_keras_serializable(package="rae_tf")
class ConstantVarianceVAE(VariationalAutoencoder):
  """VAE whose posterior has a fixed sigma (the `cvvae` model).

      q(z|x) = N(mu(x), sigma^2 I),
      KL = 1/2 sum_j (mu_j^2 + sigma^2 - 1 - log sigma^2)
  """

  def __init__(self,
               encoder: keras.Model,
               decoder: keras.Model,
               kl_weight: float = 1.0,
               sigma: float = 0.7,
               seed: int | None = None,
               **kwargs):
    """Creates the model.

    Args:
      encoder: mu, (B, H, W, C) -> (B, d).
      decoder: D, (B, d) -> (B, H, W, C).
      kl_weight: weight of the KL term.
      sigma: the posterior's standard deviation, > 0.
      seed: seed of the reparameterisation noise.
      **kwargs: passed to keras.Model.
    """
    super().__init__(encoder, decoder, kl_weight=kl_weight, seed=seed,
                     **kwargs)
    self.sigma = float(sigma)

  def posterior(self, images, training=False):
    mean = self.encoder(images, training=training)  # (B, d)
    return mean, tf.fill(tf.shape(mean), 2.0 * math.log(self.sigma))

  def ex_post_densities(self, codes: np.ndarray, num_components: int,
                        seed: int) -> dict[str, sampler_lib.GaussianMixture]:
    """"gaussian": one Gaussian fitted to the means (not N(0, I)); "gmm"."""
    return models.Autoencoder.ex_post_densities(self, codes, num_components,
                                                seed)

  def get_config(self):
    return {**super().get_config(), "sigma": self.sigma}


def build_vae(config: config_lib.Config) -> VariationalAutoencoder:
  """The paper's nets for `config.dataset` with a learned posterior sigma."""
  encoder, decoder = build_networks(config)
  return VariationalAutoencoder(encoder, decoder, kl_weight=config.kl_weight,
                                seed=config.seed, name=config.model)


def build_constant_variance_vae(
    config: config_lib.Config) -> ConstantVarianceVAE:
  """The paper's nets with sigma = `config.constant_sigma`."""
  return ConstantVarianceVAE(
      networks.build_encoder(**models.encoder_arguments(config)),
      networks.build_decoder(**models.network_arguments(config)),
      kl_weight=config.kl_weight, sigma=config.constant_sigma,
      seed=config.seed, name=config.model)
