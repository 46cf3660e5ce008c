/* errors.c — names of the service error codes. */
#include "service/errors.h"

#include "store/store.h"

const char *ls_error_type(int code)
{
    switch (code) {
    case LS_ERR_VALIDATION:
        return "validation_error";
    case LS_ERR_NOT_FOUND:
        return "not_found";
    case LS_ERR_CONFLICT:
        return "conflict";
    default:
        return "database_error";
    }
}

int ls_from_store(int store_code)
{
    switch (store_code) {
    case STORE_OK:
        return LS_OK;
    case STORE_ERR_NOT_FOUND:
        return LS_ERR_NOT_FOUND;
    case STORE_ERR_CONFLICT:
        return LS_ERR_CONFLICT;
    case STORE_ERR_BUSY:
        return LS_ERR_BUSY;
    case STORE_ERR_UNAVAILABLE:
        return LS_ERR_UNAVAILABLE;
    case STORE_ERR_NOMEM:
        return LS_ERR_NOMEM;
    default:
        return LS_ERR_DATABASE;
    }
}
