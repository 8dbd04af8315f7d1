"""The training command's flags and the Config they make.

`rae_tf.main` (one training run) and `rae_tf.evaluation.table` (one run per
Table-1 row) both parse these flags; `config_from_flags` turns them into a
`config.Config`, filling unset numeric flags with the paper's per-dataset
values (PAPER.md), or CPU-sized width and epochs when no GPU is visible.
"""

from __future__ import annotations

from absl import flags

from rae_tf import config as config_lib
from rae_tf import config_validation
from rae_tf import presets

FLAGS = flags.FLAGS
flags.DEFINE_enum("model", "rae", config_validation.MODEL_NAMES,
                  "rae: RAE objective; ae: plain autoencoder; baselines: vae, "
                  "cvvae (constant-variance VAE), wae (WAE-MMD), "
                  "two_stage_vae (Dai & Wipf).")
flags.DEFINE_enum("dataset", "mnist", presets.DATASET_NAMES,
                  "Dataset: the paper's (mnist, fashion_mnist, cifar10, "
                  "celeba), or your own images: folder (image files under "
                  "--data_dir) or npz (x_train [, x_test] in --data_dir).")
flags.DEFINE_enum("reg", "none", presets.REGULARIZER_NAMES,
                  "Decoder regulariser: none (plain RAE), l2, gp, sn.")
flags.DEFINE_integer("latent_dim", None, "Code size d. Default: the paper's.")
flags.DEFINE_float("embedding_weight", None,
                   "Weight of 1/2 ||z||^2. Default: the paper's, converted.")
flags.DEFINE_float("reg_weight", None,
                   "Weight of the decoder regulariser. Default: the paper's.")
flags.DEFINE_integer("epochs", None,
                     "Training epochs. Default: the paper's on GPU, fewer on CPU.")
flags.DEFINE_integer("batch_size", None,
                     "Batch size. Default: 100 (on GPU, the authors' per-run "
                     "sizes: 1,000 for the CelebA VAE and 2sVAE).")
flags.DEFINE_float("learning_rate", None, "Adam learning rate. Default: paper.")
flags.DEFINE_float("width", None,
                   "Conv width multiplier; 1.0 = the paper's nets. Default: "
                   "1.0 on GPU, a CPU-sized value otherwise.")
flags.DEFINE_string("workdir", None,
                    "Run directory. Default: runs/<run name>-<timestamp>.")
flags.DEFINE_string("data_dir", None,
                    "Directory with the dataset's standard files (a folder "
                    "of images for --dataset=folder, a .npz file for npz). "
                    "Default: embedded MNIST / the dataset's usual location.")
flags.DEFINE_integer("image_size", None,
                     "--dataset=folder / npz: side of the square images the "
                     "nets take, 32, 64, 128 or 256; images are centre-"
                     "cropped and resized to it.")
flags.DEFINE_integer("channels", None,
                     "--dataset=folder / npz: 1 (grey) or 3 (RGB); images "
                     "are converted. Default: what most of the first 50 "
                     "images have (folder), the array's (npz).")
flags.DEFINE_float("validation_fraction", 0.05,
                   "Share of the images held out for validation when the "
                   "data has no validation split (folder, npz; idx / CIFAR "
                   "sets smaller than 50,000 training images).")
flags.DEFINE_float("test_fraction", 0.05,
                   "Share held out for testing when the data has no test "
                   "split (folder without test/, npz without x_test).")
flags.DEFINE_bool("skip_bad_images", False,
                  "--dataset=folder: skip files that do not decode (their "
                  "count is logged) instead of stopping at the first.")
flags.DEFINE_integer("seed", 0, "Seed of weights, shuffling and sampling.")
flags.DEFINE_bool("overwrite", False, "Replace a non-empty --workdir.")
flags.DEFINE_bool("sn_encoder", False,
                  "With --reg=sn, normalise the encoder too (as the authors).")
flags.DEFINE_enum("gp_form", "jacobian", presets.GP_FORMS,
                  "What --reg=gp penalises: jacobian (the paper's "
                  "||grad_z D(z)||_F^2, one Hutchinson probe) or authors "
                  "(their code's mean over batch and code of "
                  "(d sum x_hat^2 / dz)^2, for which their weights were "
                  "tuned).")
flags.DEFINE_enum("sn_form", "keras", presets.SN_FORMS,
                  "The spectral normalisation of --reg=sn: keras (Keras' "
                  "wrapper: W / sigma assigned in training, the raw kernel "
                  "at inference) or authors (W / sigma in every call, the "
                  "gradient through sigma).")
flags.DEFINE_bool("signed_inputs", None,
                  "Feed the encoder 2x - 1 instead of x in [0, 1]. Default: "
                  "on GPU for the 32x32 nets (the authors'), else false.")
flags.DEFINE_float("input_noise_stddev", None,
                   "--model=wae: train on encoder inputs x + clip(N(0, s^2), "
                   "+-s). Default: 0.01 on GPU for CelebA (the authors'), "
                   "else 0.")
flags.DEFINE_integer("gmm_components", 10, "Components of the ex-post GMM.")
flags.DEFINE_integer("lr_patience", 5,
                     "Epochs without validation gain before halving the LR.")
flags.DEFINE_integer("max_train_examples", None,
                     "Train on the first N training images only.")
flags.DEFINE_enum("distribute", "none", config_validation.DISTRIBUTE_NAMES,
                  "tf.distribute: none, mirrored (all local GPUs), "
                  "multi_worker (machines listed in TF_CONFIG; worker 0 "
                  "writes the outputs).")
flags.DEFINE_enum("precision", "float32", config_validation.PRECISIONS,
                  "Keras dtype policy; mixed_bfloat16 trains 1.5x faster on "
                  "CPUs with AVX512-BF16 (and on recent GPUs).")
flags.DEFINE_bool("deterministic", False,
                  "Deterministic TF ops: bitwise-reproducible (and resumable "
                  "to the same weights) runs, at some speed cost.")
flags.DEFINE_float("kl_weight", None,
                   "Weight of the KL term (vae, cvvae, two_stage_vae). "
                   "Default: the paper's, converted to the per-pixel mean "
                   "reconstruction term.")
flags.DEFINE_float("mmd_weight", None,
                   "Weight of the MMD term (wae). Default: the paper's, "
                   "converted likewise.")
flags.DEFINE_float("constant_sigma", None,
                   "Posterior standard deviation of --model=cvvae. "
                   "Default: 0.7.")
flags.DEFINE_float("stage2_kl_weight", None,
                   "KL weight of the second stage of --model=two_stage_vae. "
                   "Default: the paper's.")
flags.DEFINE_integer("stage2_epochs", None,
                     "Epochs of the second stage of --model=two_stage_vae "
                     "on the training codes. Default: the authors' 100 on "
                     "GPU, 20 on CPU.")
flags.DEFINE_float("stage2_learning_rate", None,
                   "Adam learning rate of the second stage of "
                   "--model=two_stage_vae. Default: the authors' 1e-4.")
flags.DEFINE_integer("max_samples_per_request",
                     config_lib.DEFAULT_MAX_SAMPLES_PER_REQUEST,
                     "Largest num_samples one request to the exported "
                     "`sample` signature may ask for; larger ones fail with "
                     "InvalidArgumentError before allocating anything.")


def gpu_available() -> bool:
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return bool(tf.config.list_physical_devices("GPU"))


def channels_from_flags() -> int | None:
  """--channels, or for user data without it the data's own channel count.

  Reads (a few of) the data, so a missing folder or file already stops here
  with a DataError; not when --image_size is missing, which the config
  reports first.
  """
  if (FLAGS.channels is not None or FLAGS.image_size is None
      or FLAGS.dataset not in presets.USER_DATASETS):
    return FLAGS.channels
  from rae_tf import data  # pylint: disable=g-import-not-at-top
  return data.native_channels(FLAGS.dataset, FLAGS.data_dir)


def config_from_flags(model: str | None = None,
                      reg: str | None = None) -> config_lib.Config:
  """Builds the run's Config from the parsed flags.

  Args:
    model: overrides --model (the Table-1 runner sets it per row).
    reg: overrides --reg.
  """
  return config_lib.make_config(
      FLAGS.dataset, model or FLAGS.model, reg or FLAGS.reg,
      gpu_available=gpu_available(),
      latent_dim=FLAGS.latent_dim, embedding_weight=FLAGS.embedding_weight,
      reg_weight=FLAGS.reg_weight, epochs=FLAGS.epochs,
      batch_size=FLAGS.batch_size, learning_rate=FLAGS.learning_rate,
      width=FLAGS.width, data_dir=FLAGS.data_dir, seed=FLAGS.seed,
      sn_encoder=FLAGS.sn_encoder, gp_form=FLAGS.gp_form,
      sn_form=FLAGS.sn_form, signed_inputs=FLAGS.signed_inputs,
      input_noise_stddev=FLAGS.input_noise_stddev,
      gmm_components=FLAGS.gmm_components,
      lr_patience=FLAGS.lr_patience,
      max_train_examples=FLAGS.max_train_examples,
      kl_weight=FLAGS.kl_weight, mmd_weight=FLAGS.mmd_weight,
      constant_sigma=FLAGS.constant_sigma,
      stage2_kl_weight=FLAGS.stage2_kl_weight,
      stage2_epochs=FLAGS.stage2_epochs,
      stage2_learning_rate=FLAGS.stage2_learning_rate,
      max_samples_per_request=FLAGS.max_samples_per_request,
      deterministic=FLAGS.deterministic, distribute=FLAGS.distribute,
      precision=FLAGS.precision, image_size=FLAGS.image_size,
      channels=channels_from_flags(),
      validation_fraction=FLAGS.validation_fraction,
      test_fraction=FLAGS.test_fraction,
      skip_bad_images=FLAGS.skip_bad_images)
