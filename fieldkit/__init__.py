"""fieldkit: offline-first counting, identification and care of victims of a mass-casualty event."""

__version__ = "0.1.0"

import logging as _logging

# A library's loggers say nothing unless the program asks (``hub serve`` attaches a handler): a
# warning must not reach a user's terminal as a second, unformatted line beside the one sentence.
_logging.getLogger("fieldkit").addHandler(_logging.NullHandler())
