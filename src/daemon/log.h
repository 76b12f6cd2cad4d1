/*
 * batond's log: one line per entry on stderr, as text
 * ("2026-01-02T03:04:05.678Z info message") or as a JSON object
 * ({"ts":...,"level":"info","msg":...}). Thread-safe: the library's log
 * callback writes from its loop thread.
 */
#ifndef BATON_DAEMON_LOG_H
#define BATON_DAEMON_LOG_H

#include <stdbool.h>

#include "baton/baton.h"

void bd_log_setup(enum baton_log_level level, bool json);
/* Whether an entry at level would be written. */
bool bd_log_enabled(enum baton_log_level level);
/* Writes one entry (fmt: printf) if level is enabled; newlines in the
 * message are replaced by spaces in text format, escaped in JSON. */
void bd_log(enum baton_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define bd_error(...) bd_log(BATON_LOG_ERROR, __VA_ARGS__)
#define bd_warn(...) bd_log(BATON_LOG_WARN, __VA_ARGS__)
#define bd_info(...) bd_log(BATON_LOG_INFO, __VA_ARGS__)
#define bd_debug(...) bd_log(BATON_LOG_DEBUG, __VA_ARGS__)

#endif
