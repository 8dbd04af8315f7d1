"""From latent codes to strings: one decoder pass, then greedy or K draws.

`decode_codes` runs the decoder on (N, d) codes in batches and decodes each
code's logits greedily or `draws` times (`symbols.decode`), in chunks of at
most `MAX_ROWS` sequences so that 500 draws of many codes fit in memory.
`most_frequent_valid` is Kusner et al.'s choice among one code's draws
(their `run_bo.py`): the valid string drawn most often, ties to the one
drawn first, None when no draw is valid.
"""

from __future__ import annotations

import collections
from typing import Callable, Optional, Sequence

import keras
import numpy as np

MAX_ROWS = 20_000  # sequences decoded at once (the stack is (rows, ~T) int16)
DECODER_BATCH = 500


def decoder_logits(decoder: keras.Model, codes: np.ndarray,
                   batch_size: int = DECODER_BATCH) -> np.ndarray:
  """(N, T, S) float32 logits of (N, d) codes, inference mode.

  `predict` runs the GRUs as one compiled graph, kept on the model between
  calls (an eager call steps them from Python, several times slower).
  """
  return decoder.predict(np.asarray(codes, np.float32),
                         batch_size=batch_size, verbose=0)


def decode_codes(decoder: keras.Model, codes: np.ndarray, symbols,
                 rng: Optional[np.random.Generator] = None,
                 draws: int = 1) -> np.ndarray:
  """Decodes (N, d) codes greedily (rng None) or `draws` times each.

  Args:
    decoder: (B, d) -> (B, T, S) logits.
    codes: (N, d), N >= 1.
    symbols: a `symbols.RuleSymbols` or `symbols.CharacterSymbols`.
    rng: None for greedy decoding, a generator to sample.
    draws: samples per code (1 when greedy).

  Returns:
    (N, draws) object array of strings, None for unfinished derivations.
  """
  codes = np.asarray(codes, np.float32)
  chunk = max(1, MAX_ROWS // draws)
  strings = []
  for i in range(0, len(codes), chunk):
    logits = decoder_logits(decoder, codes[i:i + chunk])
    strings.extend(symbols.decode(logits, rng, draws)[1])
  result = np.empty(len(strings), object)
  result[:] = strings
  return result.reshape(len(codes), draws)


def greedy_strings(decoder: keras.Model, codes: np.ndarray,
                   symbols) -> list[Optional[str]]:
  """The greedy decoding of each of (N, d) codes, a list of N."""
  return decode_codes(decoder, codes, symbols)[:, 0].tolist()


def most_frequent_valid(draws: Sequence[Optional[str]],
                        is_valid: Callable[[Optional[str]], bool]
                        ) -> tuple[Optional[str], int]:
  """Kusner et al.'s choice among the draws of one code.

  Args:
    draws: the strings drawn (None for unfinished derivations).
    is_valid: string or None -> bool; called once per distinct string.

  Returns:
    (the valid string drawn most often, ties to the first drawn, or None if
    no draw is valid; the number of valid draws).
  """
  counts = collections.Counter(s for s in draws if s is not None)
  valid = {s: n for s, n in counts.items() if is_valid(s)}  # draw order
  if not valid:
    return None, 0
  return max(valid, key=valid.get), sum(valid.values())
