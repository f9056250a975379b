"""labels.pdf (label sheets) and labels.csv (for label printers): one label per cable end.

The text is the plan's own `label_a` / `label_b` (scheme in rscctl.planner.labels and the
README): `<cable id> <this end> > <far end>`, each end `hall-row-rack-U<ru> device:port`. On a
label it is set on three lines (ID, this end, `> far end`) and a fourth small line says which
end (A/B), the medium, length and part, so the right cable is picked and the right end labelled.

Labels come in work-order walking order and every work order starts a new sheet, so each
cabling team gets its own sheets in the order it walks. The A and B label of a cable are one
pair, A above B in the same column (a sheet of 3 x 8 holds 3 x 4 pairs, left to right, then
down), so no pair is ever split across a row or a sheet.
"""

from __future__ import annotations

from dataclasses import dataclass

from rscctl.export.csvs import csv_bytes
from rscctl.export.tables import fmt_length
from rscctl.export.workorders import WorkOrder, work_orders
from rscctl.formats.pdf import MM, Page, fit_size, pdf_string, write_pdf
from rscctl.outputs import Files
from rscctl.planner.model import Cable, Plan

CSV_COLUMNS = (
    "work_order", "sheet", "position", "cable_id", "end", "label", "line1", "line2", "line3",
    "line4",
)


@dataclass(frozen=True)
class LabelSheet:
    """Sheet geometry; the default is A4 with 3 x 8 labels of 63.5 x 33.9 mm (Avery L7159)."""

    page_w_mm: float = 210.0
    page_h_mm: float = 297.0
    cols: int = 3
    rows: int = 8
    label_w_mm: float = 63.5
    label_h_mm: float = 33.9
    pitch_x_mm: float = 66.04
    pitch_y_mm: float = 33.9
    left_mm: float = 7.21
    top_mm: float = 12.9
    pad_mm: float = 2.5

    @property
    def per_sheet(self) -> int:
        """Labels per sheet: whole A-above-B pairs (an odd last row stays empty)."""
        return self.cols * (self.rows // 2) * 2

    def slot(self, k: int) -> int:
        """The row-major slot (0-based) of the k-th label of a sheet: label 2p (A) and 2p+1
        (B) of pair p sit in one column, A above B."""
        pair, end = divmod(k, 2)
        pair_row, col = divmod(pair, self.cols)
        return (2 * pair_row + end) * self.cols + col


DEFAULT_SHEET = LabelSheet()


# One label: work order, cable, end ("A"/"B"), full text, then the four printed lines.
LabelEnd = tuple[str, Cable, str, str, str, str, str, str]


def label_lines(cable_id: str, text: str, end: str, c: Cable) -> tuple[str, str, str, str]:
    """Split `<id> <here> > <there>` into the printed lines; keep the text whole otherwise."""
    detail = f"{end} end  {c.media} {fmt_length(c.length_m)} m  {c.part_number}".rstrip()
    rest = text[len(cable_id) + 1:] if text.startswith(cable_id + " ") else ""
    here, sep, there = rest.partition(" > ")
    if not sep:
        return (text[:40], text[40:80], text[80:], detail)
    return (cable_id, here, f"> {there}", detail)


def label_ends(orders: list[WorkOrder]) -> list[LabelEnd]:
    out: list[LabelEnd] = []
    add = out.append
    for wo in orders:
        name = wo.sheet
        for c in wo.cables:
            cid = c.cable_id
            tail = f"{c.media} {fmt_length(c.length_m)} m  {c.part_number}".rstrip()
            for end, text in (("A", c.label_a), ("B", c.label_b)):
                here, sep, there = text[len(cid) + 1:].partition(" > ")
                if sep and text.startswith(cid + " "):
                    add((name, c, end, text, cid, here, "> " + there, f"{end} end  {tail}"))
                else:
                    add((name, c, end, text, *label_lines(cid, text, end, c)))
    return out


def paginate(ends: list[LabelEnd], per_sheet: int) -> list[list[LabelEnd]]:
    """Sheets of labels; every work order starts a new sheet."""
    sheets: list[list[LabelEnd]] = []
    current: list[LabelEnd] = []
    for e in ends:
        if current and (len(current) == per_sheet or current[-1][0] != e[0]):
            sheets.append(current)
            current = []
        current.append(e)
    if current:
        sheets.append(current)
    return sheets


def _sizes(width_pt: float, size: float, longest: int = 256) -> list[str]:
    """The Courier size, as PDF text, that fits a line of n characters, for n < longest."""
    return [f"{fit_size('x' * n, width_pt, size):.2f}" for n in range(longest)]


def _clean_pdf(texts: list[str]) -> bool:
    """True when none of the texts needs escaping in a PDF string (the usual case)."""
    raw = "".join(texts)
    return raw.isascii() and not ("(" in raw or ")" in raw or "\\" in raw)


def render_pdf(build: str, sheets: list[list[LabelEnd]], geo: LabelSheet = DEFAULT_SHEET) -> bytes:
    """Label sheets; the operators of each label slot are laid out once, text dropped in."""
    pw, ph = geo.page_w_mm * MM, geo.page_h_mm * MM
    lw, lh = geo.label_w_mm * MM, geo.label_h_mm * MM
    pad = geo.pad_mm * MM
    inner = lw - 2 * pad
    # Both ends are set at one size (that of the longer), so the pair reads as a pair.
    s0, s1, s3 = _sizes(inner, 11.0), _sizes(inner, 8.5), _sizes(inner, 6.0)
    top_len = len(s0) - 1
    drops = (0.30, 0.55, 0.76, 0.93)  # baseline of each line, as a fraction of the height
    slots = []
    outlines = ["q 0.80 G 0.30 w"]
    for k in range(geo.per_sheet):  # in label order: the slot of each label's pair and end
        i = geo.slot(k)
        col, row = i % geo.cols, i // geo.cols
        x = (geo.left_mm + col * geo.pitch_x_mm) * MM
        top = ph - (geo.top_mm + row * geo.pitch_y_mm) * MM
        outlines.append(f"{x:.2f} {top - lh:.2f} {lw:.2f} {lh:.2f} re")
        slots.append([f"{x + pad:.2f} {top - d * lh:.2f} Td (" for d in drops])
    outlines.append("S Q")
    frame = " ".join(outlines)
    pages = []
    total = len(sheets)
    hx, hy = geo.left_mm * MM, ph - geo.top_mm * MM / 2
    for n, labels in enumerate(sheets, start=1):
        head = f"{build} cable labels - work order {labels[0][0]} - sheet {n} of {total}"
        lines = [lab[4:8] for lab in labels]
        if not _clean_pdf([head, *(x for ls in lines for x in ls)]):
            head = pdf_string(head)[1:-1]
            lines = [tuple(pdf_string(x)[1:-1] for x in ls) for ls in lines]  # type: ignore[misc]
        ops = [frame, f"BT /R 7.00 Tf {hx:.2f} {hy:.2f} Td ({head}) Tj ET"]
        ops.extend(
            f"BT /B {s0[min(len(l0), top_len)]} Tf {p0}{l0}) Tj ET\n"
            f"BT /R {s1[min(max(len(l1), len(l2)), top_len)]} Tf {p1}{l1}) Tj ET\n"
            f"BT /R {s1[min(max(len(l1), len(l2)), top_len)]} Tf {p2}{l2}) Tj ET\n"
            f"BT /R {s3[min(len(l3), top_len)]} Tf {p3}{l3}) Tj ET"
            for (l0, l1, l2, l3), (p0, p1, p2, p3) in zip(lines, slots, strict=False)
        )
        pages.append(Page(ops))
    return write_pdf(pages, pw, ph, level=3)


def render_csv(sheets: list[list[LabelEnd]], geo: LabelSheet = DEFAULT_SHEET) -> bytes:
    """One line per label; `position` is the label's slot on its sheet, row-major from 1
    (where the printer puts it), written by the one CSV writer (rscctl.export.csvs)."""
    slot = [geo.slot(k) + 1 for k in range(geo.per_sheet)]
    return csv_bytes(CSV_COLUMNS, (
        (o, n, slot[k], c.cable_id, e, t, l0, l1, l2, l3)
        for n, labels in enumerate(sheets, start=1)
        for k, (o, c, e, t, l0, l1, l2, l3) in enumerate(labels)))


def export_labels(plan: Plan) -> Files:
    sheets = paginate(label_ends(work_orders(plan)), DEFAULT_SHEET.per_sheet)
    return {"labels.pdf": render_pdf(plan.build, sheets), "labels.csv": render_csv(sheets)}


__all__ = ["CSV_COLUMNS", "DEFAULT_SHEET", "LabelSheet", "export_labels", "label_lines"]
