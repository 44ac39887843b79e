/* kernels/dispatch.c - choosing the variant: the table starts as ref (kernels/ref.c), then
 * kern_init overwrites it with the best variant this CPU, OS and build support, or a forced one. */
#include <stdlib.h>
#include <string.h>

#include "kernels_int.h"

/* ISA files are absent from some builds (no NEON on x86-64, no AVX on aarch64): weak references
 * resolve to NULL there, so this file needs no #ifdef. */
extern void kern_fill_avx2(kern_table *t) __attribute__((weak));
extern void kern_fill_avx512(kern_table *t) __attribute__((weak));
extern void kern_fill_neon(kern_table *t) __attribute__((weak));
extern int kern_cpu_avx2(void) __attribute__((weak));
extern int kern_cpu_avx512(void) __attribute__((weak));
extern int kern_cpu_neon(void) __attribute__((weak));

static const char *const variant_names[KV_COUNT] = {"ref", "avx2", "avx512", "neon"};

int kern_supported(kern_variant v)
{
    switch (v) {
    case KV_REF:
        return 1;
    case KV_AVX2:
        return kern_fill_avx2 && kern_cpu_avx2 && kern_cpu_avx2();
    case KV_AVX512:
        return kern_fill_avx512 && kern_cpu_avx512 && kern_cpu_avx512();
    case KV_NEON:
        return kern_fill_neon && kern_cpu_neon && kern_cpu_neon();
    default:
        return 0;
    }
}

static kern_variant best_variant(void)
{
    if (kern_supported(KV_AVX512))
        return KV_AVX512;
    if (kern_supported(KV_AVX2))
        return KV_AVX2;
    if (kern_supported(KV_NEON))
        return KV_NEON;
    return KV_REF;
}

const char *kern_best_name(void) { return variant_names[best_variant()]; }

/* Why v cannot run here, for the error message. */
static const char *why_not(kern_variant v)
{
    int built = v == KV_AVX2 ? kern_fill_avx2 != NULL
              : v == KV_AVX512 ? kern_fill_avx512 != NULL
              : v == KV_NEON ? kern_fill_neon != NULL : 1;
    if (!built)
        return "this binary was built for another architecture";
    if (v == KV_AVX512)
        return "the CPU lacks AVX-512F/BW/DQ/VL or the OS does not save the AVX-512 registers "
               "(XCR0)";
    if (v == KV_AVX2)
        return "the CPU lacks AVX2+FMA or the OS does not save the YMM registers (XCR0)";
    return "the CPU lacks it";
}

abl_status kern_init(const char *force, abl_err *err)
{
    if (!force || !force[0])
        force = getenv("ABLATE_KERNELS");
    kern_variant v = best_variant();
    if (force && force[0] && strcmp(force, "auto") != 0) {
        int found = -1;
        for (int i = 0; i < KV_COUNT; i++)
            if (!strcmp(force, variant_names[i]))
                found = i;
        if (found < 0)
            return abl_fail(err, ABL_E_ARG,
                            "ABLATE_KERNELS: expected ref, avx2, avx512, neon or auto, found '%s'",
                            force);
        v = (kern_variant)found;
        if (!kern_supported(v))
            return abl_fail(err, ABL_E_DEVICE,
                            "kernels: expected a variant this machine can run, found '%s' (%s; "
                            "hint: ask for '%s', the best one here, or leave ABLATE_KERNELS "
                            "unset)",
                            force, why_not(v), kern_best_name());
    }
    kern_fill_ref(&kern);
    if (v == KV_AVX2)
        kern_fill_avx2(&kern);
    else if (v == KV_AVX512)
        kern_fill_avx512(&kern);
    else if (v == KV_NEON)
        kern_fill_neon(&kern);
    return ABL_OK;
}
