"""tf.distribute strategies for `--distribute`, and who does the single-writer work.

  none          the default strategy: one device.
  mirrored      MirroredStrategy: every GPU of this machine.
  multi_worker  MultiWorkerMirroredStrategy across machines, configured by
                the TF_CONFIG environment variable; worker 0 is the chief.

Every worker runs the training loop (its collectives need all of them); only
the chief writes the work directory: checkpoints, TensorBoard, the ex-post
densities, pictures, the export and results.json. Workers read the chief's
resume checkpoint, so resuming a multi-worker run needs a work directory on a
file system that every worker sees.
"""

from __future__ import annotations

import json
import os
from typing import Callable

import tensorflow as tf

from rae_tf import errors


def _multi_worker() -> tf.distribute.Strategy:
  config = os.environ.get("TF_CONFIG")
  if not config:
    raise errors.ConfigError(
        "--distribute=multi_worker needs the TF_CONFIG environment variable, "
        'e.g. {"cluster": {"worker": ["host0:port", "host1:port"]}, '
        '"task": {"type": "worker", "index": 0}}')
  try:
    json.loads(config)
  except ValueError as e:
    raise errors.ConfigError(f"TF_CONFIG is not valid JSON: {e}") from e
  return tf.distribute.MultiWorkerMirroredStrategy()


# --distribute value -> strategy factory.
STRATEGIES: dict[str, Callable[[], tf.distribute.Strategy]] = {
    "none": tf.distribute.get_strategy,
    "mirrored": tf.distribute.MirroredStrategy,
    "multi_worker": _multi_worker,
}


def make_strategy(name: str) -> tf.distribute.Strategy:
  """Creates the strategy; call before any other TF work of the program."""
  if name not in STRATEGIES:
    raise errors.ConfigError(
        f"--distribute must be one of {sorted(STRATEGIES)}; got {name!r}")
  return STRATEGIES[name]()


def is_chief(strategy: tf.distribute.Strategy) -> bool:
  """True on the worker that writes outputs (the only one, if not multi-worker)."""
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or not resolver.cluster_spec().as_dict():
    return True
  return resolver.task_type in (None, "chief") or (
      resolver.task_type == "worker" and resolver.task_id == 0)


def chief_decides(strategy: tf.distribute.Strategy, value: bool) -> bool:
  """Every worker gets the chief's `value` (a collective: all must call it).

  The chief's replicas contribute 1 when `value` is true, every other replica
  0; the SUM over all replicas is then > 0.5 exactly when the chief said yes.
  """
  if strategy.num_replicas_in_sync == 1:
    return value
  mine = 1.0 if (value and is_chief(strategy)) else 0.0
  total = strategy.reduce(tf.distribute.ReduceOp.SUM,
                          strategy.run(lambda: tf.constant(mine)), axis=None)
  return bool(total.numpy() > 0.5)
