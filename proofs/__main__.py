"""``python -m proofs [CLAIM ...]``: see :mod:`proofs`."""

import sys

from lipbound.errors import UnknownClaimError

from . import run

try:
    sys.exit(run(sys.argv[1:]))
except UnknownClaimError as exc:
    print(f"python -m proofs: {exc}", file=sys.stderr)
    sys.exit(2)
