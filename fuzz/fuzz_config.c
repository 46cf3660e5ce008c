/* fuzz_config.c — libFuzzer harness: the INI configuration (inih through
 * config_load_text, the same reader as config_load_file) and the cross-key
 * checks of config_finalize, on text in memory. No file is read or written.
 * The same text must give the same settings twice (nothing global). */
#include "config/config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct config a, b;
    char err_a[600], err_b[600];
    config_defaults(&a);
    config_defaults(&b);
    int rc_a = config_load_text(&a, "fuzz.ini", (const char *)data, size, err_a, sizeof err_a);
    int rc_b = config_load_text(&b, "fuzz.ini", (const char *)data, size, err_b, sizeof err_b);
    if (rc_a != rc_b || memcmp(&a, &b, sizeof a) != 0 ||
        (rc_a && strcmp(err_a, err_b) != 0)) {
        fprintf(stderr, "config_load_text: two loads of the same text differ\n");
        abort();
    }
    if (rc_a) {
        if (!memchr(err_a, '\0', sizeof err_a) || !err_a[0]) {
            fprintf(stderr, "config_load_text failed without a message\n");
            abort();
        }
        return 0;
    }
    if (config_finalize(&a, err_a, sizeof err_a) == 0) {
        if (!a.db[0] || !a.data_dir[0] || a.degraded_threshold > a.healthy_threshold) {
            fprintf(stderr, "config_finalize accepted an inconsistent configuration\n");
            abort();
        }
    }
    return 0;
}
