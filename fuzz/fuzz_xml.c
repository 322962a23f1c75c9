/* Fuzz target: the XML reader (request bodies), and the writer's escaping
 * round trip of whatever text the reader produced. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xml_node *root = NULL;
    if (xml_parse((const char *)data, size, 1000, &root, NULL) == 0) {
        if (!root || !root->name) abort();
        orc_buf b;
        orc_buf_init(&b, 0);
        xml_elem(&b, "T", root->text, NULL);
        xml_node *back = NULL;
        if (xml_parse((const char *)b.ptr, b.len, 10, &back, NULL) == 0 &&
            strcmp(back->text, root->text) != 0)
            abort(); /* escaping must round-trip */
        xml_free(back);
        orc_buf_dispose(&b);
    }
    xml_free(root);
    return 0;
}
