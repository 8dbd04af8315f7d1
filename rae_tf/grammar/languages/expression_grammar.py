"""The arithmetic-expression grammar of Kusner et al. (2017) and its parser.

    S -> S '+' T | S '*' T | S '/' T | T
    T -> '(' S ')' | 'sin(' S ')' | 'exp(' S ')' | 'x' | '1' | '2' | '3'
    Nothing -> None                                  (padding, 12 rules)

The grammar is unambiguous: S is a left-associative list of T's joined by
operators, and each T starts with a different token, so every string has one
parse tree. (It gives '+', '*' and '/' equal precedence; that is a property of
the parse tree only: scores evaluate strings with the usual precedence.)

`parse` is a hand-written recursive-descent parser; it returns the leftmost
derivation (the pre-order of the parse tree, as nltk's `Tree.productions()`),
which `tests/grammar_grammars_test.py` checks against nltk's chart parser.
"""

from __future__ import annotations

import re

RULES = (
    "S -> S '+' T",
    "S -> S '*' T",
    "S -> S '/' T",
    "S -> T",
    "T -> '(' S ')'",
    "T -> 'sin(' S ')'",
    "T -> 'exp(' S ')'",
    "T -> 'x'",
    "T -> '1'",
    "T -> '2'",
    "T -> '3'",
    "Nothing -> None",
)
MAX_LENGTH = 15  # production rules per expression (Kusner et al.)

_TOKENS = ("sin(", "exp(", "(", ")", "+", "*", "/", "x", "1", "2", "3")
_TOKEN_PATTERN = re.compile("|".join(map(re.escape, _TOKENS)))
_OPERATOR_RULE = {"+": 0, "*": 1, "/": 2}
_S_TO_T = 3
_OPEN_RULE = {"(": 4, "sin(": 5, "exp(": 6}
_LEAF_RULE = {"x": 7, "1": 8, "2": 9, "3": 10}


def tokenize(string: str) -> list[str]:
  """Splits an expression into grammar terminals; whitespace is ignored.

  Raises:
    ValueError: a character that starts no terminal.
  """
  compact = "".join(string.split())
  tokens = _TOKEN_PATTERN.findall(compact)
  if sum(map(len, tokens)) != len(compact):
    position = 0
    while _TOKEN_PATTERN.match(compact, position):
      position = _TOKEN_PATTERN.match(compact, position).end()
    raise ValueError(f"unknown character {compact[position]!r} at position "
                     f"{position} of the string without spaces")
  return tokens


def parse(tokens: list[str]) -> list[int]:
  """Returns the leftmost derivation of `tokens` as indices into `RULES`.

  Raises:
    ValueError: the tokens are not an expression of the grammar.
  """
  rules, end = _parse_s(tokens, 0)
  if end != len(tokens):
    raise ValueError(f"unexpected {tokens[end]!r} at token {end}")
  return rules


def _parse_s(tokens: list[str], i: int) -> tuple[list[int], int]:
  # S = T (op T)*, left-associative: the outermost S -> S op T is the last op.
  terms = []
  operators = []
  term, i = _parse_t(tokens, i)
  terms.append(term)
  while i < len(tokens) and tokens[i] in _OPERATOR_RULE:
    operators.append(_OPERATOR_RULE[tokens[i]])
    term, i = _parse_t(tokens, i + 1)
    terms.append(term)
  rules = operators[::-1] + [_S_TO_T]
  for term in terms:
    rules += term
  return rules, i


def _parse_t(tokens: list[str], i: int) -> tuple[list[int], int]:
  if i == len(tokens):
    raise ValueError("the expression ends where a term should start")
  token = tokens[i]
  if token in _LEAF_RULE:
    return [_LEAF_RULE[token]], i + 1
  if token in _OPEN_RULE:
    start = i
    inner, i = _parse_s(tokens, i + 1)
    if i == len(tokens) or tokens[i] != ")":
      raise ValueError(f"no ')' closes the {token!r} at token {start}")
    return [_OPEN_RULE[token]] + inner, i + 1
  raise ValueError(f"unexpected {token!r} at token {i}")
