"""Format-writer benchmark: our XLSX and PDF writers against the libraries they replace.

The hand-written writers in rscctl/formats/ stay only while they earn it, so the reason is
measured here, in one run, on the same content:

- cabling.xlsx: the phase-2 workbook (summary + one sheet per work order, as export_xlsx builds
  it) written by rscctl.formats.xlsx and by XlsxWriter in constant_memory mode with the same
  cells, styles, column widths, frozen header, auto-filter, print setup and links.
- labels.pdf: the same label sheets (every page, every label's four lines at the same fitted
  Courier sizes and positions, the outlines and the page header) written by rscctl.formats.pdf
  (through render_pdf) and by fpdf2.

The content (work orders, label lines) is derived once, untimed, so only the writers are timed.
Each writer runs in a forked child so neither inherits the other's heap: wall and CPU seconds,
output size, and peak RSS growth over the child's start (the high-water mark reset through
/proc/self/clear_refs, so no tracing overhead slows the timed run).

    .venv/bin/python benchmarks/formats_bench.py [BUILD] [--only xlsx|pdf]
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import pickle
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rscctl.declare import load_build  # noqa: E402
from rscctl.export.labels import (  # noqa: E402
    DEFAULT_SHEET,
    LabelEnd,
    LabelSheet,
    label_ends,
    paginate,
    render_pdf,
)
from rscctl.export.workorders import Walker, work_orders  # noqa: E402
from rscctl.export.xlsx import order_sheet, summary_sheet  # noqa: E402
from rscctl.formats.pdf import MM, fit_size  # noqa: E402
from rscctl.formats.xlsx import (  # noqa: E402
    BOLD,
    HEADER,
    PLAIN,
    TITLE,
    TOP,
    WRAP,
    Sheet,
    Table,
    write_xlsx,
)
from rscctl.planner import build_plan  # noqa: E402


def _kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def measure(fn: Callable[[], int]) -> tuple[float, float, int, float]:
    """(wall s, cpu s, output bytes, peak RSS growth MB) of fn() run in a forked child."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        gc.collect()
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
        base = _kb("VmRSS")
        t0, c0 = time.perf_counter(), time.process_time()
        size = fn()
        result = (time.perf_counter() - t0, time.process_time() - c0, size,
                  (_kb("VmHWM") - base) / 1024)
        os.write(w, pickle.dumps(result))
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not data:
        raise SystemExit(f"benchmark child failed (status {status})")
    return pickle.loads(data)  # type: ignore[no-any-return]


# --- XLSX -----------------------------------------------------------------------------------

def ours_xlsx(sheets: list[Sheet | Table], path: Path) -> int:
    data = write_xlsx(sheets)
    path.write_bytes(data)
    return len(data)


def xlsxwriter_xlsx(sheets: list[Sheet | Table], path: Path) -> int:
    """The same workbook through XlsxWriter (constant_memory: rows streamed to temp files)."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    font = {"font_name": "Calibri", "font_size": 11}
    fmt = {
        PLAIN: None,
        HEADER: wb.add_format({**font, "bold": True, "bg_color": "#D9E1F2", "bottom": 1}),
        TITLE: wb.add_format({**font, "bold": True, "font_size": 14}),
        BOLD: wb.add_format({**font, "bold": True}),
        WRAP: wb.add_format({**font, "valign": "top", "text_wrap": True}),
        TOP: wb.add_format({**font, "valign": "top"}),
    }

    def setup(ws: xlsxwriter.worksheet.Worksheet, header: int | None, nrows: int,
              ncols: int) -> None:
        ws.set_landscape()
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
        ws.set_header("&L&A&R&P / &N", {"margin": 0.3})
        ws.set_footer("", {"margin": 0.3})
        if header is not None:
            ws.freeze_panes(header + 1, 0)
            ws.autofilter(header, 0, nrows - 1, ncols - 1)
            ws.repeat_rows(header)

    for s in sheets:
        ws = wb.add_worksheet(s.name)
        if isinstance(s, Table):
            ncols, nrows = len(s.header), len(s.columns[0]) + 1
            setup(ws, 0, nrows, ncols)
            styles = s.styles or (PLAIN,) * ncols
            widths = [float(len(h)) for h in s.header]
            for i, col in enumerate(s.columns):
                longest = max((len(str(v)) for v in col), default=0)
                widths[i] = max(widths[i], longest)
            fitted = [min(max(w * 1.1 + 2, s.min_width),
                          s.wrap_width if st == WRAP else s.max_width)
                      for w, st in zip(widths, styles, strict=True)]
            for i, w in enumerate(fitted):
                ws.set_column(i, i, w)
            lines = max((math.ceil(widths[i] / max(fitted[i] - 2, 1))
                         for i, st in enumerate(styles) if st == WRAP), default=1)
            ws.write_row(0, 0, s.header, fmt[HEADER])
            cells = list(zip(range(len(s.columns)), [fmt[st] for st in styles],
                             s.numeric, strict=False))
            height = 15 * lines if lines > 1 else None
            for r, row in enumerate(zip(*s.columns, strict=True), start=1):
                if height:
                    ws.set_row(r, height)
                for (c, f, num), v in zip(cells, row, strict=True):
                    if num:
                        ws.write_number(r, c, v, f)
                    else:
                        ws.write_string(r, c, v, f)
        else:
            ncols = max((len(r) for r in s.rows), default=1)
            setup(ws, s.header, max(len(s.rows), 1), ncols)
            widest = [0] * ncols
            for r, row in enumerate(s.rows):
                if s.row_styles.get(r) != TITLE:
                    for i, v in enumerate(row):
                        widest[i] = max(widest[i], len(str(v)) if v is not None else 0)
            for i, n in enumerate(widest):
                ws.set_column(i, i, min(max(n * 1.1 + 2, s.min_width), s.max_width))
            links = {(r, c): t for r, c, t in s.links}
            for r, row in enumerate(s.rows):
                f = fmt[s.row_styles.get(r, PLAIN)]
                for c, v in enumerate(row):
                    if v is None or v == "":
                        continue
                    if (r, c) in links:
                        target = "'" + links[r, c].replace("'", "''") + "'"
                        ws.write_url(r, c, f"internal:{target}!A1", f, str(v))
                    elif isinstance(v, str):
                        ws.write_string(r, c, v, f)
                    else:
                        ws.write_number(r, c, v, f)
    wb.close()
    return path.stat().st_size


# --- PDF ------------------------------------------------------------------------------------

def ours_pdf(build: str, sheets: list[list[LabelEnd]], path: Path) -> int:
    data = render_pdf(build, sheets)
    path.write_bytes(data)
    return len(data)


def fpdf2_pdf(build: str, sheets: list[list[LabelEnd]], path: Path,
              geo: LabelSheet = DEFAULT_SHEET) -> int:
    """The same pages through fpdf2: Courier core fonts, same sizes, positions and outlines."""
    from fpdf import FPDF

    pw, ph = geo.page_w_mm * MM, geo.page_h_mm * MM
    lw, lh, pad = geo.label_w_mm * MM, geo.label_h_mm * MM, geo.pad_mm * MM
    inner = lw - 2 * pad
    drops = (0.30, 0.55, 0.76, 0.93)
    pdf = FPDF(unit="pt", format=(pw, ph))
    pdf.set_auto_page_break(False)
    pdf.set_draw_color(204)
    pdf.set_line_width(0.3)
    total = len(sheets)
    hx, hy = geo.left_mm * MM, geo.top_mm * MM / 2
    for n, labels in enumerate(sheets, start=1):
        pdf.add_page()
        for i in range(geo.per_sheet):
            col, row = i % geo.cols, i // geo.cols
            pdf.rect((geo.left_mm + col * geo.pitch_x_mm) * MM,
                     (geo.top_mm + row * geo.pitch_y_mm) * MM, lw, lh)
        pdf.set_font("Courier", "", 7)
        pdf.text(hx, hy, f"{build} cable labels - work order {labels[0][0]} - sheet {n} of {total}")
        for i, lab in enumerate(labels):
            l0, l1, l2, l3 = lab[4:8]
            col, row = i % geo.cols, i // geo.cols
            x = (geo.left_mm + col * geo.pitch_x_mm) * MM + pad
            top = (geo.top_mm + row * geo.pitch_y_mm) * MM
            mid = fit_size("x" * max(len(l1), len(l2)), inner, 8.5)
            for text, style, size, d in ((l0, "B", fit_size(l0, inner, 11.0), drops[0]),
                                         (l1, "", mid, drops[1]), (l2, "", mid, drops[2]),
                                         (l3, "", fit_size(l3, inner, 6.0), drops[3])):
                pdf.set_font("Courier", style, size)
                pdf.text(x, top + d * lh, text)
    pdf.output(str(path))
    return path.stat().st_size


def report(what: str, rows: list[tuple[str, tuple[float, float, int, float]]]) -> None:
    print(f"{what}")
    print(f"  {'writer':<28} {'wall s':>7} {'cpu s':>7} {'MB out':>7} {'peak RSS +MB':>13}")
    for name, (wall, cpu, size, peak) in rows:
        print(f"  {name:<28} {wall:7.2f} {cpu:7.2f} {size / 1e6:7.2f} {peak:13.0f}")
    (n0, m0), (n1, m1) = rows
    print(f"  {n1} / {n0}: {m1[0] / m0[0]:.1f}x the time, "
          f"{(m1[3] or 1) / (m0[3] or 1):.1f}x the peak memory")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build", nargs="?", default="phase2")
    ap.add_argument("--only", choices=("xlsx", "pdf"), action="append")
    ap.add_argument("--keep", type=Path, help="keep the four files in this folder to compare")
    args = ap.parse_args()
    only = args.only or ["xlsx", "pdf"]
    t0 = time.perf_counter()
    plan = build_plan(load_build(args.build))
    orders = work_orders(plan)
    print(f"{args.build}: planned in {time.perf_counter() - t0:.1f} s, {len(plan.cables):,} "
          f"cables, {len(orders)} work orders (content derived once, untimed)")
    gc.freeze()  # the plan is shared by every child; keep the collector off it
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        if "xlsx" in only:
            walker = Walker(plan)
            sheets: list[Sheet | Table] = [summary_sheet(plan, orders)]
            sheets.extend(order_sheet(wo, walker) for wo in orders)
            report(f"cabling.xlsx ({len(sheets)} sheets)", [
                ("rscctl.formats.xlsx", measure(lambda: ours_xlsx(sheets, out / "a.xlsx"))),
                ("XlsxWriter constant_memory",
                 measure(lambda: xlsxwriter_xlsx(sheets, out / "b.xlsx"))),
            ])
        if "pdf" in only:
            pages = paginate(label_ends(orders), DEFAULT_SHEET.per_sheet)
            ends = sum(map(len, pages))
            report(f"labels.pdf ({len(pages):,} pages, {ends:,} labels)", [
                ("rscctl.formats.pdf", measure(lambda: ours_pdf(plan.build, pages,
                                                                out / "a.pdf"))),
                ("fpdf2", measure(lambda: fpdf2_pdf(plan.build, pages, out / "b.pdf"))),
            ])


if __name__ == "__main__":
    main()
