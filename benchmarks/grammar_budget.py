r"""What an hour of 2 CPU cores buys the molecule GRAE: width, data, precision.

    python benchmarks/grammar_budget.py --out=runs/grammar_budget \
        [--settings=w0.25-f32-40k,...] [--reuse_stale]

Trains GRAE (seed 0) on `flags/grammar_molecules_cpu.flags` in each setting
of `SETTINGS` for the epochs that take 60 minutes at the setting's training
speed measured alone on the 2-core AVX2 AMD EPYC of this study (GRUs of 125
units: 96 molecules/s, 250 units: 24/s; an epoch also decodes the learning
curve's point, ~16 s): the first 10,000, 20,000 or 40,000 MOSES strings
(90% of the rest of the 10% test split trains) at width 0.25, and 10,000 at
width 0.5. Fixed epochs, not a clock, so that a run is reproducible and the
CPU may be shared without changing what it learns. bfloat16 is no option on
this CPU (TensorFlow's kernels run no bfloat16 convolution below AVX-512).
The measurement protocol (~20 minutes here) comes on top. Each run's
learning curve (results.json
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

SETTINGS = {
    "w0.25-10k": ("--width=0.25", "--max_examples=10000", "--epochs=34"),
    "w0.25-20k": ("--width=0.25", "--max_examples=20000", "--epochs=19"),
    "w0.25-40k": ("--width=0.25", "--max_examples=40000", "--epochs=10"),
    "w0.5-10k": ("--width=0.5", "--max_examples=10000", "--epochs=10"),
}


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
        SETTINGS[name], args.reuse_stale)
  print(curve_table(runs))
  print()
  print(grammar_table.header(molecules=True))
  for name, results in runs.items():
    print(grammar_table.model_row(f"GRAE {name}", results, molecules=True))


if __name__ == "__main__":
  main()
