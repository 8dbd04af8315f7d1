r"""The README's GrammarRAE tables: every task x model x seed, one command.

    python benchmarks/grammar_table.py --out=runs/grammar_table

Runs `python -m rae_tf.grammar.main` for GRAE, GVAE and CVAE with seeds 0
and 1: expressions on `flags/grammar_cpu.flags` (minutes per run), molecules
on `flags/grammar_molecules_cpu.flags` (about half an hour per grammar run on
2 cores). A run whose `results.json` exists under
`--out/<task>/<model>-seed<k>` is reused, so an interrupted table resumes
and a finished run can be copied in. Prints two Markdown tables: the
expressions' valid shares and BO, and the molecules' MOSES metrics of the
decoded ex-post GMM samples (`molecule_metrics.gmm`) with the valid share
from N(0, I) beside them, BO and wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

FLAGFILES = {"expressions": "flags/grammar_cpu.flags",
             "molecules": "flags/grammar_molecules_cpu.flags"}
MODELS = ("grae", "gvae", "cvae")
NAMES = {"grae": "GRAE", "gvae": "GVAE", "cvae": "CVAE"}


MOLECULE_HEADER = (
    "| model | seed | held-out cross-entropy (nats) | valid N(0,I) |"
    " valid GMM | distinct valid GMM (Unique) | Novelty | IntDiv1 |"
    " W1 logP / SA / QED / MW | BO valid / avg score | BO best (score) | run |"
    "\n|---|---|---|---|---|---|---|---|---|---|---|---|")


def run_or_reuse(root: str, out: str, task: str, model: str, seed: int,
                 extra_flags: tuple[str, ...] = ()) -> dict:
  """Returns the results.json of one run, training it if it is missing.

  `extra_flags` ("--name=value") follow the task's flagfile and override
  it; a reused run must hold the same values.
  """
  workdir = os.path.join(out, task, f"{model}-seed{seed}")
  results_path = os.path.join(workdir, "results.json")
  if not os.path.exists(results_path):
    extra = ["--task=expressions"] if task == "expressions" else []
    subprocess.run(
        [sys.executable, "-m", "rae_tf.grammar.main",
         f"--flagfile={FLAGFILES[task]}", *extra, f"--model={model}",
         f"--seed={seed}", *extra_flags,
         f"--workdir={os.path.abspath(workdir)}", "--overwrite"],
        cwd=root, check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
  with open(results_path) as f:
    results = json.load(f)
  config = results["config"]
  wanted = dict(flag[2:].split("=", 1) for flag in extra_flags)
  differing = [name for name, value in wanted.items()
               if str(config.get(name)) != value
               and not _same_number(config.get(name), value)]
  if (config["seed"], config["model"], config["task"]) != (
      seed, model, task) or differing:
    raise SystemExit(f"{results_path} holds another run: {config}; delete it "
                     "and rerun")
  return results


def _same_number(saved, flag_value: str) -> bool:
  try:
    return float(saved) == float(flag_value)
  except (TypeError, ValueError):
    return False


def _percent(share) -> str:
  return "–" if share is None else f"{100 * share:.1f}%"


def _bo(results: dict) -> tuple[str, str, str]:
  """BO valid share, average score and best (score) over the pooled seeds."""
  pooled = results["bayesopt"]["pooled"]
  average = pooled["average_score"]
  top = "; ".join(f"`{t['string']}` {t['score']:.2f}" for t in pooled["top3"])
  return (_percent(pooled["valid_share"]),
          "–" if average is None else f"{average:.2f}", top or "–")


def expression_row(results: dict) -> str:
  """One row: model, seed, rec. acc., valid N(0,I) / GMM, BO, run s."""
  config = results["config"]
  bo_valid, bo_average, bo_top = _bo(results)
  return (f"| {NAMES[config['model']]} | {config['seed']} | "
          f"{_percent(results['reconstruction_accuracy'])} | "
          f"{_percent(results['valid']['prior'])} | "
          f"{_percent(results['valid']['gmm'])} | {bo_valid} | "
          f"{bo_average} | {bo_top} | {results['wall_time_seconds']:.0f} |")


def molecule_row(results: dict, label: str | None = None) -> str:
  """One row: the MOSES metrics of the GMM samples, BO and wall time.

  `label` replaces the model's name in the first column.
  """
  config = results["config"]
  gmm = results["molecule_metrics"]["gmm"]
  distinct = round(gmm["valid_samples"] * (gmm["unique"] or 0))
  w1 = ("–" if not gmm["valid_samples"] else
        f"{gmm['w1_logp']:.2f} / {gmm['w1_sa']:.2f} / {gmm['w1_qed']:.2f} / "
        f"{gmm['w1_weight']:.0f}")
  def _metric(key):
    return "–" if gmm.get(key) is None else f"{gmm[key]:.2f}"
  # GRAE optimises the masked cross-entropy; the VAEs report it beside
  # Kusner et al.'s objective.
  cross_entropy = results["test"].get("cross_entropy",
                                      results["test"]["reconstruction"])
  bo_valid, bo_average, _ = _bo(results)
  top3 = results["bayesopt"]["pooled"]["top3"]
  bo_best = f"`{top3[0]['string']}` {top3[0]['score']:.2f}" if top3 else "–"
  minutes, seconds = divmod(round(results["wall_time_seconds"]), 60)
  return (f"| {label or NAMES[config['model']]} | {config['seed']} | "
          f"{cross_entropy:.2f} | "
          f"{_percent(results['valid']['prior'])} | {_percent(gmm['valid'])} |"
          f" {distinct} ({_metric('unique')}) | {_metric('novelty')} |"
          f" {_metric('int_div')} | {w1} | {bo_valid} / {bo_average} |"
          f" {bo_best} | {minutes} min {seconds:02d} s |")


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--out", default="runs/grammar_table")
  parser.add_argument("--tasks", default="expressions,molecules")
  parser.add_argument("--models", default=",".join(MODELS))
  parser.add_argument("--seeds", default="0,1")
  args = parser.parse_args()
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  seeds = [int(s) for s in args.seeds.split(",")]
  models = args.models.split(",")
  for task in args.tasks.split(","):
    rows = [run_or_reuse(root, args.out, task, model, seed)
            for model in models for seed in seeds]
    if task == "expressions":
      print("| model | seed | rec. acc. | valid N(0,I) | valid GMM | BO valid |"
            " BO avg score | BO top 3 (score) | run s |")
      print("|---|---|---|---|---|---|---|---|---|")
      print("\n".join(map(expression_row, rows)))
    else:
      print(MOLECULE_HEADER)
      print("\n".join(map(molecule_row, rows)))
    print()


if __name__ == "__main__":
  main()
