r"""The README's GrammarRAE tables, with their floors, in one command.

    python benchmarks/grammar_table.py --out=runs/grammar_table
        [--tasks=expressions,molecules] [--seeds=0,1] [--reuse_stale]

Runs `python -m rae_tf.grammar.main` on `flags/grammar_cpu.flags`
(expressions, minutes per run) and `flags/grammar_molecules_cpu.flags`
(molecules, up to an hour per run on 2 cores) for GRAE, GVAE and CVAE with
each seed, and the untrained floors (`--epochs=0`: the GRAE nets on rules,
the CVAE nets on characters). Rows: every run; "untrained"; "held-out data"
(real validation molecules under the sample columns, the training strings'
scores under the BO columns). Columns (results.json; protocol in
`rae_tf/grammar/measurements/protocol.py`): token accuracy, Kusner et al.'s
reconstruction accuracy (95% interval over strings), valid shares (greedy /
per draw), FCD and MOSES metrics of the samples (molecules), BO % valid and
average score (95% intervals over trials) and the top 3.

A finished run under `--out/<task>/<row>` is reused only if its code stamp
(`rae_tf.provenance`) has the current source hash; otherwise it is run
again, unless `--reuse_stale`, and then its row names its older code.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
from rae_tf import provenance  # pylint: disable=wrong-import-position

FLAGFILES = {"expressions": ("flags/grammar_cpu.flags", "--task=expressions"),
             "molecules": ("flags/grammar_molecules_cpu.flags",)}
NAMES = {"grae": "GRAE", "gvae": "GVAE", "cvae": "CVAE"}
# The untrained floors: one per architecture (rules, characters).
FLOORS = (("untrained (rules)", "grae"), ("untrained (characters)", "cvae"))
# The paper's BO table (PAPER.md): % valid, average score.
PAPER = {"expressions": {"grae": (1.00, 3.22), "gvae": (0.99, 3.26),
                         "cvae": (0.82, 4.74)},
         "molecules": {"grae": (0.72, -5.62), "gvae": (0.28, -7.89),
                       "cvae": (0.16, -25.64)}}


def run_or_reuse(root: str, workdir: str, task: str, model: str, seed: int,
                 extra_flags: tuple[str, ...] = (),
                 reuse_stale: bool = False) -> dict:
  """results.json of one run, running it if missing or of older code.

  `extra_flags` ("--name=value") follow the task's flagfile; a reused run
  must hold the same values, task, model and seed.
  """
  path = os.path.join(workdir, "results.json")
  if os.path.exists(path):
    with open(path) as f:
      results = json.load(f)
    config = results["config"]
    wanted = dict(flag[2:].split("=", 1) for flag in extra_flags)
    differing = [n for n, v in wanted.items() if str(config.get(n)) != v
                 and not _same_number(config.get(n), v)]
    if (config["seed"], config["model"], config["task"]) != (
        seed, model, task) or differing:
      raise SystemExit(f"{path} holds another run ({config}); delete it")
    current = results.get("code", {}).get("source_hash") == (
        provenance.source_hash())
    if current or reuse_stale:
      return results
  subprocess.run(
      [sys.executable, "-m", "rae_tf.grammar.main",
       f"--flagfile={FLAGFILES[task][0]}", *FLAGFILES[task][1:],
       f"--model={model}", f"--seed={seed}", *extra_flags,
       f"--workdir={os.path.abspath(workdir)}", "--overwrite"],
      cwd=root, check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
  with open(path) as f:
    return json.load(f)


def _same_number(saved, flag_value: str) -> bool:
  try:
    return float(saved) == float(flag_value)
  except (TypeError, ValueError):
    return False


def percent(share, digits: int = 1) -> str:
  return "–" if share is None else f"{100 * share:.{digits}f}%"


def interval(summary, scale: float = 1.0, digits: int = 2,
             unit: str = "") -> str:
  """"m [lo, hi]" of a `intervals.mean_interval` dict, or "–"."""
  if not summary:
    return "–"
  text = f"{scale * summary['mean']:.{digits}f}{unit}"
  if summary.get("low") is not None:
    text += (f" [{scale * summary['low']:.{digits}f}, "
             f"{scale * summary['high']:.{digits}f}]")
  return text


def code_label(results: dict) -> str:
  code = results.get("code") or {}
  label = code.get("source_hash", "?")
  return label if label == provenance.source_hash() else f"{label} (stale)"


def _fcd(metrics) -> str:
  fcd = (metrics or {}).get("fcd")
  return "–" if not fcd else f"{fcd['value']:.1f}"


def _top3(bo) -> str:
  if not bo or not bo["top3"]:
    return "–"
  return "; ".join(f"`{t['string']}` {t['score']:.2f}" for t in bo["top3"])


def _minutes(results: dict) -> str:
  minutes, seconds = divmod(round(results["wall_time_seconds"]), 60)
  return f"{minutes} min {seconds:02d} s"


def model_row(label: str, results: dict, molecules: bool) -> str:
  """One row of a trained or untrained run."""
  rec = results["reconstruction"]
  samples = results["samples"]
  bo = results["bayesopt"]
  cells = [label, str(results["config"]["seed"]),
           str(results.get("epochs_trained", "–")),
           percent(rec["token_accuracy"]),
           interval(rec["sampled_accuracy"], 100, 1, "%"),
           f"{percent(samples['prior']['validity']['greedy'])} / "
           f"{percent(samples['prior']['validity']['per_draw'])}",
           percent(samples["gmm"]["validity"]["per_draw"])]
  gmm = samples["gmm"]["metrics"]
  if molecules:
    cells += [f"{_fcd(gmm)} / {_fcd(samples['prior']['metrics'])}",
              f"{_number(gmm['unique'])} / {_number(gmm['novelty'])} / "
              f"{_number(gmm['int_div'])}"]
  else:
    cells += [_number(gmm["unique"])]
  cells += [interval(bo and bo["valid_share"], 100, 1, "%"),
            interval(bo and bo["average_score"]), _top3(bo),
            code_label(results), _minutes(results)]
  return "| " + " | ".join(cells) + " |"


def _number(value) -> str:
  return "–" if value is None else f"{value:.2f}"


def data_row(results: dict, molecules: bool) -> str:
  """The held-out data row: real molecules, training strings' scores."""
  real = results.get("real")
  scores = (results["bayesopt"] or {}).get("training_scores")
  cells = ["held-out data", "–", "–", "–", "–", "–", "–"]
  if molecules:
    cells += [_fcd(real) + " / –",
              f"{_number(real['unique'])} / {_number(real['novelty'])} / "
              f"{_number(real['int_div'])}"]
  else:
    cells += ["–"]
  cells += ["–", f"{scores['average']:.2f} (training set)" if scores else "–",
            "; ".join(f"`{t['string']}` {t['score']:.2f}"
                      for t in scores["top3"]) if scores else "–",
            code_label(results), "–"]
  return "| " + " | ".join(cells) + " |"


def header(molecules: bool) -> str:
  columns = ["row", "seed", "epochs", "token acc.",
             "rec. acc. (Kusner) [95%]", "valid prior: greedy / per draw",
             "valid GMM per draw"]
  columns += (["FCD GMM / prior", "GMM unique / novel / IntDiv1"]
              if molecules else ["GMM unique"])
  columns += ["BO % valid [95%]", "BO avg score [95%]",
              "BO top 3 (best per trial)", "code", "run"]
  return ("| " + " | ".join(columns) + " |\n|"
          + "---|" * len(columns))


def task_table(root: str, out: str, task: str, seeds: list[int],
               reuse_stale: bool) -> str:
  """The Markdown table of one task: models x seeds, floors, data, paper."""
  molecules = task == "molecules"
  lines = [header(molecules)]
  first = None
  for model in ("grae", "gvae", "cvae"):
    for seed in seeds:
      results = run_or_reuse(root, os.path.join(out, task, f"{model}-seed"
                                                f"{seed}"), task, model, seed,
                             reuse_stale=reuse_stale)
      first = first or results
      lines.append(model_row(NAMES[model], results, molecules))
  for label, model in FLOORS:
    results = run_or_reuse(root, os.path.join(out, task, f"{model}-untrained"),
                           task, model, seeds[0], ("--epochs=0",),
                           reuse_stale)
    lines.append(model_row(label, results, molecules))
  lines.append(data_row(first, molecules))
  paper = ", ".join(f"{NAMES[m]} {v:.2f} / {s:.2f}"
                    for m, (v, s) in PAPER[task].items())
  lines.append(f"\nProtocol: {json.dumps(first['protocol'], indent=1)}\n"
               f"Paper (BO % valid / average score): {paper}.")
  return "\n".join(lines)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--out", default="runs/grammar_table")
  parser.add_argument("--tasks", default="expressions,molecules")
  parser.add_argument("--seeds", default="0,1")
  parser.add_argument("--reuse_stale", action="store_true",
                      help="reuse finished runs of older code (named so)")
  args = parser.parse_args()
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  seeds = [int(s) for s in args.seeds.split(",")]
  for task in args.tasks.split(","):
    print(task_table(root, args.out, task, seeds, args.reuse_stale))
    print()


if __name__ == "__main__":
  main()
