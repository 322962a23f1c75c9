/* Fuzz target: the x-amz-tagging header (s3_tags_parse). An accepted set
 * holds S3's limits, and its stored (canonical) form counts and parses back
 * to the same tags in the same order; a refusal says why and keeps nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3/tagging.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_tags(const s3_tagset *a, const s3_tagset *b)
{
    if (a->n != b->n) abort();
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->tags[i].key, b->tags[i].key) || strcmp(a->tags[i].value, b->tags[i].value))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s3_tagset t = {0}, back = {0};
    const char *why = NULL;
    enum s3_error err = s3_tags_parse((const char *)data, size, &t, &why);
    if (err) {
        if (!why || t.n || (err != S3E_INVALID_TAG && err != S3E_INVALID_ARGUMENT)) abort();
        return 0;
    }
    if (t.n > S3_TAGS_MAX) abort();
    for (size_t i = 0; i < t.n; i++)
        if (!t.tags[i].key[0] || strlen(t.tags[i].key) > 4 * S3_TAG_KEY_MAX ||
            strlen(t.tags[i].value) > 4 * S3_TAG_VALUE_MAX)
            abort(); /* at most 4 bytes a character */
    orc_buf enc;
    orc_buf_init(&enc, 0);
    if (s3_tags_encode(&t, &enc, NULL)) abort();
    const char *text = enc.ptr ? (const char *)enc.ptr : ""; /* no tags: nothing appended */
    if (s3_tags_count(text, enc.len) != t.n) abort();
    if (s3_tags_parse(text, enc.len, &back, &why)) abort();
    same_tags(&t, &back);
    orc_buf_dispose(&enc);
    s3_tags_dispose(&back);
    s3_tags_dispose(&t);
    return 0;
}
