/* eval/run.c - ev_run_task: the whole plain evaluation of one task (plan, forward every batch,
 * accumulate, metrics) with the progress display; what `ablate eval` calls. */
#include <stdio.h>

#include "eval.h"

abl_status ev_run_task(model *m, const ev_task *t, const ev_run_opts *o, ev_results *r,
                       ev_metrics *metrics, double *seconds, abl_err *err)
{
    ev_run_opts def = {{0, false}, NULL, false, NULL};
    if (!o)
        o = &def;
    if (seconds)
        *seconds = 0;
    ev_plan plan;
    abl_status s = ev_plan_make(&plan, t, NULL, 0, &o->plan, err);
    if (s)
        return s;
    const hf_config *cfg = model_config(m);
    for (int b = 0; b < plan.n_batches && !s; b++) {
        const fwd_batch *fb = &plan.batches[b].fb;
        for (int i = 0; i < fb->n_tok; i++)
            if (cfg->max_pos > 0 && fb->pos[i] >= cfg->max_pos) {
                s = abl_fail(err, ABL_E_ARG,
                             "%s: a request of item %d is %d tokens long, beyond the model's %d positions "
                             "(hint: use a shorter --ctx or drop the task)",
                             t->name, (int)fb->seq_tag[fb->seq[i]], (int)fb->pos[i] + 1, cfg->max_pos);
                break;
            }
    }
    ev_progress pg;
    ev_progress_begin(&pg, o->progress ? stderr : NULL, t->name, plan.n_items, plan.n_tok);
    double t0 = ev_now();
    for (int b = 0; b < plan.n_batches && !s; b++) {
        if (o->stop && *o->stop) {
            s = abl_fail(err, ABL_E_INTERRUPTED, "%s: interrupted after %d of %d batches", t->name, b,
                         plan.n_batches);
            break;
        }
        ev_batch *eb = &plan.batches[b];
        if ((s = model_forward(m, &eb->fb, o->run, err)))
            break;
        ev_accumulate(t, eb, r);
        ev_progress_update(&pg, eb->n_items, eb->fb.n_tok);
    }
    double dt = ev_now() - t0;
    if (!s)
        ev_progress_end(&pg);
    else if (pg.active && pg.tty)
        fputc('\n', stderr);
    if (seconds)
        *seconds = dt;
    if (!s && metrics)
        s = ev_metrics_compute(t, r, NULL, 0, metrics, err);
    ev_plan_free(&plan);
    return s;
}
