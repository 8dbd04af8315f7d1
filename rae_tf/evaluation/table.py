r"""Command line: the paper's Table 1 for one dataset, one row per model.

    python -m rae_tf.evaluation.table --dataset=mnist --flagfile=flags/table_cpu.flags
    python -m rae_tf.evaluation.table --dataset=mnist --models=ae,rae_l2 \
        --table_dir=runs/table-mnist

Each model trains into <table_dir>/<model>/ with the training flags of
`rae_tf.main` (rerunning the command resumes an interrupted run and reuses
finished ones), is evaluated into its evaluation.json (and TensorBoard), and
the table is written to <table_dir>/table.md and table.csv, with the paper's
numbers beside ours for the paper's datasets. Every FID states its N; the
KID of the same features is beside it (x10^3 in table.md, unscaled in
table.csv as in evaluation.json).
"""

from __future__ import annotations

import csv
import dataclasses
import io
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
from rae_tf.evaluation import evaluate
from rae_tf.evaluation import features
from rae_tf import files
from rae_tf.evaluation import kid
from rae_tf import main as main_lib
from rae_tf.evaluation import paper
from rae_tf.evaluation import protocol
from rae_tf import train

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
flags.DEFINE_integer("fid_reference_samples", None,
                     "Test images whose features are the FID reference. "
                     f"Default: {_GPU_SAMPLES} on GPU, {_CPU_REFERENCE_SAMPLES}"
                     " on CPU; at most the test split's size.")


@dataclasses.dataclass(frozen=True)
class Row:
  """One model's line of the table."""

  key: str
  name: str
  reconstruction_mse: float
  # column -> {"fid": FidResult dict, "kid_mean", "kid_std"[, "prd": PRDResult
  # dict]}
  columns: dict
  paper: paper.Row | None


def _format_fid(value) -> str:
  return "–" if value is None else f"{value:.2f}"


def _format_kid(scores) -> str:
  """"mean ± std" x10^3 of a column's scores, "–" for a missing column."""
  if scores is None:
    return "–"
  return (f"{scores['kid_mean'] * kid.REPORTED_SCALE:.2f} ± "
          f"{scores['kid_std'] * kid.REPORTED_SCALE:.2f}")


def markdown_table(rows: list[Row], title: str, real_data: dict,
                   columns: tuple[str, ...], description: dict) -> str:
  """The table in the paper's layout, with the paper's numbers beside ours.

  Args:
    rows: one per model.
    title: first line (dataset, width, epochs, N).
    real_data: {"fid": ..., "kid_mean": ..., "kid_std": ..., "prd": ...} of
      the real held-out images, the floor of every column at this N.
    columns: the FID columns, e.g. `evaluate.COLUMNS`.
    description: `protocol.describe`, printed under the title.
  """
  with_paper = any(row.paper for row in rows)
  header = ["model", "MSE", *columns, "KID ×10³: " + " / ".join(columns),
            "PRD (F_8 / F_1/8)"]
  if with_paper:
    header.append("paper: " + " / ".join(columns))
  lines = [f"**{title}**", "", protocol.protocol_line(description), "",
           "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  for row in rows:
    fids = [_format_fid(row.columns[c]["fid"]["value"]
                        if c in row.columns else None) for c in columns]
    prd_column = evaluate.prd_column(row.columns)
    prd = row.columns[prd_column]["prd"]
    kids = " / ".join(_format_kid(row.columns.get(c)) for c in columns)
    cells = [row.name, f"{row.reconstruction_mse:.5f}", *fids, kids,
             f"{prd['f_8']:.2f} / {prd['f_1_8']:.2f} ({prd_column})"]
    if with_paper:
      cells.append(" / ".join(_format_fid(v) for v in row.paper)
                   if row.paper else "")
    lines.append("| " + " | ".join(cells) + " |")
  fid = real_data["fid"]
  floor = [f"real {description['held_out']} (floor)", "0",
           *[_format_fid(fid["value"])] * len(columns),
           " / ".join([_format_kid(real_data)] * len(columns)),
           f"{real_data['prd']['f_8']:.2f} / {real_data['prd']['f_1_8']:.2f}"]
  if with_paper:
    floor.append("")
  lines += ["| " + " | ".join(floor) + " |", "",
            f"The floor row: the real held-out images {description['held_out']}"
            f" themselves against the same reference, FID {fid['value']:.2f} "
            f"(N={fid['n']} vs {fid['n_reference']}), "
            f"{kid.format_kid(real_data['kid_mean'], real_data['kid_std'])}"
            ": what real data scores in every column at this N (a perfect "
            "autoencoder's REC)."]
  return "\n".join(lines) + "\n"


def csv_table(rows: list[Row], dataset: str, columns: tuple[str, ...],
              real_data: dict, description: dict) -> str:
  """One CSV line per model, then the floor: FIDs, KIDs, PRDs, N, sources.

  KIDs are unscaled (not x10^3). Cells of a column a model lacks are empty,
  and so are PRD cells of columns without PRD (see `evaluate.prd_column`).
  The last line is the floor: the real held-out images in every column.
  """
  floor = Row("floor", f"real {description['held_out']} (floor)", 0.0,
              {c: real_data for c in columns}, None)
  rows = [*rows, floor]
  buffer = io.StringIO()
  writer = csv.writer(buffer, lineterminator="\n")
  slugs = [c.rstrip(".").lower() for c in columns]
  writer.writerow(
      ["dataset", "model", "reconstruction_mse",
       *[f"fid_{s}" for s in slugs], *[f"kid_mean_{s}" for s in slugs],
       *[f"kid_std_{s}" for s in slugs], *[f"prd_f8_{s}" for s in slugs],
       *[f"prd_f1_8_{s}" for s in slugs], "n", "n_reference", "held_out",
       "reference", *[f"paper_fid_{s}" for s in slugs]])
  for row in rows:
    scores = [row.columns.get(c) for c in columns]
    n = next(s for s in scores if s)["fid"]
    writer.writerow(
        [dataset, row.name, f"{row.reconstruction_mse:.6f}",
         *[f"{s['fid']['value']:.4f}" if s else "" for s in scores],
         *[f"{s['kid_mean']:.6g}" if s else "" for s in scores],
         *[f"{s['kid_std']:.6g}" if s else "" for s in scores],
         *[f"{s['prd']['f_8']:.4f}" if s and "prd" in s else ""
           for s in scores],
         *[f"{s['prd']['f_1_8']:.4f}" if s and "prd" in s else ""
           for s in scores],
         n["n"], n["n_reference"], description["held_out"],
         description["reference"],
         *[("" if v is None else v) for v in (row.paper or [None] * 4)]])
  return buffer.getvalue()


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
                description: dict) -> dict:
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
                               protocol=description)


def build_table(table_dir: str) -> str:
  """Trains/reuses every --models run, evaluates it, writes the tables."""
  _check_models(FLAGS.models)
  configs = {key: main_lib.config_from_flags(*TABLE_MODELS[key][1:])
             for key in FLAGS.models}
  first = next(iter(configs.values()))
  gpu = main_lib.gpu_available()
  splits = data.load_splits(first.dataset, first.data_dir, first.image_shape,
                            first.max_train_examples, **first.data_options)
  num_samples, num_reference = _sample_counts(gpu, splits.sizes["test"])
  held_out = protocol.choose_held_out(splits.sizes, num_reference,
                                      num_samples)
  description = protocol.describe(held_out, num_reference, first.seed)
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
                         description)
    rows.append(Row(key, TABLE_MODELS[key][0], scores["reconstruction_mse"],
                    scores["columns"],
                    paper.TABLE_1.get(first.dataset, {}).get(key)))

  source = first.data_dir or data.DEFAULT_SOURCES[first.dataset]
  title = (f"{first.dataset} ({source}; {splits.sizes['train']} training "
           f"images), width {first.width:g}, {first.epochs} epochs, batch "
           f"{first.batch_size}; FID of N={num_samples} images per column vs "
           f"{num_reference} test images (the paper: N="
           f"{paper.TABLE_1_SAMPLES}, width 1)")
  markdown = markdown_table(rows, title, real_data, evaluate.COLUMNS,
                            description)
  os.makedirs(table_dir, exist_ok=True)
  files.atomic_write_text(os.path.join(table_dir, "table.md"), markdown)
  files.atomic_write_text(os.path.join(table_dir, "table.csv"),
                          csv_table(rows, first.dataset, evaluate.COLUMNS,
                                    real_data, description))
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
