/*  cmd.h: the commands of infohub-agent, private to the program. The Makefile links
    agents/main_agent.c and agents/cmd_*.c into bin/infohub-agent only: they are not in
    libihagent.a, and nothing else includes this header.

      main_agent.c    main(): options, the command table, each command's --help text
      cmd_run.c       run: the daemon (ih_subscriber, the on-alert hook, agent.status)
      cmd_publish.c   publish, retract, comment, sight, and import's publishing: all sign
                      and send through one helper
      cmd_query.c     list, show, search, tail: reading the store
      cmd_status.c    status, verify, roster
      cmd_user.c      user, audit: the Members Zone's accounts and its audit log
      cmd_status.c    status
      cmd_analyse.c   analyse, related, model: the text analytics
    export, import and warninglist are library commands (ih_export_cmd.c,
    ih_import_cmd.c, ih_warninglist.c) that main_agent.c hands the configuration to.

    A command gets the loaded configuration and the arguments after its name, prints its
    results on stdout and one-line errors on stderr (cmd_fail), and returns the exit
    status. --help never reaches a command that main_agent.c has a usage text for.
*/
#ifndef CMD_H
#define CMD_H

#include <jansson.h>

#include "ih_agent_cfg.h"
#include "ih_ioc.h"
#include "ih_log.h"
#include "ih_store.h"

#define CMD_PROG        "infohub-agent"
#define CMD_VERSION     "0.1"
#define CMD_PUBLISH_S   10          /* publishing waits this long for the broker's answer */
#define CMD_MAX_INPUT   (8 << 20)   /* the most an alert file or stdin may hold */
#define CMD_SEARCH_ERROR 2          /* search's exit status on an error (1: no match) */

/*  One line per event on stderr ("I agent: ..."); a one-line error "infohub-agent: ..."
    that returns 1, the exit status. */
#define cmd_log(level, ...) ih_log (level, "agent", __VA_ARGS__)
#define cmd_fail(...) ih_fail (CMD_PROG, NULL, __VA_ARGS__)

/* ---- the commands -------------------------------------------------------------------------- */

int cmd_run(ih_agent_cfg_t *cfg, int argc, char **argv);            /* cmd_run.c */
int cmd_publish(ih_agent_cfg_t *cfg, int argc, char **argv);        /* cmd_publish.c */
int cmd_retract(ih_agent_cfg_t *cfg, int argc, char **argv);
int cmd_comment(ih_agent_cfg_t *cfg, int argc, char **argv);
int cmd_sight(ih_agent_cfg_t *cfg, int argc, char **argv);
int cmd_import(ih_agent_cfg_t *cfg, int argc, char **argv);
int cmd_list(ih_agent_cfg_t *cfg, int argc, char **argv);           /* cmd_query.c */
int cmd_show(ih_agent_cfg_t *cfg, int argc, char **argv);
int cmd_search(ih_agent_cfg_t *cfg, int argc, char **argv);
int cmd_tail(ih_agent_cfg_t *cfg, int argc, char **argv);
int cmd_status(ih_agent_cfg_t *cfg, int argc, char **argv);         /* cmd_status.c */
int cmd_roster(ih_agent_cfg_t *cfg, int argc, char **argv);
int cmd_verify(ih_agent_cfg_t *cfg, int argc, char **argv);
int cmd_user(ih_agent_cfg_t *cfg, int argc, char **argv);           /* cmd_user.c */
int cmd_audit(ih_agent_cfg_t *cfg, int argc, char **argv);
int cmd_analyse(ih_agent_cfg_t *cfg, int argc, char **argv);        /* cmd_analyse.c */
int cmd_related(ih_agent_cfg_t *cfg, int argc, char **argv);
int cmd_model(ih_agent_cfg_t *cfg, int argc, char **argv);

/* ---- shared helpers ------------------------------------------------------------------------ */

/*  cmd_query.c: opens the store for reading. Returns NULL and *missing when it does not
    exist yet (the daemon has not run), or NULL with err. */
ih_store_t *cmd_open_reader(ih_agent_cfg_t *cfg, bool *missing, ih_err_t *err);
/*  cmd_query.c: prints o (taken: freed here) as one JSON line. Returns 0, or -1 when
    stdout fails. */
int cmd_print_json(json_t *o);
/*  cmd_query.c: o's string at key, or "" (never NULL; borrowed from o). */
const char *cmd_jstr(json_t *o, const char *key);

/*  cmd_publish.c: "TYPE:VALUE" (TYPE an IOC type name) -> the type, and where the value
    starts; NULL when arg is not written so. */
const char *cmd_ioc_typed(const char *arg, ih_ioc_type_t *t);
/*  cmd_publish.c: an IOC value from the command line: TYPE:VALUE, or a value whose type
    is given (type_name) or guessed from its refanged form. out gets the normal form
    (IH_MAX_IOC_VALUE + 1 bytes). Returns 0 or -1 with err. */
int cmd_ioc_value(const char *arg, const char *type_name, ih_ioc_type_t *t, char *out, ih_err_t *err);

#endif
