"""Tests of rae_tf.table: the table's layout, and the runner end to end."""

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from rae_tf import inception
from rae_tf import table

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLUMNS = ("REC", "N", "GMM", "Interp.")


def _scores(value, f_8=None, f_1_8=None):
  scores = {"fid": {"value": value, "n": 500, "n_reference": 1000}}
  if f_8 is not None:
    scores["prd"] = {"f_8": f_8, "f_1_8": f_1_8, "n": 500, "n_reference": 500}
  return scores


ROWS = [
    table.Row("rae_l2", "RAE-L2", 0.0123456,
              {"REC": _scores(10.0), "N": _scores(22.5), "GMM":
                   _scores(8.125, 0.9, 0.8), "Interp.": _scores(14.0)},
              (10.53, 22.22, 8.69, 14.54)),
    table.Row("two_stage_vae", "2sVAE", 0.02,
              {"REC": _scores(20.0), "N": _scores(18.0, 0.7, 0.6),
               "Interp.": _scores(18.5)}, (20.31, 18.81, None, 18.35)),
]
REAL = _scores(3.0, 0.99, 0.98)


def test_markdown_table_has_ours_beside_the_papers():
  text = table.markdown_table(ROWS, "mnist, N=500", REAL, COLUMNS)
  lines = text.splitlines()
  assert lines[0] == "**mnist, N=500**"
  assert lines[2] == ("| model | MSE | REC | N | GMM | Interp. | "
                      "PRD (F_8 / F_1/8) | paper: REC / N / GMM / Interp. |")
  assert lines[4] == ("| RAE-L2 | 0.01235 | 10.00 | 22.50 | 8.12 | 14.00 | "
                      "0.90 / 0.80 (GMM) | 10.53 / 22.22 / 8.69 / 14.54 |")
  # No GMM column for the two-stage VAE: "–", and PRD of its own sampler.
  assert lines[5] == ("| 2sVAE | 0.02000 | 20.00 | 18.00 | – | 18.50 | "
                      "0.70 / 0.60 (N) | 20.31 / 18.81 / – / 18.35 |")
  assert "FID 3.00 (N=500 vs 1000)" in lines[-1]


def test_markdown_table_without_paper_numbers_has_no_paper_column():
  rows = [table.Row(r.key, r.name, r.reconstruction_mse, r.columns, None)
          for r in ROWS]
  text = table.markdown_table(rows, "fashion_mnist", REAL, COLUMNS)
  assert "paper" not in text
  assert text.splitlines()[4].endswith("| 0.90 / 0.80 (GMM) |")


def test_csv_table_round_trips_every_number():
  rows = list(csv.DictReader(io.StringIO(
      table.csv_table(ROWS, "mnist", COLUMNS))))
  assert [r["model"] for r in rows] == ["RAE-L2", "2sVAE"]
  assert float(rows[0]["fid_gmm"]) == 8.125
  assert float(rows[0]["prd_f8_gmm"]) == 0.9 and rows[0]["prd_f8_rec"] == ""
  assert float(rows[1]["prd_f1_8_n"]) == 0.6
  assert rows[1]["fid_gmm"] == "" and rows[1]["paper_fid_gmm"] == ""
  assert float(rows[1]["paper_fid_interp"]) == 18.35
  assert rows[0]["n"] == "500" and rows[0]["n_reference"] == "1000"


def _run_table(*flags):
  return subprocess.run(
      [sys.executable, "-m", "rae_tf.table", *flags], cwd=REPO_ROOT,
      capture_output=True, text=True, timeout=900,
      env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


def test_unknown_model_is_one_line_naming_the_choices(tmp_path):
  result = _run_table("--models=rae,gan", f"--table_dir={tmp_path}")
  assert result.returncode == 2
  last = result.stderr.strip().splitlines()[-1]
  assert "--models must name some of" in last and "'gan'" in last


@pytest.mark.skipif(not os.path.isfile(inception.weights_path()),
                    reason="no converted FID Inception weights: run "
                    "`python -m rae_tf.convert_inception`")
def test_runner_trains_evaluates_and_reuses(tmp_path):
  flags = ("--flagfile=flags/smoke.flags", "--models=rae_l2,two_stage_vae",
           "--fid_samples=20", "--fid_reference_samples=30",
           f"--table_dir={tmp_path}")
  result = _run_table(*flags)
  assert result.returncode == 0, result.stderr[-5000:]
  with open(tmp_path / "table.md") as f:
    markdown = f.read()
  assert markdown in result.stdout
  assert "N=20 images per column vs 30 test images" in markdown
  assert "| RAE-L2 |" in markdown and "| 2sVAE |" in markdown
  for key in ("rae_l2", "two_stage_vae"):
    with open(tmp_path / key / "evaluation.json") as f:
      evaluation = json.load(f)
    assert evaluation["num_samples"] == 20
    assert evaluation["columns"]["REC"]["fid"]["n_reference"] == 30
    assert os.listdir(tmp_path / key / "tensorboard" / "evaluation")
  assert "GMM" not in evaluation["columns"]  # the two-stage VAE's
  with open(tmp_path / "table.csv") as f:
    assert len(list(csv.DictReader(f))) == 2

  # A second run reuses both trained runs and their evaluations.
  again = _run_table(*flags)
  assert again.returncode == 0, again.stderr[-5000:]
  assert again.stderr.count("reusing the finished run") == 2
  assert again.stderr.count("evaluation.json") >= 2
  with open(tmp_path / "table.md") as f:
    assert f.read() == markdown

  # Other settings in a finished run's directory are refused.
  refused = _run_table(*flags, "--epochs=3")
  assert refused.returncode == 2
  assert "epochs differ" in refused.stderr.strip().splitlines()[-1]
