"""What several claims' evaluators and proofs share (zoo cases, the attention map, the sympy
autoencoder); no claim lives here."""
