"""SavedModel export: fresh-process reload, the C++ loader, versioned layout."""

import os
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


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
  """A small RAE-SN and GMM exported once; returns (model, gmm, version dir)."""
  config = config_lib.make_config("mnist", "rae", "sn", width=0.0625,
                                  latent_dim=4)
  model = models.build_model(config)
  rng = np.random.default_rng(0)
  # One training-mode call so SN has normalised the kernels.
  model(rng.random((8, 32, 32, 1), np.float32), training=True)
  gmm = sampler.MixtureSampler.from_mixture(
      sampler.fit_gmm(rng.normal(size=(200, 4)), 3), name="gmm_sampler")
  base = str(tmp_path_factory.mktemp("export"))
  path = export.export_model(model, gmm, base, "mnist_rae_sn", (32, 32, 1), 4)
  return model, gmm, path


def run_python(code):
  result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  return result


def test_layout_is_what_tf_serving_watches(exported, tmp_path):
  _, gmm, path = exported
  assert path.endswith(os.path.join("mnist_rae_sn", "1"))
  assert {"saved_model.pb", "variables"} <= set(os.listdir(path))
  # A second export adds version 2 and leaves version 1 alone.
  model = exported[0]
  base = os.path.dirname(os.path.dirname(path))
  second = export.export_model(model, gmm, base, "mnist_rae_sn", (32, 32, 1), 4)
  assert second.endswith(os.path.join("mnist_rae_sn", "2"))
  assert sorted(os.listdir(os.path.dirname(path))) == ["1", "2"]


def test_reload_in_a_fresh_process_matches_eager_outputs(exported, tmp_path):
  model, gmm, path = exported
  rng = np.random.default_rng(1)
  inputs = {}
  for batch in (1, 5):
    inputs[f"images_{batch}"] = rng.random((batch, 32, 32, 1), np.float32)
    inputs[f"codes_{batch}"] = rng.normal(size=(batch, 4)).astype(np.float32)
  np.savez(tmp_path / "inputs.npz", **inputs)
  run_python(f"""
      import numpy as np, tensorflow as tf
      loaded = tf.saved_model.load({path!r})
      inputs = np.load({str(tmp_path / "inputs.npz")!r})
      out = {{}}
      for b in (1, 5):
        images, codes = inputs[f"images_{{b}}"], inputs[f"codes_{{b}}"]
        out[f"encode_{{b}}"] = loaded.signatures["encode"](
            images=tf.constant(images))["codes"].numpy()
        out[f"decode_{{b}}"] = loaded.signatures["decode"](
            codes=tf.constant(codes))["images"].numpy()
        out[f"reconstruct_{{b}}"] = loaded.signatures["reconstruct"](
            images=tf.constant(images))["images"].numpy()
        sample = loaded.signatures["sample"](
            num_samples=tf.constant(b, tf.int32), seed=tf.constant(7, tf.int64))
        out[f"sample_codes_{{b}}"] = sample["codes"].numpy()
        out[f"sample_images_{{b}}"] = sample["images"].numpy()
      np.savez({str(tmp_path / "outputs.npz")!r}, **out)
  """)
  out = np.load(tmp_path / "outputs.npz")
  for batch in (1, 5):
    images, codes = inputs[f"images_{batch}"], inputs[f"codes_{batch}"]
    expected = {
        "encode": model.encode(images).numpy(),
        "decode": model.decoder(codes).numpy(),
        "reconstruct": model(images).numpy(),
        "sample_codes": gmm.sample(batch, 7).numpy(),
    }
    expected["sample_images"] = model.decoder(expected["sample_codes"]).numpy()
    for name, value in expected.items():
      np.testing.assert_allclose(out[f"{name}_{batch}"], value, rtol=1e-5,
                                 atol=1e-5, err_msg=f"{name} at batch {batch}")


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


def test_next_version_ignores_temporary_directories(tmp_path):
  for name in ("1", "3", ".tmp-abc", "notes"):
    (tmp_path / name).mkdir()
  assert export.next_version(str(tmp_path)) == 4
  assert export.next_version(str(tmp_path / "absent")) == 1
