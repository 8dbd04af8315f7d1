"""Tests of rae_tf.evaluation.table: the table's layout, and the runner end to end."""

import csv
import io
import json
import os
import subprocess
import sys
import types

import pytest

from rae_tf.evaluation import evaluate
from rae_tf.evaluation import inception
from rae_tf.evaluation import protocol
from rae_tf.evaluation import table
from rae_tf.evaluation import table_files

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLUMNS = ("REC", "N", "GMM", "Interp.")


def _scores(value, f_8=None, f_1_8=None):
  # KID of the same features: value / 1000 ± value / 10^5, i.e. x10^3
  # "value ± value / 100".
  scores = {"fid": {"value": value, "n": 500, "n_reference": 1000},
            "kid_mean": value / 1000, "kid_std": value / 1e5}
  if f_8 is not None:
    scores["prd"] = {"f_8": f_8, "f_1_8": f_1_8, "n": 500, "n_reference": 500}
  return scores


ROWS = [
    table_files.Row("rae_l2", "RAE-L2", 0.0123456,
              {"REC": _scores(10.0), "N": _scores(22.5), "GMM":
                   _scores(8.125, 0.9, 0.8), "Interp.": _scores(14.0)},
              (10.53, 22.22, 8.69, 14.54)),
    table_files.Row("two_stage_vae", "2sVAE", 0.02,
              {"REC": _scores(20.0), "N": _scores(18.0, 0.7, 0.6),
               "Interp.": _scores(18.5)}, (20.31, 18.81, None, 18.35)),
]
REAL = _scores(3.0, 0.99, 0.98)
DESCRIPTION = protocol.describe(protocol.HeldOut("validation", 0, 500), 1000,
                                seed=0)


def test_markdown_table_has_ours_beside_the_papers():
  text = table_files.markdown_table(ROWS, "mnist, N=500", REAL, COLUMNS,
                              DESCRIPTION)
  lines = text.splitlines()
  assert lines[0] == "**mnist, N=500**"
  assert lines[2].startswith("Protocol: reference test[0:1000] (1000 images);"
                             " REC = reconstructions of the 500 images "
                             "validation[0:500] (the VAE and CV-VAE decode "
                             "a draw z ~ q(z|x)")
  del lines[2:4]
  assert lines[2] == ("| model | MSE | REC | N | GMM | Interp. | "
                      "KID ×10³: REC / N / GMM / Interp. | "
                      "PRD (F_8 / F_1/8) | paper: REC / N / GMM / Interp. |")
  assert lines[4] == ("| RAE-L2 | 0.01235 | 10.00 | 22.50 | 8.12 | 14.00 | "
                      "10.00 ± 0.10 / 22.50 ± 0.23 / 8.12 ± 0.08 / "
                      "14.00 ± 0.14 | "
                      "0.90 / 0.80 (GMM) | 10.53 / 22.22 / 8.69 / 14.54 |")
  # No GMM column for the two-stage VAE: "–", and PRD of its own sampler.
  assert lines[5] == ("| 2sVAE | 0.02000 | 20.00 | 18.00 | – | 18.50 | "
                      "20.00 ± 0.20 / 18.00 ± 0.18 / – / 18.50 ± 0.18 | "
                      "0.70 / 0.60 (N) | 20.31 / 18.81 / – / 18.35 |")
  # The floor: the held-out real images, in every column.
  assert lines[6] == ("| real validation[0:500] (floor) | 0 | 3.00 | 3.00 | "
                      "3.00 | 3.00 | 3.00 ± 0.03 / 3.00 ± 0.03 / 3.00 ± 0.03 "
                      "/ 3.00 ± 0.03 | 0.99 / 0.98 |  |")
  assert "FID 3.00 (N=500 vs 1000), KID 3.00 ± 0.03 (×10³)" in lines[-1]


def test_markdown_table_without_paper_numbers_has_no_paper_column():
  rows = [table_files.Row(r.key, r.name, r.reconstruction_mse, r.columns, None)
          for r in ROWS]
  text = table_files.markdown_table(rows, "fashion_mnist", REAL, COLUMNS,
                              DESCRIPTION)
  assert "paper" not in text
  assert text.splitlines()[6].endswith("| 0.90 / 0.80 (GMM) |")


def test_csv_table_round_trips_every_number():
  rows = list(csv.DictReader(io.StringIO(
      table_files.csv_table(ROWS, "mnist", COLUMNS, REAL, DESCRIPTION))))
  assert [r["model"] for r in rows] == ["RAE-L2", "2sVAE",
                                        "real validation[0:500] (floor)"]
  assert {r["held_out"] for r in rows} == {"validation[0:500]"}
  assert {r["reference"] for r in rows} == {"test[0:1000]"}
  assert float(rows[2]["fid_interp"]) == 3.0
  assert float(rows[0]["fid_gmm"]) == 8.125
  # KIDs unscaled, as in evaluation.json.
  assert float(rows[0]["kid_mean_gmm"]) == 0.008125
  assert float(rows[0]["kid_std_interp"]) == 0.00014
  assert rows[1]["kid_mean_gmm"] == rows[1]["kid_std_gmm"] == ""
  assert float(rows[0]["prd_f8_gmm"]) == 0.9 and rows[0]["prd_f8_rec"] == ""
  assert float(rows[1]["prd_f1_8_n"]) == 0.6
  assert rows[1]["fid_gmm"] == "" and rows[1]["paper_fid_gmm"] == ""
  assert float(rows[1]["paper_fid_interp"]) == 18.35
  assert rows[0]["n"] == "500" and rows[0]["n_reference"] == "1000"


def _saved_evaluation(tmp_path, description):
  """A run directory whose evaluation.json is newer than results.json."""
  (tmp_path / "results.json").write_text("{}")
  saved = {"columns": {"REC": _scores(10.0)}, "num_samples": 2,
           "num_reference": 3, "seed": 0, "protocol": description}
  path = tmp_path / evaluate.EVALUATION_FILE
  path.write_text(json.dumps(saved))
  os.utime(path, (os.path.getmtime(tmp_path / "results.json") + 1,) * 2)
  return saved


@pytest.mark.parametrize("saved_protocol", ["same", "other", "none"])
def test_an_evaluation_under_another_protocol_is_not_reused(
    tmp_path, monkeypatch, saved_protocol):
  other = protocol.describe(protocol.HeldOut("test", 1000, 500), 1000, 0)
  saved = _saved_evaluation(tmp_path, {"same": DESCRIPTION, "other": other,
                                       "none": None}[saved_protocol])
  monkeypatch.setattr(evaluate, "evaluate_run",
                      lambda *args, **kwargs: "evaluated again")
  run = types.SimpleNamespace(workdir=str(tmp_path),
                              config=types.SimpleNamespace(seed=0))
  result = table._evaluation(run, [0, 0], [0, 0, 0], None, DESCRIPTION)
  assert result == (saved if saved_protocol == "same" else "evaluated again")


def _run_table(*flags):
  return subprocess.run(
      [sys.executable, "-m", "rae_tf.evaluation.table", *flags], cwd=REPO_ROOT,
      capture_output=True, text=True, timeout=900,
      env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


def test_unknown_model_is_one_line_naming_the_choices(tmp_path):
  result = _run_table("--models=rae,gan", f"--table_dir={tmp_path}")
  assert result.returncode == 2
  last = result.stderr.strip().splitlines()[-1]
  assert "--models must name some of" in last and "'gan'" in last


@pytest.mark.skipif(not os.path.isfile(inception.weights_path()),
                    reason="no converted FID Inception weights: run "
                    "`python -m rae_tf.evaluation.convert_inception`")
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
  # The reconstructed images follow the 30 reference ones in the test split.
  assert "REC = reconstructions of the 20 images test[30:50]" in markdown
  assert "| real test[30:50] (floor) |" in markdown
  assert "| RAE-L2 |" in markdown and "| 2sVAE |" in markdown
  assert "KID ×10³: REC / N / GMM / Interp." in markdown
  for key in ("rae_l2", "two_stage_vae"):
    with open(tmp_path / key / "evaluation.json") as f:
      evaluation = json.load(f)
    assert evaluation["num_samples"] == 20
    assert evaluation["protocol"]["held_out"] == "test[30:50]"
    assert evaluation["columns"]["REC"]["fid"]["n_reference"] == 30
    assert all("kid_mean" in scores and "kid_std" in scores
               for scores in evaluation["columns"].values())
    assert os.listdir(tmp_path / key / "tensorboard" / "evaluation")
  assert "GMM" not in evaluation["columns"]  # the two-stage VAE's
  assert "the authors' form" in evaluation["protocol"]["columns"]["REC"]
  with open(tmp_path / "two_stage_vae" / "results.json") as f:
    second_stage = json.load(f)["code_sampler_training"]
  assert len(second_stage["val_loss"]) == len(second_stage["loss"]) >= 1
  with open(tmp_path / "table.csv") as f:
    assert len(list(csv.DictReader(f))) == 3  # two models and the floor

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
