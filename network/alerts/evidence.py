"""Evidence files: check what they really are, and strip what they carry.

Screenshots often hold EXIF data (the phone, the place, the time) that could
identify a pupil or a member of staff. Images are re-encoded from their pixels
alone before they are sealed; the declared type must match the file's content.
"""

from __future__ import annotations

import io
import re
import unicodedata
from pathlib import PurePath

from PIL import Image, ImageOps, UnidentifiedImageError

from network.alerts.content import Evidence
from network.text import indefinite
from schools.errors import InvalidInput

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FILES = 5
MAX_PIXELS = 40_000_000
_IMAGE_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
_EXTENSIONS = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
}
IMAGE_TYPES = frozenset(_IMAGE_FORMATS.values())
ACCEPT = ",".join([*_EXTENSIONS, *sorted(set(_EXTENSIONS.values()))])


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def safe_filename(name: str) -> str:
    name = unicodedata.normalize("NFKC", PurePath(name.replace("\\", "/")).name)
    name = re.sub(r"[\x00-\x1f\x7f/]", "", name).strip(" .") or "evidence"
    return name[:150]


def prepare(filename: str, declared_type: str, data: bytes) -> Evidence:
    """Validate one uploaded file and return it ready to seal, or raise InvalidInput."""
    filename = safe_filename(filename)
    if not data:
        raise InvalidInput(f"{filename} is empty.", field="evidence")
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(
            f"{filename} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB.", field="evidence"
        )
    expected = _EXTENSIONS.get(PurePath(filename.lower()).suffix)
    if expected is None:
        raise InvalidInput(
            f"{filename}: attach screenshots (PNG, JPEG, WebP) or PDF files.", field="evidence"
        )
    declared = (declared_type or "").split(";")[0].strip().lower()
    if declared and declared not in ("application/octet-stream", expected):
        raise InvalidInput(
            f"{filename} says it is {declared} but its name says {expected}.", field="evidence"
        )
    if expected == "application/pdf":
        if not data.startswith(b"%PDF-"):
            raise InvalidInput(f"{filename} is not really a PDF file.", field="evidence")
        return Evidence(filename, expected, data)
    return Evidence(filename, expected, _clean_image(filename, expected, data))


def _clean_image(filename: str, expected: str, data: bytes) -> bytes:
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = image.format or ""
            if _IMAGE_FORMATS.get(fmt) != expected:
                kind = expected.split("/")[1].upper()
                raise InvalidInput(
                    f"{filename} is not really {indefinite(kind)} image.", field="evidence"
                )
            if image.width * image.height > MAX_PIXELS:
                raise InvalidInput(f"{filename} has too many pixels.", field="evidence")
            image.load()
            upright = ImageOps.exif_transpose(image)  # keep what the person saw
    except InvalidInput:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        kind = expected.split("/")[1].upper()
        raise InvalidInput(
            f"{filename} is not really {indefinite(kind)} image, or it is damaged.",
            field="evidence",
        ) from None
    if upright.mode not in ("RGB", "RGBA", "L", "LA"):
        upright = upright.convert(
            "RGBA" if "A" in upright.getbands() or upright.mode == "P" else "RGB"
        )
    # Rebuilt from raw pixels: no EXIF, XMP, ICC text chunks or comments survive.
    clean = Image.frombytes(upright.mode, upright.size, upright.tobytes())
    out = io.BytesIO()
    if fmt == "JPEG":
        clean.convert("RGB").save(out, format="JPEG", quality=90)
    elif fmt == "WEBP":
        clean.save(out, format="WEBP", quality=90)
    else:
        clean.save(out, format="PNG")
    return out.getvalue()


def preview_image(evidence: Evidence) -> bytes | None:
    """An attachment to show inline: only an image of an allowed type whose
    content is that type, re-encoded from its pixels as at upload (so whatever
    an older upload carried is stripped too); None for anything else."""
    if evidence.content_type not in IMAGE_TYPES:
        return None
    try:
        return _clean_image(evidence.filename, evidence.content_type, evidence.data)
    except InvalidInput:
        return None
