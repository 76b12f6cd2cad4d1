/* The error tables, generated from BATON_ERRNO_MAP so they cannot drift. */
#include "baton/baton.h"

const char *baton_strerror(int err)
{
    switch (err) {
#define XX(name, value, msg)                                                                       \
    case BATON_##name: return msg;
        BATON_ERRNO_MAP(XX)
#undef XX
    case 0: return "success";
    default: return "unknown error";
    }
}

const char *baton_err_name(int err)
{
    switch (err) {
#define XX(name, value, msg)                                                                       \
    case BATON_##name: return #name;
        BATON_ERRNO_MAP(XX)
#undef XX
    case 0: return "OK";
    default: return "UNKNOWN";
    }
}
