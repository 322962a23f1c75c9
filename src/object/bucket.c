/* Bucket naming rules, as S3 enforces them for new buckets. */
#include "object/object.h"

#include <string.h>

static bool is_ipv4(const char *s)
{
    int dots = 0, digits = 0;
    for (; *s; s++) {
        if (*s == '.') {
            if (!digits) return false;
            dots++;
            digits = 0;
        } else if (*s >= '0' && *s <= '9') {
            if (++digits > 3) return false;
        } else {
            return false;
        }
    }
    return dots == 3 && digits;
}

bool bucket_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n < 3 || n > META_BUCKET_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
            return false;
    }
    if (name[0] == '.' || name[0] == '-' || name[n - 1] == '.' || name[n - 1] == '-') return false;
    if (strstr(name, "..") || strstr(name, ".-") || strstr(name, "-.")) return false;
    if (strncmp(name, "xn--", 4) == 0 || strncmp(name, "sthree-", 7) == 0) return false;
    if (n > 8 && strcmp(name + n - 8, "-s3alias") == 0) return false;
    if (n > 9 && strcmp(name + n - 9, "--ol-s3") == 0) return false;
    return !is_ipv4(name);
}
