"""A four-rule grammar for the grammar tests, shaped like `grammars.Grammar`.

    0  S -> S '+' T        2  T -> 'x'
    1  S -> T              3  T -> '(' S ')'
    4  Nothing -> None     (padding)

Non-terminals: S = 0 (start), T = 1, Nothing = 2. The language is
S := T ('+' T)*, T := 'x' | '(' S ')', which `is_sentence` recognises
independently of the rule tables.
"""

import dataclasses

import numpy as np

RHS = (("S", "+", "T"), ("T",), ("x",), ("(", "S", ")"), ())
NONTERMINALS = ("S", "T", "Nothing")


@dataclasses.dataclass(frozen=True)
class ToyGrammar:
  name: str = "toy"
  rules: tuple = ("S -> S '+' T", "S -> T", "T -> 'x'", "T -> '(' S ')'",
                  "Nothing -> None")
  nonterminals: tuple = NONTERMINALS
  lhs: np.ndarray = dataclasses.field(
      default_factory=lambda: np.array([0, 0, 1, 1, 2], np.int32))
  rhs_nonterminals: tuple = ((0, 1), (1,), (), (0,), ())
  masks: np.ndarray = dataclasses.field(default_factory=lambda: np.array(
      [[1, 1, 0, 0, 0], [0, 0, 1, 1, 0], [0, 0, 0, 0, 1]], np.float32))
  max_length: int = 10

  num_rules = property(lambda self: len(self.rules))
  padding_rule = property(lambda self: len(self.rules) - 1)
  start = property(lambda self: 0)
  nothing = property(lambda self: len(self.nonterminals) - 1)

  def to_string(self, rules):
    """Expands the leftmost non-terminal with each rule in turn."""
    symbols = ["S"]
    for rule in rules:
      first = next(i for i, s in enumerate(symbols) if s in NONTERMINALS)
      assert symbols[first] == NONTERMINALS[self.lhs[rule]], (symbols, rule)
      symbols[first:first + 1] = list(RHS[rule])
    return "".join(symbols)

  def to_rules(self, string):
    """Leftmost derivation of `string` (a tiny recursive-descent parser)."""
    rules, position = [], 0

    def term():
      nonlocal position
      if string[position] == "x":
        rules.append(2)
        position += 1
      else:
        assert string[position] == "("
        rules.append(3)
        position += 1
        expression()
        assert string[position] == ")"
        position += 1

    def expression():
      # S -> S + T applied k times, then S -> T: the leftmost derivation
      # lists the k "S -> S + T" first.
      nonlocal position
      start, pluses, depth = position, 0, 0
      for char in string[start:]:
        if char == "(":
          depth += 1
        elif char == ")":
          if depth == 0:
            break
          depth -= 1
        elif char == "+" and depth == 0:
          pluses += 1
      rules.extend([0] * pluses + [1])
      term()
      for _ in range(pluses):
        assert string[position] == "+"
        position += 1
        term()

    expression()
    assert position == len(string)
    return rules

  def one_hot(self, strings):
    data = np.zeros((len(strings), self.max_length, self.num_rules),
                    np.float32)
    kept = []
    for index, string in enumerate(strings):
      rules = self.to_rules(string)
      if len(rules) > self.max_length:
        continue
      row = len(kept)
      data[row, np.arange(len(rules)), rules] = 1
      data[row, len(rules):, self.padding_rule] = 1
      kept.append(index)
    return data[:len(kept)], kept


def is_sentence(string):
  """True iff `string` is in S := T ('+' T)*, T := 'x' | '(' S ')'."""
  position = 0

  def term():
    nonlocal position
    if string[position:position + 1] == "x":
      position += 1
      return True
    if string[position:position + 1] == "(":
      position += 1
      if not expression() or string[position:position + 1] != ")":
        return False
      position += 1
      return True
    return False

  def expression():
    nonlocal position
    if not term():
      return False
    while string[position:position + 1] == "+":
      position += 1
      if not term():
        return False
    return True

  return expression() and position == len(string)


SENTENCES = ("x", "x+x", "(x)", "x+(x+x)", "(x+x)+x", "((x))")
