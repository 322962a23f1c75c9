/* The CompleteMultipartUpload body (complete_xml.h): moved here unchanged
 * from multipart_ops.c so that it can be fuzzed on its own. */
#include "s3/complete_xml.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3/checksum.h"
#include "s3/xml.h"
#include "util/alloc.h"
#include "util/parse.h"

/* Elements per <Part>: Part, PartNumber, ETag and up to five Checksum*. */
#define COMPLETE_MAX_NODES (META_PART_MAX * 8 + 16)

/* An ETag from a client: surrounding spaces and quotes dropped. */
static void etag_unquote(const char *v, char out[64])
{
    size_t n;
    v += strspn(v, " \t\r\n");
    n = strlen(v);
    while (n && strchr(" \t\r\n", v[n - 1]))
        n--;
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') v++, n -= 2;
    if (n >= 64) n = 0; /* cannot be ours: matches no part */
    memcpy(out, v, n);
    out[n] = 0;
}

void s3_complete_list_free(s3_complete_list *l)
{
    free(l->parts);
    free(l->etags);
    free(l->cks);
    memset(l, 0, sizeof(*l));
}

/* A <Part>'s Checksum* element into out ("" if none). -1: more than one, or
 * a value that is not one (S3 answers InvalidPart for those too). */
static int listed_checksum(const xml_node *p, char out[64])
{
    static const enum s3_checksum_alg algs[] = {S3_CK_CRC32, S3_CK_CRC32C, S3_CK_CRC64NVME,
                                                S3_CK_SHA1, S3_CK_SHA256};
    uint8_t raw[S3_CHECKSUM_MAX];
    out[0] = 0;
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        char el[32];
        snprintf(el, sizeof(el), "Checksum%s", s3_checksum_name(algs[i]));
        const xml_node *c = xml_child(p, el);
        if (!c) continue;
        if (out[0] || s3_checksum_decode(algs[i], c->text, raw)) return -1;
        snprintf(out, 64, "%s:%s", s3_checksum_name(algs[i]), c->text);
    }
    return 0;
}

enum s3_error s3_complete_parse(const char *body, size_t len, s3_complete_list *l)
{
    xml_node *root = NULL;
    orc_err e;
    size_t cap = 0;
    enum s3_error bad = S3E_NONE;
    memset(l, 0, sizeof(*l));
    if (xml_parse(body, len, COMPLETE_MAX_NODES, &root, &e) ||
        strcmp(root->name, "CompleteMultipartUpload") != 0) {
        bad = S3E_MALFORMED_XML;
        goto done;
    }
    for (xml_node *p = xml_child(root, "Part"); p && !bad; p = xml_next_named(p, "Part")) {
        xml_node *num = xml_child(p, "PartNumber"), *tag = xml_child(p, "ETag");
        uint64_t v;
        if (!num || !tag || parse_uint_max(num->text, UINT32_MAX, &v) || l->n == META_PART_MAX) {
            bad = S3E_MALFORMED_XML;
            break;
        }
        if (l->n == cap) {
            cap = cap ? cap * 2 : 16;
            l->parts = orc_realloc(l->parts, cap * sizeof(*l->parts));
            l->etags = orc_realloc(l->etags, cap * sizeof(*l->etags));
            l->cks = orc_realloc(l->cks, cap * sizeof(*l->cks));
        }
        etag_unquote(tag->text, l->etags[l->n]);
        if (listed_checksum(p, l->cks[l->n])) bad = S3E_INVALID_PART;
        l->parts[l->n].number = v > META_PART_MAX ? META_PART_MAX + 1 : (int)v;
        l->n++;
    }
    if (l->n == 0 && !bad) bad = S3E_MALFORMED_XML;
    for (size_t i = 0; i < l->n; i++) /* the array may have moved while growing */
        l->parts[i].etag = l->etags[i];
done:
    xml_free(root);
    if (bad) s3_complete_list_free(l);
    return bad;
}
