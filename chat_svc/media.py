"""What a file's bytes are: its media type sniffed from them, and for a raster image its size and thumbnail.

No network, no database: uploads.py feeds the bytes through a Sniff as they arrive, then asks here
which type the file gets and, for an image, has Pillow read it once (on a worker thread) to make
its thumbnail. A type is never taken from the client alone: the claimed one is kept only when the
bytes agree with it (a CSV claimed as text/csv is text; a .docx is a zip).
"""

from __future__ import annotations

import codecs
import warnings
from dataclasses import dataclass
from pathlib import Path

import filetype
from PIL import Image, ImageOps, UnidentifiedImageError

from common.errors import InvalidArgument

HEAD_BYTES = 8192  # what filetype reads of a file's start
OCTET_STREAM = "application/octet-stream"
TEXT = "text/plain"
RASTER = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})  # shown inline, thumbnailed

# Decompression bombs: a small file that decodes to billions of pixels. Pillow refuses past twice
# this (and warns past it); thumbnail() refuses past it before decoding anything.
IMAGE_PIXELS_MAX = 50_000_000
Image.MAX_IMAGE_PIXELS = IMAGE_PIXELS_MAX
# Past the limit Pillow warns on open, before thumbnail() refuses the image with a clear message: a
# client's mistake, not something for the log.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

# Other names clients use for a type the sniffer names one way.
_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/apng": "image/png",
    "audio/mp3": "audio/mpeg",
    "audio/wav": "audio/x-wav",
    "audio/flac": "audio/x-flac",
    "application/x-zip-compressed": "application/zip",
}
# A claimed type the bytes agree with although the sniffer says the container: text formats are
# text, office documents and e-books are zips, audio-only mp4/webm look like their video forms.
_AGREES = {
    TEXT: frozenset({"text/csv", "text/markdown", "text/tab-separated-values"}),
    "application/zip": frozenset(
        {
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "application/vnd.oasis.opendocument.text",
            "application/vnd.oasis.opendocument.spreadsheet",
            "application/vnd.oasis.opendocument.presentation",
            "application/epub+zip",
        }
    ),
    "video/mp4": frozenset({"audio/mp4"}),
    "video/webm": frozenset({"audio/webm"}),
}


def normal(content_type: str) -> str:
    """A media type without parameters, lower case, under its usual name ("Image/JPG; x=1" -> "image/jpeg")."""
    bare = content_type.split(";", 1)[0].strip().lower()
    return _ALIASES.get(bare, bare)


class Sniff:
    """Watches an upload's bytes go by: keeps the head for the type, and whether it is all UTF-8 text."""

    def __init__(self) -> None:
        self._head = bytearray()
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._text = True

    def feed(self, chunk: bytes) -> None:
        """The next bytes."""
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[: HEAD_BYTES - len(self._head)]
        if self._text:
            try:
                self._text = b"\0" not in chunk and bool(self._decoder.decode(chunk) or True)
            except UnicodeDecodeError:
                self._text = False

    def sniffed(self) -> str:
        """The type the bytes have: a known signature, else text/plain for UTF-8 without NULs, else octet-stream."""
        if self._text:
            try:
                self._decoder.decode(b"", final=True)  # a character cut off at the end is not text
            except UnicodeDecodeError:
                self._text = False
        kind = filetype.guess(bytes(self._head)) if self._head else None
        if kind is not None:
            return normal(kind.mime)
        return TEXT if self._text and self._head else OCTET_STREAM


def content_type(claimed: str, sniffed: str, allowed: frozenset[str]) -> str:
    """The type a file gets: the claimed one when the bytes agree with it and it is allowed, else the sniffed one."""
    wanted = normal(claimed)
    if wanted in allowed and (wanted == sniffed or wanted in _AGREES.get(sniffed, ())):
        return wanted
    return sniffed


def require_allowed(kind: str, allowed: frozenset[str]) -> None:
    """InvalidArgument (reason file_type_not_allowed) for a type outside the allow-list."""
    if kind not in allowed:
        shown = "unrecognised binary data" if kind == OCTET_STREAM else kind
        raise InvalidArgument(
            f"files of this type ({shown}) cannot be shared here; allowed: images, PDF, text, office "
            "documents, zip, audio and video",
            reason="file_type_not_allowed",
        )


@dataclass(frozen=True, slots=True)
class Picture:
    """A raster image's size (as shown: EXIF orientation applied) and its thumbnail's type."""

    width: int
    height: int
    thumbnail_type: str


def thumbnail(source: Path, target: Path, side: int) -> Picture:
    """Read the image at source once and write its thumbnail (at most side x side, WebP) to target. Blocking.

    The first frame of an animation; EXIF orientation applied; JPEGs decoded at a reduced scale.
    InvalidArgument for an image that cannot be read or has too many pixels.
    """
    try:
        with Image.open(source) as image:
            if image.width * image.height > IMAGE_PIXELS_MAX:
                raise _too_big(image.width, image.height)
            width, height = _shown_size(image)  # before draft(), which shrinks the size it reports
            image.draft("RGB", (side, side))  # JPEG: decode at 1/2, 1/4 or 1/8 scale when that is enough
            upright = ImageOps.exif_transpose(image)
            upright.thumbnail((side, side))
            mode = "RGBA" if upright.mode in {"RGBA", "LA", "P", "PA"} else "RGB"
            upright.convert(mode).save(target, "WEBP", quality=80, method=4)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidArgument("this image has too many pixels to be shown") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidArgument("this image could not be read; it may be damaged") from exc
    return Picture(width, height, "image/webp")


def _shown_size(image: Image.Image) -> tuple[int, int]:
    """The image's size in pixels once EXIF orientation is applied (5-8 turn it a quarter)."""
    orientation = image.getexif().get(0x0112, 1)
    width, height = image.size
    return (height, width) if orientation in {5, 6, 7, 8} else (width, height)


def _too_big(width: int, height: int) -> InvalidArgument:
    return InvalidArgument(
        f"this image is {width}x{height} pixels; the most a shared image may have is {IMAGE_PIXELS_MAX:,}"
    )
