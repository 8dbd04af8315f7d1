r"""What an hour of 2 CPU cores buys the molecule GRAE: width against epochs.

    python benchmarks/grammar_budget.py --out=runs/grammar_budget

Trains GRAE (seed 0) on `flags/grammar_molecules_cpu.flags` in each setting
of `SETTINGS`, each sized to use about the 60 minutes the profile may take
on this CPU: the profile's nets (width 0.25, GRUs of 125 units, float32, 476
molecules/s in `grammar_speed.py`) for 40 epochs instead of 25, and nets
twice as wide (GRUs of 250 units) in bfloat16, their fastest option (213
molecules/s), for 18 epochs. A run whose `results.json` exists under
`--out/<setting>/molecules/grae-seed0` is reused. Prints each run's
learning curve (valid share and distinct valid strings of 100 decoded
ex-post GMM samples, held-out loss) against the minutes spent, then its
final metrics.
"""

from __future__ import annotations

import argparse
import os

import grammar_table  # benchmarks/grammar_table.py

SETTINGS = {
    "width0.25-float32-e40": ("--width=0.25", "--epochs=40"),
    "width0.5-bfloat16-e18": ("--width=0.5", "--precision=mixed_bfloat16",
                              "--epochs=18"),
}


def minutes(results: dict, point: dict) -> str:
  """Minutes from the start of training to the end of `point`'s epoch.

  Runs that predate the curve's "seconds" get the epoch's share of the
  whole fit time (epochs take equal time but for the first), marked "≈".
  """
  if "seconds" in point:
    return f"{point['seconds'] / 60:.1f}"
  share = point["epoch"] / results["config"]["epochs"]
  return f"≈{share * results['fit_seconds'] / 60:.1f}"


def curve_table(runs: dict) -> str:
  lines = ["| setting | epoch | minutes | held-out loss | valid GMM (of 100) |"
           " distinct valid |", "|---|---|---|---|---|---|"]
  for name, results in runs.items():
    last = results["config"]["epochs"]
    for point in results["learning_curve"]:
      if point["epoch"] % 5 and point["epoch"] not in (1, last):
        continue
      lines.append(
          f"| {name} | {point['epoch']} | {minutes(results, point)} | "
          f"{point['val_loss']:.2f} | {100 * point['gmm_valid']:.0f}% | "
          f"{point['gmm_distinct_valid']} |")
  return "\n".join(lines)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--out", default="runs/grammar_budget")
  parser.add_argument("--settings", default=",".join(SETTINGS),
                      help=f"comma-separated, of {list(SETTINGS)}")
  args = parser.parse_args()
  unknown = set(args.settings.split(",")) - set(SETTINGS)
  if unknown:
    parser.error(f"unknown --settings {sorted(unknown)}; known: "
                 f"{list(SETTINGS)}")
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  runs = {name: grammar_table.run_or_reuse(
      root, os.path.join(args.out, name), "molecules", "grae", 0,
      SETTINGS[name]) for name in args.settings.split(",")}
  print(curve_table(runs))
  print()
  print(grammar_table.MOLECULE_HEADER)
  for name, results in runs.items():
    print(grammar_table.molecule_row(results, label=f"GRAE {name}"))


if __name__ == "__main__":
  main()
