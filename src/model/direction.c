/* direction.c — the sync directions. */
#include "model/direction.h"

#include <string.h>

bool direction_valid(const char *d)
{
    return d && (!strcmp(d, DIRECTION_PROGRESS_TO_LICENSE) ||
                 !strcmp(d, DIRECTION_LICENSE_TO_PROGRESS) || !strcmp(d, DIRECTION_HIGHER_WINS));
}
