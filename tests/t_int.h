/* tests/t_int.h - the test context shared by t.c and runner.c. */
#ifndef T_INT_H
#define T_INT_H

struct tctx {
    int failed, skipped;
    char why[1024];
    char skip_why[256];
    char notes[4096];
    char tmp[256];
};

#endif
