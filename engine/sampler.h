/* engine/sampler.h - picking the next token from a row of logits: greedy, temperature, top-p
 * (nucleus), with a seeded RNG so a run is reproducible. Legend: V vocabulary. */
#ifndef SAMPLER_H
#define SAMPLER_H

#include <stdint.h>

#include "../base/abl.h"

typedef struct {
    float p;
    int32_t id;
} sampler_cand;

typedef struct {
    int vocab;          /* V */
    float temp;         /* <= 0: greedy (argmax) */
    float top_p;        /* in (0, 1]; 1 = no nucleus cut */
    uint64_t rng;       /* xorshift64* state, never 0 */
    float *prob;        /* (V) scratch: probabilities */
    sampler_cand *cand; /* (V) scratch: candidates sorted by probability */
} sampler;

/* Set up a sampler for vocab V (buffers allocated here, once). temp < 0 is treated as 0; top_p
 * outside (0, 1] gives ABL_E_ARG. The same seed gives the same sequence of choices. */
abl_status sampler_init(sampler *s, int vocab, float temp, float top_p, uint64_t seed,
                        abl_err *err);
void sampler_free(sampler *s); /* NULL-safe */

/* Choose an id from logits (V); logits are not modified. Allocates nothing. Greedy returns the
 * first maximum. Not thread-safe per sampler. */
int32_t sampler_pick(sampler *s, const float *logits);

/* Next uniform double in [0, 1) from the sampler's RNG (exposed for tests). */
double sampler_uniform(sampler *s);

#endif
