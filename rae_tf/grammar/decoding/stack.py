"""From latent codes to strings: grammar-masked stack decoding (numpy).

Rules (GVAE, GRAE; Kusner et al. 2017, algorithm 1). Each sequence keeps a
stack of non-terminals, initially [start]. At step t:
  pop the top symbol k (the empty stack yields "Nothing"),
  restrict the logits to the rules of k (masks[k]; Nothing allows only the
  padding rule), take the argmax (or a Gumbel-max sample),
  push the rule's right-hand-side non-terminals in reverse order, so that
  the leftmost one is expanded next.
The chosen rules form a leftmost derivation, so every sequence whose stack
is empty after T steps is a string of the grammar; sequences with symbols
left on the stack are unfinished and decode to None. All sequences of a batch
advance together: one vectorised numpy step per t.

Characters (CVAE): the argmax (or a sample) per step, no mask; the string
may or may not be valid, which is the task's to judge.

`RuleSymbols` / `CharacterSymbols` wrap a grammar / character vocabulary
behind one interface (one-hot encoding, allowed-rule matrix, decoding);
`tasks.SYMBOLS` picks one per `models.ModelSpec.symbols`.
"""

from __future__ import annotations

import dataclasses

from typing import Optional, Sequence

import keras
import numpy as np

from rae_tf.grammar.models import losses


def _choose(logits: np.ndarray, mask: Optional[np.ndarray],
            rng: Optional[np.random.Generator]) -> np.ndarray:
  """argmax over the last axis of (masked) logits, or a Gumbel-max sample.

  Args:
    logits: (N, S).
    mask: (N, S) 0/1 or None (everything allowed).
    rng: None for the argmax; a generator to sample from softmax(logits)
      restricted to the mask.

  Returns:
    (N,) int indices, always inside the mask.
  """
  scores = np.asarray(logits, np.float64)
  if rng is not None:
    scores = scores + rng.gumbel(size=scores.shape)
  if mask is not None:
    scores = np.where(mask > 0, scores, -np.inf)
  return np.argmax(scores, axis=-1)


def _push_table(rhs_nonterminals: Sequence[Sequence[int]]):
  """(R, P) right-hand-side non-terminals reversed (-1 padded), (R,) counts."""
  longest = max([len(rhs) for rhs in rhs_nonterminals] + [1])
  table = np.full((len(rhs_nonterminals), longest), -1, np.int64)
  for rule, rhs in enumerate(rhs_nonterminals):
    table[rule, :len(rhs)] = rhs[::-1]
  counts = np.array([len(rhs) for rhs in rhs_nonterminals], np.int64)
  return table, counts


def decode_rules(logits: np.ndarray, grammar,
                 rng: Optional[np.random.Generator] = None):
  """Stack decoding of a batch of rule logits.

  Args:
    logits: (N, T, R) decoder logits.
    grammar: a `grammars.Grammar` (masks, rhs_nonterminals, start, nothing).
    rng: None for greedy (argmax) decoding; a generator to sample.

  Returns:
    (rules (N, T) int, finished (N,) bool): the chosen rules and whether the
    stack was empty after T steps (a complete derivation).
  """
  logits = np.asarray(logits)
  count, steps, _ = logits.shape
  table, counts = _push_table(grammar.rhs_nonterminals)
  masks = np.asarray(grammar.masks)
  # The stack never holds more than 1 + T * (longest rhs - 1) symbols.
  stack = np.full((count, 1 + steps * table.shape[1]), grammar.nothing,
                  np.int64)
  stack[:, 0] = grammar.start
  height = np.ones(count, np.int64)
  rows = np.arange(count)
  rules = np.empty((count, steps), np.int64)
  for t in range(steps):
    active = height > 0
    top = np.where(active, stack[rows, np.maximum(height - 1, 0)],
                   grammar.nothing)  # (N,)
    chosen = _choose(logits[:, t], masks[top], rng)  # (N,)
    rules[:, t] = chosen
    height -= active  # pop
    pushed = np.where(active, counts[chosen], 0)  # (N,)
    slot = np.arange(table.shape[1])[None]  # (1, P)
    row, column = np.nonzero(slot < pushed[:, None])
    stack[row, height[row] + column] = table[chosen[row], column]
    height += pushed
  return rules, height == 0


def rules_to_strings(rules: np.ndarray, finished: np.ndarray,
                     grammar) -> list[Optional[str]]:
  """The string of each finished derivation, None for unfinished ones.

  Args:
    rules: (N, T) rule indices from `decode_rules`.
    finished: (N,) bool.
    grammar: the grammar the rules index.
  """
  strings = []
  for sequence, done in zip(rules, finished):
    if not done:
      strings.append(None)
      continue
    derivation = [int(r) for r in sequence if r != grammar.padding_rule]
    strings.append(grammar.to_string(derivation))
  return strings


class RuleSymbols:
  """Production-rule sequences of a grammar (GVAE, GRAE)."""

  def __init__(self, grammar):
    self.grammar = grammar
    self.sequence_length = grammar.max_length
    self.allowed = losses.allowed_rules(grammar.masks, grammar.lhs)

  def with_max_length(self, length: int) -> "RuleSymbols":
    """The same grammar over sequences of `length` rules."""
    return RuleSymbols(dataclasses.replace(self.grammar, max_length=length))

  def one_hot(self, strings: Sequence[str]):
    """(N, T, R) one-hot rule sequences and the indices of the kept strings."""
    return self.grammar.one_hot(strings)

  def decode(self, logits: np.ndarray,
             rng: Optional[np.random.Generator] = None):
    """(N, T, R) logits -> (rules (N, T), strings with None if unfinished)."""
    rules, finished = decode_rules(logits, self.grammar, rng)
    return rules, rules_to_strings(rules, finished, self.grammar)


class CharacterSymbols:
  """Character sequences (CVAE): no grammar, no mask."""

  def __init__(self, vocabulary):
    self.vocabulary = vocabulary
    self.sequence_length = vocabulary.max_length
    self.allowed = losses.unconstrained(len(vocabulary.characters))

  def with_max_length(self, length: int) -> "CharacterSymbols":
    """The same characters over sequences of `length` characters."""
    return CharacterSymbols(
        dataclasses.replace(self.vocabulary, max_length=length))

  def one_hot(self, strings: Sequence[str]):
    """(N, T, C) one-hot characters and the indices of the kept strings."""
    return self.vocabulary.one_hot(strings)

  def decode(self, logits: np.ndarray,
             rng: Optional[np.random.Generator] = None):
    """(N, T, C) logits -> (token ids (N, T), strings)."""
    logits = np.asarray(logits)
    tokens = _choose(logits.reshape(-1, logits.shape[-1]), None, rng)
    tokens = tokens.reshape(logits.shape[:2])
    return tokens, [self.vocabulary.to_string(row) for row in tokens]


def decode_codes(decoder: keras.Model, codes: np.ndarray, symbols,
                 rng: Optional[np.random.Generator] = None,
                 batch_size: int = 500):
  """Decodes (N, d) codes: the decoder's logits, then `symbols.decode`.

  Args:
    decoder: (B, d) -> (B, T, S) logits.
    codes: (N, d), N >= 1.
    symbols: a RuleSymbols or CharacterSymbols.
    rng: None for greedy decoding, a generator to sample.
    batch_size: codes per decoder call.

  Returns:
    (sequences (N, T) int, strings list of N str or None).
  """
  codes = np.asarray(codes, np.float32)
  logits = np.concatenate(
      [decoder(codes[i:i + batch_size], training=False).numpy()
       for i in range(0, len(codes), batch_size)])  # (N, T, S)
  return symbols.decode(logits, rng)
