/* tests/t_alloc.h - planted allocation failures: the runner is linked with --wrap for malloc,
 * calloc, realloc, strdup and aligned_alloc, so every allocation of the library code it runs
 * goes through a counter that can fail the Nth one (test-only; ./ablate is untouched). */
#ifndef T_ALLOC_H
#define T_ALLOC_H

/* Start counting allocations; the nth one from now returns NULL (errno ENOMEM), once. n <= 0:
 * count only, fail none. Thread-safe counter. */
void t_alloc_arm(long n);
/* Stop counting; returns the allocations counted since t_alloc_arm. */
long t_alloc_disarm(void);
/* True when the planted failure has happened since t_alloc_arm. */
int t_alloc_fired(void);

#endif
