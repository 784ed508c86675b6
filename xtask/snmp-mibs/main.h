/* Stub of NUT's drivers/main.h for compiling NUT's *-mib.c tables outside NUT: the
 * generator only reads the tables, it never calls the functions they point to. */
#ifndef GEN_MAIN_H
#define GEN_MAIN_H
#define _GNU_SOURCE 1
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdint.h>
#include <time.h>
#include <ctype.h>
#include "extstate.h"
#define upsdebugx(...) do { } while (0)
#define upsdebug_with_errno(...) do { } while (0)
#define upslogx(...) do { } while (0)
#define NUT_UNUSED_VARIABLE(x) (void)(x)
static inline const char *dstate_getinfo(const char *v) { (void)v; return NULL; }
static inline int dstate_setinfo(const char *v, const char *f, ...) { (void)v; (void)f; return 0; }
#endif
