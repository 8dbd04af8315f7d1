"""Stack decoding: always a string of the grammar, or None if unfinished."""

import numpy as np
import pytest

from rae_tf.grammar.decoding import stack as decoding
from rae_tf.grammar.languages import grammars
import grammar_toy  # tests/grammar_toy.py


def logits_for(rules, num_rules=5, steps=10):
  """(1, T, R) logits whose argmax at step t is rules[t] (padding after)."""
  logits = np.zeros((1, steps, num_rules))
  for t in range(steps):
    logits[0, t, rules[t] if t < len(rules) else num_rules - 1] = 5.0
  return logits


def test_decodes_the_derivation_the_logits_spell():
  grammar = grammar_toy.ToyGrammar()
  for sentence in grammar_toy.SENTENCES:
    rules = grammar.to_rules(sentence)
    decoded, finished = decoding.decode_rules(logits_for(rules), grammar)
    assert finished.tolist() == [True]
    assert decoded[0, :len(rules)].tolist() == rules
    assert decoding.rules_to_strings(decoded, finished, grammar) == [sentence]


def test_argmax_is_taken_among_the_popped_symbols_rules_only():
  # Step 0 pops S; the logits favour T -> 'x' (rule 2), which S cannot use,
  # so the best S-rule, S -> T (rule 1, logit 1 > rule 0's 0), is taken.
  grammar = grammar_toy.ToyGrammar()
  logits = np.zeros((1, 10, 5))
  logits[0, :, 2] = 10.0
  logits[0, 0, 1] = 1.0
  decoded, finished = decoding.decode_rules(logits, grammar)
  assert decoded[0, :2].tolist() == [1, 2]  # S -> T, T -> 'x'
  assert (decoded[0, 2:] == grammar.padding_rule).all()
  assert finished.tolist() == [True]


def test_random_logits_decode_to_sentences_or_none():
  grammar = grammar_toy.ToyGrammar()
  logits = np.random.default_rng(0).normal(size=(500, 10, 5)) * 3
  for rng in (None, np.random.default_rng(1)):
    rules, finished = decoding.decode_rules(logits, grammar, rng)
    strings = decoding.rules_to_strings(rules, finished, grammar)
    assert 0 < finished.sum() < len(finished)  # both outcomes occur
    for string, row in zip(strings, rules):
      if string is None:
        continue
      assert grammar_toy.is_sentence(string), string
      derivation = grammar.to_rules(string)  # unambiguous: the same rules
      assert row[:len(derivation)].tolist() == derivation
      assert (row[len(derivation):] == grammar.padding_rule).all()


def test_a_sequence_still_expanding_after_t_steps_is_none():
  grammar = grammar_toy.ToyGrammar()
  logits = np.zeros((1, 10, 5))
  logits[0, :, 0] = 5.0  # S -> S + T forever
  rules, finished = decoding.decode_rules(logits, grammar)
  assert finished.tolist() == [False]
  assert decoding.rules_to_strings(rules, finished, grammar) == [None]


def test_sampling_follows_the_masked_softmax():
  # Popping S with logits (log 3, 0) for rules 0 and 1: P(rule 0) = 3/4.
  grammar = grammar_toy.ToyGrammar()
  logits = np.zeros((4000, 10, 5))
  logits[:, 0, 0] = np.log(3.0)
  logits[:, 0, 2] = 50.0  # a T-rule: must never be chosen for S
  rules, _ = decoding.decode_rules(logits, grammar, np.random.default_rng(0))
  assert set(rules[:, 0].tolist()) == {0, 1}
  assert abs((rules[:, 0] == 0).mean() - 0.75) < 0.03


@pytest.mark.parametrize("task", ["expressions", "molecules"])
def test_finished_decodings_parse_back_to_the_same_rules(task):
  # Logits favouring rules with few right-hand non-terminals, so that many
  # random derivations finish within T steps.
  grammar = grammars.grammar_for(task)
  symbols = decoding.RuleSymbols(grammar)
  pushes = np.array([len(r) for r in grammar.rhs_nonterminals])
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(300, grammar.max_length, grammar.num_rules)) * 2
  logits -= 1.5 * pushes
  rules, strings = symbols.decode(logits, rng)
  finished = [i for i, s in enumerate(strings) if s is not None]
  assert len(finished) > 30
  for i in finished:
    derivation = grammar.to_rules(strings[i])
    assert rules[i, :len(derivation)].tolist() == derivation
