"""Readers of the standard on-disk dataset formats, and of the user's images.

`mnist`, `cifar10`, `celeba`: the paper's datasets; `folder` (image files)
and `npz` (arrays): the user's own, standardised by `images` (crop, resize,
channels). `holdout` cuts the splits the files do not define. Each reader
returns `rae_tf.data.SplitArrays` (small sets held as uint8 arrays) or
`rae_tf.data.Splits` (streamed sets), and raises `rae_tf.data.DataError`
with a one-line message naming the file and the fix.
"""
