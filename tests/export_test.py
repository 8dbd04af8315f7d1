"""SavedModel export: versioned layout, fresh-process reload, request bounds.

The clients of the export (saved_model_cli, TF Serving's warm-up and REST
requests, bad calls) are in export_serving_test.py.
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
from export_toy import BOUND  # tests/export_toy.py


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
  second = export.export_model(model, code_sampler=gmm, export_base=base,
                               model_name="mnist_rae_sn",
                               image_shape=(32, 32, 1), latent_dim=4,
                               max_samples_per_request=BOUND)
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


def test_reloaded_sample_signature_keeps_its_bound(exported):
  _, _, path = exported
  # 10^8 images of 32 x 32 floats are 400 GB: that request only fails
  # cleanly if the bound is checked before anything of size n exists.
  result = run_python(f"""
      import tensorflow as tf
      sample = tf.saved_model.load({path!r}).signatures["sample"]
      seed = tf.constant(3, tf.int64)
      outputs = sample(num_samples=tf.constant({BOUND}), seed=seed)
      print("SHAPES:", outputs["images"].shape, outputs["codes"].shape)
      for n in ({BOUND + 1}, 100_000_000):
        try:
          sample(num_samples=tf.constant(n), seed=seed)
        except tf.errors.InvalidArgumentError as e:
          print("ERROR:", " ".join(str(e).split()))
  """)
  assert f"SHAPES: ({BOUND}, 32, 32, 1) ({BOUND}, 4)" in result.stdout
  errors = [line for line in result.stdout.splitlines()
            if line.startswith("ERROR:")]
  assert len(errors) == 2, result.stdout
  for line, n in zip(errors, (BOUND + 1, 100_000_000)):
    assert (f"sample: num_samples must be <= {BOUND} (the "
            f"--max_samples_per_request of the export); got {n}") in line, line


def test_reloaded_batch_signatures_keep_the_same_bound(exported):
  # A decode request of 10^5 codes is small but its images are not: encode,
  # decode and reconstruct refuse batches above the bound before the nets.
  _, _, path = exported
  result = run_python(f"""
      import numpy as np
      import tensorflow as tf
      signatures = tf.saved_model.load({path!r}).signatures
      inputs = {{"encode": ("images", (32, 32, 1)), "decode": ("codes", (4,)),
                 "reconstruct": ("images", (32, 32, 1))}}
      for name, (key, shape) in inputs.items():
        for batch in ({BOUND}, {BOUND + 1}):
          value = tf.constant(np.zeros((batch, *shape), np.float32))
          try:
            signatures[name](**{{key: value}})
            print("OK:", name, batch)
          except tf.errors.InvalidArgumentError as e:
            print("ERROR:", " ".join(str(e).split()))
  """)
  lines = result.stdout.splitlines()
  for name in ("encode", "decode", "reconstruct"):
    assert f"OK: {name} {BOUND}" in lines, result.stdout
    assert any(line.startswith("ERROR:") and
               f"{name}: a batch must hold <= {BOUND} items (the "
               f"--max_samples_per_request of the export); got {BOUND + 1}"
               in line for line in lines), result.stdout


def test_export_model_takes_keywords_after_the_model_and_checks_the_bound(
    exported, tmp_path):
  model, gmm, _ = exported
  with pytest.raises(TypeError, match="positional"):
    export.export_model(model, gmm, str(tmp_path), "m", (32, 32, 1), 4)
  kwargs = dict(code_sampler=gmm, export_base=str(tmp_path), model_name="m",
                image_shape=(32, 32, 1), latent_dim=4)
  for bad in (0, -3, 2**31, 2.5, True):
    with pytest.raises(ValueError, match=re.escape(
        "max_samples_per_request must be a positive integer <= 2147483647 "
        f"(num_samples is int32); got {bad!r}")):
      export.export_model(model, **kwargs, max_samples_per_request=bad)
  assert not os.listdir(tmp_path)  # nothing written


def test_default_bound_is_the_config_default(tmp_path):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  default = config_lib.DEFAULT_MAX_SAMPLES_PER_REQUEST
  assert default == 10_000
  config = config_lib.make_config("mnist", "rae", "none", width=0.0625,
                                  latent_dim=4)
  assert config.max_samples_per_request == default
  gmm = sampler.MixtureSampler.from_mixture(
      sampler.fit_gaussian(np.random.default_rng(0).normal(size=(50, 4))))
  path = export.export_model(models.build_model(config), code_sampler=gmm,
                             export_base=str(tmp_path), model_name="m",
                             image_shape=(32, 32, 1), latent_dim=4)
  sample = tf.saved_model.load(path).signatures["sample"]
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=re.escape(f"<= {default} (the ")):
    sample(num_samples=tf.constant(default + 1),
           seed=tf.constant(0, tf.int64))


def test_next_version_ignores_temporary_directories(tmp_path):
  for name in ("1", "3", ".tmp-abc", "notes"):
    (tmp_path / name).mkdir()
  assert export.next_version(str(tmp_path)) == 4
  assert export.next_version(str(tmp_path / "absent")) == 1
