"""The second stage of the two-stage VAE (Dai & Wipf 2019).

The stage-1 VAE's posterior means z of the training set do not follow the
prior N(0, I), so decoding prior samples gives poor images. Stage 2 is a
second VAE, trained after stage 1 on the standardised means
z' = (z - m) / s (m, s: per-dimension mean and standard deviation of the
training means), with MLP networks, latent size d and prior p(u) = N(0, I):

    encoder  z' -> Dense(1024) ReLU -> Dense(1024) ReLU
                -> mean Dense(d), log sigma = 5 tanh(Dense(d))
    decoder  u  -> Dense(1024) ReLU -> Dense(1024) ReLU -> Dense(d), linear
    loss     mean_j (z'_j - z'_hat_j)^2 + stage2_kl_weight * KL(q(u|z') || p(u))

as in the authors' code: Adam 1e-4, batches of 64, 100 epochs, the last 10%
of the codes held out to halve the learning rate after 3 epochs without an
improvement of 1e-4 (their loss and ours are in the same units). The losses
of every epoch go to results.json ("code_sampler_training").

Sampling (`SecondStageSampler.sample`, the exported `sample` signature):
u ~ N(0, I) -> the stage-2 decoder's mean z'_hat -> z = s * z'_hat + m
-> the stage-1 decoder. Reconstruction as the authors' Table 1
(`SecondStageSampler.round_trip`, the exported `reconstruct_sampled`):
the stage-1 mean z -> z' -> u = mu_2(z') + sigma_2(z') * eps -> z'_hat -> z.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from rae_tf import callbacks
from rae_tf import sampler as sampler_lib
from rae_tf.baselines import vae

# The authors' second stage: MLPs of 1024 units, Adam on batches of 64.
SECOND_STAGE_HIDDEN_UNITS = 1024
SECOND_STAGE_BATCH_SIZE = 64
# Floor of the standard deviation used to standardise a code dimension, so a
# collapsed (constant) dimension does not divide by zero.
MIN_CODE_SCALE = 1e-6
# The authors' Keras `validation_split`: the last 10% of the codes.
VALIDATION_FRACTION = 0.1
LR_PATIENCE = 3


def build_second_stage_networks(
    latent_dim: int, hidden_units: int = SECOND_STAGE_HIDDEN_UNITS
) -> tuple[keras.Model, keras.Model]:
  """The stage-2 MLPs.

  Args:
    latent_dim: d, the size of both the stage-1 codes and of u.
    hidden_units: width of the two hidden ReLU layers of each MLP.

  Returns:
    (encoder z' (B, d) -> {"mean": (B, d), "log_scale": (B, d)},
     decoder u (B, d) -> z'_hat (B, d)).
  """
  def hidden(x):
    for _ in range(2):
      x = keras.layers.Dense(hidden_units, activation="relu")(x)
    return x

  codes = keras.Input(shape=(latent_dim,), name="codes")
  features = hidden(codes)
  encoder = keras.Model(
      codes, {"mean": keras.layers.Dense(latent_dim, name="mean")(features),
              "log_scale": vae.log_scale_head(features, latent_dim)},
      name="second_stage_encoder")
  noise = keras.Input(shape=(latent_dim,), name="noise")
  decoder = keras.Model(noise, keras.layers.Dense(latent_dim)(hidden(noise)),
                        name="second_stage_decoder")
  return encoder, decoder


@keras.saving.register_keras_serializable(package="rae_tf")
class SecondStageSampler(keras.layers.Layer):
  """Draws stage-1 codes through the stage-2 decoder; holds its weights.

  `sample(num_samples, seed)` returns (n, d) codes; `round_trip(codes,
  seed)` passes codes through the whole stage-2 VAE. The networks and the
  de-standardisation (code_mean m, code_scale s: non-trainable weights) are
  tracked, so `keras.export.ExportArchive` saves them with the model.
  `training_history` holds the losses of `fit_second_stage` (not saved).
  """

  def __init__(self, encoder: keras.Model, decoder: keras.Model, **kwargs):
    """Creates the layer with m = 0, s = 1 (see `fit_second_stage`).

    Args:
      encoder: the stage-2 encoder, z' (B, d) -> {"mean": (B, d_u),
        "log_scale": (B, d_u)}.
      decoder: the stage-2 decoder, u (B, d_u) -> z'_hat (B, d).
      **kwargs: passed to keras.layers.Layer.
    """
    super().__init__(**kwargs)
    self.encoder = encoder
    self.decoder = decoder
    self.training_history: dict | None = None
    self.noise_dim = decoder.input_shape[-1]
    self.latent_dim = decoder.output_shape[-1]
    self.code_mean = self.add_weight(
        shape=(self.latent_dim,), initializer="zeros", trainable=False,
        name="code_mean")
    self.code_scale = self.add_weight(
        shape=(self.latent_dim,), initializer="ones", trainable=False,
        name="code_scale")
    self.built = True

  def destandardise(self, standardised_codes):
    """z = s * z' + m, (n, d)."""
    return standardised_codes * self.code_scale + self.code_mean

  def round_trip(self, codes, seed) -> tf.Tensor:
    """Stage-1 codes through stage 2, sampling u as the authors' `predict`.

    z' = (z - m) / s, u = mu_2(z') + sigma_2(z') * eps, eps ~ N(0, I) seeded
    by `seed`, z_hat = s * D_2(u) + m.

    Args:
      codes: (B, d) stage-1 codes (posterior means).
      seed: scalar int.

    Returns:
      (B, d) float32 codes for the stage-1 decoder.
    """
    posterior = self.encoder((codes - self.code_mean) / self.code_scale,
                             training=False)
    # float32 whatever the dtype policy, as the noise.
    mean = tf.cast(posterior["mean"], tf.float32)
    log_scale = tf.cast(posterior["log_scale"], tf.float32)
    noise = tf.random.stateless_normal(
        tf.shape(mean), seed=sampler_lib.stateless_seed(seed))
    noise_codes = mean + tf.exp(log_scale) * noise
    return self.destandardise(self.decoder(noise_codes, training=False))

  def sample(self, num_samples, seed) -> tf.Tensor:
    """Draws `num_samples` codes; the same integer `seed` gives the same ones.

    Args:
      num_samples: scalar int, n.
      seed: scalar int.

    Returns:
      (n, d) float32 stage-1 codes.
    """
    noise = tf.random.stateless_normal(
        tf.stack([tf.cast(num_samples, tf.int32), self.noise_dim]),
        seed=sampler_lib.stateless_seed(seed))  # (n, d_u), u ~ N(0, I)
    return self.destandardise(self.decoder(noise, training=False))

  def get_config(self):
    return {**super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder)}

  @classmethod
  def from_config(cls, config):
    config = dict(config)
    for network in ("encoder", "decoder"):
      config[network] = keras.saving.deserialize_keras_object(
          config[network])
    return cls(**config)


class _SecondStageVAE(vae.VariationalAutoencoder):
  """The stage-2 VAE, whose validation loss decodes a posterior draw.

  The authors' Keras model samples in its Lambda layer at validation too, so
  their plateau schedule watches a noisy loss; this one does the same.
  """

  def test_step(self, data):
    codes, _, _ = keras.utils.unpack_x_y_sample_weight(data)
    # MLPs without BN or dropout: training=True only turns the sampling on.
    return self._record(self.loss_terms(codes, training=True))


def fit_second_stage(codes: np.ndarray,
                     kl_weight: float,
                     epochs: int,
                     learning_rate: float,
                     batch_size: int = SECOND_STAGE_BATCH_SIZE,
                     hidden_units: int = SECOND_STAGE_HIDDEN_UNITS,
                     seed: int | None = None) -> SecondStageSampler:
  """Trains the stage-2 VAE on standardised codes; returns its sampler.

  The last VALIDATION_FRACTION of the codes (at least one) is held out to
  halve the learning rate on plateaus, as the authors' Keras
  `validation_split=0.1`.

  Args:
    codes: (N, d) stage-1 posterior means of the training set.
    kl_weight: weight of the stage-2 KL term.
    epochs: passes over the training codes.
    learning_rate: Adam learning rate.
    batch_size: codes per step.
    hidden_units: width of the MLPs' hidden layers.
    seed: seed of the shuffling and of the reparameterisation noise.

  Returns:
    A SecondStageSampler holding the trained networks and (m, s), its
    `training_history` the per-epoch "loss", "val_loss", "learning_rate"
    and the number of training / validation codes.

  Raises:
    sampler_lib.DensityFitError: codes that are not a finite (N, d) array
      with N >= 2.
  """
  codes = np.asarray(codes, np.float32)
  if codes.ndim != 2 or len(codes) < 2 or not np.all(np.isfinite(codes)):
    raise sampler_lib.DensityFitError(
        "the second stage needs at least 2 finite (N, d) codes; got shape "
        f"{codes.shape}, finite: {bool(np.all(np.isfinite(codes)))}")
  code_mean = codes.mean(axis=0)
  code_scale = np.maximum(codes.std(axis=0), MIN_CODE_SCALE)
  standardised = (codes - code_mean) / code_scale  # (N, d)

  encoder, decoder = build_second_stage_networks(codes.shape[1],
                                                 hidden_units)
  second_stage = _SecondStageVAE(
      encoder, decoder, kl_weight=kl_weight, seed=seed, name="second_stage")
  second_stage.compile(optimizer=keras.optimizers.Adam(learning_rate))
  # Keras' split: the first int(N (1 - fraction)) train, the rest validate.
  num_validation = min(
      len(standardised) - 1,
      len(standardised) - int(len(standardised) * (1 - VALIDATION_FRACTION)))
  train_codes = standardised[:-num_validation]
  validation_codes = standardised[-num_validation:]
  batches = (tf.data.Dataset.from_tensor_slices(train_codes)
             .shuffle(len(train_codes), seed=seed)
             .batch(batch_size))
  validation = tf.data.Dataset.from_tensor_slices(validation_codes).batch(
      batch_size)
  history = second_stage.fit(
      batches, validation_data=validation, epochs=epochs, shuffle=False,
      verbose=0, callbacks=[callbacks.learning_rate_plateau(LR_PATIENCE)])
  logging.info("second stage after %d epochs: %s", epochs,
               {name: round(values[-1], 6)
                for name, values in history.history.items()})

  code_sampler = SecondStageSampler(encoder, decoder,
                                    name="two_stage_sampler")
  code_sampler.code_mean.assign(code_mean)
  code_sampler.code_scale.assign(code_scale)
  code_sampler.training_history = {
      "num_train_codes": len(train_codes),
      "num_validation_codes": num_validation,
      **{name: [float(value) for value in history.history[name]]
         for name in ("loss", "val_loss", "learning_rate")}}
  return code_sampler
