"""Context-free grammars as rule tables; strings <-> production-rule sequences.

A `Grammar` has R production rules over K non-terminals. A string is encoded
as its leftmost derivation: the rules applied, each to the leftmost remaining
non-terminal, starting from `nonterminals[0]`; T steps at most, padded with the
rule `Nothing -> None` (rules[-1]). Decoders pop a stack of non-terminals and
pick a rule allowed by `masks[popped]` (the `Nothing` row allows only the
padding rule, for an empty stack).

Two grammars, registered in `GRAMMARS`: "expressions" (12 rules, T = 15,
`expression_grammar.py`) and "molecules" (SMILES, 76 rules, T = 277,
`smiles_grammar.py`). Both are unambiguous, so a string has one derivation.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable, Sequence

from absl import logging
import numpy as np

from rae_tf import errors
from rae_tf.grammar.languages import expression_grammar
from rae_tf.grammar.languages import smiles_grammar

PADDING_RULE = "Nothing -> None"


class GrammarError(errors.UserError, ValueError):
  """A string the grammar cannot parse, one longer than its max_length, or a
  rule sequence that is not a complete derivation."""


@dataclasses.dataclass(frozen=True, eq=False)
class Grammar:
  """Production rules, their masks, and the parser of one task's strings.

  Attributes:
    name: "expressions" or "molecules".
    rules: (R,) readable rules, e.g. "S -> S '+' T"; rules[-1] is the padding
      rule "Nothing -> None".
    nonterminals: (K,) symbols in order of first appearance as a left-hand
      side: nonterminals[0] is the start symbol, nonterminals[-1] "Nothing".
    lhs: (R,) int32, the non-terminal index of each rule's left-hand side.
    rhs_nonterminals: per rule, the indices of its right side's non-terminals,
      left to right (a decoder pushes them in reverse).
    masks: (K, R) float32; masks[k, r] = 1 iff rule r rewrites non-terminal k.
    max_length: T, the most rules a string's derivation may have.
    rhs: per rule, its right side: a non-terminal index (int) or a terminal's
      text (str) per symbol.
    tokenizer: string -> terminals; raises ValueError.
    parser: terminals -> rule indices of the leftmost derivation; raises
      ValueError.
  """

  name: str
  rules: tuple[str, ...]
  nonterminals: tuple[str, ...]
  lhs: np.ndarray
  rhs_nonterminals: tuple[tuple[int, ...], ...]
  masks: np.ndarray
  max_length: int
  rhs: tuple[tuple[int | str, ...], ...]
  tokenizer: Callable[[str], list[str]] = dataclasses.field(repr=False)
  parser: Callable[[list[str]], list[int]] = dataclasses.field(repr=False)

  @property
  def num_rules(self) -> int:
    return len(self.rules)

  @property
  def padding_rule(self) -> int:
    return len(self.rules) - 1

  @property
  def start(self) -> int:
    return 0

  @property
  def nothing(self) -> int:
    return len(self.nonterminals) - 1

  def tokenize(self, string: str) -> list[str]:
    """Splits `string` into this grammar's terminals.

    Raises:
      GrammarError: a character that starts no terminal.
    """
    try:
      return self.tokenizer(string)
    except ValueError as e:
      raise GrammarError(f"cannot tokenize {string!r} for the {self.name} "
                         f"grammar: {e}") from None

  def derivation(self, string: str) -> list[int]:
    """Like `to_rules`, without the `max_length` limit."""
    tokens = self.tokenize(string)
    try:
      return self.parser(tokens)
    except ValueError as e:
      raise GrammarError(f"cannot parse {string!r} with the {self.name} "
                         f"grammar: {e}") from None

  def to_rules(self, string: str) -> list[int]:
    """Returns the leftmost derivation of `string` as rule indices.

    Raises:
      GrammarError: `string` is not in the grammar, or needs more than
        `max_length` rules.
    """
    rules = self.derivation(string)
    if len(rules) > self.max_length:
      raise GrammarError(
          f"{string!r} needs {len(rules)} production rules; the {self.name} "
          f"grammar allows at most {self.max_length}")
    return rules

  def to_string(self, rules) -> str:
    """Applies a leftmost derivation and returns the string it derives.

    Args:
      rules: (T,) rule indices, or (T, R) one-hot rows or scores (argmax per
        step). Reading stops at the first padding rule.

    Raises:
      GrammarError: a rule does not rewrite the non-terminal it meets, a rule
        follows a finished derivation, or non-terminals are left unexpanded.
    """
    rules = np.asarray(rules)
    if rules.ndim == 2:
      rules = rules.argmax(axis=-1)
    if rules.ndim != 1:
      raise GrammarError(f"expected (T,) rule indices or (T, {self.num_rules})"
                         f" rows; got shape {rules.shape}")
    lhs, rhs, padding = self._lhs_list, self.rhs, self.padding_rule
    stack: list[int | str] = [self.start]  # top at the end
    out: list[str] = []
    for step, rule in enumerate(rules.tolist()):
      while stack and stack[-1].__class__ is str:
        out.append(stack.pop())
      if rule == padding:
        break
      if not 0 <= rule < padding:
        raise GrammarError(f"step {step}: rule index {rule} is outside "
                           f"[0, {self.num_rules})")
      if not stack:
        raise GrammarError(f"step {step}: rule {self.rules[rule]!r} follows a "
                           "finished derivation; expected padding")
      symbol = stack.pop()
      if lhs[rule] != symbol:
        raise GrammarError(
            f"step {step}: rule {self.rules[rule]!r} cannot rewrite "
            f"{self.nonterminals[symbol]}")
      stack.extend(reversed(rhs[rule]))
    while stack and stack[-1].__class__ is str:
      out.append(stack.pop())
    if stack:
      left = [self.nonterminals[s] for s in stack if isinstance(s, int)]
      raise GrammarError(f"incomplete derivation: non-terminals {left[::-1]} "
                         f"left unexpanded after {len(rules)} steps")
    return "".join(out)

  @functools.cached_property
  def _lhs_list(self) -> list[int]:
    return self.lhs.tolist()

  def to_rule_array(self, strings: Sequence[str]
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Encodes strings as padded rule indices, skipping the ones it cannot.

    Unparseable strings and those needing more than `max_length` rules are
    skipped, counted and reported in one log line.

    Returns:
      (N, T) int32 rule indices padded with `padding_rule`, and the (N,)
      int64 indices in `strings` of the rows kept.
    """
    rows, kept = [], []
    unparseable, too_long, first_error = 0, 0, None
    for index, string in enumerate(strings):
      try:
        rules = self.derivation(string)
      except GrammarError as e:
        unparseable += 1
        first_error = first_error or str(e)
        continue
      if len(rules) > self.max_length:
        too_long += 1
        continue
      rows.append(rules)
      kept.append(index)
    if unparseable or too_long:
      logging.warning(
          "%s grammar: skipped %d of %d strings: %d unparseable, %d longer "
          "than %d rules%s", self.name, unparseable + too_long, len(strings),
          unparseable, too_long, self.max_length,
          f" (first: {first_error})" if first_error else "")
    array = np.full((len(rows), self.max_length), self.padding_rule, np.int32)
    for row, rules in zip(array, rows):
      row[:len(rules)] = rules
    return array, np.asarray(kept, np.int64)

  def one_hot(self, strings: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """`to_rule_array` as one-hot rows: ((N, T, R) float32, (N,) kept)."""
    array, kept = self.to_rule_array(strings)
    return np.eye(self.num_rules, dtype=np.float32)[array], kept

  def to_nltk(self):
    """This grammar as an `nltk.CFG` (the tests' independent parser)."""
    import nltk  # pylint: disable=g-import-not-at-top
    return nltk.CFG.fromstring("\n".join(self.rules))


def _read_rule(rule: str) -> tuple[str, list[str]]:
  """'A -> B 'x' C' -> ('A', ['B', "'x'", 'C']); 'None' stands for nothing."""
  lhs, arrow, rhs = rule.partition(" -> ")
  if not arrow or not lhs:
    raise ValueError(f"rule {rule!r} is not of the form 'A -> ...'")
  return lhs, [s for s in rhs.split() if s != "None"]


def build(name: str, rules: Sequence[str], max_length: int,
          tokenizer: Callable[[str], list[str]],
          parser: Callable[[list[str]], list[int]]) -> Grammar:
  """Builds the rule tables of a grammar given as readable rules.

  Raises:
    ValueError: the padding rule is not last, or a right side names a
      non-terminal that has no rule.
  """
  if rules[-1] != PADDING_RULE:
    raise ValueError(f"the last rule must be {PADDING_RULE!r}; got "
                     f"{rules[-1]!r}")
  read = [_read_rule(rule) for rule in rules]
  nonterminals = tuple(dict.fromkeys(lhs for lhs, _ in read))
  index = {symbol: k for k, symbol in enumerate(nonterminals)}
  rhs = []
  for rule, (_, symbols) in zip(rules, read):
    side = []
    for symbol in symbols:
      if symbol.startswith("'") and symbol.endswith("'") and len(symbol) > 1:
        side.append(symbol[1:-1])
      elif symbol in index:
        side.append(index[symbol])
      else:
        raise ValueError(f"rule {rule!r}: non-terminal {symbol!r} has no rule")
    rhs.append(tuple(side))
  lhs = np.array([index[lhs] for lhs, _ in read], np.int32)
  masks = np.zeros((len(nonterminals), len(rules)), np.float32)
  masks[lhs, np.arange(len(rules))] = 1.0
  lhs.flags.writeable = False
  masks.flags.writeable = False
  return Grammar(
      name=name, rules=tuple(rules), nonterminals=nonterminals, lhs=lhs,
      rhs_nonterminals=tuple(
          tuple(s for s in side if isinstance(s, int)) for side in rhs),
      masks=masks, max_length=max_length, rhs=tuple(rhs), tokenizer=tokenizer,
      parser=parser)


GRAMMARS = {
    "expressions": expression_grammar,
    "molecules": smiles_grammar,
}


@functools.cache
def grammar_for(task: str) -> Grammar:
  """The grammar of `task` ("expressions" or "molecules"), built once.

  Raises:
    ValueError: an unknown task.
  """
  if task not in GRAMMARS:
    raise ValueError(f"task must be one of {sorted(GRAMMARS)}; got {task!r}")
  module = GRAMMARS[task]
  return build(task, module.RULES, module.MAX_LENGTH, module.tokenize,
               module.parse)
