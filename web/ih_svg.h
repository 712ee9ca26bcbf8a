/*  ih_svg.h: server-side charts as inline SVG (no script, no external resource), for
    any front end (web/): stacked bars, such as the gateway's /trends page (alerts per week
    by category). Every label is escaped;
    colours come from a fixed palette; bars carry a <title> (a tooltip without script).
*/
#ifndef IH_SVG_H
#define IH_SVG_H

#include "ih_util.h"

typedef struct {
    const char *title;              /* accessible name of the chart */
    int nx;                         /* bars (1..520) */
    int nseries;                    /* stacked series (1..16) */
    const uint32_t *values;         /* nx x nseries, values [x * nseries + s] */
    const char *const *xlabels;     /* nx labels, e.g. "3 Nov" */
    const char *const *series;      /* nseries names */
} ih_svg_chart_t;

/*  Appends an <svg> stacked bar chart with axes, a legend of the series that have a
    non-zero value, and a tooltip per segment. Series colours: ih_svg_colour. */
void ih_svg_stacked(ih_buf_t *out, const ih_svg_chart_t *c);
/*  The palette colour of series i ("#1f77b4"...). */
const char *ih_svg_colour(int i);
/*  A "nice" axis step for values up to max with about `ticks` ticks (1, 2, 5 x 10^k). */
uint32_t ih_svg_step(uint32_t max, int ticks);

void ih_svg_test(bool verbose);

#endif
