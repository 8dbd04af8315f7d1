"""Grammars: rule tables, masks, parse <-> string round trips, unambiguity."""

import logging

import nltk
import numpy as np
import pytest

from rae_tf.grammar.languages import datasets
from rae_tf.grammar.languages import grammars

EXPRESSIONS = ["x", "3", "1/3+x+sin(x*x)", "exp(x)/(2+x)*3", "sin(exp(sin(x)))",
               "(((2)))", "x*x/x+1+2*3"]
SMILES = [
    "C1CCCCC1",                                   # ring closure
    "CC(C)(C)C(=O)O",                             # branches, double bond
    "C[NH3+]", "CC(=O)[O-]", "[NH4+]",            # charges, hydrogen counts
    "c1cc[nH]c1", "c1ccoc1", "c1ccsc1",           # aromatic, [nH]
    "Clc1ccc(Br)cc1", "BrCCCl",                   # two-letter atoms
    "C[C@@H](N)C(=O)O", "C[C@H](O)F",             # chirality, '@@' token
    "F/C=C\\F", "C#N", "C=1CCCCC=1",              # bonds, bonded ring closure
    "C12CC1CC2", "C9CCCCC9", "[13CH4]", "[H]OC",  # two rings, 9, isotope, H
    "CCCS(=O)c1ccc2[nH]c(=NC(=O)OC)[nH]c2c1",     # MOSES training row 1
    "O=C1N(C)C(=O)N(C)c2[nH]cnc21", "CC(C)Cc1ccc(cc1)[C@@H](C)C(=O)[O-]",
]


def grammar(task):
  return grammars.grammar_for(task)


@pytest.mark.parametrize("task, rules, nonterminals, max_length, start", [
    ("expressions", 12, 3, 15, "S"),
    ("molecules", 76, 23, 277, "smiles"),
])
def test_sizes(task, rules, nonterminals, max_length, start):
  g = grammar(task)
  assert (g.num_rules, len(g.nonterminals), g.max_length) == (
      rules, nonterminals, max_length)
  assert g.rules[g.padding_rule] == "Nothing -> None"
  assert g.nonterminals[g.start] == start
  assert g.nonterminals[g.nothing] == "Nothing"
  assert g.masks.shape == (nonterminals, rules)
  assert g.lhs.shape == (rules,) and g.lhs.dtype == np.int32


@pytest.mark.parametrize("task", ["expressions", "molecules"])
def test_masks_allow_only_the_rules_of_their_nonterminal(task):
  g = grammar(task)
  for k, row in enumerate(g.masks):
    allowed = np.flatnonzero(row)
    assert allowed.size > 0, g.nonterminals[k]
    assert (g.lhs[allowed] == k).all(), g.nonterminals[k]
  np.testing.assert_array_equal(g.masks.sum(axis=0), np.ones(g.num_rules))
  np.testing.assert_array_equal(np.flatnonzero(g.masks[g.nothing]),
                                [g.padding_rule])
  assert set(np.unique(g.masks)) == {0.0, 1.0}


@pytest.mark.parametrize("task", ["expressions", "molecules"])
def test_rule_tables_match_the_readable_rules(task):
  g = grammar(task)
  for rule, lhs, rhs_nonterminals in zip(g.rules, g.lhs, g.rhs_nonterminals):
    left, right = rule.split(" -> ")
    assert g.nonterminals[lhs] == left
    names = [s for s in right.split() if not s.startswith("'") and s != "None"]
    assert [g.nonterminals[k] for k in rhs_nonterminals] == names


def test_every_molecule_rule_is_reachable_and_finishable():
  # Kusner et al.'s `class` rules were neither; ours replace them.
  g = grammar("molecules")
  assert not any("class" in rule for rule in g.rules)
  assert "symbol -> 'H'" in g.rules and "DIGIT -> '9'" in g.rules


def test_expression_derivation_by_hand():
  g = grammar("expressions")
  # x+1: S -> S '+' T, then the left S -> T -> 'x', then the right T -> '1'.
  names = ["S -> S '+' T", "S -> T", "T -> 'x'", "T -> '1'"]
  assert g.to_rules("x+1") == [g.rules.index(n) for n in names]
  # sin(x)*2 parses as (sin(x))*2: the outer rule is the last operator.
  names = ["S -> S '*' T", "S -> T", "T -> 'sin(' S ')'", "S -> T", "T -> 'x'",
           "T -> '2'"]
  assert g.to_rules("sin(x)*2") == [g.rules.index(n) for n in names]


def test_smiles_derivation_by_hand():
  g = grammar("molecules")
  names = ["smiles -> chain", "chain -> chain branched_atom",
           "chain -> branched_atom", "branched_atom -> atom",
           "atom -> aliphatic_organic", "aliphatic_organic -> 'C'",
           "branched_atom -> atom", "atom -> aliphatic_organic",
           "aliphatic_organic -> 'Cl'"]
  assert g.to_rules("CCl") == [g.rules.index(n) for n in names]


@pytest.mark.parametrize("task, string",
                         [("expressions", s) for s in EXPRESSIONS]
                         + [("molecules", s) for s in SMILES])
def test_round_trip(task, string):
  g = grammar(task)
  rules = g.to_rules(string)
  assert g.to_string(rules) == string
  assert g.to_string(np.eye(g.num_rules)[rules]) == string  # one-hot rows


def test_whitespace_in_expressions_is_ignored():
  g = grammar("expressions")
  assert g.to_string(g.to_rules(" x + sin( x ) ")) == "x+sin(x)"


def _nltk_derivations(g, string):
  """All leftmost derivations nltk's chart parser finds, as rule indices."""
  cfg = g.to_nltk()
  index = {(str(p.lhs()), tuple(str(s) for s in p.rhs())): i
           for i, p in enumerate(cfg.productions())}
  trees = nltk.ChartParser(cfg).parse(g.tokenize(string))
  return [[index[str(p.lhs()), tuple(str(s) for s in p.rhs())]
           for p in tree.productions()] for tree in trees]


@pytest.mark.parametrize("task, strings", [("expressions", EXPRESSIONS),
                                           ("molecules", SMILES)])
def test_one_parse_tree_and_it_matches_nltk(task, strings):
  g = grammar(task)
  for string in strings:
    assert _nltk_derivations(g, string) == [g.to_rules(string)], string


def _all_derivations(g, max_rules):
  """Every complete leftmost derivation of at most `max_rules` rules."""
  done, frontier = [], [((), (g.start,))]  # (rules, stack with top last)
  while frontier:
    grown = []
    for rules, stack in frontier:
      if not stack:
        done.append(list(rules))
      elif len(rules) + len(stack) <= max_rules:  # each symbol needs a rule
        for rule in np.flatnonzero(g.masks[stack[-1]]):
          grown.append((rules + (int(rule),), stack[:-1] + tuple(
              reversed(g.rhs_nonterminals[rule]))))
    frontier = grown
  return done


@pytest.mark.parametrize("task, max_rules, count", [
    ("expressions", 8, 21088), ("molecules", 12, None)])
def test_short_derivations_give_distinct_strings_that_parse_back(
    task, max_rules, count):
  # A bounded check of unambiguity: no two derivations derive one string.
  g = grammar(task)
  derivations = _all_derivations(g, max_rules)
  strings = [g.to_string(d) for d in derivations]
  assert len(set(strings)) == len(strings)
  assert count is None or len(strings) == count
  for string, rules in zip(strings, derivations):
    assert g.to_rules(string) == rules


@pytest.mark.parametrize("task, string, match", [
    ("expressions", "x+", "ends where a term should start"),
    ("expressions", "sin(x", "no '\\)' closes"),
    ("expressions", "x-1", "unknown character '-'"),
    ("expressions", "x+x+x+x+x+x+x+x", "needs 16 production rules.*at most 15"),
    ("molecules", "C1CC%11", "unknown character '%'"),
    ("molecules", "C(C", "expected '\\)'"),
    ("molecules", "[Na+]", "unknown character 'a'"),
    ("molecules", "C=", "unexpected '='"),
])
def test_to_rules_errors(task, string, match):
  with pytest.raises(grammars.GrammarError, match=match):
    grammar(task).to_rules(string)


def test_to_string_rejects_bad_derivations():
  g = grammar("expressions")
  plus, s_to_t, x = (g.rules.index(n) for n in ("S -> S '+' T", "S -> T",
                                                "T -> 'x'"))
  with pytest.raises(grammars.GrammarError, match="cannot rewrite S"):
    g.to_string([x])
  with pytest.raises(grammars.GrammarError, match=r"\['S', 'T'\] left"):
    g.to_string([plus, g.padding_rule])
  with pytest.raises(grammars.GrammarError, match="follows a finished"):
    g.to_string([s_to_t, x, x])
  # Reading stops at the first padding rule.
  assert g.to_string([s_to_t, x, g.padding_rule, x]) == "x"


def test_one_hot_pads_and_counts_skips(caplog):
  g = grammar("expressions")
  strings = ["x", "sin(", "x+x+x+x+x+x+x+x", "x*2"]
  with caplog.at_level(logging.WARNING):
    one_hot, kept = g.one_hot(strings)
  assert one_hot.shape == (2, 15, 12) and one_hot.dtype == np.float32
  np.testing.assert_array_equal(kept, [0, 3])
  np.testing.assert_array_equal(one_hot.sum(axis=-1), 1.0)
  ids = one_hot.argmax(axis=-1)
  assert ids[0].tolist() == g.to_rules("x") + [g.padding_rule] * 13
  assert g.to_string(one_hot[1]) == "x*2"
  messages = [r.getMessage() for r in caplog.records]
  assert len(messages) == 1
  assert "skipped 2 of 4 strings: 1 unparseable, 1 longer than 15 rules" in (
      messages[0])


def test_moses_smiles_parse_and_fit():
  g = grammar("molecules")
  smiles = datasets.read_smiles(datasets.moses_train_path(), max_count=300)
  ids, kept = g.to_rule_array(smiles)
  assert len(kept) == 300
  for row, string in zip(ids, smiles):
    assert g.to_string(row) == string


def test_unknown_task():
  with pytest.raises(ValueError, match=r"\['expressions', 'molecules'\]"):
    grammars.grammar_for("proteins")
