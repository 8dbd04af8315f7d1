"""End to end: the GrammarRAE command line on both tasks, and its errors."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from rae_tf import precision
from rae_tf import provenance
from rae_tf.grammar.languages import datasets
from rae_tf.grammar.languages import grammars
from rae_tf.grammar import tasks

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ("--flagfile=flags/grammar_cpu.flags", "--epochs=1", "--num_samples=40",
        "--bo_iterations=2", "--bo_batch=3", "--bo_trials=2",
        "--bo_train_points=30", "--gmm_components=3",
        "--reconstruction_strings=8", "--reconstruction_encodes=2",
        "--reconstruction_draws=5", "--metric_samples=12")


def run_main(*flags, timeout=600):
  return subprocess.run(
      [sys.executable, "-m", "rae_tf.grammar.main", *flags], cwd=REPO_ROOT,
      capture_output=True, text=True, timeout=timeout,
      env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


def assert_one_line_error(result, *fragments):
  assert result.returncode == 2, result.stderr[-3000:]
  assert "Traceback" not in result.stderr, result.stderr[-3000:]
  last = result.stderr.strip().splitlines()[-1]
  for fragment in fragments:
    assert fragment in last, last


@pytest.fixture(scope="module")
def smiles_file(tmp_path_factory):
  """80 MOSES SMILES in a .smi file, to exercise --smiles_file."""
  path = tmp_path_factory.mktemp("data") / "tiny.smi"
  smiles = datasets.read_smiles(datasets.moses_train_path(), 80)
  path.write_text("smiles\n" + "\n".join(smiles) + "\n")
  return str(path)


MOLECULE_POLICY = ("mixed_bfloat16" if precision.bfloat16_kernels_available()
                   else "float32")
RUNS = {
    "expressions_grae": ("--task=expressions", "--model=grae",
                         "--max_examples=400", "--width=0.25"),
    "expressions_cvae": ("--task=expressions", "--model=cvae",
                         "--max_examples=400", "--width=0.25"),
    # The molecule run also trains in bfloat16 where the CPU's kernels can.
    "molecules_gvae": ("--task=molecules", "--model=gvae", "--width=0.05",
                       "--batch_size=40", "--length_percentile=95",
                       "--curve_samples=10", f"--precision={MOLECULE_POLICY}"),
}


@pytest.fixture(scope="module", params=sorted(RUNS))
def finished_run(request, tmp_path_factory, smiles_file):
  workdir = str(tmp_path_factory.mktemp("runs") / request.param)
  extra = (f"--smiles_file={smiles_file}",) if "molecules" in request.param \
      else ()
  result = run_main(*TINY, *RUNS[request.param], *extra,
                    f"--workdir={workdir}")
  assert result.returncode == 0, result.stderr[-5000:]
  with open(os.path.join(workdir, "results.json")) as f:
    return request.param, workdir, result, json.load(f)


def test_run_writes_the_expected_work_directory(finished_run):
  _, workdir, result, _ = finished_run
  assert f"outputs in {workdir}" in result.stdout
  for name in ("config.json", "flags.txt", "results.json", "bayesopt.json",
               "checkpoints/best.weights.h5", "samplers/gaussian.npz",
               "samplers/gmm.npz", "samples/prior.txt", "samples/gmm.txt"):
    assert os.path.isfile(os.path.join(workdir, name)), name
  leftovers = [name for _, dirs, files in os.walk(workdir)
               for name in dirs + files if name.startswith(".tmp")]
  assert not leftovers


def test_results_hold_the_metrics(finished_run):
  name, _, _, results = finished_run
  task, model = name.split("_")
  assert results["run_name"] == name
  assert results["config"]["task"] == task
  assert results["config"]["model"] == model
  assert results["config"]["precision"] == (
      MOLECULE_POLICY if name == "molecules_gvae" else "float32")
  assert results["code"]["source_hash"] == provenance.source_hash()
  strings = results["strings"]
  assert strings["train"] + strings["validation"] + strings["test"] == (
      strings["encoded"])
  reconstruction = results["reconstruction"]
  assert reconstruction["strings"] == min(8, strings["test"])
  assert 0.0 <= reconstruction["token_accuracy"] <= 1.0
  sampled = reconstruction["sampled_accuracy"]
  assert (sampled["encodes"], sampled["draws"]) == (2, 5)
  assert sampled["low"] <= sampled["mean"] <= sampled["high"]
  for source in ("prior", "gmm"):
    validity = results["samples"][source]["validity"]
    assert validity["codes"] == 40  # --num_samples
    assert validity["draws"] == tasks.TASKS[task].draws
    assert 0.0 <= validity["greedy"] <= 1.0
    assert 0.0 <= validity["per_draw"] <= 1.0
  assert set(results["protocol"]) == {"reconstruction", "validity",
                                      "sample_metrics", "bayesopt"}


def test_bayesopt_records_every_proposal_and_kusners_metrics(finished_run):
  name, workdir, _, results = finished_run
  task = tasks.TASKS[name.split("_")[0]]
  with open(os.path.join(workdir, "bayesopt.json")) as f:
    proposals = json.load(f)
  # 2 trials x 2 rounds x 3 proposals, each with what Kusner et al. keep.
  assert len(proposals) == 12
  assert [p["trial"] for p in proposals] == [0] * 6 + [1] * 6
  assert [p["iteration"] for p in proposals[:6]] == [1, 1, 1, 2, 2, 2]
  for proposal in proposals:
    assert len(proposal["code"]) == results["config"]["latent_dim"]
    assert 0 <= proposal["valid_draws"] <= task.draws
    valid = proposal["string"] is not None
    assert valid == (proposal["score"] is not None) == (
        proposal["valid_draws"] > 0)
    if valid:
      assert task.is_valid(proposal["string"])
      assert proposal["score"] == pytest.approx(task.score(proposal["string"]))
  bo = results["bayesopt"]
  per_trial = [sum(p["score"] is not None for p in proposals[6 * t:6 * t + 6])
               / 6 for t in (0, 1)]
  assert bo["valid_share"]["mean"] == pytest.approx(np.mean(per_trial))
  assert [t["valid_share"] for t in bo["per_trial"]] == pytest.approx(
      per_trial)
  assert len(bo["top3"]) <= 2  # one best per trial
  assert bo["training_scores"]["strings"] == results["strings"]["train"]


def test_the_sequence_length_comes_from_the_data_when_asked(finished_run):
  name, _, _, results = finished_run
  choice = results["sequence_length_choice"]
  if not name.startswith("molecules"):
    assert choice is None
    return
  # The 95th percentile of 80 MOSES molecules' derivations: far below
  # ZINC's 277 rules; the few longer molecules are dropped.
  assert choice["percentile"] == 95 and choice["measured"] == 80
  assert choice["length"] == results["sequence_length"] < 200
  assert 1 <= choice["dropped"] <= 4
  assert results["strings"]["encoded"] == 80 - choice["dropped"]


def test_the_learning_curve_starts_at_the_untrained_floor(finished_run):
  name, workdir, _, results = finished_run
  curve = results["learning_curve"]
  if name != "molecules_gvae":
    assert curve is None  # --curve_samples is 0 by default
    return
  assert [point["epoch"] for point in curve] == [0, 1]  # --epochs=1
  for point in curve:
    assert 0.0 <= point["gmm_valid"] <= 1.0
    assert 0 <= point["gmm_distinct_valid"] <= round(10 * point["gmm_valid"])
    assert 0.0 <= point["token_accuracy"] <= 1.0
    assert 0.0 <= point["sampled_accuracy"] <= 1.0
    assert 0 < point["seconds"] < results["fit_seconds"]
  assert curve[1]["loss"] > 0 and curve[1]["val_loss"] > 0
  assert np.isnan(curve[0]["loss"])  # before training


def test_an_untrained_run_measures_the_floor(tmp_path):
  workdir = str(tmp_path / "floor")
  result = run_main(*TINY, "--task=expressions", "--max_examples=300",
                    "--width=0.25", "--epochs=0", "--bo_iterations=0",
                    f"--workdir={workdir}")
  assert result.returncode == 0, result.stderr[-5000:]
  with open(os.path.join(workdir, "results.json")) as f:
    results = json.load(f)
  assert results["epochs_trained"] == 0 and results["best_epoch"] is None
  assert results["bayesopt"] is None
  assert not os.path.exists(os.path.join(workdir, "checkpoints"))
  assert 0.0 <= results["reconstruction"]["token_accuracy"] <= 1.0


def test_molecule_runs_report_moses_metrics_of_both_sample_sets(finished_run):
  name, _, _, results = finished_run
  if not name.startswith("molecules"):
    assert results["real"] is None
    assert set(results["samples"]["gmm"]["metrics"]) == {
        "samples", "valid_samples", "valid", "unique"}
    return
  sets = {source: results["samples"][source]["metrics"]
          for source in ("prior", "gmm")}
  # The floor: 12 real validation molecules (or all, if fewer).
  assert results["real"]["samples"] == results["real"]["valid_samples"] == (
      min(12, results["strings"]["validation"]))
  for source, metrics in [*sets.items(), ("real", results["real"])]:
    # Sampled until 12 are valid (--metric_samples), at most 50 x 12 codes.
    assert (metrics["valid_samples"] == min(12, metrics["samples"])
            or metrics["samples"] == 600)
    assert metrics["valid"] == metrics["valid_samples"] / metrics["samples"]
    # Too few for unique@1000 and unique@10000.
    assert metrics["unique@1000"] is None and metrics["unique@10000"] is None
    measured = ("unique", "novelty", "int_div", "int_div2", "w1_logp",
                "w1_sa", "w1_qed", "w1_weight")
    assert (metrics["fcd"] is None) == (metrics["valid_samples"] < 2)
    if metrics["fcd"]:
      assert metrics["fcd"]["n"] == metrics["valid_samples"]
      assert metrics["fcd"]["value"] > 0
    if metrics["valid_samples"] == 0:
      assert all(metrics[key] is None for key in measured)
    else:
      assert all(0.0 <= metrics[key] <= 1.0
                 for key in ("unique", "novelty", "int_div", "int_div2"))
      assert all(metrics[key] >= 0.0 for key in measured)


def test_reported_valid_shares_match_the_written_samples(finished_run):
  name, workdir, _, results = finished_run
  task = tasks.TASKS[name.split("_")[0]]
  for source in ("prior", "gmm"):
    metrics = results["samples"][source]["metrics"]
    with open(os.path.join(workdir, "samples", f"{source}.txt")) as f:
      lines = f.read().splitlines()
    assert len(lines) == metrics["samples"]
    valid = [task.is_valid(None if line == "<invalid>" else line)
             for line in lines]
    assert sum(valid) == metrics["valid_samples"]


def test_grammar_models_only_decode_strings_of_the_grammar(finished_run):
  name, workdir, _, _ = finished_run
  task, model = name.split("_")
  if model == "cvae":
    pytest.skip("characters: no grammar guarantee (checked as validity)")
  grammar = grammars.grammar_for(task)
  decoded = []
  for source in ("prior", "gmm"):
    with open(os.path.join(workdir, "samples", f"{source}.txt")) as f:
      decoded += [line for line in f.read().splitlines()
                  if line != "<invalid>"]
  with open(os.path.join(workdir, "bayesopt.json")) as f:
    decoded += [p["string"] for p in json.load(f) if p["string"]]
  assert decoded
  for string in decoded:
    grammar.to_rules(string)  # raises GrammarError if not in the grammar


@pytest.mark.parametrize("flags, fragments", [
    (("--task=expressions", "--smiles_file=x.smi"),
     ("--smiles_file is only read with --task=molecules",)),
    (("--latent_dim=0",), ("latent_dim must be a positive integer; got 0",)),
    (("--length_percentile=0",),
     ("length_percentile must be in (0, 100]; got 0.0",)),
    (("--epochs=-1",), ("epochs must be an integer >= 0; got -1",)),
    (("--validation_fraction=1",),
     ("validation_fraction must be in (0, 1); got 1.0",)),
    (("--lr_factor=1.5",), ("lr_factor must be in (0, 1); got 1.5",)),
    (("--min_learning_rate=0.01",),
     ("min_learning_rate must be in (0, learning_rate = 0.001]; got 0.01",)),
    (("--bo_trials=-2",), ("bo_trials must be an integer >= 0; got -2",)),
    (("--reconstruction_draws=0",),
     ("reconstruction_draws must be a positive integer; got 0",)),
    (("--metric_samples=0",),
     ("metric_samples must be a positive integer; got 0",)),
    (("--max_train_minutes=0",), ("max_train_minutes must be > 0; got 0.0",)),
    (("--inter_op_threads=-1",),
     ("inter_op_threads must be an integer >= 0; got -1",)),
    (("--task=molecules", "--smiles_file=/nonexistent.smi"),
     ("/nonexistent.smi does not exist",)),
])
def test_bad_input_ends_with_one_line(tmp_path, flags, fragments):
  result = run_main(*flags, f"--workdir={tmp_path / 'run'}")
  assert_one_line_error(result, *fragments)


def test_a_file_of_molecules_all_too_long_ends_with_one_line(tmp_path):
  # A chain of 100 carbons needs 401 production rules, above the 277 of
  # ZINC's derivations.
  path = tmp_path / "chains.smi"
  path.write_text("\n".join(["C" * 100, "C" * 101, "C" * 102]) + "\n")
  result = run_main("--task=molecules", f"--smiles_file={path}",
                    f"--workdir={tmp_path / 'run'}")
  assert_one_line_error(result, f"only 0 of 3 molecules strings in {path}",
                        "sequences of 277 symbols")


def test_a_non_empty_workdir_is_refused(tmp_path):
  (tmp_path / "keep.txt").write_text("mine")
  result = run_main("--epochs=1", f"--workdir={tmp_path}")
  assert_one_line_error(result, "is not empty; pass --overwrite")
  assert (tmp_path / "keep.txt").read_text() == "mine"



def test_flags_txt_reruns_the_same_configuration(finished_run):
  # In a subprocess: rae_tf.grammar.main defines flags (--model, ...) that
  # rae_tf.training_flags, imported by other tests, defines too.
  _, workdir, _, results = finished_run
  flagfile = os.path.join(workdir, "flags.txt")
  script = ("import sys; from rae_tf.grammar import main; "
            "main.FLAGS(['main', '--flagfile=' + sys.argv[1]]); "
            "print(main.config_from_flags().to_json())")
  result = subprocess.run([sys.executable, "-c", script, flagfile],
                          cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120, check=True)
  assert json.loads(result.stdout) == results["config"]
