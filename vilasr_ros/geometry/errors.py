"""The geometry layer's exception."""


class GeometryError(ValueError):
    """A programming error in a call into the geometry layer (a wrong type, an empty frame id).

    Bad data (non-finite coordinates, boxes outside the image, missing or
    malformed depth, intrinsics or pose) never raises: the estimate degrades
    to 2D with its flags set, or the drawing is skipped with a reason.
    """
