"""The SMILES grammar of the Grammar VAE (Kusner et al. 2017) and its parser.

The rules are in `smiles_rules.py` (76, the padding rule included).

Unambiguity, so one string has one derivation: `chain`, `RB` and `BB` are
left-recursive lists whose items start with disjoint tokens (atoms; digits or
bonds followed by a digit; '('); a bond between two atoms is told from a
bonded ring closure by whether a digit follows; the optional parts of a
bracket atom (isotope, symbol, chirality, hydrogen count, charge) come in a
fixed order and start with disjoint tokens; '-' is a charge inside brackets
and a bond outside. Tokenisation is unique too: 'Cl', 'Br' and '@@' are taken
greedily, and their split forms ('l', 'r', '@' '@') can appear in no string of
the grammar. `tests/grammar_grammars_test.py` checks this against nltk's chart
parser (one parse tree per sample) and by enumeration.

`parse` is a hand-written recursive-descent parser returning the leftmost
derivation (the parse tree's pre-order, as nltk's `Tree.productions()`).
"""

from __future__ import annotations

import re

# Part of this module's interface, like expression_grammar's: grammars.py
# builds the grammar from RULES, MAX_LENGTH, tokenize and parse.
from rae_tf.grammar.languages.smiles_rules import MAX_LENGTH  # pylint: disable=unused-import
from rae_tf.grammar.languages.smiles_rules import RULES

_R = {rule: index for index, rule in enumerate(RULES)}


def _terminal_rules(lhs: str) -> dict[str, int]:
  """{terminal: rule} for the rules `lhs -> 'terminal'`."""
  prefix = f"{lhs} -> '"
  return {rule[len(prefix):-1]: index for rule, index in _R.items()
          if rule.startswith(prefix) and " " not in rule[len(prefix):]}


_ALIPHATIC = _terminal_rules("aliphatic_organic")
_AROMATIC = _terminal_rules("aromatic_organic")
_DIGIT = _terminal_rules("DIGIT")
_BOND = _terminal_rules("bond")
_CHIRAL = _terminal_rules("chiral")
_TOKENS = sorted(  # longest first: 'Cl' before 'C'
    {token for rule in RULES for token in re.findall("'([^']*)'", rule)},
    key=lambda token: (-len(token), token))
_TOKEN_PATTERN = re.compile("|".join(map(re.escape, _TOKENS)))


def tokenize(string: str) -> list[str]:
  """Splits a SMILES string into grammar terminals ('Cl', 'Br', '@@' whole).

  Raises:
    ValueError: a character that starts no terminal (e.g. '%', '.', '0').
  """
  tokens = _TOKEN_PATTERN.findall(string)
  if sum(map(len, tokens)) != len(string):
    position = 0
    while _TOKEN_PATTERN.match(string, position):
      position = _TOKEN_PATTERN.match(string, position).end()
    raise ValueError(
        f"unknown character {string[position]!r} at position {position}")
  return tokens


def parse(tokens: list[str]) -> list[int]:
  """Returns the leftmost derivation of `tokens` as indices into `RULES`.

  Raises:
    ValueError: the tokens are not a SMILES string of the grammar.
  """
  parser = _Parser(tokens)
  rules = [_R["smiles -> chain"]] + parser.chain()
  if parser.i != len(tokens):
    raise ValueError(f"unexpected {tokens[parser.i]!r} at token {parser.i}")
  return rules


def _left_list(items: list[list[int]], first_rule: int,
               more_rules: list[int]) -> list[int]:
  """Pre-order of a left-recursive list `X -> X item | item`.

  Args:
    items: rules of each item's subtree, left to right.
    first_rule: the rule `X -> item`.
    more_rules: for items 2..n, the rule `X -> X ... item` that adds it.
  """
  rules = more_rules[::-1] + [first_rule]
  for item in items:
    rules += item
  return rules


class _Parser:
  """Recursive descent over a token list; `i` is the next token."""

  def __init__(self, tokens: list[str]):
    self.tokens = tokens
    self.i = 0

  def peek(self, offset: int = 0) -> str | None:
    j = self.i + offset
    return self.tokens[j] if j < len(self.tokens) else None

  def take(self, expected: str) -> None:
    if self.peek() != expected:
      found = "the end" if self.peek() is None else repr(self.peek())
      raise ValueError(
          f"expected {expected!r} at token {self.i}, found {found}")
    self.i += 1

  def starts_atom(self, offset: int = 0) -> bool:
    token = self.peek(offset)
    return token == "[" or token in _ALIPHATIC or token in _AROMATIC

  def chain(self) -> list[int]:
    items = [self.branched_atom()]
    more = []
    while True:
      if self.peek() in _BOND and self.starts_atom(1):
        bond = self.bond()
        items.append(bond + self.branched_atom())
        more.append(_R["chain -> chain bond branched_atom"])
      elif self.starts_atom():
        items.append(self.branched_atom())
        more.append(_R["chain -> chain branched_atom"])
      else:
        return _left_list(items, _R["chain -> branched_atom"], more)

  def branched_atom(self) -> list[int]:
    atom = self.atom()
    ringbonds = []
    while self.peek() in _DIGIT or (self.peek() in _BOND and
                                    self.peek(1) in _DIGIT):
      ringbonds.append(self.ringbond())
    branches = []
    while self.peek() == "(":
      branches.append(self.branch())
    ring_part = (_left_list(ringbonds, _R["RB -> ringbond"],
                            [_R["RB -> RB ringbond"]] * (len(ringbonds) - 1))
                 if ringbonds else [])
    branch_part = (_left_list(branches, _R["BB -> branch"],
                              [_R["BB -> BB branch"]] * (len(branches) - 1))
                   if branches else [])
    shape = "atom" + (" RB" if ringbonds else "") + (" BB" if branches else "")
    return [_R[f"branched_atom -> {shape}"]] + atom + ring_part + branch_part

  def ringbond(self) -> list[int]:
    if self.peek() in _BOND:
      bond = self.bond()
      return [_R["ringbond -> bond DIGIT"]] + bond + self.digit()
    return [_R["ringbond -> DIGIT"]] + self.digit()

  def branch(self) -> list[int]:
    self.take("(")
    if self.peek() in _BOND:
      bond = self.bond()
      rules = [_R["branch -> '(' bond chain ')'"]] + bond + self.chain()
    else:
      rules = [_R["branch -> '(' chain ')'"]] + self.chain()
    self.take(")")
    return rules

  def atom(self) -> list[int]:
    token = self.peek()
    if token in _ALIPHATIC:
      self.i += 1
      return [_R["atom -> aliphatic_organic"], _ALIPHATIC[token]]
    if token in _AROMATIC:
      self.i += 1
      return [_R["atom -> aromatic_organic"], _AROMATIC[token]]
    if token == "[":
      return [_R["atom -> bracket_atom"]] + self.bracket_atom()
    found = "the end" if token is None else repr(token)
    raise ValueError(f"expected an atom at token {self.i}, found {found}")

  def bracket_atom(self) -> list[int]:
    self.take("[")
    isotope = []
    while self.peek() in _DIGIT and len(isotope) < 3:
      isotope += self.digit()
    symbol = self.symbol()
    chiral = []
    if self.peek() in _CHIRAL:
      chiral = [_CHIRAL[self.peek()]]
      self.i += 1
    hcount = self.hcount() if self.peek() == "H" else []
    charge = self.charge() if self.peek() in ("-", "+") else []
    self.take("]")
    bah = []
    if hcount and charge:
      bah = ([_R["BAH -> hcount BACH"]] + hcount + [_R["BACH -> charge"]]
             + charge)
    elif charge:
      bah = [_R["BAH -> BACH"], _R["BACH -> charge"]] + charge
    elif hcount:
      bah = [_R["BAH -> hcount"]] + hcount
    bac = []
    if chiral and bah:
      bac = [_R["BAC -> chiral BAH"]] + chiral + bah
    elif bah:
      bac = [_R["BAC -> BAH"]] + bah
    elif chiral:
      bac = [_R["BAC -> chiral"]] + chiral
    isotope_rule = []
    if isotope:
      isotope_rule = [_R["isotope -> " + " ".join(["DIGIT"] * len(isotope))]]
    shape = ("isotope " if isotope else "") + "symbol" + (" BAC" if bac else "")
    return ([_R["bracket_atom -> '[' BAI ']'"], _R[f"BAI -> {shape}"]]
            + isotope_rule + isotope + symbol + bac)

  def symbol(self) -> list[int]:
    token = self.peek()
    self.i += 1
    if token in _ALIPHATIC:
      return [_R["symbol -> aliphatic_organic"], _ALIPHATIC[token]]
    if token in _AROMATIC:
      return [_R["symbol -> aromatic_organic"], _AROMATIC[token]]
    if token == "H":
      return [_R["symbol -> 'H'"]]
    self.i -= 1
    found = "the end" if token is None else repr(token)
    raise ValueError(f"expected an element symbol at token {self.i}, "
                     f"found {found}")

  def hcount(self) -> list[int]:
    self.take("H")
    if self.peek() in _DIGIT:
      return [_R["hcount -> 'H' DIGIT"]] + self.digit()
    return [_R["hcount -> 'H'"]]

  def charge(self) -> list[int]:
    sign = self.peek()
    self.i += 1
    digits = []
    while self.peek() in _DIGIT and len(digits) < 2:
      digits += self.digit()
    rule = " ".join([f"charge -> '{sign}'"] + ["DIGIT"] * len(digits))
    return [_R[rule]] + digits

  def bond(self) -> list[int]:
    token = self.peek()
    self.i += 1
    return [_BOND[token]]

  def digit(self) -> list[int]:
    token = self.peek()
    self.i += 1
    return [_DIGIT[token]]
