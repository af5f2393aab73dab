"""Recurrent-network components for spaCy (see README.md).

Importing the package is cheap: the factories and architectures are found by spaCy
through the entry points in setup.cfg, which import the modules that define them.
"""

__version__ = "0.1.0"
