/* Object tagging: the tag-set rules and encodings (tagging.h) and the
 * x-amz-tagging header of PutObject, CopyObject and CreateMultipartUpload
 * (the operations on a version's tags are in tagging_ops.c).
 *
 * Tags are part of the version: they live in its stored headers as one
 * "x-amz-tagging: <canonical text>" line, which GET and HEAD never send (they
 * send x-amz-tagging-count), so a copy with directive COPY carries them and a
 * PutObjectTagging is one metadata update that leaves the chunks alone. */
#include "s3/tagging.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3/s3_int.h"
#include "util/alloc.h"
#include "util/uri.h"

/* ---- the rules ---- */

/* Unicode characters in s[0..n) if it is valid UTF-8 (shortest forms, no
 * surrogates) without control characters and with S3's tag characters only;
 * -1 otherwise. ASCII is held to S3's list (letters, digits, space and
 * + - = . _ : / @); beyond ASCII any character is taken, as telling letters
 * from symbols there needs Unicode tables. */
static long tag_chars(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    long count = 0;
    while (p < end) {
        unsigned c = *p;
        size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;
        if (c < 0x80) {
            bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
            if (!alnum && (c == 0 || !strchr(" +-=._:/@", (int)c))) return -1;
            p++;
            count++;
            continue;
        }
        if (c < 0xc2 || c > 0xf4 || (size_t)(end - p) < len) return -1;
        uint32_t cp = c & (len == 2 ? 0x1f : len == 3 ? 0x0f : 0x07);
        for (size_t i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80) return -1;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
            return -1;
        p += len;
        count++;
    }
    return count;
}

/* Adds one tag (copies taken) after checking it against the set so far. */
static enum s3_error tag_add(s3_tagset *t, const char *k, size_t kn, const char *v, size_t vn,
                             const char **why)
{
    long kc = tag_chars(k, kn), vc = tag_chars(v, vn);
    if (t->n == S3_TAGS_MAX) return *why = "Object tags cannot be greater than 10", S3E_INVALID_TAG;
    if (kc <= 0) return *why = "The TagKey you have provided is invalid", S3E_INVALID_TAG;
    if (kc > S3_TAG_KEY_MAX)
        return *why = "The TagKey you have provided is too long, max 128", S3E_INVALID_TAG;
    if (vc < 0) return *why = "The TagValue you have provided is invalid", S3E_INVALID_TAG;
    if (vc > S3_TAG_VALUE_MAX)
        return *why = "The TagValue you have provided is too long, max 256", S3E_INVALID_TAG;
    if (kn >= 4 && strncmp(k, "aws:", 4) == 0)
        return *why = "Your TagKey cannot be prefixed with aws:", S3E_INVALID_TAG;
    for (size_t i = 0; i < t->n; i++)
        if (strlen(t->tags[i].key) == kn && memcmp(t->tags[i].key, k, kn) == 0)
            return *why = "Cannot provide multiple Tags with the same key", S3E_INVALID_TAG;
    t->tags[t->n].key = orc_strndup(k, kn);
    t->tags[t->n].value = orc_strndup(v, vn);
    t->n++;
    return S3E_NONE;
}

void s3_tags_dispose(s3_tagset *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->tags[i].key);
        free(t->tags[i].value);
    }
    t->n = 0;
}

/* ---- x-amz-tagging (query-string form) ---- */

/* Decodes s[0..n) with '+' as space into out (reset first). -1 on a bad escape. */
static int form_decode(const char *s, size_t n, orc_buf *out)
{
    orc_buf_reset(out);
    orc_buf_append(out, "", 0, NULL);
    while (n) {
        size_t run = 0;
        while (run < n && s[run] != '+')
            run++;
        if (uri_decode(out, s, run, NULL)) return -1;
        if (run < n) {
            orc_buf_append(out, " ", 1, NULL);
            run++;
        }
        s += run;
        n -= run;
    }
    return 0;
}

enum s3_error s3_tags_parse(const char *s, size_t len, s3_tagset *out, const char **why)
{
    enum s3_error err = S3E_NONE;
    orc_buf k, v;
    orc_buf_init(&k, 0);
    orc_buf_init(&v, 0);
    out->n = 0;
    for (const char *end = s + len; s < end && !err;) {
        const char *amp = memchr(s, '&', (size_t)(end - s)), *pe = amp ? amp : end;
        const char *eq = memchr(s, '=', (size_t)(pe - s)), *ke = eq ? eq : pe;
        if (pe == s) { /* "a=1&&b=2": an empty pair says nothing */
            s = pe + 1;
            continue;
        }
        if (form_decode(s, (size_t)(ke - s), &k) ||
            (eq ? form_decode(eq + 1, (size_t)(pe - eq - 1), &v) : form_decode("", 0, &v))) {
            *why = "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL "
                   "query parameters without tag name duplicates.";
            err = S3E_INVALID_ARGUMENT;
            break;
        }
        /* A decoded NUL cannot be a tag character: tag_chars refuses it. */
        err = tag_add(out, (const char *)k.ptr, k.len, (const char *)v.ptr, v.len, why);
        s = amp ? amp + 1 : end;
    }
    orc_buf_dispose(&k);
    orc_buf_dispose(&v);
    if (err) s3_tags_dispose(out);
    return err;
}

/* ---- <Tagging> ---- */

enum s3_error s3_tags_from_xml(const xml_node *root, s3_tagset *out, const char **why)
{
    enum s3_error err = S3E_NONE;
    const xml_node *set = xml_child(root, "TagSet");
    out->n = 0;
    *why = NULL;
    if (strcmp(root->name, "Tagging") != 0 || !set || xml_next_named(set, "TagSet"))
        return S3E_MALFORMED_XML;
    for (const xml_node *tag = set->child; tag && !err; tag = tag->next) {
        const xml_node *k = xml_child(tag, "Key"), *v = xml_child(tag, "Value");
        if (strcmp(tag->name, "Tag") != 0 || !k || !v || xml_next_named(k, "Key") ||
            xml_next_named(v, "Value")) {
            err = S3E_MALFORMED_XML;
            break;
        }
        err = tag_add(out, k->text, k->text_len, v->text, v->text_len, why);
    }
    if (err) s3_tags_dispose(out);
    return err;
}

/* ---- the stored form ---- */

int s3_tags_encode(const s3_tagset *t, orc_buf *out, orc_err *e)
{
    int rc = ORC_OK;
    for (size_t i = 0; i < t->n && !rc; i++) {
        const s3_tag *g = &t->tags[i];
        if (i) rc = orc_buf_append(out, "&", 1, e);
        if (!rc) rc = uri_encode(out, g->key, strlen(g->key), false, e);
        if (!rc) rc = orc_buf_append(out, "=", 1, e);
        if (!rc) rc = uri_encode(out, g->value, strlen(g->value), false, e);
    }
    return rc;
}

const char *s3_tags_stored(const char *headers, size_t *len)
{
    return object_tags_of(headers, len);
}

size_t s3_tags_count(const char *v, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) /* canonical: no empty pairs */
        n += v[i] == '&';
    return len ? n + 1 : 0;
}

/* ---- the header on writes ---- */

int s3_request_tags(s3_req *r, orc_buf *out)
{
    const char *h = http_header(r->rq, "x-amz-tagging"), *why = NULL;
    s3_tagset t;
    orc_err e;
    if (!h) return 0;
    enum s3_error err = s3_tags_parse(h, strlen(h), &t, &why);
    if (err) {
        s3_error(r, err, why);
        return -1;
    }
    int rc = ORC_OK;
    if (t.n) {
        rc = orc_buf_puts(out, S3_TAGGING_HEADER ": ", &e);
        if (!rc) rc = s3_tags_encode(&t, out, &e);
        if (!rc) rc = orc_buf_append(out, "\n", 1, &e);
    }
    s3_tags_dispose(&t);
    if (rc) s3_error(r, S3E_INTERNAL_ERROR, NULL);
    return rc ? -1 : 0;
}
