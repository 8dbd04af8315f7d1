"""The Python API: the README's example, run as written; build_model's checks."""

import os
import re
import subprocess
import sys

import pytest

import rae_tf
from rae_tf.errors import ConfigError

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def readme_example() -> str:
  with open(os.path.join(REPO_ROOT, "README.md")) as f:
    section = f.read().split("## Python API", 1)[1].split("\n## ", 1)[0]
  return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_runs_as_written(tmp_path):
  # In a fresh process, from another directory, as a user would.
  script = readme_example() + (
      "\nassert codes.shape == (2000, 16) and samples.shape == (16, 32, 32, 1)"
      "\nassert 0 <= samples.min() and samples.max() <= 1\n")
  result = subprocess.run(
      [sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
      text=True, timeout=600,
      env={**os.environ, "PYTHONPATH": REPO_ROOT, "TF_CPP_MIN_LOG_LEVEL": "2"})
  assert result.returncode == 0, result.stderr[-3000:]
  export_dir = result.stdout.strip().splitlines()[-1]
  assert export_dir == os.path.join("export", "digits", "1")
  assert os.path.isfile(tmp_path / export_dir / "saved_model.pb")


def test_import_rae_tf_loads_no_tensorflow():
  result = subprocess.run(
      [sys.executable, "-c", "import sys, rae_tf; print('tensorflow' in "
       "sys.modules, sorted(rae_tf.__all__) == rae_tf.__all__)"],
      capture_output=True, text=True, env={**os.environ,
                                           "PYTHONPATH": REPO_ROOT})
  assert result.stdout.split() == ["False", "True"], result.stderr


@pytest.mark.parametrize("model,reg,size,channels", [
    ("rae", "l2", 32, 1), ("rae", "sn", 64, 3), ("vae", "l2", 128, 3),
    ("ae", "gp", 32, 3)])
def test_build_model_takes_the_command_lines_names(model, reg, size,
                                                   channels):
  built = rae_tf.build_model(model, reg, image_shape=(size, size, channels),
                             latent_dim=8, width=0.03125)
  assert built.decoder.output_shape == (None, size, size, channels)
  assert built.encoder.input_shape == (None, size, size, channels)
  if model == "rae":
    assert built.reg == reg
  # "ae" and the baselines take no regulariser: --reg is ignored for them.
  if model == "ae":
    assert built.reg == "none" and built.reg_weight == 0.0


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 48, 3), (32, 32)])
def test_build_model_refuses_shapes_the_nets_do_not_take(shape):
  with pytest.raises(ConfigError):
    rae_tf.build_model(image_shape=shape)


def test_an_unknown_model_is_a_config_error_and_numpy_sizes_work():
  import numpy as np  # pylint: disable=g-import-not-at-top
  with pytest.raises(ConfigError, match=r"model must be one of .*'vae'"):
    rae_tf.build_model("vea", image_shape=(32, 32, 1))
  built = rae_tf.build_model(
      "rae", "none", image_shape=np.zeros((5, 32, 32, 1)).shape[1:],
      latent_dim=np.int64(4), width=0.03125)
  assert built.encoder.output_shape == (None, 4)


def test_unknown_names_are_refused():
  with pytest.raises(AttributeError, match="no attribute 'build_modle'"):
    rae_tf.build_modle  # pylint: disable=pointless-statement
