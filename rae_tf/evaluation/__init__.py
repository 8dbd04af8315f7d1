"""Evaluation: the paper's Table 1 and what it is computed from.

  features, inception, convert_inception   Inception features of the FID
  fid, kid, prd                            the distances on those features
  protocol                                 which images each column scores
  evaluate                                 one trained run's columns
  table, paper                             the runner; the paper's numbers
"""
