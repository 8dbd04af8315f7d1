"""study.md of `long_study.py`: the model x epoch table and the N column by epoch."""

from __future__ import annotations

from rae_tf.evaluation import evaluate
from rae_tf.evaluation import fid
from rae_tf.evaluation import kid
from rae_tf.evaluation import paper


def markdown(study: dict) -> str:
  """study.md: model x epoch scores, the N column by epoch, the floor."""
  epochs, cols = study["eval_epochs"], evaluate.COLUMNS
  lines = [
      f"**{study['dataset']} ({study['source']}; {study['train_images']} "
      f"training images), width {study['width']:g}, batch 100, "
      f"{study['epochs']} epochs, seed {study['seed']}; FID of N="
      f"{study['num_samples']} images per column (REC and Interp. from "
      f"validation images) vs N_ref={study['num_reference']} test images**",
      "", "| model | epoch | MSE (validation) | " + " | ".join(cols)
      + " | KID ×10³: " + " / ".join(cols) + " |", "|" + "---|" * 8]
  for result in study["models"].values():
    for epoch in epochs:
      scores = result["evaluations"][str(epoch)]
      columns = [scores["columns"][c] for c in cols]
      kids = " / ".join(f"{c['kid_mean'] * kid.REPORTED_SCALE:.2f} ± "
                        f"{c['kid_std'] * kid.REPORTED_SCALE:.2f}"
                        for c in columns)
      lines.append(
          f"| {result['name']} | {epoch} | {scores['reconstruction_mse']:.5f}"
          " | " + " | ".join(f"{c['fid']['value']:.2f}" for c in columns)
          + f" | {kids} |")
  lines += ["", "N column (FID) by epoch; the paper's after 100 epochs on "
            "60,000 digits at width 1, N=10,000:", "",
            "| model | " + " | ".join(f"epoch {e}" for e in epochs)
            + " | paper | training wall time |",
            "|" + "---|" * (len(epochs) + 3)]
  for key, result in study["models"].items():
    paper_row = paper.TABLE_1[study["dataset"]].get(key)
    fids = [result["evaluations"][str(e)]["columns"]["N"]["fid"]["value"]
            for e in epochs]
    lines.append(
        f"| {result['name']} | " + " | ".join(f"{v:.2f}" for v in fids)
        + f" | {paper_row[1] if paper_row else '–'} | "
        f"{result['training_wall_time_seconds']:.0f} s |")
  floor = study["floor"]
  lines += ["", "Real validation images against the same reference: "
            f"{fid.FidResult(**floor['fid'])}, "
            f"{kid.format_kid(floor['kid_mean'], floor['kid_std'])}: the "
            "floor of every column at this N."]
  if study["num_samples"] == study["num_reference"]:
    lines.append("KID's ± is 0 here: with N = N_ref every subset of "
                 "`kid.kernel_inception_distance` is the whole set.")
  return "\n".join(lines + ["", f"Command: `{study['command']}`"]) + "\n"
