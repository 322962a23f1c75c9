/* Object tag sets: S3's rules (at most 10 tags, keys of 1-128 and values of
 * 0-256 Unicode characters, no duplicate keys, no "aws:" keys) applied to the
 * two forms clients send, the URL-encoded x-amz-tagging header and the
 * <Tagging> XML document, and one canonical URL-encoded text that is what
 * Orchard stores with a version (the "x-amz-tagging: ..." stored header). */
#ifndef ORC_S3_TAGGING_H
#define ORC_S3_TAGGING_H

#include <stddef.h>

#include "s3/errors.h"
#include "s3/xml.h"
#include "util/buf.h"

#define S3_TAGS_MAX 10
#define S3_TAG_KEY_MAX 128   /* Unicode characters */
#define S3_TAG_VALUE_MAX 256 /* Unicode characters */
#define S3_TAGGING_HEADER "x-amz-tagging"

typedef struct s3_tag {
    char *key, *value; /* owned, UTF-8 */
} s3_tag;

typedef struct s3_tagset {
    s3_tag tags[S3_TAGS_MAX];
    size_t n;
} s3_tagset;

/* Parses "k1=v1&k2=v2" as x-amz-tagging carries it (percent-encoded, '+' for
 * space; "k" alone has the empty value; "" is no tags). Returns S3E_NONE, or
 * S3E_INVALID_TAG / S3E_INVALID_ARGUMENT (undecodable) with *why, a static
 * message; out is empty then. */
enum s3_error s3_tags_parse(const char *s, size_t len, s3_tagset *out, const char **why);
/* Reads a parsed <Tagging><TagSet><Tag><Key/><Value/></Tag>...</TagSet>
 * </Tagging> document. S3E_MALFORMED_XML for another shape, S3E_INVALID_TAG
 * for a set S3 refuses, with *why. */
enum s3_error s3_tags_from_xml(const xml_node *root, s3_tagset *out, const char **why);
/* Appends the canonical text: "k=v" pairs in the given order joined by '&',
 * each part percent-encoded as AWS encodes (uri_encode). Nothing for no tags. */
int s3_tags_encode(const s3_tagset *t, orc_buf *out, orc_err *e);
void s3_tags_dispose(s3_tagset *t);

/* The value of the "x-amz-tagging: " line in stored headers ("name: value\n"
 * lines), or NULL; *len gets its length. */
const char *s3_tags_stored(const char *headers, size_t *len);
/* How many tags a stored value holds. */
size_t s3_tags_count(const char *v, size_t len);

#endif
