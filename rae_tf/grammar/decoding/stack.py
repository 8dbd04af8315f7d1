"""Grammar-masked stack decoding of rule logits (numpy), greedy or sampled.

Rules (GVAE, GRAE; Kusner et al. 2017, algorithm 1). Each sequence keeps a
stack of non-terminals, initially [start]. At step t:
  pop the top symbol k (the empty stack yields "Nothing"),
  restrict the logits to the rules of k (masks[k]; Nothing allows only the
  padding rule) and take the argmax (greedy) or draw a rule from the masked
  softmax p(r) = exp(l_r) [r allowed] / sum_r' exp(l_r') [r' allowed],
  push the rule's right-hand-side non-terminals in reverse order, so that
  the leftmost one is expanded next.
The chosen rules form a leftmost derivation, so every sequence whose stack
is empty after T steps is a string of the grammar; sequences with symbols
left on the stack are unfinished and decode to None.

Sampling draws `draws` sequences per code from one set of logits, all
advancing together, one vectorised numpy step per t. Kusner et al. draw by
Gumbel-max (argmax of log masked probabilities + Gumbel noise); here each
draw inverts the cumulative masked softmax at one uniform number, which
samples the same distribution with one random number per draw instead of
one per rule. The cumulative sums are computed once per (code, popped
symbol) pair present at the step and searched, not copied, per draw, so
500 draws of one code cost little more than one.
"""

from __future__ import annotations

from typing import Optional

import numpy as np


def cumulative_masked_softmax(logits: np.ndarray,
                              masks: np.ndarray) -> np.ndarray:
  """Unnormalised cumulative masked softmax, float64.

  Args:
    logits: (P, S) logits.
    masks: (P, S) 0/1, each row with at least one 1.

  Returns:
    (P, S) c with c[:, s] = sum_{s' <= s} exp(l_s' - max) [s' allowed]:
    non-decreasing rows whose last entry (>= 1) is the normaliser.
  """
  allowed = masks > 0
  scores = np.where(allowed, np.asarray(logits, np.float64), -np.inf)
  scores -= scores.max(axis=1, keepdims=True)
  return np.cumsum(np.exp(scores), axis=1)  # exp(-inf) = 0 off the mask


def draw_from_cumulative(cumulative: np.ndarray, rows: np.ndarray,
                         rng: np.random.Generator,
                         last_allowed: np.ndarray) -> np.ndarray:
  """One index per row, P(s) = (c_s - c_{s-1}) / c_last (inverse CDF).

  Args:
    cumulative: (P, S) rows of `cumulative_masked_softmax`.
    rows: (N,) which row of `cumulative` each draw uses.
    rng: the generator.
    last_allowed: (N,) the last index with positive mass per draw; guards
      the float rounding of u up to the row's end.

  Returns:
    (N,) int64 indices, of entries with positive mass (entries below
    ~1e-11 of their row's mass are out of reach of the float64 search).
  """
  # One search in the rows laid end to end, row p shifted to [p, p + 1]:
  # the first entry above p + u is the draw of u in row p.
  normalised = cumulative / cumulative[:, -1:]
  shifted = (normalised + np.arange(len(cumulative))[:, None]).ravel()
  found = np.searchsorted(shifted, rows + rng.random(len(rows)),
                          side="right")
  return np.minimum(found - rows * cumulative.shape[1], last_allowed)


def _push_table(rhs_nonterminals):
  """(R, P) right-hand-side non-terminals reversed (-1 padded), (R,) counts."""
  longest = max([len(rhs) for rhs in rhs_nonterminals] + [1])
  table = np.full((len(rhs_nonterminals), longest), -1, np.int16)
  for rule, rhs in enumerate(rhs_nonterminals):
    table[rule, :len(rhs)] = rhs[::-1]
  counts = np.array([len(rhs) for rhs in rhs_nonterminals], np.int64)
  return table, counts


def _choose_rules(logits_t: np.ndarray, owner: np.ndarray, top: np.ndarray,
                  masks: np.ndarray, last_allowed: np.ndarray,
                  rng: Optional[np.random.Generator]) -> np.ndarray:
  """(rows,) rules for the popped symbols `top` of rows drawn from `owner`."""
  if rng is None:
    scores = np.where(masks[top] > 0, logits_t[owner], -np.inf)
    return np.argmax(scores, axis=1)
  num_symbols = len(masks)
  pairs, inverse = np.unique(owner * num_symbols + top, return_inverse=True)
  cumulative = cumulative_masked_softmax(
      logits_t[pairs // num_symbols], masks[pairs % num_symbols])
  return draw_from_cumulative(cumulative, inverse, rng, last_allowed[top])


def decode_rules(logits: np.ndarray, grammar,
                 rng: Optional[np.random.Generator] = None,
                 draws: int = 1) -> tuple[np.ndarray, np.ndarray]:
  """Stack decoding of a batch of rule logits.

  Args:
    logits: (N, T, R) decoder logits.
    grammar: a `grammars.Grammar` (masks, rhs_nonterminals, start, nothing).
    rng: None for greedy (argmax) decoding; a generator to sample.
    draws: sequences sampled per code (1 when greedy).

  Returns:
    (rules (N * draws, T) int64, finished (N * draws,) bool), rows code by
    code (row n * draws + k is draw k of code n): the chosen rules and
    whether the stack was empty after T steps (a complete derivation).

  Raises:
    ValueError: draws < 1, or draws > 1 without a generator.
  """
  if draws < 1 or (rng is None and draws != 1):
    raise ValueError(f"draws must be 1 for greedy decoding and >= 1 when "
                     f"sampling; got {draws} with rng={rng!r}")
  logits = np.asarray(logits)
  count, steps, _ = logits.shape
  rows = count * draws
  owner = np.repeat(np.arange(count), draws)  # (rows,) code of each row
  table, counts = _push_table(grammar.rhs_nonterminals)
  masks = np.asarray(grammar.masks)
  last_allowed = masks.shape[1] - 1 - np.argmax(masks[:, ::-1] > 0, axis=1)
  # The stack never holds more than 1 + T * (longest rhs - 1) symbols.
  stack = np.full((rows, 1 + steps * max(table.shape[1] - 1, 1)),
                  grammar.nothing, np.int16)
  stack[:, 0] = grammar.start
  height = np.ones(rows, np.int64)
  index = np.arange(rows)
  slot = np.arange(table.shape[1])[None]  # (1, P)
  rules = np.empty((rows, steps), np.int64)
  for t in range(steps):
    active = height > 0
    top = np.where(active, stack[index, np.maximum(height - 1, 0)],
                   grammar.nothing).astype(np.int64)  # (rows,)
    chosen = _choose_rules(logits[:, t], owner, top, masks, last_allowed, rng)
    rules[:, t] = chosen
    height -= active  # pop
    pushed = np.where(active, counts[chosen], 0)  # (rows,)
    row, column = np.nonzero(slot < pushed[:, None])
    stack[row, height[row] + column] = table[chosen[row], column]
    height += pushed
  return rules, height == 0


def rules_to_strings(rules: np.ndarray, finished: np.ndarray,
                     grammar) -> list[Optional[str]]:
  """The string of each finished derivation, None for unfinished ones.

  Identical rows (frequent among draws of one code) are converted once.

  Args:
    rules: (N, T) rule indices from `decode_rules`.
    finished: (N,) bool.
    grammar: the grammar the rules index.
  """
  converted: dict[bytes, str] = {}
  padding = grammar.padding_rule
  strings = []
  for sequence, done in zip(rules, finished):
    if not done:
      strings.append(None)
      continue
    key = sequence.tobytes()
    if key not in converted:
      converted[key] = grammar.to_string(
          sequence[sequence != padding].tolist())
    strings.append(converted[key])
  return strings
