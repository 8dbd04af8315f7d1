"""GRAE, GVAE and CVAE: the sequence autoencoders and their `MODELS` registry.

Every model reads (B, T, S) one-hot sequences of S symbols (production rules
for GRAE / GVAE, characters for CVAE) and decodes (B, T, S) logits. The
reconstruction term is the masked cross-entropy of Kusner et al. (2017):

    L_REC = (1/B) sum_b sum_t -log softmax(m_bt * logits_bt)[x_bt]

where m_bt keeps only the rules whose left-hand side is that of the true rule
x_bt (the logits of other rules are set to -1e9 before the softmax), so the
decoder is never asked to choose between rules of different non-terminals.
`allowed_rules` (S, S) stores the masks per true symbol: row r is
masks[lhs[r]] for rules and all ones for characters (no mask, CVAE).

  grae  z = E(x); L = L_REC + beta * 1/2 ||z||^2 + lambda * L_REG
        (paper, eq. 11), L_REG from `DECODER_REGULARIZERS` (L2 on the decoder
        kernels, GRU ones included, by default); sampled through the ex-post
        GMM on the training codes.
  gvae  q(z|x) = N(mu, diag sigma^2), L = L_REC + kl_weight * KL(q || N(0,I))
        (per-sample sums, batch mean: the ELBO at kl_weight = 1).
  cvae  the gvae objective on characters, without masks.

The models reuse `rae_tf.models.Autoencoder` (train / test steps with one
`keras.metrics.Mean` per term, ex-post densities) and
`rae_tf.vae.VariationalAutoencoder` (posterior, prior N(0, I) density).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from rae_tf import models as image_models
from rae_tf import prior
from rae_tf import regularizers
from rae_tf import vae
from rae_tf.grammar import config as config_lib
from rae_tf.grammar import networks

# Logit of a masked-out symbol: exp(-1e9 - max) underflows to 0 in float32,
# and unlike -inf it keeps 0 * logit finite in the cross-entropy.
MASKED_LOGIT = -1e9


def allowed_rules(masks: np.ndarray, lhs: np.ndarray) -> np.ndarray:
  """(R, R) float32: row r = masks[lhs[r]], the rules sharing r's lhs.

  Args:
    masks: (K, R) 0/1, masks[k, r] = 1 iff rule r rewrites non-terminal k.
    lhs: (R,) the left-hand-side non-terminal of each rule.
  """
  return np.asarray(masks, np.float32)[np.asarray(lhs)]


def unconstrained(num_symbols: int) -> np.ndarray:
  """(S, S) ones: every symbol allowed after every symbol (characters)."""
  return np.ones((num_symbols, num_symbols), np.float32)


def mask_logits(targets: tf.Tensor, logits: tf.Tensor,
                allowed: tf.Tensor) -> tf.Tensor:
  """Logits with the symbols the true symbol's lhs forbids set to -1e9.

  Args:
    targets: (B, T, S) one-hot true symbols x.
    logits: (B, T, S) decoder logits.
    allowed: (S, S) `allowed_rules`.

  Returns:
    (B, T, S) float32 masked logits.
  """
  mask = tf.einsum("bts,su->btu", tf.cast(targets, tf.float32),
                   tf.cast(allowed, tf.float32))  # (B, T, S) masks[lhs[x]]
  return tf.where(mask > 0.5, tf.cast(logits, tf.float32), MASKED_LOGIT)


def masked_cross_entropy(targets: tf.Tensor, logits: tf.Tensor,
                         allowed: tf.Tensor) -> tf.Tensor:
  """L_REC: -log p(x_bt) under the masked softmax, summed over t, batch mean.

  Args:
    targets: (B, T, S) one-hot x (padding steps included: they are part of
      the sequence and cost ~0 once learnt).
    logits: (B, T, S) decoder logits.
    allowed: (S, S) `allowed_rules`.

  Returns:
    Scalar (1/B) sum_b sum_t -log softmax(masked logits_bt)[x_bt].
  """
  per_step = tf.nn.softmax_cross_entropy_with_logits(
      labels=tf.cast(targets, tf.float32),
      logits=mask_logits(targets, logits, allowed))  # (B, T)
  return tf.reduce_mean(tf.reduce_sum(per_step, axis=-1))


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
    return masked_cross_entropy(targets, logits, self.allowed)

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
      allowed_rules: (S, S), see `allowed_rules`.
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
  """Sequence VAE (`gvae` on rules, `cvae` on characters)."""

  def __init__(self, encoder: keras.Model, decoder: keras.Model,
               allowed_rules: np.ndarray, kl_weight: float = 1.0,
               seed: int | None = None, **kwargs):
    """Creates the model.

    Args:
      encoder: (B, T, S) -> {"mean": (B, d), "log_scale": (B, d)}.
      decoder: D, (B, d) -> (B, T, S) logits.
      allowed_rules: (S, S), see `allowed_rules` / `unconstrained`.
      kl_weight: weight of the KL term.
      seed: seed of the reparameterisation noise.
      **kwargs: passed to keras.Model.
    """
    super().__init__(encoder, decoder, kl_weight=kl_weight, seed=seed,
                     **kwargs)
    self._set_allowed(allowed_rules)

  def loss_terms(self, sequences, training: bool) -> dict[str, tf.Tensor]:
    """Masked cross-entropy of z = mu + sigma * eps (mu at inference) + KL."""
    mean, log_variance = self.posterior(sequences, training=training)
    mean = tf.cast(mean, tf.float32)
    log_variance = tf.cast(log_variance, tf.float32)
    codes = mean
    if training:
      noise = keras.random.normal(tf.shape(mean), seed=self.seed_generator)
      codes = mean + tf.exp(0.5 * log_variance) * noise  # (B, d)
    logits = self.decoder(codes, training=training)
    terms = {"reconstruction": self.reconstruction(sequences, logits),
             "kl": prior.kl_divergence(mean, log_variance)}
    terms["loss"] = terms["reconstruction"] + self.kl_weight * terms["kl"]
    return terms

  def get_config(self):
    return {**super().get_config(), **self._allowed_config()}


def _network_arguments(config: config_lib.GrammarConfig, sequence_length: int,
                       num_symbols: int) -> dict:
  return dict(task=config.task, sequence_length=sequence_length,
              num_symbols=num_symbols, latent_dim=config.latent_dim,
              width=config.width)


def build_grae(config: config_lib.GrammarConfig, sequence_length: int,
               allowed: np.ndarray) -> GrammarRAE:
  common = _network_arguments(config, sequence_length, len(allowed))
  return GrammarRAE(
      networks.build_encoder(**common), networks.build_decoder(**common),
      allowed, embedding_weight=config.embedding_weight, reg=config.reg,
      reg_weight=config.reg_weight, seed=config.seed, name=config.model)


def build_sequence_vae(config: config_lib.GrammarConfig, sequence_length: int,
                       allowed: np.ndarray) -> GrammarVAE:
  common = _network_arguments(config, sequence_length, len(allowed))
  return GrammarVAE(
      networks.build_encoder(variational=True, **common),
      networks.build_decoder(**common), allowed, kl_weight=config.kl_weight,
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
    allowed: (S, S) `allowed_rules` (rules) or `unconstrained` (characters).
  """
  if config.model not in MODELS:
    raise ValueError(
        f"--model must be one of {sorted(MODELS)}; got {config.model!r}")
  return MODELS[config.model].build(config, sequence_length, allowed)
