"""Readers of the standard on-disk dataset formats.

Each reader returns `rae_tf.data.SplitArrays` (small sets held as uint8 arrays)
or `rae_tf.data.Splits` (streamed sets), and raises `rae_tf.data.DataError`
with a one-line message naming the file and the fix.
"""
