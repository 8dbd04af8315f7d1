"""The sequence length taken from the data (rae_tf.grammar.languages.sequence_length)."""

import numpy as np
import pytest

from rae_tf.grammar.decoding import symbols as symbols_lib
from rae_tf.grammar.languages import characters
from rae_tf.grammar.languages import grammars
from rae_tf.grammar.languages import sequence_length


def character_symbols():
  return symbols_lib.CharacterSymbols(characters.characters_for("expressions"))


def test_percentile_of_character_lengths_worked_by_hand():
  # Lengths 1, 3, 5, 7, 13; the 80th percentile sits at
  # rank 0.8 * 4 = 3.2 of the sorted lengths: 7 + 0.2 * (13 - 7) = 8.2,
  # rounded up to 9, so the 13-character string is dropped.
  strings = ["x", "x+1", "x+1+2", "x+1+2+3", "sin(x)+x*2/33"]
  assert [len(s) for s in strings] == [1, 3, 5, 7, 13]
  symbols, choice = sequence_length.choose(character_symbols(), strings, 80)
  assert (choice.length, choice.longest, choice.measured, choice.dropped) == (
      9, 13, 5, 1)
  assert symbols.sequence_length == 9
  sequences, kept = symbols.one_hot(strings)
  assert sequences.shape == (4, 9, 15) and kept.tolist() == [0, 1, 2, 3]


def test_rule_lengths_are_the_derivations_and_unparseable_strings_skipped():
  symbols = symbols_lib.RuleSymbols(grammars.grammar_for("expressions"))
  # "x": S -> T, T -> 'x' (2 rules); "x+1": S -> S '+' T, S -> T, T -> 'x',
  # T -> '1' (4 rules); "sin(x)": S -> T, T -> 'sin(' S ')', S -> T,
  # T -> 'x' (4 rules); "x+" does not parse.
  lengths = sequence_length.symbol_lengths(symbols, ["x", "x+1", "sin(x)",
                                                     "x+"])
  assert lengths.tolist() == [2, 4, 4]
  shorter, choice = sequence_length.choose(symbols, ["x", "x+1", "sin(x)"],
                                           100)
  assert (choice.length, choice.dropped) == (4, 0)
  sequences, _ = shorter.one_hot(["x", "x+1"])
  assert sequences.shape == (2, 4, symbols.grammar.num_rules)
  # The grammar is the same, only T changes.
  assert shorter.grammar.rules == symbols.grammar.rules


def test_the_fixed_length_caps_the_choice():
  long = "x" + "+1" * 20  # 41 characters, above the fixed 19
  _, choice = sequence_length.choose(character_symbols(), ["x", long], 100)
  assert (choice.length, choice.longest, choice.dropped) == (19, 41, 1)


def test_no_encodable_string_is_an_error():
  with pytest.raises(ValueError, match="none of the strings"):
    sequence_length.choose(character_symbols(), ["?", "@@"], 50)
  assert isinstance(sequence_length.symbol_lengths(character_symbols(), []),
                    np.ndarray)
