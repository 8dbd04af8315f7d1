"""The Table-1 runner's outputs: table.md in the paper's layout, table.csv.

Pure formatting of the rows `table.build_table` collects: every FID with the
KID of the same features (x10^3 in table.md, unscaled in table.csv), PRD of
the generation column, the paper's numbers beside ours, the protocol line
and the floor of real held-out images.
"""

from __future__ import annotations

import csv
import dataclasses
import io

from rae_tf.evaluation import evaluate
from rae_tf.evaluation import kid
from rae_tf.evaluation import paper
from rae_tf.evaluation import protocol


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
