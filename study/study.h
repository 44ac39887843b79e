/* study/study.h - the study driver: per task one intact pass (accuracy, cosine statistics via
 * hooks), then every block (or sub-block) removed in turn, resuming from the intact residual;
 * statistics with bootstrap CIs; journaled work units; the reports of a run directory. */
#ifndef STUDY_H
#define STUDY_H

#include <stdbool.h>
#include <stdint.h>

#include "../base/abl.h"

#define STUDY_MAX_UNITS 512  /* blocks a study can remove one by one */
#define STUDY_BATCH_TOKENS 512 /* default packed-batch budget of a study work unit */

typedef enum { STUDY_UNIT_BLOCK = 0, STUDY_UNIT_ATTN, STUDY_UNIT_MLP } study_unit;
typedef enum { STUDY_METRIC_DEFAULT = 0, STUDY_METRIC_ACC, STUDY_METRIC_ACC_NORM } study_metric;

/* Everything a run depends on. Strings are borrowed for the duration of the call. */
typedef struct {
    const char *model_dir;      /* HF folder */
    const char *data_dir;       /* NULL = "data/tasks" */
    const char *tasks;          /* comma list of task names, or "all" */
    const char *layers;         /* "0-9,20" style list of blocks to remove; NULL = all */
    int limit;                  /* per-task item sample; <= 0: every item */
    study_unit unit;
    study_metric metric;
    const char *out_dir;        /* run directory (journal, reports); NULL = no files */
    int threads;                /* <= 0: all cores */
    int device;                 /* 0 cpu, 1 cuda */
    uint64_t seed;              /* item sample and bootstrap seed */
    int n_boot;                 /* bootstrap resamples (>= 1000 for reports) */
    int batch_tokens;           /* packed batch token budget; <= 0: STUDY_BATCH_TOKENS */
    bool progress;              /* progress lines on stderr */
    bool no_resume;             /* remove each unit with a full pass from the embeddings
                                   (skip masks only) instead of resuming: the slow reference */
    volatile int *stop;         /* polled between work units: nonzero -> ABL_E_INTERRUPTED */
    int stop_after_units;       /* test hook: > 0 stops (ABL_E_INTERRUPTED) after this many
                                   newly computed units, as a kill would */
    const char *command;        /* the command line, echoed into summary.json */
    bool pool_all;              /* pool every task (default: only tasks clearly above chance,
                                   of one metric type: multiple choice, else next-token) */
    int prune_k;                /* one-shot pruning curves (block unit only): remove the k
                                 * blocks with the lowest pooled cosine score, and the k with the
                                 * smallest pooled drop, k = 1..prune_k; 0 = none */
    bool estimate;              /* plan every task and time one work unit, then stop: fills
                                 * the cost fields of the result only; writes no files */
    const char *out_root;       /* out_dir NULL: the run directory is
                                 * OUT_ROOT/<model folder name>-<8 hex of the fingerprint> */
    int shard, n_shards;        /* n_shards > 0: compute only shard `shard` (0..n_shards-1) of
                                 * the work units into its own journal, write no reports */
    bool no_compute;            /* compute nothing: every unit must be journaled already (by
                                 * the shards); otherwise ABL_E_STATE naming the missing shards */
    int estimate_shards;        /* estimate: also the predicted time of each of this many
                                 * shards */
    const int *task_limits;     /* (n_task_limits) per-task item samples, in --tasks order,
                                 * overriding limit (<= 0: every item); NULL = limit for all */
    int n_task_limits;          /* must equal the number of tasks when task_limits is set */
    double rate;                /* estimate: > 0 = assume this many FLOP/s instead of timing a
                                 * probe work unit */
    bool pilot;                 /* estimate: also one plain intact pass over every task's items
                                 * (fills acc, acc_se, chance of each task result) */
} study_opts;

/* Defaults: the default model and tasks, every item, block unit, seed 1234, 1000 resamples,
 * progress on. Pure function. */
study_opts study_opts_default(void);

/* Correlation of a per-unit score with the drop (or relevance), with bootstrap 95% CIs. An
 * undefined estimate (NaN) has no interval (its lo / hi are NaN too). */
typedef struct {
    int n;                      /* units with a defined value */
    double pearson, pearson_lo, pearson_hi;
    double spearman, spearman_lo, spearman_hi;
    double kendall, kendall_lo, kendall_hi;
    double discordant, discordant_lo, discordant_hi; /* share of discordant unit pairs among
                                   the pairs ordered by both = (1 - gamma) / 2; NaN when none */
    int n_pairs;                /* pairs ordered by both sides */
    int undef[4];               /* bootstrap replicates where pearson, spearman, kendall,
                                   discordant was undefined (a CI is marked above 5%) */
    /* robustness (point estimates): pearson, spearman, kendall without the unit of block 0
     * (NaN when not removed) and without the single most influential unit (the one whose
     * leave-one-out value moves that coefficient most), which is inf_unit (-1: none) */
    double wo0[3], woinf[3];
    int inf_unit[3];
} study_corr;

/* One task's (or the pooled) results. Accuracies are fractions in [0, 1]; drops in points. */
typedef struct {
    char name[96];
    char metric[16];            /* "acc", "acc_norm", "token_acc", ... */
    char data_sha256[65];       /* hash of the task's data files ("" for pooled) */
    int n_items;
    int n_avail;                /* items the task has before the --limit sample */
    double chance;              /* r(D) */
    double acc, acc_se, acc_lo, acc_hi;
    bool near_chance;           /* acc - chance < 2 se: relevance is noise */
    bool pooled_in;             /* counted in the pooled figures (fixed by the intact run) */
    bool binary;                /* every headline hit is 0 or 1 with weight 1 */
    char drop_ci[24];           /* how drop_lo / drop_hi were made: "newcombe" (paired Wilson,
                                   binary hits) or "paired bootstrap" */
    double seconds;             /* wall time of this task's passes */
    long long n_tok_pass;       /* tokens fed to the model by one pass over the task */
    long long n_score_pass;     /* rows read through the LM head by one pass */
    double flops;               /* 2 x multiply-adds of every pass over the task (model) */
    double pass_flops;          /* estimate: of the intact pass alone (a pilot's cost) */
    double *cos_score;          /* (n_units) mean over tokens of 1 - cos(in, out) */
    double *cos_raw;            /* (n_units) mean over tokens of cos(in, out) */
    double *ang;                /* (n_units) mean over inputs of arccos(cos) / pi, last token */
    double *acc_abl;            /* (n_units) accuracy with the unit removed */
    double *drop, *drop_lo, *drop_hi;   /* (n_units) points, paired-bootstrap 95% CI */
    double *rel;                /* (n_units) accuracy relevance; NaN = n/a */
    study_corr c_drop;          /* cosine score vs drop */
    study_corr c_rel;           /* cosine score vs relevance */
    study_corr c_raw;           /* raw cosine vs drop */
    study_corr c_ang;           /* angular distance vs drop */
    /* continuous companion (not the paper's metric; multiple choice only, else NaN): per unit
     * the mean over items of the drop of the gold choice's length-normalized log-likelihood
     * margin over the best other choice (intact minus removed), with its bootstrap CI */
    double *margin_drop, *margin_lo, *margin_hi;   /* (n_units) */
    study_corr c_margin;        /* cosine score vs margin drop */
    /* output-side baseline (not the paper's metric; CPU runs, else NaN): per unit the mean over
     * scored rows of KL(intact || unit removed) next-token distributions, full vocabulary */
    double *kl, *kl_lo, *kl_hi; /* (n_units) nats */
    study_corr c_kl;            /* KL vs drop */
} study_task_res;

/* Ranking confusion of the pooled cosine score against the pooled accuracy drop. */
typedef struct {
    int n;                      /* units ranked (0: not computed) */
    int *rank_cos, *rank_drop;  /* (n_units) 1 = lowest cosine score / smallest drop; ties
                                   broken by unit order */
    int n_pairs;                /* unit pairs ordered by both */
    int n_misjudged;            /* of those, ordered the other way by the cosine score */
    int n_significant;          /* pairs whose drops differ significantly: the 95% percentile
                                   CI of the paired bootstrap difference excludes 0 */
    int n_major;                /* significant pairs the cosine score orders the other way */
} study_confusion_res;

/* Task dependence (the paper's Wilcoxon test on z-scored relevance vs cosine score). */
typedef struct {
    int n_tasks;                /* tasks used (0: n/a) */
    int n_units;                /* units with both spreads defined */
    double stat, p;             /* Wilcoxon statistic min(R+, R-), two-sided p */
    const char *method;         /* "exact", "exact-permutation", "normal" */
    double median_spread_rel, median_spread_cos;
    double *spread_rel, *spread_cos; /* (n_units) sd across tasks of the z-scores */
} study_taskdep_res;

typedef struct {
    /* configuration echo */
    char model_dir[512], model_sha256[65], arch[64], kernels[32];
    char command[1024], unit_name[8];
    int n_layers, limit, n_boot;
    uint64_t seed;
    int n_units;
    int *unit_layer;            /* (n_units) block index of each removed unit */
    int n_tasks;
    study_task_res *tasks;      /* (n_tasks) */
    study_task_res pooled;      /* equal-weight mean over the pooled tasks (pooled_in) of
                                   scores, accuracies, drops; CIs from resampling items within
                                   every task */
    char pool_rule[160];        /* which tasks were pooled and why, one line */
    study_confusion_res conf;
    study_taskdep_res taskdep;
    double wall_seconds;        /* this invocation */
    int units_total, units_resumed;
    /* one-shot pruning: curve 0 removes blocks in the order of the pooled cosine score
     * (lowest first), curve 1 in the order of the pooled accuracy drop (smallest first);
     * prune_acc[c][k] = mean over tasks of the headline accuracy with the first k removed */
    int prune_k;
    int prune_order[2][STUDY_MAX_UNITS];
    double prune_acc[2][STUDY_MAX_UNITS + 1];
    /* estimate mode (study_opts.estimate): the timed work unit and the rate it gave */
    bool estimated;
    double probe_seconds, probe_flops, flops_per_s;
    double probe_cpu_seconds;   /* process CPU time (all threads) of the timed work unit */
    long long probe_tokens;
    double *shard_flops;        /* (estimate_shards) work of each shard, or NULL */
    int n_shard_est;
    /* where it went: the run directory ("" for none) and the configuration fingerprint */
    char run_dir[1200], fingerprint[65];
    /* a shard run (opts.n_shards > 0): no statistics or reports; units_new computed here,
     * units_pending the pruning units that wait for the other shards' sweeps */
    bool shard_only;
    int units_new, units_pending;
} study_result;

/* Run the whole study. *out is allocated (free with study_result_free); on error it is NULL.
 * With a run directory (out_dir, or named by out_root and the fingerprint), work units are
 * journaled there (another configuration's directory is refused with ABL_E_STATE), units the
 * shards journaled there are reused, and the reports are written atomically at the end.
 * Sharded (n_shards > 0): only this shard's units, into journal.shard-I-of-N.tsv; the pruning
 * units only once every shard's sweep is journaled (else counted in units_pending); no
 * statistics, no reports (shard_only). Interrupted (stop flag or stop_after_units):
 * ABL_E_INTERRUPTED, everything finished so far is saved. */
abl_status study_run(const study_opts *o, study_result **out, abl_err *err);
/* Frees a result and all its arrays. NULL is fine. */
void study_result_free(study_result *r);

/* ---- planning to a time budget (budget.c): `ablate run --time BUDGET` -------------------- */

#define STUDY_PILOT_ITEMS 40    /* items per task of the --time pilot (its intact pass) */
#define STUDY_TARGET_Z 3.0      /* aim: intact accuracy - chance >= this many standard errors */

typedef struct {
    char name[96];
    int n_avail;                /* items the task has (capped by --limit) */
    int n_pilot;                /* items of the pilot */
    double acc, se, chance;     /* pilot: intact headline accuracy, its se, chance */
    double item_flops;          /* study cost-model FLOPs per item (sweep + pruning) */
    int n_need;                 /* items for acc - chance >= STUDY_TARGET_Z se; 0 = no count
                                 * will do (the pilot was not above chance) */
    int n;                      /* planned items */
    double flops;               /* the plan's FLOPs for this task (cost model, exact) */
    long long n_tok;            /* the plan's tokens per pass */
} study_budget_task;

typedef struct {
    double budget_s;            /* asked for */
    double rate;                /* FLOP/s the plan assumes (--rate, or the probe's) */
    double overhead_s;          /* kept back for loading, the statistics and the reports */
    double pilot_s;             /* predicted time of the pilot */
    double pilot_flops;
    double flops;               /* the planned study's FLOPs */
    int n_tasks;
    study_budget_task *t;       /* (n_tasks) */
} study_budget;

/* Split flops (the study's share of the budget) among n tasks whose item_flops, n_avail and
 * pilot figures are set: n_need = ceil((Z s / (acc - chance))^2), s = se sqrt(n_pilot) the
 * per-item standard deviation (0.5 when the pilot's is 0); then n = min(n_avail, f n_need)
 * with the largest common f that fits (f >= 1: every task reaches its target and the spare
 * budget grows them alike; f < 1: the tasks cheapest to satisfy are satisfied first, in cost
 * order, and the rest share what is left by the same rule). Tasks not above chance in the
 * pilot count n_pilot as their need. Every task gets at least 2 items. Pure and deterministic.
 * ABL_E_ARG when 2 items of every task do not fit. Fills n_need and n (flops stays). */
abl_status study_budget_alloc(study_budget_task *t, int n, double flops, abl_err *err);

/* Plan o's study to finish within budget_s seconds: a pilot (estimate mode, STUDY_PILOT_ITEMS
 * items per task, their intact pass measured) gives each task's accuracy and per-item cost and,
 * unless o->rate is set, the rate (one timed work unit); study_budget_alloc splits what is left
 * after the pilot and the overhead; an estimate of the chosen limits checks the plan against
 * the cost model and shrinks it until it fits. b is filled (free with study_budget_free).
 * Errors: those of study_run, ABL_E_ARG when the budget cannot hold the pilot and 2 items per
 * task (naming the least budget that can). */
abl_status study_budget_plan(const study_opts *o, double budget_s, study_budget *b,
                             abl_err *err);
void study_budget_free(study_budget *b);   /* NULL and zeroed are fine */

/* The definitions printed by `ablate run --help` and in report.md (static text). */
const char *study_definitions(void);

#endif
