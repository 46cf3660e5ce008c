/* direction.h — the directions a sync repairs in (domain.md, "Sync"). */
#ifndef LOCKSTEP_DIRECTION_H
#define LOCKSTEP_DIRECTION_H

#include <stdbool.h>

#define DIRECTION_PROGRESS_TO_LICENSE "progress_to_license" /* the default */
#define DIRECTION_LICENSE_TO_PROGRESS "license_to_progress"
#define DIRECTION_HIGHER_WINS "higher_wins"

/* True for the three directions. */
bool direction_valid(const char *direction);

#endif
