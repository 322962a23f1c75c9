/* orc_err helpers. */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>

int orc_fail(orc_err *e, int code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        e->code = code;
        e->detail = ORC_D_NONE;
        vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

int orc_fail_detail(orc_err *e, int code, int detail, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        e->code = code;
        e->detail = detail;
        vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

int orc_fail_copy(orc_err *dst, int code, const orc_err *src)
{
    if (dst && dst != src) {
        dst->detail = src->detail;
        snprintf(dst->msg, sizeof(dst->msg), "%s", src->msg);
    }
    if (dst) dst->code = code;
    return code;
}

const char *orc_code_name(int code)
{
    switch (code) {
    case ORC_OK:
        return "OK";
    case ORC_ENOTFOUND:
        return "ENOTFOUND";
    case ORC_EEXISTS:
        return "EEXISTS";
    case ORC_EINVAL:
        return "EINVAL";
    case ORC_EAUTH:
        return "EAUTH";
    case ORC_ETRANSIENT:
        return "ETRANSIENT";
    case ORC_ECORRUPT:
        return "ECORRUPT";
    case ORC_ENOSPC:
        return "ENOSPC";
    case ORC_EIO:
        return "EIO";
    case ORC_EINTERNAL:
        return "EINTERNAL";
    case ORC_ECONFLICT:
        return "ECONFLICT";
    case ORC_EBUSY:
        return "EBUSY";
    case ORC_EAGAIN:
        return "EAGAIN";
    case ORC_ECANCELED:
        return "ECANCELED";
    }
    return "E?";
}
