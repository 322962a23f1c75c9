/* Streaming parser of the CompleteMultipartUpload body. The document's shape
 * is fixed (root, Part, Part's fields), so the parser keeps only the element
 * depth, the <Part> being filled and a small text buffer for the field being
 * read; elements it does not know are skipped, as S3 skips them. Read with
 * the shared util/ XML reader (no DTDs), whose handlers stop it by returning
 * STOP; any stop or error is MalformedXML. */
#include "s3/complete_xml.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/parse.h"
#include "util/xml.h"

#define DEPTH_MAX 32
#define FIELD_MAX 128 /* longer field text cannot be a valid value */
#define STOP 1        /* a handler's result that ends the parse */

enum field { F_NONE, F_NUMBER, F_ETAG, F_CHECKSUM };

struct cparse {
    s3_complete_list *out;
    size_t cap, elements, depth;
    bool root_ok;
    enum s3_error semantic; /* first InvalidPart/MalformedXML from the content */
    /* the <Part> being read */
    bool in_part, has_number, has_etag;
    enum field field;
    enum s3_checksum_alg field_alg;
    char text[FIELD_MAX + 1];
    size_t text_len;
    bool text_long;
};

static void content_error(struct cparse *st, enum s3_error err)
{
    if (!st->semantic) st->semantic = err;
}

/* The algorithm of a "Checksum<NAME>" element, or S3_CK_NONE. */
static enum s3_checksum_alg checksum_elem(const char *name)
{
    static const char pre[] = "Checksum";
    if (strncmp(name, pre, sizeof(pre) - 1) != 0) return S3_CK_NONE;
    enum s3_checksum_alg a = s3_checksum_by_name(name + sizeof(pre) - 1);
    /* by_name ignores case; element names do not */
    return a && strcmp(s3_checksum_name(a), name + sizeof(pre) - 1) == 0 ? a : S3_CK_NONE;
}

static int part_start(struct cparse *st)
{
    s3_complete_list *l = st->out;
    if (l->n == META_PART_MAX) return STOP; /* more parts than S3 allows */
    if (l->n == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 16;
        l->v = orc_realloc(l->v, st->cap * sizeof(*l->v));
    }
    memset(&l->v[l->n], 0, sizeof(l->v[0]));
    l->n++;
    st->in_part = true;
    st->has_number = st->has_etag = false;
    return 0;
}

static void field_start(struct cparse *st, const char *name)
{
    s3_complete_part *p = &st->out->v[st->out->n - 1];
    st->field = F_NONE;
    st->text_len = 0;
    st->text_long = false;
    if (strcmp(name, "PartNumber") == 0 && !st->has_number) {
        st->field = F_NUMBER;
    } else if (strcmp(name, "ETag") == 0 && !st->has_etag) {
        st->field = F_ETAG;
    } else if ((st->field_alg = checksum_elem(name)) != S3_CK_NONE) {
        if (p->checksum[0]) content_error(st, S3E_INVALID_PART); /* two checksums */
        st->field = F_CHECKSUM;
    }
}

static int on_start(xml_reader *r, const char *local, const char **attrs)
{
    struct cparse *st = xml_reader_ctx(r);
    if (++st->elements > COMPLETE_MAX_ELEMENTS || st->depth == DEPTH_MAX) return STOP;
    st->depth++;
    if (st->depth == 1) {
        st->root_ok = strcmp(local, "CompleteMultipartUpload") == 0;
        if (!st->root_ok) return STOP;
    } else if (st->depth == 2 && strcmp(local, "Part") == 0) {
        return part_start(st);
    } else if (st->depth == 3 && st->in_part && st->field == F_NONE) {
        field_start(st, local);
    }
    return 0;
}

/* An ETag from a client: surrounding blanks and quotes dropped. */
static void etag_unquote(const char *v, size_t n, char out[64])
{
    while (n && strchr(" \t\r\n", *v))
        v++, n--;
    while (n && strchr(" \t\r\n", v[n - 1]))
        n--;
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') v++, n -= 2;
    if (n >= 64) n = 0; /* cannot be ours: matches no part */
    memcpy(out, v, n);
    out[n] = 0;
}

static void field_end(struct cparse *st)
{
    s3_complete_part *p = &st->out->v[st->out->n - 1];
    uint64_t v;
    uint8_t raw[S3_CHECKSUM_MAX];
    st->text[st->text_len] = 0;
    switch (st->field) {
    case F_NUMBER:
        st->has_number = true;
        if (st->text_long || parse_uint_max(st->text, UINT32_MAX, &v))
            return content_error(st, S3E_MALFORMED_XML);
        p->number = v > META_PART_MAX ? META_PART_MAX + 1 : (int)v;
        break;
    case F_ETAG:
        st->has_etag = true;
        if (st->text_long) break; /* "" matches no part: InvalidPart later */
        etag_unquote(st->text, st->text_len, p->etag);
        break;
    case F_CHECKSUM:
        if (st->text_long || s3_checksum_decode(st->field_alg, st->text, raw))
            return content_error(st, S3E_INVALID_PART);
        /* a decoded value is at most 44 characters: the field holds it */
        snprintf(p->checksum, sizeof(p->checksum), "%.9s:%.48s", s3_checksum_name(st->field_alg),
                 st->text);
        break;
    case F_NONE:
        break;
    }
}

static int on_end(xml_reader *r, const char *name)
{
    struct cparse *st = xml_reader_ctx(r);
    if (st->depth == 0) return 0;
    if (st->depth == 3 && st->field != F_NONE) {
        field_end(st);
        st->field = F_NONE;
    } else if (st->depth == 2 && st->in_part) {
        if (!st->has_number || !st->has_etag) content_error(st, S3E_MALFORMED_XML);
        st->in_part = false;
    }
    st->depth--;
    return 0;
}

static int on_text(xml_reader *r, const char *s, size_t len)
{
    struct cparse *st = xml_reader_ctx(r);
    /* Only text directly inside a field counts (a child's text is not its). */
    if (st->depth != 3 || st->field == F_NONE) return 0;
    if (len > FIELD_MAX - st->text_len) {
        st->text_long = true;
        return 0;
    }
    memcpy(st->text + st->text_len, s, len);
    st->text_len += len;
    return 0;
}

static const xml_handlers complete_handlers = {.start = on_start, .end = on_end, .text = on_text};

enum s3_error s3_complete_parse(const char *data, size_t len, s3_complete_list *out)
{
    struct cparse st = {.out = out};
    memset(out, 0, sizeof(*out));
    if (!data || len == 0 || len > S3_COMPLETE_MAX_BODY) return S3E_MALFORMED_XML;
    orc_err e = {0};
    int rc = xml_read(data, len, &complete_handlers, &st, &e);
    if (rc == ORC_EINTERNAL) return S3E_INTERNAL_ERROR; /* expat could not start */
    bool ok = rc == 0 && st.root_ok && st.depth == 0;
    /* Well-formedness first: a broken document is MalformedXML whatever it lists. */
    if (!ok) return S3E_MALFORMED_XML;
    if (st.semantic) return st.semantic;
    return out->n ? S3E_NONE : S3E_MALFORMED_XML;
}

void s3_complete_list_free(s3_complete_list *l)
{
    free(l->v);
    memset(l, 0, sizeof(*l));
}
