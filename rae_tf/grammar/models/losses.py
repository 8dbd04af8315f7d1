"""Loss terms of the sequence models: grammar masks, L_REC, L_BCE, KL_mean.

GRAE's reconstruction term is the masked cross-entropy of Kusner et al. (2017):

    L_REC = (1/B) sum_b sum_t -log softmax(m_bt * logits_bt)[x_bt]

where m_bt keeps only the rules whose left-hand side is that of the true rule
x_bt (the logits of other rules are set to -1e9 before the softmax), so the
decoder is never asked to choose between rules of different non-terminals.
`allowed_rules` (S, S) stores the masks per true symbol: row r is
masks[lhs[r]] for rules and all ones for characters (no mask, CVAE).

The VAE baselines train on Kusner et al.'s own scalarisation instead:
`kusner_reconstruction` (L_BCE) and `mean_kl_divergence` (KL_mean).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from rae_tf.baselines import prior

# Standard deviation of the VAEs' reparameterisation noise: Kusner et al.'s
# `epsilon_std`, z = mu + exp(log sigma^2 / 2) * eps, eps ~ N(0, 0.01^2).
NOISE_STDDEV = 0.01
# Keras' clipping of probabilities in its binary cross-entropy (epsilon()).
PROBABILITY_EPSILON = 1e-7

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


def kusner_reconstruction(targets: tf.Tensor, logits: tf.Tensor,
                          allowed: tf.Tensor) -> tf.Tensor:
  """Kusner et al.'s reconstruction term: T * mean BCE of the masked softmax.

      p_bts = softmax(masked logits_bt)_s, clipped to [1e-7, 1 - 1e-7]
      L_BCE = T / (B T S) sum_{b,t,s} -[x_bts log p_bts
                                        + (1 - x_bts) log(1 - p_bts)]

  i.e. `max_length * binary_crossentropy(flatten(x), flatten(p))` of their
  `vae_loss`, which flattens the batch too. Per sequence this is the sum over
  steps of (the cross-entropy + the 1 - x terms) divided by S.

  Args:
    targets: (B, T, S) one-hot x.
    logits: (B, T, S) decoder logits.
    allowed: (S, S) `allowed_rules` (ones for characters).

  Returns:
    Scalar L_BCE.
  """
  targets = tf.cast(targets, tf.float32)
  probabilities = tf.clip_by_value(
      tf.nn.softmax(mask_logits(targets, logits, allowed)),
      PROBABILITY_EPSILON, 1.0 - PROBABILITY_EPSILON)  # (B, T, S)
  bce = -(targets * tf.math.log(probabilities)
          + (1.0 - targets) * tf.math.log1p(-probabilities))
  sequence_length = tf.cast(tf.shape(targets)[1], tf.float32)
  return sequence_length * tf.reduce_mean(bce)


def mean_kl_divergence(mean: tf.Tensor, log_variance: tf.Tensor) -> tf.Tensor:
  """KL(N(mu, diag sigma^2) || N(0, I)) averaged over the d dimensions.

      KL_b = -1/2 mean_j (1 + log sigma_bj^2 - mu_bj^2 - sigma_bj^2)

  Kusner et al.'s `kl_loss` (a mean over j where the KL sums), batch mean.

  Args:
    mean: (B, d) mu.
    log_variance: (B, d) log sigma^2.

  Returns:
    Scalar (1/B) sum_b KL_b, i.e. `prior.kl_divergence` / d.
  """
  latent_dim = tf.cast(tf.shape(mean)[-1], tf.float32)
  return prior.kl_divergence(mean, log_variance) / latent_dim
