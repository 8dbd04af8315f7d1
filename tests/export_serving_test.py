"""SavedModel serving: saved_model_cli, TF Serving warm-up and REST requests.

Every signature run by saved_model_cli, the warm-up records, the README's
REST request bodies, and bad calls that must fail cleanly.
"""

import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from rae_tf import config as config_lib
from rae_tf import export
from rae_tf import models
from rae_tf import sampler

SIGNATURES = ("encode", "decode", "reconstruct", "sample", "serving_default")


@pytest.mark.parametrize("signature", SIGNATURES)
def test_every_signature_runs_in_saved_model_cli(exported, tmp_path,
                                                 signature):
  _, _, path = exported
  np.save(tmp_path / "images.npy", np.zeros((2, 32, 32, 1), np.float32))
  np.save(tmp_path / "codes.npy", np.zeros((3, 4), np.float32))
  np.save(tmp_path / "num_samples.npy", np.int32(4))
  np.save(tmp_path / "seed.npy", np.int64(0))
  inputs = {
      "encode": ["images"], "reconstruct": ["images"],
      "serving_default": ["images"], "decode": ["codes"],
      "sample": ["num_samples", "seed"],
  }[signature]
  cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
  result = subprocess.run(
      [cli, "run", "--dir", path, "--tag_set", "serve", "--signature_def",
       signature, "--inputs",
       ";".join(f"{name}={tmp_path / (name + '.npy')}" for name in inputs),
       "--outdir", str(tmp_path / "out"), "--overwrite"],
      capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  outputs = {name[:-4]: np.load(tmp_path / "out" / name)
             for name in os.listdir(tmp_path / "out")}
  expected_shapes = {
      "encode": {"codes": (2, 4)}, "decode": {"images": (3, 32, 32, 1)},
      "reconstruct": {"images": (2, 32, 32, 1)},
      "serving_default": {"images": (2, 32, 32, 1)},
      "sample": {"images": (4, 32, 32, 1), "codes": (4, 4)},
  }[signature]
  assert {k: v.shape for k, v in outputs.items()} == expected_shapes
  for value in outputs.values():
    assert np.all(np.isfinite(value))


def test_warmup_requests_parse_and_match_the_signatures(exported):
  from tensorflow_serving.apis import prediction_log_pb2  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  _, _, path = exported
  loaded = tf.saved_model.load(path)
  seen = set()
  for record in tf.data.TFRecordDataset(
      os.path.join(path, export.WARMUP_FILE)).as_numpy_iterator():
    request = prediction_log_pb2.PredictionLog.FromString(
        record).predict_log.request
    assert request.model_spec.name == "mnist_rae_sn"
    signature = request.model_spec.signature_name
    inputs = {name: tf.make_ndarray(proto)
              for name, proto in request.inputs.items()}
    outputs = loaded.signatures[signature](
        **{name: tf.constant(value) for name, value in inputs.items()})
    assert all(np.all(np.isfinite(v.numpy())) for v in outputs.values())
    seen.add(signature)
  assert seen == set(SIGNATURES)


def readme_requests(tmp_path):
  """The REST request bodies of the README's serving section, parsed."""
  import json  # pylint: disable=g-import-not-at-top
  import shlex  # pylint: disable=g-import-not-at-top
  with open(os.path.join(os.path.dirname(os.path.dirname(
      os.path.abspath(__file__))), "README.md")) as f:
    readme = f.read()
  block = readme.split("<!-- serving-requests")[1].split("```bash")[1]
  block = block.split("```")[0]
  bodies = []
  for line in block.strip().splitlines():
    if line.startswith("python3 -c"):
      code, target = re.fullmatch(r"python3 -c '(.*)' > (\S+)", line).groups()
      with open(tmp_path / target, "w") as f:
        subprocess.run([sys.executable, "-c", code], stdout=f, check=True)
    elif line.startswith("curl"):
      body = shlex.split(line)[shlex.split(line).index("-d") + 1]
      if body.startswith("@"):
        body = (tmp_path / body[1:]).read_text()
      bodies.append(json.loads(body))
  return bodies


def rest_to_tensors(body, signature):
  """TF Serving's REST decoding: row ("instances") or columnar ("inputs")."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  specs = signature.structured_input_signature[1]
  if "instances" in body:
    rows = body["instances"]
    if isinstance(rows[0], dict):
      values = {name: [row[name] for row in rows] for name in specs}
    else:
      assert len(specs) == 1, "bare instances need a one-input signature"
      values = {next(iter(specs)): rows}
  else:
    values = body["inputs"]
    if not isinstance(values, dict):
      values = {next(iter(specs)): values}
  assert set(values) == set(specs), (set(values), set(specs))
  tensors = {}
  for name, value in values.items():
    tensor = tf.constant(np.array(value), specs[name].dtype)
    assert specs[name].shape.is_compatible_with(tensor.shape), (
        name, tensor.shape, specs[name].shape)
    tensors[name] = tensor
  return tensors


def test_readme_rest_requests_are_valid_for_the_signatures(tmp_path):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  config = config_lib.make_config("mnist", "rae", "l2", width=0.0625)
  model = models.build_model(config)
  gmm = sampler.MixtureSampler.from_mixture(
      sampler.fit_gaussian(np.random.default_rng(0).normal(size=(50, 16))))
  path = export.export_model(model, code_sampler=gmm,
                             export_base=str(tmp_path / "export"),
                             model_name="mnist_rae_l2", image_shape=(32, 32, 1),
                             latent_dim=16)
  loaded = tf.saved_model.load(path)
  bodies = readme_requests(tmp_path)
  seen = set()
  for body in bodies:
    name = body.get("signature_name", "serving_default")
    signature = loaded.signatures[name]
    outputs = signature(**rest_to_tensors(body, signature))
    assert all(np.all(np.isfinite(v.numpy())) for v in outputs.values())
    seen.add(name)
  assert seen == set(SIGNATURES)


BAD_CALLS = {
    "wrong image size": ("encode", "np.zeros((1, 28, 28, 1), np.float32)",
                         "images", "Shape of tensor"),
    "wrong rank": ("reconstruct", "np.zeros((32, 32, 1), np.float32)",
                   "images", "Shape of tensor"),
    "wrong dtype": ("encode", "np.zeros((1, 32, 32, 1), np.float64)",
                    "images", "expected to be a float tensor"),
    "wrong code size": ("decode", "np.zeros((1, 5), np.float32)", "codes",
                        "Shape of tensor"),
    "negative num_samples": ("sample", "np.int32(-1)", "num_samples",
                             "sample: num_samples must be >= 0; got -1"),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_bad_calls_raise_clear_errors_and_do_not_crash(exported, case):
  # In a subprocess: before the shape checks, a wrong rank aborted the
  # whole process inside the oneDNN convolution.
  signature, value, name, message = BAD_CALLS[case]
  _, _, path = exported
  extra = ", seed=tf.constant(0, tf.int64)" if signature == "sample" else ""
  result = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
      import numpy as np, tensorflow as tf
      loaded = tf.saved_model.load({path!r})
      try:
        loaded.signatures[{signature!r}]({name}=tf.constant({value}){extra})
      except (tf.errors.InvalidArgumentError, ValueError) as e:
        print("ERROR:", " ".join(str(e).split()))
      """)], capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  assert "ERROR:" in result.stdout and message in result.stdout, result.stdout
