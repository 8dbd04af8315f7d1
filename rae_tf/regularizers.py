"""Loss terms of the RAE objective and the registry of decoder regularisers.

    L_RAE = L_REC + beta * 1/2 ||z||^2 + lambda * L_REG          (paper, eq. 11)

Reductions used by every term below: per-sample value first, then the mean
over the batch. The reconstruction term is the per-pixel mean squared error
(the authors' code form, `weight_conversion.py` explains the weight
conversion).

Decoder regularisers (`REGULARIZERS`, keyed by the `--reg` flag):
  none  no term (plain RAE; with a zero latent weight, a plain AE);
  l2    ||theta_D||^2, the squared norm of the decoder kernels (eq. 12):
        those of the architecture's `l2_layers`, as the authors;
  gp    ||grad_z D(z)||_F^2, the decoder Jacobian w.r.t. the code (eq. 13),
        estimated with one Gaussian probe per step (see `decode_with_gp`);
        or, with gp_form="authors", the authors' code's quantity
        (`decode_with_authors_gp`);
  sn    spectral normalisation of the decoder layers; no loss term.
"""

from __future__ import annotations

import dataclasses
import functools
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


def decode_with_l2(decoder, codes, training, seed_generator,
                   layer_types=None):
  """Decodes and returns ||theta_D||^2 over the kernels of `layer_types`.

  `layer_types` (class names, None = every layer) is bound by the model
  (`DecoderRegularizer.penalises_kernels`).
  """
  del seed_generator  # unused: no randomness
  reconstructions = decoder(codes, training=training)
  return reconstructions, l2_penalty(
      networks.decoder_kernels(decoder, layer_types))


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


def decode_with_authors_gp(decoder, codes, training, seed_generator):
  """Decodes and returns the authors' code's gradient penalty.

      g_b = grad_{z_b} sum_{b', p} x_hat_{b'p}^2 = 2 J_b^T x_hat_b,
      penalty = mean_{b, j} g_bj^2

  (`K.mean(K.square(K.gradients(K.square(y_pred), z)))` in their
  `models/rae/loss_functions.py`): the Jacobian's rows weighted by the
  output, averaged over batch and code dimensions. Not the paper's
  ||J||_F^2 (`decode_with_gp`), but what their GP weights were tuned for.

  Args:
    decoder: D.
    codes: (B, d) codes z.
    training: passed to the decoder.
    seed_generator: unused (no randomness).

  Returns:
    (reconstructions (B, H, W, C), scalar penalty).
  """
  del seed_generator  # unused: deterministic
  with tf.GradientTape(watch_accessed_variables=False) as tape:
    tape.watch(codes)
    reconstructions = decoder(codes, training=training)
    energy = tf.reduce_sum(tf.square(tf.cast(reconstructions, tf.float32)))
  gradients = tape.gradient(energy, codes)  # (B, d), 2 J_b^T x_hat_b
  return reconstructions, tf.reduce_mean(
      tf.square(tf.cast(gradients, tf.float32)))


# --gp_form value -> the decode function of --reg=gp.
GP_FORMS: dict[str, DecodeFn] = {
    "jacobian": decode_with_gp,
    "authors": decode_with_authors_gp,
}


@dataclasses.dataclass(frozen=True)
class DecoderRegularizer:
  """One `--reg` value: how to decode and penalise, and whether to use SN."""

  decode: DecodeFn
  spectral_norm: bool = False
  # decode takes `layer_types=`: the layers whose kernels it penalises.
  penalises_kernels: bool = False
  # decode is replaced by GP_FORMS[gp_form].
  penalises_jacobian: bool = False


REGULARIZERS: dict[str, DecoderRegularizer] = {
    "none": DecoderRegularizer(decode=decode_plain),
    "l2": DecoderRegularizer(decode=decode_with_l2, penalises_kernels=True),
    "gp": DecoderRegularizer(decode=decode_with_gp, penalises_jacobian=True),
    "sn": DecoderRegularizer(decode=decode_plain, spectral_norm=True),
}


def get_regularizer(name: str) -> DecoderRegularizer:
  if name not in REGULARIZERS:
    raise ValueError(
        f"--reg must be one of {sorted(REGULARIZERS)}; got {name!r}")
  return REGULARIZERS[name]


def decode_function(name: str, l2_layers=None,
                    gp_form: str = "jacobian") -> DecodeFn:
  """The decode function of `--reg=name` with its options bound.

  Args:
    name: key of `REGULARIZERS`.
    l2_layers: for "l2", class names of the penalised decoder layers (None:
      all).
    gp_form: for "gp", key of `GP_FORMS`.
  """
  regularizer = get_regularizer(name)
  if regularizer.penalises_kernels:
    return functools.partial(regularizer.decode, layer_types=l2_layers)
  if regularizer.penalises_jacobian:
    if gp_form not in GP_FORMS:
      raise ValueError(
          f"--gp_form must be one of {sorted(GP_FORMS)}; got {gp_form!r}")
    return GP_FORMS[gp_form]
  return regularizer.decode
