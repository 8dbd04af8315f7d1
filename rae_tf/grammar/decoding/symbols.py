"""What one sequence step is: a production rule or a character.

`RuleSymbols` (GVAE, GRAE) and `CharacterSymbols` (CVAE) put a grammar or a
character vocabulary behind one interface: one-hot encoding of strings, the
(S, S) allowed-symbol matrix of the loss, and decoding of (N, T, S) logits
to strings, greedy or `draws` samples per code. Characters have no mask:
each step is the argmax (or a draw) of the plain softmax, and whether the
string is valid is the task's to judge. `tasks.SYMBOLS` picks one per
`autoencoders.ModelSpec.symbols`.
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

import numpy as np

from rae_tf.grammar.decoding import stack
from rae_tf.grammar.models import losses


class RuleSymbols:
  """Production-rule sequences of a grammar (GVAE, GRAE)."""

  def __init__(self, grammar):
    self.grammar = grammar
    self.sequence_length = grammar.max_length
    self.allowed = losses.allowed_rules(grammar.masks, grammar.lhs)
    self.padding = grammar.padding_rule

  def with_max_length(self, length: int) -> "RuleSymbols":
    """The same grammar over sequences of `length` rules."""
    return RuleSymbols(dataclasses.replace(self.grammar, max_length=length))

  def one_hot(self, strings: Sequence[str]):
    """(N, T, R) one-hot rule sequences and the indices of the kept strings."""
    return self.grammar.one_hot(strings)

  def decode(self, logits: np.ndarray,
             rng: Optional[np.random.Generator] = None, draws: int = 1):
    """(N, T, R) logits -> (rules (N * draws, T), strings, None if
    unfinished), rows code by code (see `stack.decode_rules`)."""
    rules, finished = stack.decode_rules(logits, self.grammar, rng, draws)
    return rules, stack.rules_to_strings(rules, finished, self.grammar)


class CharacterSymbols:
  """Character sequences (CVAE): no grammar, no mask."""

  def __init__(self, vocabulary):
    self.vocabulary = vocabulary
    self.sequence_length = vocabulary.max_length
    self.allowed = losses.unconstrained(len(vocabulary.characters))
    self.padding = vocabulary.padding

  def with_max_length(self, length: int) -> "CharacterSymbols":
    """The same characters over sequences of `length` characters."""
    return CharacterSymbols(
        dataclasses.replace(self.vocabulary, max_length=length))

  def one_hot(self, strings: Sequence[str]):
    """(N, T, C) one-hot characters and the indices of the kept strings."""
    return self.vocabulary.one_hot(strings)

  def decode(self, logits: np.ndarray,
             rng: Optional[np.random.Generator] = None, draws: int = 1):
    """(N, T, C) logits -> (token ids (N * draws, T), strings), rows code by
    code; greedy when `rng` is None (then draws must be 1)."""
    if draws < 1 or (rng is None and draws != 1):
      raise ValueError(f"draws must be 1 for greedy decoding and >= 1 when "
                       f"sampling; got {draws} with rng={rng!r}")
    logits = np.asarray(logits)
    if rng is None:
      tokens = logits.argmax(axis=-1)
    else:
      owner = np.repeat(np.arange(len(logits)), draws)
      everything = np.ones(logits.shape[1:])  # (T, C)
      last = np.full(len(owner), logits.shape[-1] - 1)
      tokens = np.stack([
          stack.draw_from_cumulative(
              stack.cumulative_masked_softmax(logits[:, t], everything[t]),
              owner, rng, last)
          for t in range(logits.shape[1])], axis=1)  # (N * draws, T)
    return tokens, [self.vocabulary.to_string(row) for row in tokens]
