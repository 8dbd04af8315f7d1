"""WAE-MMD baseline (Tolstikhin et al. 2018) on the paper's nets.

A deterministic autoencoder whose codes are pulled towards the prior
N(0, I) by a maximum mean discrepancy between the batch's codes and as many
prior samples:

    loss = reconstruction(x, D(z)) + mmd_weight * MMD^2_u({z_b}, {p_b}),
    z_b = E(x_b),  p_b ~ N(0, I),

with the inverse multiquadric kernel summed over the widths
C = 2 d {0.1, 0.2, 0.5, 1, 2, 5, 10} (`prior.mmd_inverse_multiquadric`)
and the per-pixel mean squared error as reconstruction term (the authors'
form on MNIST and CIFAR-10; `weight_conversion.baseline_weights_from_authors` converts
their CelebA weight). The "gaussian" ex-post density (the paper's N column)
is the prior N(0, I). The authors' CelebA WAE also adds noise clipped to
+-0.01 to the encoder's input, which this one does not.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from rae_tf import config as config_lib
from rae_tf import models
from rae_tf import networks
from rae_tf.baselines import prior
from rae_tf import regularizers
from rae_tf import sampler as sampler_lib


@keras.saving.register_keras_serializable(package="rae_tf")
class WassersteinAutoencoder(models.Autoencoder):
  """WAE with the MMD penalty (the `wae` model)."""

  LOSS_TERMS = ("loss", "reconstruction", "mmd")

  def __init__(self,
               encoder: keras.Model,
               decoder: keras.Model,
               mmd_weight: float = 1.0,
               input_noise_stddev: float = 0.0,
               seed: int | None = None,
               **kwargs):
    """Creates the model.

    Args:
      encoder: E, (B, H, W, C) -> (B, d).
      decoder: D, (B, d) -> (B, H, W, C).
      mmd_weight: weight of the MMD term.
      input_noise_stddev: s; training encodes x + clip(N(0, s^2), -s, s)
        and reconstructs x (the authors' CelebA WAE, after the WAE paper).
        Validation, test and the export encode x.
      seed: seed of the prior samples and the input noise.
      **kwargs: passed to keras.Model.
    """
    super().__init__(encoder, decoder, seed=seed, **kwargs)
    self.mmd_weight = float(mmd_weight)
    self.input_noise_stddev = float(input_noise_stddev)

  def encoder_inputs(self, images, training: bool) -> tf.Tensor:
    """x + clip(N(0, s^2), -s, s) in training, else x: (B, H, W, C)."""
    if not (training and self.input_noise_stddev):
      return images
    bound = self.input_noise_stddev
    return images + tf.clip_by_value(
        keras.random.normal(tf.shape(images), stddev=bound,
                            seed=self.seed_generator), -bound, bound)

  def loss_terms(self, images, training: bool) -> dict[str, tf.Tensor]:
    """Every term of the objective on one batch (B >= 2).

    Args:
      images: (B, H, W, C) in [0, 1].
      training: run the networks in training mode.

    Returns:
      Dict of scalars keyed by `LOSS_TERMS`.
    """
    codes = self.encoder(self.encoder_inputs(images, training),
                         training=training)  # (B, d)
    prior_samples = keras.random.normal(tf.shape(codes),
                                        seed=self.seed_generator)  # (B, d)
    reconstructions = self.decoder(codes, training=training)
    terms = {
        "reconstruction": regularizers.reconstruction_loss(
            images, reconstructions),
        "mmd": prior.mmd_inverse_multiquadric(codes, prior_samples),
    }
    terms["loss"] = terms["reconstruction"] + self.mmd_weight * terms["mmd"]
    return terms

  def ex_post_densities(self, codes: np.ndarray, num_components: int,
                        seed: int) -> dict[str, sampler_lib.GaussianMixture]:
    """"gaussian": the prior N(0, I); "gmm": K components fitted to the codes.

    Args:
      codes: (N, d) training codes.
      num_components: K.
      seed: EM seed.
    """
    return prior.ex_post_densities(codes, num_components, seed)

  def get_config(self):
    return {**super().get_config(), "mmd_weight": self.mmd_weight,
            "input_noise_stddev": self.input_noise_stddev}


def build_wasserstein_autoencoder(
    config: config_lib.Config) -> WassersteinAutoencoder:
  """The paper's nets for `config.dataset`, trained with the MMD penalty."""
  return WassersteinAutoencoder(
      networks.build_encoder(**models.encoder_arguments(config)),
      networks.build_decoder(**models.network_arguments(config)),
      mmd_weight=config.mmd_weight,
      input_noise_stddev=config.input_noise_stddev, seed=config.seed,
      name=config.model)
