"""Masks and pixel rows as plain bytes, without numpy (GIMP's Python may lack it) and without GIMP.

A mask is width x height bytes, rows top to bottom, one byte per pixel; nonzero = inside. Pixel data is width x height
x channels bytes, channels interleaved. The byte tricks below (translate, slicing with a step, big-integer OR) run in
C, so a 4000 x 3000 mask takes milliseconds, not a Python loop per pixel.
"""
from __future__ import annotations

_NONZERO_TO_255 = bytes([0] + [255] * 255)


def _flags(plane: bytes) -> int:
    """A plane (one byte per pixel) as one big integer whose bytes are 0 or 255."""
    return int.from_bytes(plane.translate(_NONZERO_TO_255), "little")


def mask_from_pixels(data: bytes, channels: int, has_alpha: bool) -> bytes:
    """The mask of a mask layer's pixels: 255 where any colour channel is nonzero (and alpha, if any, is nonzero).

    data: width x height x channels bytes (channels 1..4, the last one alpha when has_alpha).
    """
    colours = channels - 1 if has_alpha else channels
    if colours < 1 or len(data) % channels:
        raise ValueError(f"expected pixel data with {channels} channels, {int(has_alpha)} of them alpha; "
                         f"got {len(data)} bytes")
    count = len(data) // channels
    inside = 0
    for channel in range(colours):
        inside |= _flags(data[channel::channels])
    if has_alpha:
        inside &= _flags(data[colours::channels])
    return inside.to_bytes(count, "little")


def intersect(*masks: bytes) -> bytes:
    """255 where every mask (all of one size) is nonzero, 0 elsewhere."""
    inside = _flags(masks[0])
    for mask in masks[1:]:
        if len(mask) != len(masks[0]):
            raise ValueError(f"masks of {len(masks[0])} and {len(mask)} bytes cannot be intersected")
        inside &= _flags(mask)
    return inside.to_bytes(len(masks[0]), "little")


def is_empty(mask: bytes) -> bool:
    """True when no byte of the mask is nonzero."""
    return not mask.strip(b"\0")


def count_inside(mask: bytes) -> int:
    """How many pixels of the mask are nonzero."""
    return len(mask) - mask.count(0)


def place(mask: bytes, width: int, height: int, x: int, y: int, canvas_width: int, canvas_height: int) -> bytes:
    """Pastes a width x height mask with its top-left corner at (x, y) of an empty canvas; what falls outside is cut.

    Used to bring a mask layer into the coordinates of the layer being edited (both may have offsets and sizes of
    their own).
    """
    if len(mask) != width * height:
        raise ValueError(f"a {width}x{height} mask has {width * height} bytes; got {len(mask)}")
    canvas = bytearray(canvas_width * canvas_height)
    left, right = max(x, 0), min(x + width, canvas_width)
    if left >= right:
        return bytes(canvas)
    for row in range(max(y, 0), min(y + height, canvas_height)):
        source = (row - y) * width
        canvas[row * canvas_width + left:row * canvas_width + right] = mask[source + left - x:source + right - x]
    return bytes(canvas)


def gray_to_rgb(mask: bytes) -> bytes:
    """Repeats each byte three times: a mask as an RGB image (white inside, black outside for a 0/255 mask)."""
    rgb = bytearray(len(mask) * 3)
    rgb[0::3] = mask
    rgb[1::3] = mask
    rgb[2::3] = mask
    return bytes(rgb)


def crop(data: bytes, width: int, channels: int, x: int, y: int, crop_width: int, crop_height: int) -> bytes:
    """The crop_width x crop_height rectangle at (x, y) of an image `width` pixels wide (must lie inside it)."""
    stride = width * channels
    rows = [data[(y + row) * stride + x * channels:(y + row) * stride + (x + crop_width) * channels]
            for row in range(crop_height)]
    return b"".join(rows)


def bounds(mask: bytes, width: int) -> tuple[int, int, int, int] | None:
    """The smallest rectangle (x, y, width, height) holding every nonzero byte of a mask `width` pixels wide; None
    for an empty mask. One C-speed strip per row, so a 4000-row mask takes milliseconds."""
    if width < 1 or len(mask) % width:
        raise ValueError(f"a mask {width} pixels wide cannot have {len(mask)} bytes")
    left, right, top, bottom = width, 0, None, 0
    for row in range(len(mask) // width):
        line = mask[row * width:(row + 1) * width]
        stripped = line.lstrip(b"\0")
        if not stripped:
            continue
        if top is None:
            top = row
        bottom = row
        left = min(left, width - len(stripped))
        right = max(right, len(line.rstrip(b"\0")))
    if top is None:
        return None
    return left, top, right - left, bottom - top + 1


def mask_to_rgba(mask: bytes) -> bytes:
    """A 0/255 mask as RGBA pixels: opaque white inside, fully transparent outside (what mask_from_pixels reads back
    as the same mask)."""
    rgba = bytearray(len(mask) * 4)
    for channel in range(4):
        rgba[channel::4] = mask
    return bytes(rgba)
