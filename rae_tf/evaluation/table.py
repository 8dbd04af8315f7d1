r"""Command line: the paper's Table 1 for one dataset, one row per model.

    python -m rae_tf.evaluation.table --dataset=mnist \
        --flagfile=flags/table_cpu.flags
    python -m rae_tf.evaluation.table --dataset=mnist --models=ae,rae_l2 \
        --table_dir=runs/table-mnist

Each model trains into <table_dir>/<model>/ with the training flags of
`rae_tf.main` (defined in `rae_tf.training_flags`); rerunning the command
resumes an interrupted run and reuses finished ones. Each run is evaluated
into its evaluation.json (and TensorBoard), and the table is written to
<table_dir>/table.md and table.csv (`table_files`), with the paper's numbers
beside ours for the paper's datasets. Every FID states its N; the KID of the
same features is beside it (x10^3 in table.md, unscaled in table.csv as in
evaluation.json).
"""

from __future__ import annotations

import json
import os
import sys

import keras
from absl import app
from absl import flags
from absl import logging

from rae_tf import cli
from rae_tf import data
from rae_tf import errors
from rae_tf import files
from rae_tf import training_flags
from rae_tf import train
from rae_tf.evaluation import evaluate
from rae_tf.evaluation import features
from rae_tf.evaluation import paper
from rae_tf.evaluation import protocol
from rae_tf.evaluation import table_files

# Row key -> (display name, --model, --reg), in the paper's row order.
TABLE_MODELS = {
    "vae": ("VAE", "vae", "none"),
    "cvvae": ("CV-VAE", "cvvae", "none"),
    "wae": ("WAE", "wae", "none"),
    "two_stage_vae": ("2sVAE", "two_stage_vae", "none"),
    "rae_gp": ("RAE-GP", "rae", "gp"),
    "rae_l2": ("RAE-L2", "rae", "l2"),
    "rae_sn": ("RAE-SN", "rae", "sn"),
    "rae": ("RAE", "rae", "none"),
    "ae": ("AE", "ae", "none"),
}
_GPU_SAMPLES = paper.TABLE_1_SAMPLES
_CPU_SAMPLES = 500
_CPU_REFERENCE_SAMPLES = 1000

FLAGS = flags.FLAGS
flags.DEFINE_list("models", list(TABLE_MODELS),
                  f"Rows of the table, from {list(TABLE_MODELS)}.")
flags.DEFINE_string("table_dir", None,
                    "Directory of the runs and the table. Default: "
                    "runs/table-<dataset>.")
flags.DEFINE_integer("fid_samples", None,
                     "Images per FID column (test images reconstructed, "
                     "samples, interpolation pairs). Default: the paper's "
                     f"{_GPU_SAMPLES} on GPU, {_CPU_SAMPLES} on CPU; at most "
                     "the test split's size.")
flags.DEFINE_enum("vae_reconstruction", "sampled",
                  list(protocol.VAE_RECONSTRUCTIONS),
                  "What the VAE, CV-VAE and 2sVAE decode in REC: 'sampled', "
                  "a draw of q(z|x) (2sVAE: the stage-2 round trip of the "
                  "mean), as the authors' evaluation; 'mean', mu(x).")
flags.DEFINE_integer("fid_reference_samples", None,
                     "Test images whose features are the FID reference. "
                     f"Default: {_GPU_SAMPLES} on GPU, {_CPU_REFERENCE_SAMPLES}"
                     " on CPU; at most the test split's size.")


def _check_models(models: list[str]) -> None:
  unknown = sorted(set(models) - set(TABLE_MODELS))
  if unknown or not models:
    raise errors.ConfigError(
        f"--models must name some of {list(TABLE_MODELS)}; got unknown "
        f"{unknown or 'nothing'}")


def _sample_counts(gpu: bool, test_size: int) -> tuple[int, int]:
  """(N images per column, N_ref reference test images)."""
  samples, reference = FLAGS.fid_samples, FLAGS.fid_reference_samples
  if samples is None:  # 0 is a value, and refused below
    samples = _GPU_SAMPLES if gpu else _CPU_SAMPLES
  if reference is None:
    reference = _GPU_SAMPLES if gpu else _CPU_REFERENCE_SAMPLES
  for name, value in (("--fid_samples", samples),
                      ("--fid_reference_samples", reference)):
    if value < 2:
      raise errors.ConfigError(f"{name} must be >= 2; got {value}")
  return samples, min(reference, test_size)


def _train_or_reuse(config, workdir: str) -> None:
  """Trains `config` into `workdir` unless a finished run of it is there."""
  if os.path.isfile(os.path.join(workdir, "results.json")) and (
      not FLAGS.overwrite):
    with open(os.path.join(workdir, "config.json")) as f:
      differ = config.fields_differing_from(f.read())
    if differ:
      raise errors.WorkdirError(
          f"{workdir} holds a finished run with other settings "
          f"({', '.join(differ)} differ); pass --overwrite to retrain it or "
          "choose another --table_dir")
    logging.info("reusing the finished run in %s", workdir)
    return
  train.run(config, workdir, overwrite=FLAGS.overwrite)
  keras.backend.clear_session()


def _evaluation(run, test_images, reference_features, extractor,
                description: dict, vae_reconstruction: str = "sampled"
                ) -> dict:
  """The run's evaluation.json if it was made under this protocol, else new.

  One written under another protocol (or before KID and the protocol were
  recorded) is not reused.
  """
  path = os.path.join(run.workdir, evaluate.EVALUATION_FILE)
  if os.path.isfile(path) and os.path.getmtime(path) >= os.path.getmtime(
      os.path.join(run.workdir, "results.json")):
    with open(path) as f:
      saved = json.load(f)
    if saved.get("protocol") == description:
      logging.info("reusing %s", path)
      return saved
  return evaluate.evaluate_run(run, test_images, reference_features,
                               extractor, seed=run.config.seed,
                               protocol=description,
                               vae_reconstruction=vae_reconstruction)


def build_table(table_dir: str) -> str:
  """Trains/reuses every --models run, evaluates it, writes the tables."""
  _check_models(FLAGS.models)
  configs = {key: training_flags.config_from_flags(*TABLE_MODELS[key][1:])
             for key in FLAGS.models}
  first = next(iter(configs.values()))
  gpu = training_flags.gpu_available()
  splits = data.load_splits(first.dataset, first.data_dir, first.image_shape,
                            first.max_train_examples, **first.data_options)
  num_samples, num_reference = _sample_counts(gpu, splits.sizes["test"])
  held_out = protocol.choose_held_out(splits.sizes, num_reference,
                                      num_samples)
  description = protocol.describe(held_out, num_reference, first.seed,
                                  FLAGS.vae_reconstruction)
  logging.info("%s", protocol.protocol_line(description))
  extractor = features.FeatureExtractor()
  reference_images = train.take_images(splits.test, num_reference)
  reference_features = features.reference_features(
      reference_images, first.dataset, "test", extractor)
  # Disjoint from the reference: REC reconstructs them, Interp. decodes
  # mid-points of their codes, and they are the floor of every column.
  test_images = train.take_images(
      getattr(splits, held_out.split).skip(held_out.start), held_out.count)
  real_data = evaluate.column_scores(extractor(test_images),
                                     reference_features, first.seed,
                                     with_prd=True)

  rows = []
  for key, config in configs.items():
    workdir = os.path.join(table_dir, key)
    logging.info("table row %s: %s", key, workdir)
    _train_or_reuse(config, workdir)
    run = evaluate.load_run(workdir)
    scores = _evaluation(run, test_images, reference_features, extractor,
                         description, FLAGS.vae_reconstruction)
    rows.append(table_files.Row(
        key, TABLE_MODELS[key][0], scores["reconstruction_mse"],
        scores["columns"], paper.TABLE_1.get(first.dataset, {}).get(key)))

  source = first.data_dir or data.DEFAULT_SOURCES[first.dataset]
  title = (f"{first.dataset} ({source}; {splits.sizes['train']} training "
           f"images), width {first.width:g}, {first.epochs} epochs, batch "
           f"{first.batch_size}; FID of N={num_samples} images per column vs "
           f"{num_reference} test images (the paper: N="
           f"{paper.TABLE_1_SAMPLES}, width 1)")
  markdown = table_files.markdown_table(rows, title, real_data,
                                        evaluate.COLUMNS, description)
  os.makedirs(table_dir, exist_ok=True)
  files.atomic_write_text(os.path.join(table_dir, "table.md"), markdown)
  files.atomic_write_text(os.path.join(table_dir, "table.csv"),
                          table_files.csv_table(rows, first.dataset,
                                                evaluate.COLUMNS, real_data,
                                                description))
  return markdown


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  table_dir = FLAGS.table_dir or os.path.join("runs",
                                              f"table-{FLAGS.dataset}")
  with errors.reported_as_one_line(
      "rae_tf.evaluation.table",
      after_os_error="rerun the same command to resume"):
    markdown = build_table(table_dir)
  sys.stdout.write(markdown + f"\nwritten to {table_dir}/table.md and "
                   "table.csv\n")


def run():
  """The `rae-tf-table` console script: flags from sys.argv, then `main`."""
  cli.run_absl_main(main, __name__)


if __name__ == "__main__":
  run()
