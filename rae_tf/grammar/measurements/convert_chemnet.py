"""Converts the FCD package's ChemNet weights into Keras weights, once.

`fcd==1.2.2` ships `fcd/ChemNet_v0.13_pretrained.pt`: a torch-pickled list
of four (layer type, (state dict, torch kwargs, extra)) entries, two Conv1d
and two LSTM. This command maps them in order onto `chemnet.build_chemnet()`
(conv kernels (out, in, k) -> (k, in, out); LSTM [W_ih^T, W_hh^T, b_ih +
b_hh], gate order i, f, g, o in both), checks the Keras features against
the package's own `get_predictions` on a few molecules, and writes
`chemnet_v0.13.weights.h5` into the cache directory. Torch is needed for
this step only.

Usage:
  pip install -r requirements-fid.txt
  pip install --no-deps -r requirements-fid-nodeps.txt
  python -m rae_tf.grammar.measurements.convert_chemnet [--source PATH]
      [--cache_dir DIR] [--overwrite]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import sys
from typing import Optional, Sequence

import numpy as np
from absl import logging

from rae_tf import errors
from rae_tf import files
from rae_tf.grammar.measurements import chemnet

SOURCE_FILENAME = "ChemNet_v0.13_pretrained.pt"
SOURCE_SHA1 = "7af13e11b9424223d5724caddbb5cc3f781a88ab"  # in fcd 1.2.2
CHECK_SMILES = ("CCO", "Clc1ccc(Br)cc1", "CC(C)Cc1ccc(cc1)[C@@H](C)C(=O)O",
                "O=C(Nc1ccccc1)N1CCN(c2ncccn2)CC1", "C[Si](C)(C)OC#N")
_CHECK_TOLERANCE = 1e-4  # max |keras - torch| / max |torch|
_INSTALL_HINT = "pip install torch==2.13.0 && pip install --no-deps fcd==1.2.2"
_LAYERS = (("Conv1d", "conv_1"), ("Conv1d", "conv_2"), ("LSTM", "lstm_1"),
           ("LSTM", "lstm_2"))


class ConversionError(errors.UserError, RuntimeError):
  """The source weights are missing, different, or convert wrongly."""


def source_path() -> str:
  """Path of the .pt file inside the installed `fcd` package (not imported).

  Raises:
    ConversionError: the package is not installed.
  """
  spec = importlib.util.find_spec("fcd")
  if spec is None or not spec.submodule_search_locations:
    raise ConversionError(f"the ChemNet weights come from the fcd package, "
                          f"which is not installed: run `{_INSTALL_HINT}`")
  return os.path.join(list(spec.submodule_search_locations)[0],
                      SOURCE_FILENAME)


def keras_weights(source: str) -> dict[str, list[np.ndarray]]:
  """{layer name: Keras weight list} read from the torch file.

  Raises:
    ConversionError: no torch, a missing or different file, or layers other
      than the expected Conv1d, Conv1d, LSTM, LSTM.
  """
  if not os.path.isfile(source):
    raise ConversionError(f"ChemNet weights {source} do not exist: run "
                          f"`{_INSTALL_HINT}`, or pass --source")
  with open(source, "rb") as f:
    digest = hashlib.file_digest(f, "sha1").hexdigest()
  if digest != SOURCE_SHA1:
    raise ConversionError(
        f"{source} has SHA-1 {digest}, not fcd 1.2.2's {SOURCE_SHA1}: "
        "reinstall fcd==1.2.2 (the file is corrupt or another network)")
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise ConversionError(f"reading the ChemNet weights needs torch: "
                          f"{_INSTALL_HINT}") from e
  entries = torch.load(source, map_location="cpu")
  kinds = tuple(kind for kind, _ in entries)
  if kinds != tuple(kind for kind, _ in _LAYERS):
    raise ConversionError(f"{source} holds layers {kinds}; expected "
                          f"{tuple(kind for kind, _ in _LAYERS)}")
  weights = {}
  for (kind, name), (_, (state, _, _)) in zip(_LAYERS, entries):
    state = {k: v.detach().numpy().astype(np.float32) for k, v in state.items()}
    if kind == "Conv1d":
      weights[name] = [state["weight"].transpose(2, 1, 0)]
    else:
      weights[name] = [state["weight_ih_l0"].T, state["weight_hh_l0"].T,
                       state["bias_ih_l0"] + state["bias_hh_l0"]]
  return weights


def reference_features(smiles: Sequence[str]) -> np.ndarray:
  """The fcd package's own (N, 512) ChemNet features (imports torch)."""
  import fcd  # pylint: disable=g-import-not-at-top
  return fcd.get_predictions(fcd.load_ref_model(), list(smiles), device="cpu")


def convert(source: str, destination: str) -> float:
  """Writes the Keras weights converted from `source` to `destination`.

  Returns:
    The max relative feature difference to the fcd package on
    `CHECK_SMILES`.

  Raises:
    ConversionError: see `keras_weights`, and a difference above tolerance.
  """
  if not destination.endswith(".weights.h5"):
    raise ConversionError(
        f"the destination must end in .weights.h5; got {destination!r}")
  model = chemnet.build_chemnet()
  for name, values in keras_weights(source).items():
    model.get_layer(name).set_weights(values)
  expected = reference_features(CHECK_SMILES)
  actual = chemnet.features(model, CHECK_SMILES)
  difference = float(np.abs(actual - expected).max() / np.abs(expected).max())
  if difference > _CHECK_TOLERANCE:
    raise ConversionError(
        f"converted ChemNet differs from the fcd package by {difference:.2e} "
        f"(relative), above {_CHECK_TOLERANCE}; the Keras graph in "
        "rae_tf/grammar/measurements/chemnet.py does not match the source")
  files.atomic_save_weights(model, destination)
  return difference


def main(argv: Optional[Sequence[str]] = None) -> int:
  parser = argparse.ArgumentParser(
      prog=chemnet.CONVERT_COMMAND,
      description="Convert the fcd package's ChemNet to Keras weights.")
  parser.add_argument("--source", default=None,
                      help=f"the torch file (default: {SOURCE_FILENAME} of "
                      "the installed fcd package)")
  parser.add_argument("--cache_dir", default=None,
                      help="output directory (default: $RAE_TF_CACHE or "
                      "~/.cache/rae_tf)")
  parser.add_argument("--overwrite", action="store_true",
                      help="convert again even if the weights file exists")
  args = parser.parse_args(argv)
  logging.set_verbosity(logging.INFO)
  destination = chemnet.weights_path(args.cache_dir)
  if os.path.isfile(destination) and not args.overwrite:
    logging.info("%s exists; nothing to do (--overwrite converts again)",
                 destination)
    return 0
  try:
    difference = convert(args.source or source_path(), destination)
  except errors.UserError as e:
    logging.error("%s", e)
    return 1
  logging.info("wrote %s (max relative feature difference to the fcd "
               "package %.1e)", destination, difference)
  return 0


if __name__ == "__main__":
  sys.exit(main())
