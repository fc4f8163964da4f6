"""xlner: projection-based cross-lingual named-entity recognition."""

__version__ = "0.1.0"
