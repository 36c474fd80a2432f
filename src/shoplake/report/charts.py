"""Tiny dependency-free SVG charts for the static HTML report (no JavaScript, no CDN:
the report opens offline)."""

from __future__ import annotations

from html import escape

PALETTE = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d"]


def _fmt(v: float) -> str:
    if abs(v) >= 1_000_000:
        return f"{v / 1_000_000:.1f}M"
    if abs(v) >= 1_000:
        return f"{v / 1_000:.1f}k"
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.2f}"


def bar_chart(title: str, labels: list[str], values: list[float], *, width: int = 720,
              height: int = 260, horizontal: bool = False, unit: str = "") -> str:
    """A bar chart as an <svg> element with a <title> for accessibility."""
    if not values:
        return f'<p class="empty">{escape(title)}: no data</p>'
    vmax = max(max(values), 1e-9)
    pad_l, pad_b, pad_t = (160 if horizontal else 50), (20 if horizontal else 60), 30
    inner_w, inner_h = width - pad_l - 20, height - pad_b - pad_t
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<text x="{pad_l}" y="18" class="ct">{escape(title)}</text>']
    n = len(values)
    if horizontal:
        bh = inner_h / n
        for i, (lab, v) in enumerate(zip(labels, values, strict=True)):
            y = pad_t + i * bh
            w = 0.9 * inner_w * v / vmax
            parts.append(f'<rect class="bar" x="{pad_l}" y="{y + 2:.1f}" width="{w:.1f}" height="{bh - 4:.1f}" '
                         f'fill="{PALETTE[0]}"><title>{escape(lab)}: {_fmt(v)}{unit}</title></rect>')
            parts.append(f'<text x="{pad_l - 6}" y="{y + bh / 2 + 4:.1f}" text-anchor="end" class="lab">'
                         f'{escape(lab[:24])}</text>')
            parts.append(f'<text x="{pad_l + w + 4:.1f}" y="{y + bh / 2 + 4:.1f}" class="val">{_fmt(v)}</text>')
    else:
        bw = inner_w / n
        for i, (lab, v) in enumerate(zip(labels, values, strict=True)):
            x = pad_l + i * bw
            h = 0.88 * inner_h * v / vmax
            parts.append(f'<rect class="bar" x="{x + 2:.1f}" y="{pad_t + inner_h - h:.1f}" width="{max(bw - 4, 1):.1f}" '
                         f'height="{h:.1f}" fill="{PALETTE[0]}"><title>{escape(lab)}: {_fmt(v)}{unit}</title></rect>')
            parts.append(f'<text x="{x + bw / 2:.1f}" y="{pad_t + inner_h - h - 4:.1f}" text-anchor="middle" '
                         f'class="val">{_fmt(v)}</text>')
            parts.append(f'<text x="{x + bw / 2:.1f}" y="{height - pad_b + 16}" text-anchor="middle" class="lab" '
                         f'transform="rotate(30 {x + bw / 2:.1f} {height - pad_b + 16})">{escape(lab[:14])}</text>')
        parts.append(f'<line x1="{pad_l}" y1="{pad_t + inner_h}" x2="{width - 20}" y2="{pad_t + inner_h}" class="axis"/>')
    parts.append("</svg>")
    return "".join(parts)


def heatmap_table(title: str, row_labels: list[str], col_labels: list[str],
                  cells: dict[tuple[str, str], float], *, pct: bool = True) -> str:
    """A table whose cells are shaded by value (0..1 when ``pct``)."""
    if not cells:
        return f'<p class="empty">{escape(title)}: no data</p>'
    vmax = max(cells.values()) or 1
    head = "".join(f"<th>{escape(c)}</th>" for c in col_labels)
    rows = []
    for r in row_labels:
        tds = []
        for c in col_labels:
            v = cells.get((r, c))
            if v is None:
                tds.append("<td></td>")
                continue
            alpha = v / vmax if vmax else 0
            text = f"{v * 100:.0f}%" if pct else _fmt(v)
            tds.append(f'<td style="background: rgba(37,99,235,{alpha:.2f}); color: {"#fff" if alpha > .5 else "#111"}">'
                       f"{text}</td>")
        rows.append(f"<tr><th>{escape(r)}</th>{''.join(tds)}</tr>")
    return (f'<table class="heatmap" aria-label="{escape(title)}"><caption>{escape(title)}</caption>'
            f"<tr><th></th>{head}</tr>{''.join(rows)}</table>")


def table(columns: list[str], rows: list[tuple[object, ...]], caption: str = "") -> str:
    head = "".join(f"<th>{escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in r) + "</tr>" for r in rows)
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f'<table class="data">{cap}<tr>{head}</tr>{body}</table>'
