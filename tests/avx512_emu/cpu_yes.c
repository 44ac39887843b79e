/* tests/avx512_emu/cpu_yes.c - replaces kernels/avx_cpu.c in the AVX-512 emulation runner:
 * the emulated AVX-512 variant (and the real AVX2 one it builds on) count as supported. */
int kern_cpu_avx2(void);
int kern_cpu_avx512(void);

int kern_cpu_avx2(void) { return 1; }
int kern_cpu_avx512(void) { return 1; }
