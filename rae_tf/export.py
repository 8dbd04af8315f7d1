"""SavedModel export with serving signatures, laid out for TensorFlow Serving.

    <export_base>/<model_name>/<version>/saved_model.pb, variables/

Signatures (inputs -> outputs; B is a free batch dimension):
  encode           images (B, H, W, C) float32 in [0, 1] -> codes (B, d)
  decode           codes (B, d) float32 -> images (B, H, W, C)
  reconstruct      images (B, H, W, C) -> images (B, H, W, C)
  sample           num_samples () int32, seed () int64
                   -> images (n, H, W, C), codes (n, d), drawn inside the
                   graph from the ex-post GMM (no scikit-learn needed), or
                   from the model's own sampler (two-stage VAE); n must lie
                   in [0, max_samples_per_request], checked in the graph
                   before anything of size n is allocated
  serving_default  same as reconstruct
  reconstruct_sampled   (VAE, CV-VAE, two-stage VAE only)
                   images (B, H, W, C), seed () int64 -> images, codes (B, d):
                   decodes a seeded draw of q(z|x) (the 2sVAE: the stage-2
                   round trip of the mean), what the authors' VAEs decode
                   when they reconstruct

`keras.export.ExportArchive` tracks every variable the endpoints use, so the
C++ loader of TF Serving and `saved_model_cli run` can restore them.
`assets.extra/tf_serving_warmup_requests` holds one small request per
signature, which TF Serving replays at load time so that the first real
request does not pay for graph initialisation.
"""

from __future__ import annotations

import os
import re
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import model_pb2
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_log_pb2

from rae_tf import config as config_lib
from rae_tf import config_validation
from rae_tf import files

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")


def next_version(model_dir: str) -> int:
  """1 + the largest numeric version under `model_dir` (1 if none)."""
  if not os.path.isdir(model_dir):
    return 1
  versions = [int(name) for name in os.listdir(model_dir)
              if re.fullmatch(r"\d+", name)]
  return max(versions, default=0) + 1


def warmup_inputs(image_shape: Sequence[int], latent_dim: int,
                  stochastic: bool = False
                  ) -> dict[str, dict[str, np.ndarray]]:
  """One batch-1 request per signature: signature -> input name -> value.

  `stochastic`: the model has the `reconstruct_sampled` signature.
  """
  images = np.zeros((1, *image_shape), np.float32)
  inputs = {
      "serving_default": {"images": images},
      "encode": {"images": images},
      "decode": {"codes": np.zeros((1, latent_dim), np.float32)},
      "reconstruct": {"images": images},
      "sample": {"num_samples": np.int32(1), "seed": np.int64(0)},
  }
  if stochastic:
    inputs["reconstruct_sampled"] = {"images": images, "seed": np.int64(0)}
  return inputs


def write_warmup_requests(path: str, model_name: str,
                          image_shape: Sequence[int], latent_dim: int,
                          stochastic: bool = False) -> None:
  """Writes TF Serving's warm-up file: a TFRecord of PredictionLog protos."""
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with tf.io.TFRecordWriter(path) as writer:
    for signature, inputs in warmup_inputs(image_shape, latent_dim,
                                           stochastic).items():
      request = predict_pb2.PredictRequest(
          model_spec=model_pb2.ModelSpec(name=model_name,
                                         signature_name=signature))
      for name, value in inputs.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
      log = prediction_log_pb2.PredictionLog(
          predict_log=prediction_log_pb2.PredictLog(request=request))
      writer.write(log.SerializeToString())


def export_model(
    model: keras.Model,
    *,
    code_sampler: keras.layers.Layer,
    export_base: str,
    model_name: str,
    image_shape: Sequence[int],
    latent_dim: int,
    max_samples_per_request: int = config_lib.DEFAULT_MAX_SAMPLES_PER_REQUEST,
) -> str:
  """Writes a new version of the serving model; never overwrites one.

  The SavedModel is written to a temporary directory and renamed into place,
  so TF Serving (which watches numeric directories) never sees a partial one.

  Args:
    model: trained model with `encode` and `decoder`; one that also has
      `posterior_draw(images, seed, code_sampler)` (the VAEs) gets the
      `reconstruct_sampled` signature.
    code_sampler: layer whose `sample(num_samples, seed)` draws (n, d) codes
      for the `sample` signature (the ex-post GMM's `MixtureSampler`).
    export_base: root directory of served models.
    model_name: TF Serving model name (a directory under `export_base`).
    image_shape: (H, W, C).
    latent_dim: d.
    max_samples_per_request: largest `num_samples` the `sample` signature
      accepts (`Config.max_samples_per_request`); it is a constant of the
      SavedModel's graph.

  Returns:
    The path of the written version directory.

  Raises:
    ValueError: `max_samples_per_request` is not an integer in
      [1, 2**31 - 1].
  """
  if (isinstance(max_samples_per_request, bool) or
      not isinstance(max_samples_per_request, (int, np.integer)) or
      not 1 <= max_samples_per_request <= config_validation.MAX_INT32):
    raise ValueError(
        "max_samples_per_request must be a positive integer <= "
        f"{config_validation.MAX_INT32} (num_samples is int32); got "
        f"{max_samples_per_request!r}")
  max_samples_per_request = int(max_samples_per_request)
  image_spec = tf.TensorSpec((None, *image_shape), tf.float32, name="images")
  code_spec = tf.TensorSpec((None, latent_dim), tf.float32, name="codes")

  def bounded_batch(tensor, signature):
    """`tensor` once its batch is checked against the same bound as sample.

    A decode request of 10^5 codes is a few MB but makes the decoder
    allocate tens of GB: the check runs before the network.
    """
    batch = tf.shape(tensor)[0]
    check = tf.debugging.Assert(
        batch <= max_samples_per_request,
        [tf.strings.format(
            f"{signature}: a batch must hold <= {max_samples_per_request} "
            "items (the --max_samples_per_request of the export); got {}",
            batch)])
    with tf.control_dependencies([check]):
      return tf.identity(tensor)

  # Signature wrappers called from Python do not check shapes, and a wrong
  # rank reaching the oneDNN convolution aborts the process: check first.
  def encode(images, signature="encode"):
    images = bounded_batch(tf.ensure_shape(images, image_spec.shape),
                           signature)
    return {"codes": model.encode(images, training=False)}

  def decode(codes, signature="decode"):
    codes = bounded_batch(tf.ensure_shape(codes, code_spec.shape), signature)
    return {"images": model.decoder(codes, training=False)}

  def reconstruct(images):
    return decode(encode(images, "reconstruct")["codes"], "reconstruct")

  def sample(num_samples, seed):
    # Every op that reads num_samples waits for both checks, so an
    # out-of-range request fails before any (n, ...) tensor is allocated.
    # (No quote marks in the messages: the Assert op escapes them.)
    checks = [
        tf.debugging.Assert(
            num_samples >= 0,
            [tf.strings.format("sample: num_samples must be >= 0; got {}",
                               num_samples)]),
        tf.debugging.Assert(
            num_samples <= max_samples_per_request,
            [tf.strings.format(
                f"sample: num_samples must be <= {max_samples_per_request} "
                "(the --max_samples_per_request of the export); got {}",
                num_samples)]),
    ]
    with tf.control_dependencies(checks):
      num_samples = tf.identity(num_samples)
    codes = code_sampler.sample(num_samples, seed)
    return {"images": model.decoder(codes, training=False), "codes": codes}

  def reconstruct_sampled(images, seed):
    images = bounded_batch(tf.ensure_shape(images, image_spec.shape),
                           "reconstruct_sampled")
    codes = model.posterior_draw(images, seed, code_sampler)
    return {"images": model.decoder(codes, training=False), "codes": codes}

  stochastic = hasattr(model, "posterior_draw")
  archive = keras.export.ExportArchive()
  archive.track(model)
  archive.track(code_sampler)
  archive.add_endpoint("serving_default", reconstruct, [image_spec])
  archive.add_endpoint("encode", encode, [image_spec])
  archive.add_endpoint("decode", decode, [code_spec])
  archive.add_endpoint("reconstruct", reconstruct, [image_spec])
  archive.add_endpoint("sample", sample, [
      tf.TensorSpec((), tf.int32, name="num_samples"),
      tf.TensorSpec((), tf.int64, name="seed")])
  if stochastic:
    archive.add_endpoint("reconstruct_sampled", reconstruct_sampled, [
        image_spec, tf.TensorSpec((), tf.int64, name="seed")])

  model_dir = os.path.join(export_base, model_name)
  version_dir = os.path.join(model_dir, str(next_version(model_dir)))
  with files.atomic_directory(version_dir) as tmp:
    archive.write_out(tmp, verbose=False)
    write_warmup_requests(os.path.join(tmp, WARMUP_FILE), model_name,
                          image_shape, latent_dim, stochastic)
  return version_dir
