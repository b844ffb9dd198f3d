"""The MNIST study as plain, tested functions; the rule scripts in `scripts/` call them."""

import sys

__version__ = "0.1.0"

# The top-level modules loaded before the package (Snakemake's own, in a rule script):
# `runtime.run_rule` can then say which ones the rule itself imported.
MODULES_BEFORE = frozenset(name.partition(".")[0] for name in list(sys.modules))
