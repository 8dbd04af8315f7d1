r"""What an hour of 2 CPU cores buys the molecule GRAE: width, data, precision.

    python benchmarks/grammar_budget.py --out=runs/grammar_budget \
        [--settings=w0.25-f32-40k,...] [--reuse_stale]

Trains GRAE (seed 0) on `flags/grammar_molecules_cpu.flags` in each setting
of `SETTINGS` for as many epochs as fit in `TRAIN_MINUTES` (--epochs=200
--max_train_minutes), so that training, the measurement protocol and the
start-up stay within 60 minutes: the profile's nets (GRUs of 125 units),
nets twice as wide in float32 and in bfloat16 (precision), and the profile's
nets on three times the data. Each run's learning curve (results.json
"learning_curve": token accuracy, greedy and sampled reconstruction
accuracy on 100 validation molecules, valid share of 100 GMM samples and
the FCD of 100 valid ones, after every epoch) is printed against the
minutes spent, then its final row in the molecule table's columns
(`grammar_table.py`). Runs are reused as `grammar_table.run_or_reuse` says.
"""

from __future__ import annotations

import argparse
import os

import grammar_table  # benchmarks/grammar_table.py

TRAIN_MINUTES = 42
SETTINGS = {
    "w0.25-f32-40k": ("--width=0.25",),
    "w0.5-f32-40k": ("--width=0.5",),
    "w0.5-bf16-40k": ("--width=0.5", "--precision=mixed_bfloat16"),
    "w0.25-f32-120k": ("--width=0.25", "--max_examples=120000"),
}
COMMON = ("--epochs=200", f"--max_train_minutes={TRAIN_MINUTES}")


def curve_table(runs: dict) -> str:
  """Every few epochs of each run's learning curve, with its minutes."""
  lines = ["| setting | epoch | minutes | held-out loss | token acc. | "
           "rec. acc. greedy / sampled | valid GMM | FCD GMM (N) |",
           "|---|---|---|---|---|---|---|---|"]
  for name, results in runs.items():
    curve = results["learning_curve"]
    step = max(1, len(curve) // 8)
    for point in curve[::step] + ([curve[-1]] if len(curve) % step != 1
                                  else []):
      fcd = point["fcd"]
      lines.append(
          f"| {name} | {point['epoch']} | {point['seconds'] / 60:.1f} | "
          f"{point['val_loss']:.2f} | "
          f"{grammar_table.percent(point['token_accuracy'])} | "
          f"{grammar_table.percent(point['greedy_accuracy'])} / "
          f"{grammar_table.percent(point['sampled_accuracy'])} | "
          f"{grammar_table.percent(point['gmm_valid'], 0)} | "
          + (f"{fcd['value']:.1f} ({fcd['n']})" if fcd else "–") + " |")
  return "\n".join(lines)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--out", default="runs/grammar_budget")
  parser.add_argument("--settings", default=",".join(SETTINGS),
                      help=f"comma-separated, of {list(SETTINGS)}")
  parser.add_argument("--reuse_stale", action="store_true",
                      help="reuse finished runs of older code (named so)")
  args = parser.parse_args()
  unknown = set(args.settings.split(",")) - set(SETTINGS)
  if unknown:
    parser.error(f"unknown --settings {sorted(unknown)}; known: "
                 f"{list(SETTINGS)}")
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  runs = {}
  for name in args.settings.split(","):
    runs[name] = grammar_table.run_or_reuse(
        root, os.path.join(args.out, name), "molecules", "grae", 0,
        SETTINGS[name] + COMMON, args.reuse_stale)
  print(curve_table(runs))
  print()
  print(grammar_table.header(molecules=True))
  for name, results in runs.items():
    print(grammar_table.model_row(f"GRAE {name}", results, molecules=True))


if __name__ == "__main__":
  main()
