/* health.h — consistency rate and status thresholds (domain.md, "The check"). */
#ifndef LOCKSTEP_HEALTH_H
#define LOCKSTEP_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

/* round(consistent / total × 100, 2); 100.0 when total is 0. */
double health_rate(int64_t consistent, int64_t total);
/* "healthy" (rate >= healthy), "degraded" (>= degraded) or "critical". */
const char *health_status(double rate, double healthy_threshold, double degraded_threshold);
/* True for degraded and critical. */
bool health_requires_attention(const char *status);
/* The process exit code of `lockstep check` for a status: 0, 3 or 4. */
int health_exit_code(const char *status);

#endif
