"""Precision and recall for distributions (Sajjadi et al., NeurIPS 2018).

Both feature sets (Inception pool_3 features of generated and reference
images) are clustered together with k-means; each set becomes a histogram
over the clusters, p_eval and p_ref. For slopes lambda in (0, inf):
  precision(lambda) = sum_i min(lambda * p_ref_i, p_eval_i)
  recall(lambda)    = sum_i min(p_ref_i, p_eval_i / lambda)
                    = precision(lambda) / lambda.
The curve is summarised by max F_8 (weights recall: does the model cover the
data?) and max F_{1/8} (weights precision: is what it makes realistic?); the
RAE paper reports the pair (F_8, F_1/8). Defaults follow the authors' code
(msmsajjadi/precision-recall-distributions): 20 clusters of mini-batch
k-means with 10 initialisations, 10 clusterings averaged, 1001 angles.
"""

from __future__ import annotations

import dataclasses
from typing import Tuple

import numpy as np
from sklearn import cluster

_EPSILON = 1e-10  # keeps the angles inside (0, pi/2) and F_beta finite


@dataclasses.dataclass(frozen=True)
class PRDResult:
  """A PRD curve, its (F_8, F_1/8) summary and the sample counts."""

  precision: np.ndarray  # (num_angles,), recall from 1 down to 0
  recall: np.ndarray  # (num_angles,)
  f_8: float  # max F_8 over the curve: recall-weighted
  f_1_8: float  # max F_{1/8} over the curve: precision-weighted
  n: int  # evaluated samples
  n_reference: int  # reference samples

  def to_dict(self) -> dict:
    """The scalar summary, for results.json."""
    return {"f_8": self.f_8, "f_1_8": self.f_1_8, "n": self.n,
            "n_reference": self.n_reference}


def prd_curve(eval_dist: np.ndarray, ref_dist: np.ndarray,
              num_angles: int = 1001) -> Tuple[np.ndarray, np.ndarray]:
  """The PRD curve of two histograms over the same bins.

  Slopes are lambda = tan(angle), angles linearly spaced in
  [eps, pi/2 - eps]; precision(lambda) = sum_i min(lambda p_ref_i, p_eval_i),
  recall(lambda) = precision(lambda) / lambda.

  Args:
    eval_dist: (K,) probabilities of the evaluated distribution.
    ref_dist: (K,) probabilities of the reference distribution.
    num_angles: points on the curve, >= 3.

  Returns:
    precision, recall: (num_angles,) arrays in [0, 1].
  """
  eval_dist, ref_dist = np.asarray(eval_dist), np.asarray(ref_dist)
  if eval_dist.shape != ref_dist.shape or eval_dist.ndim != 1:
    raise ValueError("eval_dist and ref_dist must be 1-D and of one length; "
                     f"got shapes {eval_dist.shape} and {ref_dist.shape}")
  if num_angles < 3:
    raise ValueError(f"num_angles must be >= 3; got {num_angles}")
  angles = np.linspace(_EPSILON, np.pi / 2 - _EPSILON, num_angles)
  slopes = np.tan(angles)  # (A,)
  precision = np.minimum(ref_dist[None, :] * slopes[:, None],
                         eval_dist[None, :]).sum(axis=1)  # (A,)
  recall = precision / slopes
  # Rounding can push either just above 1; more than that is a real error.
  if max(precision.max(), recall.max()) > 1.001:
    raise ValueError("precision or recall above 1: the histograms must each "
                     "sum to 1")
  return np.clip(precision, 0, 1), np.clip(recall, 0, 1)


def cluster_histograms(eval_features: np.ndarray, ref_features: np.ndarray,
                       num_clusters: int,
                       seed: int) -> Tuple[np.ndarray, np.ndarray]:
  """Histograms of both sets over k-means clusters of their union.

  Returns:
    eval_dist, ref_dist: (num_clusters,) fractions of each set per cluster.
  """
  kmeans = cluster.MiniBatchKMeans(n_clusters=num_clusters, n_init=10,
                                   random_state=seed)
  labels = kmeans.fit(np.vstack([eval_features, ref_features])).labels_
  eval_labels = labels[:len(eval_features)]
  ref_labels = labels[len(eval_features):]
  return (np.bincount(eval_labels, minlength=num_clusters) / len(eval_labels),
          np.bincount(ref_labels, minlength=num_clusters) / len(ref_labels))


def f_beta(precision: np.ndarray, recall: np.ndarray,
           beta: float) -> np.ndarray:
  """F_beta = (1 + beta^2) P R / (beta^2 P + R), elementwise (+eps below)."""
  return ((1 + beta**2) * precision * recall /
          (beta**2 * precision + recall + _EPSILON))


def max_f_beta_pair(precision: np.ndarray, recall: np.ndarray,
                    beta: float = 8) -> Tuple[float, float]:
  """(max F_beta, max F_{1/beta}) over a PRD curve; beta = 8 as the paper."""
  if beta <= 0:
    raise ValueError(f"beta must be positive; got {beta}")
  return (float(np.max(f_beta(precision, recall, beta))),
          float(np.max(f_beta(precision, recall, 1 / beta))))


def prd_from_features(eval_features: np.ndarray, ref_features: np.ndarray,
                      num_clusters: int = 20, num_angles: int = 1001,
                      num_runs: int = 10, seed: int = 0) -> PRDResult:
  """PRD of evaluated vs reference features, averaged over clusterings.

  Args:
    eval_features: (N, D) features of the evaluated (generated) images.
    ref_features: (N, D) features of the reference images; the same N, since
      the cluster histograms depend on how the union is balanced.
    num_clusters: k of k-means.
    num_angles: points on the curve.
    num_runs: independent clusterings (seeds seed, seed + 1, ...) whose
      curves are averaged.
    seed: random state of the first clustering.

  Returns:
    PRDResult with the averaged curve and its (F_8, F_1/8).
  """
  eval_features = np.asarray(eval_features, np.float64)
  ref_features = np.asarray(ref_features, np.float64)
  if (eval_features.ndim != 2 or eval_features.shape != ref_features.shape):
    raise ValueError(
        "eval_features and ref_features must be (N, D) arrays of one shape "
        f"(balanced sets, as the PRD authors require); got "
        f"{eval_features.shape} and {ref_features.shape}")
  if len(eval_features) < num_clusters:
    raise ValueError(f"need at least num_clusters={num_clusters} samples per "
                     f"set; got {len(eval_features)}")
  curves = [prd_curve(*cluster_histograms(eval_features, ref_features,
                                          num_clusters, seed + run),
                      num_angles)
            for run in range(num_runs)]
  precision = np.mean([p for p, _ in curves], axis=0)
  recall = np.mean([r for _, r in curves], axis=0)
  f_8, f_1_8 = max_f_beta_pair(precision, recall, beta=8)
  return PRDResult(precision, recall, f_8, f_1_8, len(eval_features),
                   len(ref_features))
