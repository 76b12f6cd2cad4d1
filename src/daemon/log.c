/* batond's log; see log.h. */
#include "daemon/log.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/config.h"

static enum baton_log_level log_level = BATON_LOG_INFO;
static bool log_json;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void bd_log_setup(enum baton_log_level level, bool json)
{
    log_level = level;
    log_json = json;
}

bool bd_log_enabled(enum baton_log_level level) { return level <= log_level; }

void bd_log(enum baton_log_level level, const char *fmt, ...)
{
    if (!bd_log_enabled(level))
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[96];
    snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(ts.tv_nsec / 1000000));

    pthread_mutex_lock(&log_lock);
    if (log_json) {
        json_t *o = json_object();
        json_object_set_new(o, "ts", json_string(stamp));
        json_object_set_new(o, "level", json_string(bd_log_level_name(level)));
        json_t *m = json_string(msg);
        /* A message that is not UTF-8 (a peer's bytes) is written escaped. */
        if (m == NULL) {
            for (char *p = msg; *p; p++)
                if ((unsigned char)*p >= 0x80)
                    *p = '?';
            m = json_string(msg);
        }
        json_object_set_new(o, "msg", m);
        char *line = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (line != NULL) {
            fprintf(stderr, "%s\n", line);
            free(line);
        }
    } else {
        for (char *p = msg; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        fprintf(stderr, "%s %s %s\n", stamp, bd_log_level_name(level), msg);
    }
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
}
