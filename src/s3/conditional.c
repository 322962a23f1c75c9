/* Conditional requests: HTTP-date parsing (three formats), entity tag lists
 * and S3's precedence between the four conditional headers. Parsers advance a
 * cursor only on success and never call atoi/sscanf: the input is a header
 * from the network. */
#include "s3/conditional.h"

#include <stddef.h>
#include <string.h>

static const char *const months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const days_short[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const days_long[7] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                         "Friday", "Saturday", "Sunday"};

static bool lit(const char **p, const char *s)
{
    size_t n = strlen(s);
    if (strncmp(*p, s, n) != 0) return false;
    *p += n;
    return true;
}

/* Exactly n decimal digits. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

/* One of the names in v (of n), not followed by another lower-case letter
 * ("Sun" does not match "Sunday"); *out gets its index. */
static bool name(const char **p, const char *const *v, int n, int *out)
{
    for (int i = 0; i < n; i++) {
        size_t len = strlen(v[i]);
        if (strncmp(*p, v[i], len) == 0 && !((*p)[len] >= 'a' && (*p)[len] <= 'z')) {
            *p += len;
            *out = i;
            return true;
        }
    }
    return false;
}

/* "HH:MM:SS" */
static bool hms(const char **p, int *h, int *m, int *s)
{
    const char *q = *p;
    if (!digits(&q, 2, h) || !lit(&q, ":") || !digits(&q, 2, m) || !lit(&q, ":") ||
        !digits(&q, 2, s))
        return false;
    if (*h > 23 || *m > 59 || *s > 60) return false; /* 60: a leap second */
    *p = q;
    return true;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool to_epoch(int y, int mon, int d, int h, int mi, int s, int64_t *out)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mon < 0 || mon > 11 || d < 1) return false;
    if (d > mdays[mon] + (mon == 1 && leap(y))) return false;
    *out = days_from_civil(y, mon + 1, d) * 86400 + h * 3600 + mi * 60 + s;
    return true;
}

struct date {
    int d, mon, y, h, mi, s;
};

/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
static bool imf_fixdate(const char **p, struct date *t)
{
    int wd;
    return name(p, days_short, 7, &wd) && lit(p, ", ") && digits(p, 2, &t->d) && lit(p, " ") &&
           name(p, months, 12, &t->mon) && lit(p, " ") && digits(p, 4, &t->y) && lit(p, " ") &&
           hms(p, &t->h, &t->mi, &t->s) && lit(p, " GMT");
}

/* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
static bool rfc850(const char **p, struct date *t)
{
    int wd;
    if (!(name(p, days_long, 7, &wd) && lit(p, ", ") && digits(p, 2, &t->d) && lit(p, "-") &&
          name(p, months, 12, &t->mon) && lit(p, "-") && digits(p, 2, &t->y) && lit(p, " ") &&
          hms(p, &t->h, &t->mi, &t->s) && lit(p, " GMT")))
        return false;
    t->y += t->y >= 70 ? 1900 : 2000;
    return true;
}

/* asctime: Sun Nov  6 08:49:37 1994 (the day is space-padded) */
static bool asctime_date(const char **p, struct date *t)
{
    int wd;
    if (!(name(p, days_short, 7, &wd) && lit(p, " ") && name(p, months, 12, &t->mon) &&
          lit(p, " ")))
        return false;
    if (!(lit(p, " ") ? digits(p, 1, &t->d) : digits(p, 2, &t->d))) return false;
    return lit(p, " ") && hms(p, &t->h, &t->mi, &t->s) && lit(p, " ") && digits(p, 4, &t->y);
}

int s3_http_date_parse(const char *s, int64_t *out)
{
    struct date t = {0};
    if (!s) return -1;
    const char *p = s + strspn(s, " ");
    /* The day name's length and what follows it tell the format apart. */
    size_t wlen = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
    bool ok;
    if (wlen == 3 && p[3] == ',')
        ok = imf_fixdate(&p, &t);
    else if (wlen > 3 && p[wlen] == ',')
        ok = rfc850(&p, &t);
    else if (wlen == 3 && p[3] == ' ')
        ok = asctime_date(&p, &t);
    else
        ok = false;
    if (!ok) return -1;
    p += strspn(p, " ");
    if (*p) return -1;
    return to_epoch(t.y, t.mon, t.d, t.h, t.mi, t.s, out) ? 0 : -1;
}

bool s3_etag_list_matches(const char *list, const char *etag)
{
    const char *p = list;
    size_t elen = strlen(etag);
    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p) break;
        const char *start, *end;
        if (p[0] == 'W' && p[1] == '/') p += 2;
        if (*p == '"') {
            start = ++p;
            end = strchr(p, '"');
            if (!end) return false; /* unterminated: matches nothing */
            p = end + 1;
        } else {
            start = p;
            p += strcspn(p, ",");
            end = p;
            while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
        }
        size_t n = (size_t)(end - start);
        if (n == 1 && *start == '*') return true;
        if (n == elen && memcmp(start, etag, n) == 0) return true;
        if (*p && *p != ',' && *p != ' ' && *p != '\t') return false; /* junk after a tag */
    }
    return false;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

enum s3_cond_result s3_cond_eval(const s3_cond *c, const char *etag, int64_t mtime_ms,
                                 int64_t now_s)
{
    int64_t mtime_s = floor_div(mtime_ms, 1000), t;
    /* The 412 checks come first (RFC 9110 13.2.2), then the 304 ones. */
    if (c->if_match) {
        if (!s3_etag_list_matches(c->if_match, etag)) return S3_COND_FAILED;
    } else if (c->if_unmodified_since && s3_http_date_parse(c->if_unmodified_since, &t) == 0 &&
               mtime_s > t) {
        return S3_COND_FAILED;
    }
    if (c->if_none_match)
        return s3_etag_list_matches(c->if_none_match, etag) ? S3_COND_NOT_MODIFIED : S3_COND_PASS;
    if (c->if_modified_since && s3_http_date_parse(c->if_modified_since, &t) == 0 && t <= now_s &&
        mtime_s <= t)
        return S3_COND_NOT_MODIFIED;
    return S3_COND_PASS;
}
