"""The sequence length T of a run, taken from its strings.

The fixed lengths (`smiles_rules.MAX_LENGTH` = 277 rules, Kusner et al.'s
for ZINC; 120 characters) are far above what MOSES molecules need (the
first 2,000: 106 rules at the median, 136 at the 99th percentile, 153 at
most), and every decoder step costs the three GRUs a step. With
--length_percentile=p, T is the p-th percentile of the lengths of the
strings that can be encoded (rules of their derivation, or characters),
rounded up and at most the fixed length; longer strings are dropped (the
encoders skip and count them).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np

from rae_tf.grammar.decoding import symbols as symbols_lib
from rae_tf.grammar.languages import grammars


@dataclasses.dataclass(frozen=True)
class LengthChoice:
  """How T was chosen, as results.json reports it.

  Attributes:
    length: T.
    percentile: p.
    longest: the longest encodable string's length.
    measured: how many strings' lengths were measured (the encodable ones).
    dropped: how many of them are longer than T.
  """

  length: int
  percentile: float
  longest: int
  measured: int
  dropped: int


def symbol_lengths(symbols, strings: Sequence[str]) -> np.ndarray:
  """(N',) int lengths of the strings `symbols` can encode at any length.

  Rules of the derivation (`symbols_lib.RuleSymbols`) or characters within the
  vocabulary (`symbols_lib.CharacterSymbols`); the others are left out.
  """
  if isinstance(symbols, symbols_lib.RuleSymbols):
    lengths = []
    for string in strings:
      try:
        lengths.append(len(symbols.grammar.derivation(string)))
      except grammars.GrammarError:
        continue
    return np.array(lengths, np.int64)
  vocabulary = set(symbols.vocabulary.characters[:-1])
  return np.array([len(s) for s in strings if set(s) <= vocabulary],
                  np.int64)


def choose(symbols, strings: Sequence[str],
           percentile: float) -> tuple[object, LengthChoice]:
  """Symbols of length T = ceil(p-th percentile), at most the fixed T.

  Args:
    symbols: a RuleSymbols or CharacterSymbols of the fixed length.
    strings: the run's strings.
    percentile: p in (0, 100].

  Returns:
    (symbols of length T, the LengthChoice).

  Raises:
    ValueError: no string can be encoded.
  """
  lengths = symbol_lengths(symbols, strings)
  if not len(lengths):
    raise ValueError("none of the strings can be encoded")
  length = min(max(1, int(math.ceil(np.percentile(lengths, percentile)))),
               symbols.sequence_length)
  return symbols.with_max_length(length), LengthChoice(
      length=length, percentile=percentile, longest=int(lengths.max()),
      measured=len(lengths), dropped=int(np.sum(lengths > length)))
