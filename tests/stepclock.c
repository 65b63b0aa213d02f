/* A steppable wall clock for one process tree, as an NTP step moves a real one
 * (tests/stepclock.py builds and drives it).
 *
 * Preloaded (LD_PRELOAD) into the processes of a camera whose clock a test steps: the wall
 * clock (CLOCK_REALTIME, gettimeofday, time) is shifted by the seconds written in the file
 * $SMARTCAM_CLOCK_FILE, re-read at most once a second. Every other clock, CLOCK_MONOTONIC
 * above all, is left alone: a real step does not move it, and the timers and timeouts built
 * on it must keep working. (libfaketime can do this too, but its clock_nanosleep breaks
 * Python's time.sleep with EINVAL when it leaves the monotonic clock alone.)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

static clock_gettime_fn real_clock_gettime;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long long offset_ns;
static time_t read_at = -1; /* the monotonic second the file was last read in */

static long long offset(void)
{
    struct timespec mono;
    real_clock_gettime(CLOCK_MONOTONIC, &mono);
    pthread_mutex_lock(&lock);
    if (mono.tv_sec != read_at) {
        const char *path = getenv("SMARTCAM_CLOCK_FILE");
        FILE *f = path ? fopen(path, "re") : NULL;
        double seconds;
        read_at = mono.tv_sec;
        if (f) {
            if (fscanf(f, "%lf", &seconds) == 1)
                offset_ns = (long long)(seconds * 1e9);
            fclose(f);
        }
    }
    long long out = offset_ns;
    pthread_mutex_unlock(&lock);
    return out;
}

int clock_gettime(clockid_t clock, struct timespec *ts)
{
    if (!real_clock_gettime)
        real_clock_gettime = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
    int rc = real_clock_gettime(clock, ts);
    if (rc == 0 && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)) {
        long long ns = ts->tv_sec * 1000000000LL + ts->tv_nsec + offset();
        ts->tv_sec = ns / 1000000000LL;
        ts->tv_nsec = ns % 1000000000LL;
    }
    return rc;
}

int gettimeofday(struct timeval *tv, void *tz)
{
    struct timespec ts;
    (void)tz;
    int rc = clock_gettime(CLOCK_REALTIME, &ts);
    if (rc == 0) {
        tv->tv_sec = ts.tv_sec;
        tv->tv_usec = ts.tv_nsec / 1000;
    }
    return rc;
}

time_t time(time_t *out)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (out)
        *out = ts.tv_sec;
    return ts.tv_sec;
}
