"""Character encoding of strings, for the character VAE (CVAE) baseline.

Vocabularies and lengths are those of Kusner et al. (2017): 14 characters plus
padding, 19 steps for expressions; 34 characters plus padding, 120 steps for
SMILES, with '9' added (our SMILES grammar has the ring-closure digit 9). The
padding token is a space and comes last; it never appears inside a string.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Sequence

from absl import logging
import numpy as np

PADDING = " "


@dataclasses.dataclass(frozen=True)
class CharacterVocabulary:
  """Characters (index = token id, padding last) and the sequence length.

  Attributes:
    characters: (C,) single characters; characters[-1] is the padding " ".
    max_length: T, the most characters a string may have.
    name: the task, for messages.
  """

  characters: tuple[str, ...]
  max_length: int
  name: str = ""

  @property
  def num_characters(self) -> int:
    return len(self.characters)

  @property
  def padding(self) -> int:
    return len(self.characters) - 1

  @functools.cached_property
  def _index(self) -> dict[str, int]:
    return {c: i for i, c in enumerate(self.characters[:-1])}

  def to_token_array(self, strings: Sequence[str]
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Encodes strings as padded token ids, skipping the ones it cannot.

    Strings with a character outside the vocabulary (the padding space
    included) or longer than `max_length` are skipped, counted and reported
    in one log line.

    Returns:
      (N, T) int32 token ids padded with `padding`, and the (N,) int64
      indices in `strings` of the rows kept.
    """
    index = self._index
    array = np.full((len(strings), self.max_length), self.padding, np.int32)
    kept = []
    unknown, too_long, first_unknown = 0, 0, None
    for i, string in enumerate(strings):
      bad = [c for c in string if c not in index]
      if bad:
        unknown += 1
        first_unknown = first_unknown or f"{bad[0]!r} in {string!r}"
        continue
      if len(string) > self.max_length:
        too_long += 1
        continue
      array[len(kept), :len(string)] = [index[c] for c in string]
      kept.append(i)
    if unknown or too_long:
      logging.warning(
          "%s characters: skipped %d of %d strings: %d with unknown "
          "characters, %d longer than %d characters%s", self.name,
          unknown + too_long, len(strings), unknown, too_long,
          self.max_length,
          f" (first unknown: {first_unknown})" if first_unknown else "")
    return array[:len(kept)], np.asarray(kept, np.int64)

  def one_hot(self, strings: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """`to_token_array` as one-hot rows: ((N, T, C) float32, (N,) kept)."""
    array, kept = self.to_token_array(strings)
    return np.eye(self.num_characters, dtype=np.float32)[array], kept

  def to_string(self, token_ids) -> str:
    """The characters of (T,) token ids, or of (T, C) rows (argmax per step),
    up to the first padding token."""
    ids = np.asarray(token_ids)
    if ids.ndim == 2:
      ids = ids.argmax(axis=-1)
    if ids.ndim != 1:
      raise ValueError(f"expected (T,) token ids or (T, {self.num_characters})"
                       f" rows; got shape {ids.shape}")
    out = []
    for token in ids.tolist():
      if token == self.padding:
        break
      if not 0 <= token < self.num_characters:
        raise ValueError(f"token id {token} is outside "
                         f"[0, {self.num_characters})")
      out.append(self.characters[token])
    return "".join(out)


VOCABULARIES = {
    "expressions": CharacterVocabulary(
        characters=("x", "+", "(", ")", "1", "2", "3", "*", "/", "s", "i",
                    "n", "e", "p", PADDING),
        max_length=19, name="expressions"),
    "molecules": CharacterVocabulary(
        characters=("C", "(", ")", "c", "1", "2", "o", "=", "O", "N", "3",
                    "F", "[", "@", "H", "]", "n", "-", "#", "S", "l", "+",
                    "s", "B", "r", "/", "4", "\\", "5", "6", "7", "I", "P",
                    "8", "9", PADDING),
        max_length=120, name="molecules"),
}


def characters_for(task: str) -> CharacterVocabulary:
  """The character vocabulary of `task` ("expressions" or "molecules").

  Raises:
    ValueError: an unknown task.
  """
  if task not in VOCABULARIES:
    raise ValueError(f"task must be one of {sorted(VOCABULARIES)}; got "
                     f"{task!r}")
  return VOCABULARIES[task]
