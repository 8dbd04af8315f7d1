"""GrammarRAE: autoencoders of strings through their grammar's derivations.

Data side: `grammars` (rule tables, parsing, one-hot rule sequences),
`characters` (the character encoding of the CVAE baseline), `datasets`
(the generated expression set; SMILES files and MOSES) and `scores` (the
Bayesian-optimisation objectives).
"""
