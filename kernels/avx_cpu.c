/* kernels/avx_cpu.c - may this x86-64 CPU and OS run the AVX2 / AVX-512 variants? CPUID via
 * __builtin_cpu_supports plus XCR0 (xgetbv). Compiled WITHOUT ISA flags: it runs on any x86-64. */
#include <cpuid.h>
#include <stdint.h>

#include "kernels_int.h"

/* XCR0, or 0 when the OS has not enabled XSAVE (then no AVX state is saved at all). */
static uint64_t read_xcr0(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) /* OSXSAVE */
        return 0;
    uint32_t lo, hi;
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

/* AVX2 needs XMM and YMM state (XCR0 bits 1, 2) saved by the OS. */
int kern_cpu_avx2(void)
{
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
        return 0;
    return (read_xcr0() & 0x6) == 0x6;
}

/* AVX-512 also needs opmask, ZMM_Hi256 and Hi16_ZMM state (XCR0 bits 5, 6, 7). */
int kern_cpu_avx512(void)
{
    __builtin_cpu_init();
    if (!kern_cpu_avx2())
        return 0;
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
        !__builtin_cpu_supports("avx512dq") || !__builtin_cpu_supports("avx512vl"))
        return 0;
    return (read_xcr0() & 0xe6) == 0xe6;
}
