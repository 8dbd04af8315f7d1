"""Token, greedy and sampled reconstruction accuracy on hand-made decoders."""

import keras
import numpy as np
import pytest

from rae_tf.grammar.decoding import symbols as symbols_lib
from rae_tf.grammar.measurements import reconstruction
from rae_tf.grammar.measurements import samples
import grammar_toy  # tests/grammar_toy.py

GRAMMAR = grammar_toy.ToyGrammar()
SYMBOLS = symbols_lib.RuleSymbols(GRAMMAR)


class CodeIsTheString(keras.Model):
  """Encodes a toy sequence to its first rule; decodes code c to logits
  that spell "x" (c = 1: S -> T, T -> 'x') or "x+x" (c = 0: S -> S + T,
  S -> T, T -> 'x', T -> 'x'), with `margin` between the right rule and its
  alternative."""

  def __init__(self, margin):
    super().__init__()
    self.margin = margin
    self.decoder = keras.Sequential([keras.layers.Lambda(self._logits)])

  def encode(self, sequences, training=False):
    return np.asarray(sequences)[:, 0, :2].argmax(-1)[:, None].astype(
        np.float32)  # (B, 1): 0 for S -> S + T first, 1 for S -> T

  def _logits(self, codes):
    x_plus_x = np.zeros((10, 5), np.float32)
    x_plus_x[0, 0] = x_plus_x[1, 1] = self.margin  # S -> S + T, S -> T
    x_plus_x[2, 2] = x_plus_x[3, 2] = self.margin  # T -> 'x' twice
    x_plus_x[4:, 4] = 30.0
    x = np.zeros((10, 5), np.float32)
    x[0, 1] = x[1, 2] = self.margin
    x[2:, 4] = 30.0
    table = keras.ops.convert_to_tensor(np.stack([x_plus_x, x]))
    return keras.ops.take(table, keras.ops.cast(codes[:, 0], "int32"), axis=0)


def sequences_of(*strings):
  return GRAMMAR.one_hot(list(strings))[0]


def test_token_accuracy_counts_decisions_only():
  # "x+x" has 4 rules, each a choice between 2 (S: rules 0/1, T: 2/3):
  # all right with a positive margin, all wrong with a negative one; the
  # padding steps (forced) are not counted.
  sequences = sequences_of("x+x", "x")
  assert reconstruction.token_accuracy(CodeIsTheString(5.0), sequences,
                                       SYMBOLS) == 1.0
  assert reconstruction.token_accuracy(CodeIsTheString(-5.0), sequences,
                                       SYMBOLS) == 0.0


def test_greedy_accuracy_by_hand():
  sequences = sequences_of("x+x", "x", "(x)")
  # "(x)" starts with S -> T like "x", so it decodes to "x": 2 of 3.
  assert reconstruction.greedy_accuracy(CodeIsTheString(5.0), sequences,
                                        SYMBOLS) == pytest.approx(2 / 3)


def test_sampled_accuracy_is_the_probability_of_the_whole_derivation():
  # With margin m each of the k decisions of a string is right with
  # probability p = e^m / (e^m + 1); "x" needs 2, "x+x" 4 (the T after
  # S -> T is a choice too). m = 1: p = 0.7311, so P("x") = p^2 = 0.5344,
  # P("x+x") = p^4 = 0.2857; 10 encodes x 200 draws each.
  model = CodeIsTheString(1.0)
  p = np.exp(1.0) / (np.exp(1.0) + 1)
  result = reconstruction.sampled_accuracy(
      model, sequences_of("x", "x+x"), SYMBOLS, encodes=10, draws=200,
      rng=np.random.default_rng(0))
  assert result["n"] == 2 and (result["encodes"], result["draws"]) == (10, 200)
  assert result["mean"] == pytest.approx((p ** 2 + p ** 4) / 2, abs=0.03)
  assert result["low"] < result["mean"] < result["high"]


def test_valid_mask_calls_the_check_once_per_string():
  calls = []
  mask = samples.valid_mask(np.array([["a", None], ["a", "b"]], object),
                            lambda s: calls.append(s) or s == "a")
  assert mask.tolist() == [[True, False], [True, False]]
  assert sorted(calls) == ["a", "b"]


def test_a_sample_set_stops_at_the_target_valid_count():
  # Codes 1 decode to "x" (valid here), codes 0 to "x+x" (not): draws are
  # near-deterministic with margin 30.
  model = CodeIsTheString(30.0)
  codes = np.array([[0], [1], [0], [1], [1], [0]], np.float32)
  drawn = samples.sample_set(model.decoder, codes, SYMBOLS, lambda s: s == "x",
                             target=2, rng=np.random.default_rng(0))
  assert drawn == ["x+x", "x", "x+x", "x"]
  everything = samples.sample_set(model.decoder, codes, SYMBOLS,
                                  lambda s: s == "x", target=5,
                                  rng=np.random.default_rng(0))
  assert len(everything) == 6  # fewer than 5 valid: all codes used
