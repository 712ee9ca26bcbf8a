/*  ih-selftest: runs the self-test of every module, or those named.

    usage: ih-selftest [-v] [--list] [NAME...]
    Exits 0 when every test ran to completion (a failing check aborts the process, so
    tests/run.sh runs each module in its own process and counts them).
*/
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "selftests.inc"

int
main (int argc, char **argv)
{
    bool verbose = false;
    int first = 1;
    if (argc > 1 && (strcmp (argv [1], "-h") == 0 || strcmp (argv [1], "--help") == 0)) {
        printf ("usage: ih-selftest [-v] [--list] [NAME...]\n");
        return 0;
    }
    if (argc > 1 && strcmp (argv [1], "-v") == 0) {
        verbose = true;
        first = 2;
    }
    if (argc > first && strcmp (argv [first], "--list") == 0) {
        for (int i = 0; s_tests [i].name; i++)
            printf ("%s\n", s_tests [i].name);
        return 0;
    }
    int ran = 0;
    for (int i = 0; s_tests [i].name; i++) {
        bool wanted = argc <= first;
        for (int a = first; a < argc; a++)
            if (strcmp (argv [a], s_tests [i].name) == 0)
                wanted = true;
        if (!wanted)
            continue;
        printf (" * %s: ", s_tests [i].name);
        fflush (stdout);
        s_tests [i].fn (verbose);
        printf ("OK\n");
        ran++;
    }
    if (ran == 0) {
        fprintf (stderr, "ih-selftest: no test matches\n");
        return 1;
    }
    return 0;
}
