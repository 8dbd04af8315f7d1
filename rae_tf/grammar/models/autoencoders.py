"""GRAE, GVAE and CVAE: the sequence autoencoders and their `MODELS` registry.

Every model reads (B, T, S) one-hot sequences of S symbols (production rules
for GRAE / GVAE, characters for CVAE) and decodes (B, T, S) logits; the loss
terms (masked cross-entropy L_REC, Kusner et al.'s L_BCE and KL_mean) are in
`losses.py`.

  grae  z = E(x); L = L_REC + beta * 1/2 ||z||^2 + lambda * L_REG
        (paper, eq. 11), L_REG from `DECODER_REGULARIZERS` (L2 on the decoder
        kernels, GRU ones included, by default); sampled through the ex-post
        GMM on the training codes.
  gvae  Kusner et al.'s Grammar VAE as their code trains it
        (`models/model_eq.py`, `model_zinc.py`): q(z|x) = N(mu, diag sigma^2)
        with a linear log sigma^2 head, z = mu + sigma * eps with
        eps ~ N(0, 0.01^2 I) (their `epsilon_std`), and
            L = L_BCE + kl_weight * KL_mean,
        L_BCE their reconstruction term (`kusner_reconstruction`: T times the
        binary cross-entropy of the masked, renormalised softmax, averaged
        over every element of the (B, T, S) batch) and KL_mean the KL
        averaged, not summed, over the d code dimensions (batch mean).
        Not the ELBO: both terms are rescaled, and the noise is 100x
        narrower than the posterior it stands for.
  cvae  the gvae objective on characters, without masks (their
        `model_eq_str.py` / `model_zinc_str.py`).

The VAEs also report `cross_entropy`, the L_REC above (nats per sequence),
which they do not optimise but which compares with GRAE's reconstruction.

The models reuse `rae_tf.models.Autoencoder` (train / test steps with one
`keras.metrics.Mean` per term, ex-post densities) and
`rae_tf.baselines.vae.VariationalAutoencoder` (posterior, prior N(0, I) density).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from rae_tf import models as image_models
from rae_tf import regularizers
from rae_tf.baselines import vae
from rae_tf.grammar import config as config_lib
from rae_tf.grammar.models import losses
from rae_tf.grammar.models import networks


def decode_with_l2(decoder, codes, training, seed_generator):
  """Decodes and returns ||theta_D||^2 over every decoder kernel (GRUs too)."""
  del seed_generator  # unused: no randomness
  logits = decoder(codes, training=training)
  return logits, regularizers.l2_penalty(networks.decoder_kernels(decoder))


# --reg value -> decode function (decoder, codes, training, seed_generator)
# -> (logits, penalty); "gp" probes the Jacobian of the logits w.r.t. z.
DECODER_REGULARIZERS: dict[str, regularizers.DecodeFn] = {
    "none": regularizers.decode_plain,
    "l2": decode_with_l2,
    "gp": regularizers.decode_with_gp,
}


class _SequenceModel:
  """Mixin: the (S, S) `allowed_rules` constant and its config entry."""

  def _set_allowed(self, allowed: np.ndarray) -> None:
    allowed = np.asarray(allowed, np.float32)
    if allowed.ndim != 2 or allowed.shape[0] != allowed.shape[1]:
      raise ValueError(f"allowed_rules must be (S, S); got {allowed.shape}")
    self.allowed = tf.constant(allowed)

  def reconstruction(self, targets, logits) -> tf.Tensor:
    return losses.masked_cross_entropy(targets, logits, self.allowed)

  def _allowed_config(self) -> dict:
    return {"allowed_rules": self.allowed.numpy().tolist()}


@keras.saving.register_keras_serializable(package="rae_tf.grammar")
class GrammarRAE(_SequenceModel, image_models.Autoencoder):
  """Deterministic sequence autoencoder with the RAE objective (`grae`)."""

  LOSS_TERMS = ("loss", "reconstruction", "embedding", "regularization")

  def __init__(self, encoder: keras.Model, decoder: keras.Model,
               allowed_rules: np.ndarray, embedding_weight: float = 1e-3,
               reg: str = "l2", reg_weight: float = 1e-6,
               seed: int | None = None, **kwargs):
    """Creates the model.

    Args:
      encoder: E, (B, T, S) -> (B, d).
      decoder: D, (B, d) -> (B, T, S) logits.
      allowed_rules: (S, S), see `losses.allowed_rules`.
      embedding_weight: beta, weight of 1/2 ||z||^2.
      reg: key of `DECODER_REGULARIZERS`.
      reg_weight: lambda, weight of the decoder penalty.
      seed: seed of the GP probes.
      **kwargs: passed to keras.Model.
    """
    super().__init__(encoder, decoder, seed=seed, **kwargs)
    if reg not in DECODER_REGULARIZERS:
      raise ValueError(f"--reg must be one of {sorted(DECODER_REGULARIZERS)}; "
                       f"got {reg!r}")
    self._set_allowed(allowed_rules)
    self.embedding_weight = float(embedding_weight)
    self.reg = reg
    self.reg_weight = float(reg_weight)

  def loss_terms(self, sequences, training: bool) -> dict[str, tf.Tensor]:
    """Every term of the objective on a (B, T, S) one-hot batch."""
    codes = self.encoder(sequences, training=training)
    logits, penalty = DECODER_REGULARIZERS[self.reg](
        self.decoder, codes, training, self.seed_generator)
    terms = {
        "reconstruction": self.reconstruction(sequences, logits),
        "embedding": regularizers.embedding_loss(codes),
        "regularization": penalty,
    }
    terms["loss"] = (terms["reconstruction"]
                     + self.embedding_weight * terms["embedding"]
                     + self.reg_weight * terms["regularization"])
    return terms

  def get_config(self):
    return {**super().get_config(), **self._allowed_config(),
            "embedding_weight": self.embedding_weight, "reg": self.reg,
            "reg_weight": self.reg_weight}


@keras.saving.register_keras_serializable(package="rae_tf.grammar")
class GrammarVAE(_SequenceModel, vae.VariationalAutoencoder):
  """Kusner et al.'s sequence VAE (`gvae` on rules, `cvae` on characters)."""

  LOSS_TERMS = ("loss", "reconstruction", "kl", "cross_entropy")
  NOISE_STDDEV = losses.NOISE_STDDEV  # Kusner et al.'s epsilon_std

  def __init__(self, encoder: keras.Model, decoder: keras.Model,
               allowed_rules: np.ndarray, kl_weight: float = 1.0,
               seed: int | None = None, **kwargs):
    """Creates the model.

    Args:
      encoder: (B, T, S) -> {"mean": (B, d), "log_variance": (B, d)}.
      decoder: D, (B, d) -> (B, T, S) logits.
      allowed_rules: (S, S), see `losses.allowed_rules` / `unconstrained`.
      kl_weight: weight of KL_mean (1.0 as Kusner et al.).
      seed: seed of the reparameterisation noise.
      **kwargs: passed to keras.Model.
    """
    super().__init__(encoder, decoder, kl_weight=kl_weight, seed=seed,
                     **kwargs)
    self._set_allowed(allowed_rules)

  def posterior(self, sequences, training=False):
    """(mean (B, d), log sigma^2 (B, d)), both from linear heads."""
    outputs = self.encoder(sequences, training=training)
    return outputs["mean"], outputs["log_variance"]

  def loss_terms(self, sequences, training: bool) -> dict[str, tf.Tensor]:
    """L_BCE of z = mu + sigma * eps (mu at inference) + KL_mean."""
    mean, log_variance = self.posterior(sequences, training=training)
    mean = tf.cast(mean, tf.float32)
    log_variance = tf.cast(log_variance, tf.float32)
    codes = self.sample_codes(mean, log_variance) if training else mean
    logits = self.decoder(codes, training=training)
    terms = {
        "reconstruction": losses.kusner_reconstruction(sequences, logits,
                                                       self.allowed),
        "kl": losses.mean_kl_divergence(mean, log_variance),
        "cross_entropy": self.reconstruction(sequences, logits),
    }
    terms["loss"] = terms["reconstruction"] + self.kl_weight * terms["kl"]
    return terms

  def get_config(self):
    return {**super().get_config(), **self._allowed_config()}


def _network_arguments(config: config_lib.GrammarConfig, sequence_length: int,
                       num_symbols: int) -> dict:
  return dict(task=config.task, sequence_length=sequence_length,
              num_symbols=num_symbols, latent_dim=config.latent_dim)


# Kusner et al. normalise z before the decoder in their expression VAEs
# (`model_eq.py`, `model_eq_str.py`), not in their molecule ones. GRAE never
# does: a BN on z would undo the scale its beta * 1/2 ||z||^2 term sets.
VAE_DECODER_INPUT_BATCH_NORM = {"expressions": True, "molecules": False}


def build_grae(config: config_lib.GrammarConfig, sequence_length: int,
               allowed: np.ndarray) -> GrammarRAE:
  common = _network_arguments(config, sequence_length, len(allowed))
  return GrammarRAE(
      networks.build_encoder(**common),
      networks.build_decoder(width=config.width, **common),
      allowed, embedding_weight=config.embedding_weight, reg=config.reg,
      reg_weight=config.reg_weight, seed=config.seed, name=config.model)


def build_sequence_vae(config: config_lib.GrammarConfig, sequence_length: int,
                       allowed: np.ndarray) -> GrammarVAE:
  common = _network_arguments(config, sequence_length, len(allowed))
  return GrammarVAE(
      networks.build_encoder(variational=True, **common),
      networks.build_decoder(
          width=config.width,
          input_batch_norm=VAE_DECODER_INPUT_BATCH_NORM[config.task],
          **common),
      allowed, kl_weight=config.kl_weight,
      seed=config.seed, name=config.model)


@dataclasses.dataclass(frozen=True)
class ModelSpec:
  """One --model value: its builder and what a sequence step is."""

  build: Callable[[config_lib.GrammarConfig, int, np.ndarray], keras.Model]
  symbols: str  # "rules" (grammar-masked) or "characters" (no mask)


MODELS: dict[str, ModelSpec] = {
    "grae": ModelSpec(build_grae, "rules"),
    "gvae": ModelSpec(build_sequence_vae, "rules"),
    "cvae": ModelSpec(build_sequence_vae, "characters"),
}


def build_model(config: config_lib.GrammarConfig, sequence_length: int,
                allowed: np.ndarray) -> keras.Model:
  """The `config.model` network pair for (B, sequence_length, S) inputs.

  Args:
    config: the run's configuration.
    sequence_length: T.
    allowed: (S, S) `losses.allowed_rules` (rules) or `losses.unconstrained`
      (characters).
  """
  if config.model not in MODELS:
    raise ValueError(
        f"--model must be one of {sorted(MODELS)}; got {config.model!r}")
  return MODELS[config.model].build(config, sequence_length, allowed)
