/* orchard: argv -> subcommand, nothing else. */
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: orchard <command> [options]\n", f);
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    fprintf(stderr, "orchard: unknown command '%s'\n", argv[1]);
    return 2;
}
