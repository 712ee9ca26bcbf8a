/*  ih_select.h: which alerts (and which of their IOCs) a reader takes. One selection type,
    parsed from command-line flags (`list`, `export`) and from HTTP query strings (the
    gateway's API and pages, TAXII, the console) alike, and one rule that applies it, so
    that every front end means the same thing by the same word.

    FIELDS (every field that is set must hold: they combine with AND)
      name            CLI flag         query key       rule
      since           --since T        since=T         modified at or after T (RFC 3339, a
                                                       date, or an age: 90s, 30m, 24h, 7d, 2w)
      tlp             --tlp L          tlp=L           TLP is exactly L
      tlp-max         --tlp-max L      tlp_max=L       TLP is at most as restrictive as L
                                                       (the ceiling: CLEAR < GREEN < AMBER <
                                                       AMBER+STRICT < RED)
      category        --category C     category=C      category is C
      sector          --sector S       sector=S        the alert lists sector S
      min-severity    --min-severity S severity=S      severity is S or higher ("at least")
      status          --status X       status=X        active (retracted alerts left out),
                                                       retracted (only those), or any
      type            --type T,...     type=T,...      IOC types: the alert has at least one
                                                       IOC of those types; exports keep only
                                                       those IOCs (ih_select_ioc)
      detect-only     --detect-only    detect=1        exports keep only IOCs with the detect
                                                       flag (MISP's to_ids)
      before          --before SEQ     before=SEQ      the latest revision's seq is below SEQ
                                                       (paging newest first; `next` tokens)
    Names are accepted with '-' or '_' and with or without a leading "--"; "severity" is
    the same as "min-severity". Level and kind names are case-insensitive ("AMBER",
    "amber", "High").

    THE RETRACTED-ALERT RULE. A retracted alert is left out unless the selection says
    status any or retracted. `list` (an inventory of the store) defaults to any and flags
    retracted alerts; exports, the API, the pages, TAXII and the console default to
    active. IOCs retracted one by one are the exporters' to leave out (ih_store.h).

    Threading: a selection is a value; everything here is pure.
*/
#ifndef IH_SELECT_H
#define IH_SELECT_H

#include "ih_store.h"

typedef enum { IH_SELECT_ACTIVE = 0, IH_SELECT_RETRACTED, IH_SELECT_ANY } ih_select_status_t;

typedef struct {
    int64_t since;                  /* ms; 0 = any time */
    int tlp;                        /* ih_tlp_t exact; -1 = any */
    int tlp_max;                    /* ih_tlp_t ceiling; -1 = any */
    int category;                   /* ih_category_t; -1 = any */
    char sector [IH_MAX_SHORT + 1]; /* "" = any */
    int min_severity;               /* ih_severity_t; -1 = any */
    ih_select_status_t status;
    uint32_t types;                 /* IOC types: bit (1u << ih_ioc_type_t); 0 = all */
    bool detect_only;
    uint64_t before;                /* 0 = none */
} ih_select_t;

/*  What the rule says of one alert. */
typedef enum {
    IH_SELECT_TAKEN = 0,            /* it matches */
    IH_SELECT_LEFT_RETRACTED,       /* left out: retracted (or, with status retracted, active) */
    IH_SELECT_LEFT_FILTERED         /* left out by another field */
} ih_select_verdict_t;

/*  Everything, active alerts only (status active). */
void ih_select_init(ih_select_t *s);

/*  Sets one field from its name (see FIELDS) and value. Returns 0; 1 when name is not a
    selection field (the caller's own option: nothing changed); -1 with err "NAME: reason
    'value'" (NAME as the caller spelt it) when the value is not valid (nothing changed).
    A flag without value (--detect-only) takes value NULL or "1"/"true". */
int ih_select_set(ih_select_t *s, const char *name, const char *value, ih_err_t *err);

/*  Sets each field named in keys (NULL-terminated; as ih_select_set takes them) whose
    value get (arg, key) returns (not NULL): how an HTTP front end reads a query string.
    Returns 0, or -1 with err for the first bad field. */
typedef const char *(ih_select_arg_fn)(void *arg, const char *key);
int ih_select_from(ih_select_t *s, const char *const *keys, ih_select_arg_fn *get, void *arg,
                   ih_err_t *err);

/*  True when name (as ih_select_set takes it) is a field that needs a value. */
bool ih_select_takes_value(const char *name);

/*  The rule, on an alert's latest revision and the store's meta for it. info may be
    NULL (the alert counts as active, seq 0). */
ih_select_verdict_t ih_select_alert(const ih_select_t *s, const ih_msg_t *m, const ih_store_alert_t *info);

/*  Calls fn for each alert of the store the rule takes, in seq order (newest first when
    reverse), as ih_store_foreach does, from where sel's `before` puts it. The walk
    (ih_store_walk) goes by the store's indexes for the fields that have one (category,
    sector, severity, TLP and TLP ceiling), so a filtered or deep page reads about what
    it shows; the other fields (since, status, type, detect-only) are the rule's to apply
    on what the walk reads. budget and cut as in ih_store_walk_t (0 and NULL: none): what
    answers a request gives a budget, and offers to go on from *cut. Returns 0, fn's
    value, or -1 with err. */
int ih_select_walk(ih_store_t *store, const ih_select_t *sel, bool reverse, uint64_t budget,
                   uint64_t *cut, ih_store_alert_fn *fn, void *arg, ih_err_t *err);

/*  Whether one IOC is taken by the IOC fields (type, detect-only). */
bool ih_select_ioc(const ih_select_t *s, const ih_ioc_t *ioc);

/*  Appends the set fields as a query string without the leading '?' ("since=…&tlp=AMBER"),
    percent-encoded, `before` left out (pages add their own): for links that keep the
    selection. */
void ih_select_query(const ih_select_t *s, ih_buf_t *out);

void ih_select_test(bool verbose);

#endif
