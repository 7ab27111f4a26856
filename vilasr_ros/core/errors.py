"""The floor's exception."""


class DataError(ValueError):
    """A plain value cannot be built from the data given (a pose, a calibration, a frame); the message says why."""
