"""A minimal PDF writer: pages of text and thin rectangles in the standard Courier fonts.

Why not fpdf2: phase 2 has 104,000+ label ends on 4,551 sheets and every deliverable together
has 10 s; `benchmarks/formats_bench.py` writes the same pages with both: 0.3 s here, 3.9 s with
fpdf2 (peak memory 50 MB against 76 MB). Courier is one of the 14 standard PDF fonts (nothing
to embed) and monospaced, so a line's width is 0.6 x size x characters and fitting a line to a
label needs no font metrics. Each page is one compressed
content stream; the output is deterministic (no dates, no random IDs).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

MM = 72 / 25.4  # points per millimetre
COURIER_ADVANCE = 0.6  # em: every Courier glyph is 600/1000 wide

FONTS = {"R": "Courier", "B": "Courier-Bold"}


def pdf_string(text: str) -> str:
    """A PDF literal string in WinAnsi (Latin-1 range); other characters become '?'."""
    s = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    if not s.isascii():
        s = s.encode("latin-1", "replace").decode("latin-1")
    return f"({s})"


def fit_size(text: str, width_pt: float, size: float, smallest: float = 4.0) -> float:
    """The Courier size (<= size) at which `text` fits `width_pt`."""
    need = COURIER_ADVANCE * size * max(len(text), 1)
    return size if need <= width_pt else max(smallest, width_pt / (COURIER_ADVANCE * len(text)))


@dataclass
class Page:
    """Drawing operators of one page, appended in reading order."""

    ops: list[str] = field(default_factory=list)

    def text(self, x: float, y: float, size: float, s: str, font: str = "R") -> None:
        self.ops.append(f"BT /{font} {size:.2f} Tf {x:.2f} {y:.2f} Td {pdf_string(s)} Tj ET")

    def rect(self, x: float, y: float, w: float, h: float, grey: float = 0.8,
             width: float = 0.3) -> None:
        self.ops.append(f"q {grey:.2f} G {width:.2f} w {x:.2f} {y:.2f} {w:.2f} {h:.2f} re S Q")


def write_pdf(pages: list[Page], width_pt: float, height_pt: float, level: int = 6) -> bytes:
    """The bytes of a PDF with these pages, all of one size."""
    objects: list[bytes] = []  # object n is objects[n - 1]

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    font_refs = {k: add(f"<< /Type /Font /Subtype /Type1 /BaseFont /{name} "
                        f"/Encoding /WinAnsiEncoding >>".encode())
                 for k, name in FONTS.items()}
    fonts = " ".join(f"/{k} {n} 0 R" for k, n in font_refs.items())
    pages_id = add(b"")  # filled in below, once the kids are known
    kids = []
    box = f"[0 0 {width_pt:.2f} {height_pt:.2f}]"
    for page in pages:
        data = zlib.compress("\n".join(page.ops).encode("latin-1"), level)
        stream = add(f"<< /Length {len(data)} /Filter /FlateDecode >>\nstream\n".encode()
                     + data + b"\nendstream")
        kids.append(add(f"<< /Type /Page /Parent {pages_id} 0 R /MediaBox {box} "
                        f"/Resources << /Font << {fonts} >> >> /Contents {stream} 0 R >>"
                        .encode()))
    objects[pages_id - 1] = (f"<< /Type /Pages /Count {len(kids)} /Kids ["
                             + " ".join(f"{k} 0 R" for k in kids) + "] >>").encode()
    catalog = add(f"<< /Type /Catalog /Pages {pages_id} 0 R >>".encode())
    out = [b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"]
    offsets = []
    pos = len(out[0])
    for n, body in enumerate(objects, start=1):
        chunk = f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
        offsets.append(pos)
        out.append(chunk)
        pos += len(chunk)
    xref = [f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n"]
    xref.extend(f"{o:010d} 00000 n \n" for o in offsets)
    out.append("".join(xref).encode())
    out.append(f"trailer\n<< /Size {len(objects) + 1} /Root {catalog} 0 R >>\n"
               f"startxref\n{pos}\n%%EOF\n".encode())
    return b"".join(out)


__all__ = ["MM", "Page", "fit_size", "pdf_string", "write_pdf"]
