"""fieldkit: offline-first counting, identification and care of victims of a mass-casualty event."""

__version__ = "0.1.0"
