/* Error codes and caller-owned error detail.
 *
 * Every fallible function returns ORC_OK (0) or a negative orc_code and takes
 * an `orc_err *` last, which it fills on failure. Messages name what a user can
 * fix and never contain a secret. */
#ifndef ORC_UTIL_ERR_H
#define ORC_UTIL_ERR_H

enum orc_code {
    ORC_OK = 0,
    ORC_ENOTFOUND = -1,  /* the thing asked for does not exist */
    ORC_EEXISTS = -2,    /* create of something that exists */
    ORC_EINVAL = -3,     /* bad input from a caller or the network */
    ORC_EAUTH = -4,      /* credentials refused */
    ORC_ETRANSIENT = -5, /* worth retrying: timeout, 5xx, busy */
    ORC_ECORRUPT = -6,   /* bytes failed verification */
    ORC_ENOSPC = -7,     /* out of space or over a size limit */
    ORC_EIO = -8,        /* local I/O failure */
    ORC_EINTERNAL = -9,  /* a bug or an unexpected library failure */
    ORC_ECONFLICT = -10, /* state forbids it: bucket not empty, chunk being collected */
    ORC_EBUSY = -11,     /* try again shortly: another actor holds the thing */
    ORC_EAGAIN = -12,    /* would block: the caller's wake function runs when it can go on */
    ORC_ECANCELED = -13, /* the client went away before the commit: nothing was made visible */
};

typedef struct orc_err {
    int code;
    char msg[256];
} orc_err;

/* Fills e (which may be NULL) and returns code. */
int orc_fail(orc_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Short stable name of a code, e.g. "ENOTFOUND". */
const char *orc_code_name(int code);

#endif
