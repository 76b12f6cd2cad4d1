/*
 * The one function every tests/fuzz/<name>_fuzz.c defines (libFuzzer's entry
 * point). The same file links either with libFuzzer (-DBATON_FUZZ=ON, clang)
 * or with replay_main.c, which runs it over the seed corpus in the ordinary
 * test build (ctest fuzz.<name>.corpus).
 *
 * A target returns 0 for every input and calls abort() when an oracle it
 * checks fails; sanitizers report the rest.
 */
#ifndef BT_FUZZ_H
#define BT_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
