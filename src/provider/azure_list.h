/* The List Blobs reply of Azure Blob Storage: one page of its XML streamed
 * through the util/ XML reader, each of our chunks reported, the continuation
 * marker kept. Apart from azure.c so that the parser of this remote, untrusted
 * document has its own fuzz target (fuzz/fuzz_azure_list.c). Internal to the
 * provider layer. */
#ifndef ORC_PROVIDER_AZURE_LIST_H
#define ORC_PROVIDER_AZURE_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "provider/provider.h"
#include "util/err.h"

#define AZURE_NAME_MAX 128       /* chunk names, as the fs provider */
#define AZURE_BLOB_NAME_MAX 1024 /* Azure's limit */
#define AZURE_MARKER_MAX 4096    /* NextMarker is opaque; real ones are ~100 chars */

/* Whether name is a chunk name: 1..AZURE_NAME_MAX chars of [0-9a-z]. */
bool azure_name_ok(const char *name);

/* One page's parse: what the caller gives, and the marker it gets back. */
typedef struct azure_list_page {
    const char *provider; /* its name, for messages */
    const char *prefix;   /* blob name prefix, may be "": names outside it are skipped */
    provider_list_fn fn;  /* per chunk: its name without the prefix, and its size */
    void *ctx;
    char marker[AZURE_MARKER_MAX + 1]; /* out: NextMarker, "" when none */
} azure_list_page;

/* Parses body[0..len) (an EnumerationResults document), calling pg->fn per
 * blob under pg->prefix whose rest is a chunk name; other blobs are skipped.
 * Returns fn's first non-zero result (parsing stops there), or ORC_EIO for a
 * reply that is not XML (or holds a DTD), a chunk without a valid
 * Content-Length, or a marker over AZURE_MARKER_MAX. */
int azure_list_parse(azure_list_page *pg, const char *body, size_t len, orc_err *e);

#endif
