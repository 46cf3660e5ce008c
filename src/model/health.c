/* health.c — the rate and the status thresholds. */
#include "model/health.h"

#include <math.h>
#include <string.h>

double health_rate(int64_t consistent, int64_t total)
{
    if (total <= 0)
        return 100.0;
    /* Integer arithmetic to two decimals, rounding half up, so 2/3 gives 66.67
     * and no binary-float artefact moves a value across a threshold. */
    int64_t scaled = (consistent * 20000 + total) / (2 * total); /* hundredths of a percent */
    return (double)scaled / 100.0;
}

const char *health_status(double rate, double healthy_threshold, double degraded_threshold)
{
    if (rate >= healthy_threshold)
        return "healthy";
    if (rate >= degraded_threshold)
        return "degraded";
    return "critical";
}

bool health_requires_attention(const char *status)
{
    return status && (!strcmp(status, "degraded") || !strcmp(status, "critical"));
}

int health_exit_code(const char *status)
{
    if (status && !strcmp(status, "degraded"))
        return 3;
    if (status && !strcmp(status, "critical"))
        return 4;
    return 0;
}
