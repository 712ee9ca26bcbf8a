/*  ih_svg.c: inline SVG charts (see ih_svg.h). */
#include <czmq.h>

#include "ih_html.h"
#include "ih_svg.h"

static const char *const s_palette [] = {
    "#c92a2a", "#1971c2", "#e67700", "#5f3dc4", "#2b8a3e", "#0b7285", "#a61e4d", "#5c940d",
    "#495057", "#862e9c", "#364fc7", "#d9480f", "#087f5b", "#74b816", "#868e96", "#f08c00"
};

const char *
ih_svg_colour (int i)
{
    int n = (int) (sizeof s_palette / sizeof s_palette [0]);
    return s_palette [((i % n) + n) % n];
}

uint32_t
ih_svg_step (uint32_t max, int ticks)
{
    if (ticks < 1)
        ticks = 1;
    if (max == 0)
        return 1;
    uint64_t raw = ((uint64_t) max + (uint64_t) ticks - 1) / (uint64_t) ticks;
    uint64_t mag = 1;
    while (mag * 10 <= raw)
        mag *= 10;
    uint64_t step = mag;
    if (step < raw)
        step = 2 * mag;
    if (step < raw)
        step = 5 * mag;
    if (step < raw)
        step = 10 * mag;
    return step > UINT32_MAX ? UINT32_MAX : (uint32_t) step;
}

void
ih_svg_stacked (ih_buf_t *out, const ih_svg_chart_t *c)
{
    const int W = 960, H = 360, left = 48, right = 16, top = 16, bottom = 56;
    int nx = c->nx < 1 ? 1 : (c->nx > 520 ? 520 : c->nx);
    int ns = c->nseries < 1 ? 1 : (c->nseries > 16 ? 16 : c->nseries);
    uint32_t max = 0;
    for (int x = 0; x < nx && x < c->nx; x++) {
        uint64_t sum = 0;
        for (int s = 0; s < ns && s < c->nseries; s++)
            sum += c->values [x * c->nseries + s];
        if (sum > max)
            max = sum > UINT32_MAX ? UINT32_MAX : (uint32_t) sum;
    }
    uint32_t step = ih_svg_step (max, 5);
    uint64_t ymax = ((uint64_t) (max ? max : 1) + step - 1) / step * step;
    double ph = H - top - bottom, pw = W - left - right;
    double slot = pw / nx, bw = slot * 0.72;

    ih_buf_printf (out, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                    "class=\"chart\" role=\"img\" aria-labelledby=\"chart-title\" "
                    "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\" "
                    "font-size=\"12\"><title id=\"chart-title\">", W, H);
    ih_html_esc (out, c->title);
    ih_html_puts (out, "</title>\n");
    //  Grid lines and y labels.
    for (uint64_t v = 0; v <= ymax; v += step) {
        double y = top + ph - ph * (double) v / (double) ymax;
        ih_buf_printf (out, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                        "stroke-width=\"1\"/><text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" "
                        "fill=\"#5c6570\">%" PRIu64 "</text>\n", left, W - right, y, y,
                        v == 0 ? "#8a949e" : "#e3e7eb", left - 8, y + 4, v);
        if (step == 0)
            break;
    }
    //  Bars: one <g> per week, a <rect> with a tooltip per non-zero segment.
    int every = nx <= 14 ? 1 : (nx + 13) / 14;
    for (int x = 0; x < nx; x++) {
        double x0 = left + slot * x + (slot - bw) / 2;
        double y = top + ph;
        uint64_t total = 0;
        ih_html_puts (out, "<g>");
        for (int s = 0; s < ns; s++) {
            uint32_t v = c->values [x * c->nseries + s];
            if (v == 0)
                continue;
            total += v;
            double h = ph * (double) v / (double) ymax;
            y -= h;
            ih_buf_printf (out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                            "fill=\"%s\"><title>", x0, y, bw, h, ih_svg_colour (s));
            ih_html_esc (out, c->xlabels [x]);
            ih_html_puts (out, ": ");
            ih_html_esc (out, c->series [s]);
            ih_buf_printf (out, " %u</title></rect>", v);
        }
        if (total)
            ih_buf_printf (out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#1b2733\" "
                            "font-size=\"11\">%" PRIu64 "</text>", x0 + bw / 2, y - 4, total);
        ih_html_puts (out, "</g>\n");
        if ((nx - 1 - x) % every == 0) {       //  the latest week always has its label
            ih_buf_printf (out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#5c6570\">",
                            x0 + bw / 2, H - bottom + 18);
            ih_html_esc (out, c->xlabels [x]);
            ih_html_puts (out, "</text>\n");
        }
    }
    //  Legend: the series that appear.
    double lx = left;
    int ly = H - 16;
    for (int s = 0; s < ns; s++) {
        bool any = false;
        for (int x = 0; x < nx && !any; x++)
            any = c->values [x * c->nseries + s] != 0;
        if (!any)
            continue;
        ih_buf_printf (out, "<rect x=\"%.1f\" y=\"%d\" width=\"12\" height=\"12\" rx=\"2\" fill=\"%s\"/>"
                        "<text x=\"%.1f\" y=\"%d\" fill=\"#1b2733\">", lx, ly - 10, ih_svg_colour (s),
                        lx + 17, ly);
        ih_html_esc (out, c->series [s]);
        ih_html_puts (out, "</text>\n");
        lx += 34 + 6.6 * (double) strlen (c->series [s] ? c->series [s] : "");
    }
    ih_html_puts (out, "</svg>\n");
}

/* ---- self-test ----------------------------------------------------------------------------- */
#ifdef IH_SELFTEST

void
ih_svg_test (bool verbose)
{
    IH_CHECK (ih_svg_step (0, 5) == 1);
    IH_CHECK (ih_svg_step (1, 5) == 1);
    IH_CHECK (ih_svg_step (5, 5) == 1);
    IH_CHECK (ih_svg_step (7, 5) == 2);
    IH_CHECK (ih_svg_step (23, 5) == 5);
    IH_CHECK (ih_svg_step (48, 5) == 10);
    IH_CHECK (ih_svg_step (51, 5) == 20);
    IH_CHECK (ih_svg_step (999, 5) == 200);
    IH_CHECK (ih_svg_step (UINT32_MAX, 5) == 1000000000u);
    IH_CHECK (ih_svg_step (10, 0) == 10);
    IH_CHECK (streq (ih_svg_colour (0), ih_svg_colour (16)));
    IH_CHECK (!streq (ih_svg_colour (0), ih_svg_colour (1)));

    static const uint32_t values [] = { 1, 0, 2,  0, 0, 0,  3, 4, 0 };
    static const char *const xl [] = { "3 Nov", "10 Nov", "<b>17 Nov</b>" };
    static const char *const series [] = { "ransomware", "phish\"ing", "x<script>alert(1)</script>" };
    ih_svg_chart_t c = { "Alerts <per> week", 3, 3, values, xl, series };
    ih_buf_t b;
    ih_buf_init (&b);
    ih_svg_stacked (&b, &c);
    const char *svg = ih_html_cstr (&b);
    if (verbose)
        printf ("\n%s", svg);
    IH_CHECK (strncmp (svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0);
    IH_CHECK (strstr (svg, "</svg>"));
    IH_CHECK (!strstr (svg, "<script"));
    IH_CHECK (!strstr (svg, "<b>"));
    IH_CHECK (strstr (svg, "Alerts &lt;per&gt; week"));
    IH_CHECK (strstr (svg, "phish&quot;ing"));
    IH_CHECK (strstr (svg, "3 Nov: ransomware 1</title>"));
    IH_CHECK (strstr (svg, "&lt;b&gt;17 Nov&lt;/b&gt;: ransomware 3</title>"));
    //  Six non-zero segments, one <rect> each, plus a legend square per shown series.
    int rects = 0;
    for (const char *p = svg; (p = strstr (p, "<rect")) != NULL; p++)
        rects++;
    IH_CHECK (rects == 4 + 3);
    //  Totals above bars; the empty week has none.
    IH_CHECK (strstr (svg, ">3</text></g>") && strstr (svg, ">7</text></g>"));
    IH_CHECK (strstr (svg, "<g></g>"));

    //  All zero: still a valid chart, no bars, no legend.
    static const uint32_t zeros [] = { 0, 0 };
    ih_svg_chart_t z = { "empty", 2, 1, zeros, xl, series };
    ih_buf_reset (&b);
    ih_svg_stacked (&b, &z);
    svg = ih_html_cstr (&b);
    IH_CHECK (!strstr (svg, "<rect") && strstr (svg, "</svg>"));
    ih_buf_free (&b);
    if (verbose)
        printf ("    ");
}
#endif
