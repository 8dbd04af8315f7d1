"""Loss terms of the RAE objective and the registry of decoder regularisers.

    L_RAE = L_REC + beta * 1/2 ||z||^2 + lambda * L_REG          (paper, eq. 11)

Reductions used by every term below: per-sample value first, then the mean
over the batch. The reconstruction term is the per-pixel mean squared error
(the authors' code form, `config.py` explains the weight conversion).

Decoder regularisers (`REGULARIZERS`, keyed by the `--reg` flag):
  none  no term (plain RAE; with a zero latent weight, a plain AE);
  l2    ||theta_D||^2, the squared norm of every decoder kernel (eq. 12);
  gp    ||grad_z D(z)||_F^2, the decoder Jacobian w.r.t. the code (eq. 13),
        estimated with one Gaussian probe per step (see `decode_with_gp`);
  sn    spectral normalisation of the decoder layers; no loss term.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import keras
import tensorflow as tf

from rae_tf import networks


def reconstruction_loss(images: tf.Tensor, reconstructions: tf.Tensor):
  """Mean over pixels and batch of (x - x_hat)^2.

  Args:
    images: (B, H, W, C) targets x.
    reconstructions: (B, H, W, C) decoder outputs x_hat.

  Returns:
    Scalar: (1/(B*H*W*C)) sum (x - x_hat)^2, i.e. ||x - x_hat||^2 / P per
    sample (P pixels), averaged over the batch.
  """
  diff = tf.cast(images, tf.float32) - tf.cast(reconstructions, tf.float32)
  return tf.reduce_mean(tf.square(diff))


def embedding_loss(codes: tf.Tensor) -> tf.Tensor:
  """The RAE latent term 1/2 ||z||^2, per sample, averaged over the batch.

  Args:
    codes: (B, d) codes z.

  Returns:
    Scalar (1/B) sum_b 1/2 sum_j z_bj^2.
  """
  codes = tf.cast(codes, tf.float32)
  return tf.reduce_mean(0.5 * tf.reduce_sum(tf.square(codes), axis=-1))


def l2_penalty(kernels) -> tf.Tensor:
  """RAE-L2 term ||theta_D||^2 = sum over kernels of sum of squared entries."""
  return tf.add_n([tf.reduce_sum(tf.square(tf.cast(k, tf.float32)))
                   for k in kernels])


def gradient_penalty(vector_jacobian_products: tf.Tensor) -> tf.Tensor:
  """RAE-GP term from probed Jacobians: mean_b ||J_b^T v_b||^2.

  With v_b ~ N(0, I) drawn independently of everything else,
  E_v ||J^T v||^2 = trace(J J^T) = ||J||_F^2, so this is an unbiased estimate
  of the paper's ||grad_z D(z)||_F^2 (Hutchinson's trace estimator).

  Args:
    vector_jacobian_products: (B, d) rows J_b^T v_b, where J_b = dD(z_b)/dz_b
      is the (P, d) decoder Jacobian of sample b and v_b is its (P,) probe.

  Returns:
    Scalar batch mean of the squared row norms.
  """
  vjp = tf.cast(vector_jacobian_products, tf.float32)
  return tf.reduce_mean(tf.reduce_sum(tf.square(vjp), axis=-1))


# A decode function maps (decoder, codes, training, seed_generator) to
# (reconstructions, penalty): the regulariser may need to run the decoder
# itself (the GP differentiates through it), so it owns the decoding.
DecodeFn = Callable[[keras.Model, tf.Tensor, bool, keras.random.SeedGenerator],
                    tuple[tf.Tensor, tf.Tensor]]


def decode_plain(decoder, codes, training, seed_generator):
  del seed_generator  # unused: no randomness
  return decoder(codes, training=training), tf.zeros((), tf.float32)


def decode_with_l2(decoder, codes, training, seed_generator):
  del seed_generator  # unused: no randomness
  reconstructions = decoder(codes, training=training)
  return reconstructions, l2_penalty(networks.decoder_kernels(decoder))


def probed_jacobian(decoder, codes, probe, training):
  """Decodes z and returns J^T v, the probe pulled back through the decoder.

  Args:
    decoder: D.
    codes: (B, d) codes z.
    probe: (B, H, W, C) probe v.
    training: passed to the decoder.

  Returns:
    (reconstructions D(z) (B, H, W, C), J^T v (B, d)), where row b is
    grad_{z_b} <v, D(z)>.
  """
  with tf.GradientTape(watch_accessed_variables=False) as tape:
    tape.watch(codes)
    reconstructions = decoder(codes, training=training)
    # The projected scalar must be formed inside the tape, or the gradient
    # below is silently None.
    projection = tf.reduce_sum(reconstructions * tf.cast(
        probe, reconstructions.dtype))
  return reconstructions, tape.gradient(projection, codes)


def decode_with_gp(decoder, codes, training, seed_generator):
  """Decodes and estimates ||dD/dz||_F^2 with one Gaussian probe.

  The full (P x d) Jacobian costs d backward passes; the authors' code instead
  penalises the gradient of sum(x_hat^2), i.e. ||2 J^T x_hat||^2, which weighs
  Jacobian rows by the output and is not the paper's quantity. We use the
  random projection s = <v, D(z)>, v ~ N(0, I): grad_z s = J^T v costs one
  extra backward pass and ||J^T v||^2 is an unbiased estimate of ||J||_F^2.
  The outer tape differentiates through it (double backward) to train D.

  With BatchNorm in training mode the samples of a batch interact, so the
  gradient of the batch sum w.r.t. z_b also carries (small) cross-sample
  terms; with `training=False` it is exactly per sample.

  Args:
    decoder: D.
    codes: (B, d) codes z.
    training: passed to the decoder.
    seed_generator: source of the probe v.

  Returns:
    (reconstructions (B, H, W, C), scalar penalty).
  """
  probe = keras.random.normal(
      tf.concat([tf.shape(codes)[:1], decoder.output_shape[1:]], axis=0),
      seed=seed_generator)
  reconstructions, vector_jacobian_products = probed_jacobian(
      decoder, codes, probe, training)
  return reconstructions, gradient_penalty(vector_jacobian_products)


@dataclasses.dataclass(frozen=True)
class DecoderRegularizer:
  """One `--reg` value: how to decode and penalise, and whether to use SN."""

  decode: DecodeFn
  spectral_norm: bool = False


REGULARIZERS: dict[str, DecoderRegularizer] = {
    "none": DecoderRegularizer(decode=decode_plain),
    "l2": DecoderRegularizer(decode=decode_with_l2),
    "gp": DecoderRegularizer(decode=decode_with_gp),
    "sn": DecoderRegularizer(decode=decode_plain, spectral_norm=True),
}


def get_regularizer(name: str) -> DecoderRegularizer:
  if name not in REGULARIZERS:
    raise ValueError(
        f"--reg must be one of {sorted(REGULARIZERS)}; got {name!r}")
  return REGULARIZERS[name]
