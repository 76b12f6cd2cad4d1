/*
 * baton: cluster singletons with fencing tokens.
 *
 * This header is the public surface shared by every part of baton: error
 * codes and the size limits of names. The embedding API (start a node,
 * campaign, receive elected/revoked callbacks) joins it with the runtime.
 *
 * Error convention (libuv's): functions return 0 or a positive count on
 * success and a negative BATON_E* code on failure. baton_strerror() and
 * baton_err_name() never return NULL, even for codes they do not know.
 */
#ifndef BATON_BATON_H
#define BATON_BATON_H

#ifdef __cplusplus
extern "C" {
#endif

#define BATON_VERSION_MAJOR 0
#define BATON_VERSION_MINOR 1
#define BATON_VERSION_PATCH 0

/* A campaign name is an opaque byte string of 1..BATON_NAME_MAX bytes. */
#define BATON_NAME_MAX 255
/* A node name is 1..BATON_NODE_MAX bytes of [A-Za-z0-9._:@-]. */
#define BATON_NODE_MAX 64

/* XX(name, value, message): the one list every error table derives from. */
#define BATON_ERRNO_MAP(XX)                                                   \
    XX(EINVAL, -1, "invalid argument")                                        \
    XX(ENOMEM, -2, "out of memory")                                           \
    XX(EALREADY, -3, "already a candidate for this name")                     \
    XX(ENOTLEADER, -4, "not the leader")                                      \
    XX(ENOLEADER, -5, "no leader")                                            \
    XX(ENOENT, -6, "no such entry")                                           \
    XX(ECLOCK, -7, "remote clock too far ahead")                              \
    XX(EPROTO, -8, "malformed message")                                       \
    XX(EVERSION, -9, "unsupported wire version")                              \
    XX(E2BIG, -10, "value too large")                                         \
    XX(ENOSPC, -11, "buffer too small")                                       \
    XX(ESTALE, -12, "fencing token not greater than the high-water mark")     \
    XX(ECORRUPT, -13, "corrupt file")                                         \
    XX(EFOREIGN, -14, "not a baton file")                                     \
    XX(EIO, -15, "input/output error")                                        \
    XX(ECONFLICT, -16, "node name held by another live process")              \
    XX(ECLOSED, -17, "node is shut down")                                     \
    XX(EBUSY, -18, "resource locked by another user")                         \
    XX(ELIMIT, -20, "too many names")

enum baton_errno {
#define BATON_ERR_ENUM(name, value, msg) BATON_##name = (value),
    BATON_ERRNO_MAP(BATON_ERR_ENUM)
#undef BATON_ERR_ENUM
};

/* A human-readable description of err ("unknown error" if unknown). */
const char *baton_strerror(int err);
/* The symbolic name of err, e.g. "EALREADY" ("UNKNOWN" if unknown). */
const char *baton_err_name(int err);

#ifdef __cplusplus
}
#endif
#endif /* BATON_BATON_H */
