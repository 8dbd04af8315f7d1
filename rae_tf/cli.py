"""The console scripts' shared start: an absl main, as `python -m` runs it."""

import sys
from typing import Callable

from absl import app
from absl import flags


def run_absl_main(main: Callable, module_name: str) -> None:
  """Runs `main` with flags from sys.argv, `--help` showing `module_name`'s.

  absl's --help shows the docstring and key flags of `__main__`, which for a
  console script (rae-tf-train, ...) is pip's wrapper: lend it the module's.

  Args:
    main: the absl main, main(argv).
    module_name: the module defining `main` and its flags (`__name__`).
  """
  sys.modules["__main__"].__doc__ = sys.modules[module_name].__doc__
  for flag in flags.FLAGS.get_key_flags_for_module(module_name):
    flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
  app.run(main)
