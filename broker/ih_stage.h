/*  ih_stage.h: one stage of a pipeline: a thread that runs one job at a time while its
    owner does something else, and that the owner waits for.

    The broker verifies publish batch n+1 (decode and signatures, on the signature pool)
    while its own thread commits batch n and delivers it (ih_broker.h, "Pipeline"). The
    job gets only what its owner handed it; the owner touches none of that until
    ih_stage_wait returns, and the hand-over and the wait go through the stage's mutex,
    which orders everything the job wrote before the owner reads it.

    A stage whose thread could not start runs each job in ih_stage_start, on the owner's
    thread: slower, never wrong.

    Threading: one stage belongs to one owner thread, which alone calls start and wait;
    the job runs on the stage's thread.
*/
#ifndef IH_STAGE_H
#define IH_STAGE_H

#include <stdbool.h>

typedef struct ih_stage ih_stage_t;
typedef void (ih_stage_fn)(void *arg);

/*  Starts the stage's thread. Never NULL. */
ih_stage_t *ih_stage_new(void);
/*  Waits for a job in progress, then stops and joins the thread. Safe twice. */
void ih_stage_destroy(ih_stage_t **self_p);
/*  Hands fn (arg) to the stage's thread and returns at once. The previous job must have
    been waited for (a second start without a wait aborts: a bug in the owner). */
void ih_stage_start(ih_stage_t *self, ih_stage_fn *fn, void *arg);
/*  Returns when the job started last has returned (at once when there is none). */
void ih_stage_wait(ih_stage_t *self);
/*  True between a start and its wait. */
bool ih_stage_busy(ih_stage_t *self);

void ih_stage_test(bool verbose);

#endif
