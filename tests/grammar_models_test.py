"""GRAE / GVAE / CVAE objectives: masking, loss terms, a short overfit."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rae_tf import errors
from rae_tf.grammar import config as config_lib
from rae_tf.grammar.models import losses
from rae_tf.grammar.models import autoencoders as models
import grammar_toy  # tests/grammar_toy.py
from kernels import NEEDS_BFLOAT16  # tests/kernels.py
from kernels import dtype_policy

GRAMMAR = grammar_toy.ToyGrammar()
ALLOWED = losses.allowed_rules(GRAMMAR.masks, GRAMMAR.lhs)


def toy_batch():
  sequences, kept = GRAMMAR.one_hot(list(grammar_toy.SENTENCES))
  assert len(kept) == len(grammar_toy.SENTENCES)
  return tf.constant(sequences)  # (6, 10, 5)


def toy_model(model="grae", **overrides):
  config = config_lib.make_config(
      "expressions", model, **{"latent_dim": 4, "width": 0.2, **overrides})
  return models.build_model(config, GRAMMAR.max_length, ALLOWED)


def test_allowed_rules_are_the_rules_of_the_true_rules_lhs():
  # Rows 0, 1 (S-rules) allow {0, 1}; rows 2, 3 (T-rules) {2, 3}; padding {4}.
  np.testing.assert_array_equal(ALLOWED, [
      [1, 1, 0, 0, 0], [1, 1, 0, 0, 0], [0, 0, 1, 1, 0], [0, 0, 1, 1, 0],
      [0, 0, 0, 0, 1]])


def test_masking_never_allows_a_rule_of_another_nonterminal():
  targets = toy_batch()
  logits = tf.random.normal(targets.shape, stddev=10.0)
  weights = tf.random.normal(targets.shape)
  with tf.GradientTape() as tape:
    tape.watch(logits)
    probabilities = tf.nn.softmax(
        losses.mask_logits(targets, logits, ALLOWED))
    weighted = tf.reduce_sum(probabilities * weights)
  true_rules = tf.argmax(targets, -1).numpy()  # (B, T)
  other = GRAMMAR.lhs[None, None, :] != GRAMMAR.lhs[true_rules][..., None]
  assert np.all(probabilities.numpy()[other] == 0.0)
  # Forbidden logits get no gradient either: the loss cannot push them.
  gradient = tape.gradient(weighted, logits).numpy()
  assert np.all(gradient[other] == 0.0)
  assert np.any(gradient[~other] != 0.0)


def test_masked_cross_entropy_by_hand():
  # One step, true rule 0 (S): masked logits (log 3, 0), rule 2's 9 ignored:
  # -log(3 / (3 + 1)) = log(4 / 3).
  targets = tf.constant([[[1.0, 0, 0, 0, 0]]])
  logits = tf.constant([[[np.log(3.0), 0.0, 9.0, 9.0, 9.0]]])
  assert float(losses.masked_cross_entropy(targets, logits, ALLOWED)) == (
      pytest.approx(np.log(4 / 3), rel=1e-6))
  # Without the mask (CVAE), rule 2's logit 9 takes almost all the mass.
  unmasked = losses.masked_cross_entropy(targets, logits,
                                         losses.unconstrained(5))
  assert float(unmasked) > 8.0


def test_kusner_reconstruction_by_hand():
  # One step, true rule 0: the masked softmax is (3/4, 1/4, 0, 0, 0); BCE per
  # symbol: -log 3/4, -log(1 - 1/4), and -log(1 - 1e-7) ~ 1e-7 for the three
  # masked ones (clipped as Keras does). T = 1, mean over S = 5 symbols:
  # (log 4/3 + log 4/3) / 5, up to 3e-7 / 5.
  targets = tf.constant([[[1.0, 0, 0, 0, 0]]])
  logits = tf.constant([[[np.log(3.0), 0.0, 9.0, 9.0, 9.0]]])
  assert float(losses.kusner_reconstruction(targets, logits, ALLOWED)) == (
      pytest.approx(2 * np.log(4 / 3) / 5, rel=1e-5))
  # T times the mean over the flattened batch: two identical sequences of
  # two steps give 2 * (the per-step mean), whatever B is.
  two = tf.tile(tf.concat([targets, targets], axis=1), [2, 1, 1])
  two_logits = tf.tile(tf.concat([logits, logits], axis=1), [2, 1, 1])
  assert float(losses.kusner_reconstruction(two, two_logits, ALLOWED)) == (
      pytest.approx(2 * 2 * np.log(4 / 3) / 5, rel=1e-5))


def test_mean_kl_is_the_kl_averaged_over_dimensions():
  # mu = (1, 0), sigma^2 = (1, e): per dimension 1/2 (mu^2 + s^2 - 1 - log s^2)
  # = 1/2 and 1/2 (e - 2); mean over d = 2: (e - 1) / 4.
  mean = tf.constant([[1.0, 0.0]])
  log_variance = tf.constant([[0.0, 1.0]])
  assert float(losses.mean_kl_divergence(mean, log_variance)) == (
      pytest.approx((np.e - 1) / 4, rel=1e-6))


def test_gvae_objective_is_kusners():
  model = toy_model("gvae")
  batch = toy_batch()
  terms = model.loss_terms(batch, training=False)
  mean, log_variance = model.posterior(batch)
  logits = model.decoder(mean)
  np.testing.assert_allclose(float(terms["reconstruction"]), float(
      losses.kusner_reconstruction(batch, logits, ALLOWED)), rtol=1e-5)
  np.testing.assert_allclose(float(terms["kl"]), float(
      losses.mean_kl_divergence(mean, log_variance)), rtol=1e-5)
  np.testing.assert_allclose(float(terms["cross_entropy"]), float(
      losses.masked_cross_entropy(batch, logits, ALLOWED)), rtol=1e-5)
  np.testing.assert_allclose(
      float(terms["loss"]),
      float(terms["reconstruction"]) + float(terms["kl"]), rtol=1e-5)


def test_gvae_noise_has_kusners_standard_deviation():
  # z = mu + sigma * eps with eps ~ N(0, 0.01^2): with sigma = e^1 the
  # spread of z - mu over 20,000 draws is 0.01 e (3% sampling error).
  model = toy_model("gvae")
  mean = tf.fill((10_000, 2), 3.0)
  log_variance = tf.fill((10_000, 2), 2.0)
  spread = tf.math.reduce_std(model.sample_codes(mean, log_variance) - mean)
  assert float(spread) == pytest.approx(0.01 * np.e, rel=0.03)


def test_grae_loss_combines_its_terms_with_the_configured_weights():
  model = toy_model(embedding_weight=0.5, reg="l2", reg_weight=0.01)
  terms = model.loss_terms(toy_batch(), training=False)
  assert set(terms) == set(model.LOSS_TERMS)
  np.testing.assert_allclose(
      float(terms["loss"]),
      float(terms["reconstruction"]) + 0.5 * float(terms["embedding"])
      + 0.01 * float(terms["regularization"]), rtol=1e-5)
  assert float(terms["regularization"]) > 0


@pytest.mark.parametrize("reg", ["none", "gp"])
def test_other_regularisers_train(reg):
  model = toy_model(reg=reg, reg_weight=0.1)
  model.compile(optimizer=keras.optimizers.Adam(1e-3))
  logs = model.train_step(toy_batch())
  penalty = float(logs["regularization"])
  assert penalty == 0.0 if reg == "none" else penalty > 0.0
  assert np.isfinite(float(logs["loss"]))


@pytest.mark.parametrize("model_name", ["gvae", "cvae"])
def test_vaes_report_reconstruction_and_kl(model_name):
  model = toy_model(model_name)
  terms = model.loss_terms(toy_batch(), training=True)
  assert set(terms) == {"loss", "reconstruction", "kl", "cross_entropy"}
  assert float(terms["kl"]) >= 0
  assert model.encode(toy_batch()).shape == (6, 4)


def test_train_step_changes_weights_and_test_step_does_not():
  model = toy_model()
  model.compile(optimizer=keras.optimizers.Adam(1e-2))
  batch = toy_batch()
  before = [w.numpy().copy() for w in model.trainable_weights]
  model.test_step(batch)
  assert all(np.array_equal(a, w.numpy())
             for a, w in zip(before, model.trainable_weights))
  model.train_step(batch)
  assert any(not np.array_equal(a, w.numpy())
             for a, w in zip(before, model.trainable_weights))


def test_config_refuses_a_precision_the_models_cannot_train_in():
  with pytest.raises(errors.ConfigError, match=(
      r"--precision must be one of \['float32', 'mixed_bfloat16'\]; got "
      r"'mixed_float16'")):
    config_lib.make_config("expressions", "grae", precision="mixed_float16")


@NEEDS_BFLOAT16
@pytest.mark.parametrize("model_name", ["grae", "gvae"])
def test_mixed_bfloat16_runs_the_grus_in_bfloat16_with_float32_ends(
    model_name, bfloat16_policy):  # pylint: disable=unused-argument
  model = toy_model(model_name)
  batch = toy_batch()
  grus = [layer for layer in model.decoder.layers
          if isinstance(layer, keras.layers.GRU)]
  assert [gru.compute_dtype for gru in grus] == ["bfloat16"] * 3
  assert {w.dtype for w in model.trainable_weights} == {"float32"}
  # The encoder's heads give the ex-post GMM and the latent terms float32
  # codes, the decoder's the loss and the decoding float32 logits.
  heads = model.encoder(batch)
  heads = heads.values() if isinstance(heads, dict) else [heads]
  assert [head.dtype for head in heads] == [tf.float32] * len(heads)
  assert model.decoder(model.encode(batch)).dtype == tf.float32
  terms = model.loss_terms(batch, training=True)
  assert {term.dtype for term in terms.values()} == {tf.float32}
  assert np.isfinite(float(terms["loss"]))


@pytest.mark.parametrize("model_name, precision", [
    ("grae", "float32"), ("gvae", "float32"), ("cvae", "float32"),
    pytest.param("grae", "mixed_bfloat16", marks=NEEDS_BFLOAT16)])
def test_two_hundred_steps_on_one_batch_cut_the_masked_loss_sharply(
    model_name, precision):
  # The paper-sized expression nets on six toy sentences, each model with
  # its own objective, default weights and learning rate (Adam 1e-3, Kusner
  # et al.'s; at 1e-2 Adam spikes the GVAE's loss every few dozen steps, so
  # where step 200 fell decided the result). Measured in one unit for all:
  # the cross-entropy of the decoded means, masked for rules (uniform
  # guessing costs ln 2 per two-way choice, 3.7 nats per sentence) and
  # unmasked for characters (ln 5 per step, 16.1 nats). Measured on
  # AVX512-BF16 and AVX2 kernels, 3 seeds each: at most 0.02x (grae, gvae)
  # and 0.08x (cvae) of the first value. With the GRUs in bfloat16 the
  # loss is still measured in float32 and must fall as far.
  allowed = losses.unconstrained(5) if model_name == "cvae" else ALLOWED
  config = config_lib.make_config("expressions", model_name, latent_dim=8,
                                  width=1.0, precision=precision)
  with dtype_policy(config.precision):
    model = models.build_model(config, GRAMMAR.max_length, allowed)
  model.compile(optimizer=keras.optimizers.Adam(config.learning_rate))
  batch = toy_batch()

  def decoded_means_nats():
    logits = model.decoder(model.encode(batch), training=False)
    return float(losses.masked_cross_entropy(batch, logits, allowed))

  first = decoded_means_nats()
  for _ in range(200):
    model.train_on_batch(batch)
  last = decoded_means_nats()
  assert last < 0.2 * first, (first, last)


def test_config_round_trip_keeps_the_mask():
  model = toy_model()
  clone = models.GrammarRAE.from_config(model.get_config())
  np.testing.assert_array_equal(clone.allowed.numpy(), ALLOWED)
  assert clone.reg == "l2" and clone.embedding_weight == model.embedding_weight


def test_registries_match_the_flags():
  assert set(models.MODELS) == set(config_lib.MODELS)
  assert set(models.DECODER_REGULARIZERS) == set(config_lib.REGULARIZERS)
