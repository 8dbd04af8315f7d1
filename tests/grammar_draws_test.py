"""From codes to strings: batched decoder passes, K draws, Kusner's choice."""

import keras
import numpy as np
import pytest

from rae_tf.grammar.decoding import draws
from rae_tf.grammar.decoding import symbols as symbols_lib
import grammar_toy  # tests/grammar_toy.py


def test_most_frequent_valid_by_hand():
  # "x" drawn 3 times but invalid; "(x)" twice, "x+x" twice: a tie, the
  # first drawn wins; 4 valid draws in all.
  drawn = ["x", "(x)", "x", None, "x+x", "(x)", "x", "x+x"]
  is_valid = lambda s: s != "x"
  assert draws.most_frequent_valid(drawn, is_valid) == ("(x)", 4)
  assert draws.most_frequent_valid(["x+x", "(x)", "(x)"], is_valid) == (
      "(x)", 3)


def test_most_frequent_valid_is_none_when_no_draw_is_valid():
  assert draws.most_frequent_valid([None, "x", None], lambda s: False) == (
      None, 0)
  assert draws.most_frequent_valid([], lambda s: True) == (None, 0)


def test_validity_is_judged_once_per_distinct_string():
  calls = []
  draws.most_frequent_valid(["a", "b", "a", "a", "b"],
                            lambda s: calls.append(s) or True)
  assert sorted(calls) == ["a", "b"]


class FixedLogits(keras.Model):
  """A decoder whose logits favour S -> T, T -> 'x' for code 0 and
  S -> S + T, S -> T, T -> 'x', T -> 'x' ("x+x") for code 1."""

  def call(self, codes, training=False):
    logits = np.full((2, 10, 5), -30.0, np.float32)
    logits[:, :, 4] = 0.0
    logits[0, 0, 1] = logits[0, 1, 2] = 30.0
    logits[1, 0, 0] = logits[1, 1, 1] = 30.0
    logits[1, 2:4, 2] = 30.0
    index = keras.ops.cast(codes[:, 0], "int32")
    return keras.ops.take(keras.ops.convert_to_tensor(logits), index, axis=0)


@pytest.mark.parametrize("rows", [draws.MAX_ROWS, 7])
def test_decode_codes_gives_one_row_of_draws_per_code(monkeypatch, rows):
  monkeypatch.setattr(draws, "MAX_ROWS", rows)  # 7: chunks of 2 codes
  symbols = symbols_lib.RuleSymbols(grammar_toy.ToyGrammar())
  codes = np.array([[0.0], [1.0], [1.0], [0.0], [1.0]], np.float32)
  decoded = draws.decode_codes(FixedLogits(), codes, symbols,
                               np.random.default_rng(0), draws=3)
  assert decoded.shape == (5, 3)
  assert (decoded[[0, 3]] == "x").all() and (decoded[[1, 2, 4]] == "x+x").all()
  greedy = draws.greedy_strings(FixedLogits(), codes, symbols)
  assert greedy == ["x", "x+x", "x+x", "x", "x+x"]
