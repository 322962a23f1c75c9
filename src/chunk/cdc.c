/* FastCDC content-defined chunking (Xia et al., USENIX ATC 2016 and TPDS 2020).
 *
 * Gear hash h = (h << 1) + gear[b] over the bytes after the first min, a strict
 * mask (log2(avg)+2 bits) until avg and a loose one (log2(avg)-2 bits) after it,
 * i.e. normalized chunking level 2, and a forced cut at max. As in the 2020
 * paper a cut is where h & mask == 0, with the mask bits at the top of h: bit k
 * of a left-shifted gear hash depends on the last k+1 bytes, so high bits give
 * a window of about 40-64 bytes. The gear table is fixed forever: changing it
 * moves every cut point and so defeats dedup against everything stored. */
#include "chunk/cdc.h"

#include <assert.h>

/* splitmix64 seeded with 0x6f72636861726400 ("orchard\0"), first 256 outputs.
 * Never regenerate or edit: stored chunk boundaries depend on these values. */
static const uint64_t gear[256] = {
    0xbebd9aea54f00acbull, 0x16fb3ef2c0d9cf30ull, 0x21777d804372bb79ull, 0x578cc622bab90dd4ull,
    0xcb8e6429360fe7baull, 0xfa5d2043b87b9759ull, 0xbaf0e493dcb3735aull, 0x33678744feb245c0ull,
    0xaaf7fd6d70012316ull, 0x14beb7db0b9b7e85ull, 0xda807aaa0ed7ed8bull, 0xa702626f00108c27ull,
    0x15c3f81fe8ec437eull, 0xdd8d678bfa60f65eull, 0x74b92387a38e3d18ull, 0xe0f812025cbaf30dull,
    0x1a719829901bcb3dull, 0x54dfa98bc3ee737full, 0xa41578ae8cd50330ull, 0xc9a19e16ac0adb5dull,
    0x6025ed205b561d04ull, 0x4defe57b4024addbull, 0x06b78a5be91c98a1ull, 0xd18ad693feafe072ull,
    0x6d6a6d3d57350347ull, 0x47b736c35f8682f1ull, 0x03f5088efc4bf527ull, 0x2a00cce5800daa04ull,
    0x2596c5ca84803979ull, 0x0e97327b1f80a25full, 0xcde4b619325ceee0ull, 0x6367f82a74bbfe62ull,
    0x69d2113e6e3e1c5dull, 0x354aad6d1d928bceull, 0xe773b6379fdeb9a4ull, 0xec5440ef119097e7ull,
    0xfdc0265eaa12361dull, 0x529345e1f8c94164ull, 0x677c8b7277e07cfdull, 0xbdeb67a0a082aa2aull,
    0xc04b8f61137da36eull, 0xc4cc630ceaad2844ull, 0x8a511ec6bce08284ull, 0xbfad2094db39bbd5ull,
    0x6ac10d9fc70f5fffull, 0xf2eab98c29e8d1faull, 0xe11a76f0b70badf8ull, 0x37512409a55c7aaeull,
    0x82966b1df14f0513ull, 0xacceeb69149cf59aull, 0x762dca610e517bebull, 0x70ed6bd883882ba2ull,
    0x06c5af83e5888b14ull, 0x0fbeedf908b06b21ull, 0x20caa4b82f8e35eeull, 0xbc6dac5815afc636ull,
    0x73867965e9cbdd21ull, 0x43a352bc06e108a0ull, 0x5b344ebe1bb70daeull, 0x126fe7cb4c815d0bull,
    0xa4aea9b7e110bc84ull, 0x388c00dd53045499ull, 0xae3e3e057775c838ull, 0x80475c71c868c521ull,
    0x1d84c77e374767a2ull, 0xcd41141e46d3fddaull, 0xe8fb83c60079f291ull, 0x7e7afc6814cc3306ull,
    0xc8c1434b17bfa859ull, 0xc5799d80462465e6ull, 0x79ce8426a61d0d23ull, 0x241b17449303f431ull,
    0xccdc18d30c43a262ull, 0x9197f628d56d3681ull, 0x4f1453bc054eaf46ull, 0x461ff822272fc869ull,
    0x6014371ae1dd3f7cull, 0x24c2a19ae2e6d5ceull, 0x9949bcd94ab62ff7ull, 0x55effc76b7417256ull,
    0x7e18e1dcad1af6a4ull, 0x41e4ac8b997bcb31ull, 0xd2e340a07b34cf36ull, 0xcc9e0338af1f4fa2ull,
    0x0f4cec1d11425724ull, 0xd1e14c88f9f4e12cull, 0xf8dd3ad186789af9ull, 0x113c9f1f4f3f3c45ull,
    0xa2d5731aff1b2820ull, 0x55889025853eaea7ull, 0x308921ae217a319full, 0xf93b40dcc454ec50ull,
    0xcc52566b52140692ull, 0x198610f6e56df62eull, 0x27f04facc3a6b653ull, 0xdb941272cd62c0baull,
    0x2e9b930662085e71ull, 0x9095a10a224680baull, 0x65a5794ee4f55450ull, 0xd7ffbf8e08ff597aull,
    0xc45ec8ff45568d9cull, 0x5388e5b1e40413d4ull, 0x02f11680f9257335ull, 0xbdacb69ac2a7d799ull,
    0x02856ea47e4bcd73ull, 0x3bcdd6d2dc5fdf03ull, 0x3150d1c392af1a9dull, 0xaf12f473af46825full,
    0x34e822d8c197064cull, 0x79325dc7e5f83684ull, 0x4f90d8e2f2f4ef8aull, 0x66a7d37a1cfaf992ull,
    0x815deb438887043cull, 0xddd76be66b280a69ull, 0x45e12a2be079d4acull, 0xe9eed619890a5520ull,
    0x86a1db577219d883ull, 0xd4dc836444001a67ull, 0x82542ef92a470597ull, 0x9e5d2f16c372677full,
    0x866725e98fb8ebd6ull, 0x1b09f413af0112e3ull, 0xdd7555471fa58d19ull, 0xcf5c1a55d08d5a66ull,
    0x2621e1ed850dbdd9ull, 0x392b0c0d7961d797ull, 0xaf1b6e6cde47741eull, 0xa70e1b47fb12ea38ull,
    0x1335f6e3c18ff459ull, 0xeb5b16ae15b6fe3aull, 0x59f49e27b9ce3630ull, 0xc777f27f762496fdull,
    0xa15eb871334a8669ull, 0x0c00da299515c927ull, 0x59da5331da001176ull, 0xd3f4db13b3e01073ull,
    0x0383911fc14837b4ull, 0xd1ce8fd10d9270f2ull, 0xfaf6a11eaf9d5e22ull, 0x776f93f055bc1ed9ull,
    0xdd3c7685c104e2aaull, 0x4a4645c6fbb64a9full, 0x720023f215c7abb4ull, 0x02d3492351b2010full,
    0x9202cbdb53ef7ff0ull, 0x994d7a77e167390eull, 0x2a1e3b3f900a691eull, 0x03ef0d8778c1dd8dull,
    0x43170773400d0e25ull, 0x9ec87708225982f3ull, 0xd0eee2c51507b01dull, 0xd9a846d496ca823aull,
    0x30df678ce95a5c2bull, 0x725754ca67f6d71bull, 0xcfbe8d0f96c4a34aull, 0x30bca90ff7d70a13ull,
    0x3c9c1d3c48ddb6aeull, 0x8b1618fd2dbef570ull, 0x9cc25649d7698fe8ull, 0xb737cae468290516ull,
    0x9e6f03162dbe12aeull, 0x3d7a86beb618e012ull, 0x51a5400f52be7ce1ull, 0x544ce360a70f3049ull,
    0x1d84bdcf170f0a73ull, 0x4a59a60b3e618ee9ull, 0x4b648e14bc50435cull, 0xce78728b3c4f4246ull,
    0x58cde977ea76e3b7ull, 0x0dd73f258f2eeddeull, 0x081623f4eec55b82ull, 0x1d071595a15803f6ull,
    0x80bb8b1ed81d0e0cull, 0x4865d7f145cefaadull, 0xfe4dd4186cc6ce47ull, 0x2118e432f9f33de6ull,
    0x17606eed3d20dd94ull, 0x8b46991e2b99f902ull, 0xff5e33474d44e7b2ull, 0x8085dc541671fa5cull,
    0x7a443a27c56ec572ull, 0xa73a50c17e4a106cull, 0x9009e09e32a52434ull, 0x77fdd6dea500088full,
    0x40cc9c53d648ab35ull, 0xc7296a31f3856651ull, 0x8add36edefbd743aull, 0xf5fb251afd05c83dull,
    0x18dd6b77af22a60full, 0xf9d6ac34f297e02bull, 0x380da88eec15d77full, 0xf20c72b8602df371ull,
    0x483cadcca5a32ae1ull, 0x5dfdc314a28cb6c9ull, 0xc2c06c5667f00e86ull, 0xc01133978150d39eull,
    0x5d3b2f87eed0fcacull, 0xc5617fe5cf332818ull, 0x4c034abfd1d8a80cull, 0xa9754472b565ada6ull,
    0x46698f4c4cf71a70ull, 0x22be6971600ada3bull, 0x408bafcd774b0448ull, 0xa16ae98162ac9563ull,
    0xc9ca2b49b47bab61ull, 0x27f770f00818dfadull, 0x4ca5bb46c792bf8dull, 0xccda1a3114b018dbull,
    0x03c642f179e3c082ull, 0xe19a81958b566571ull, 0x47e9aa2f472cc55cull, 0xf905b5c2045f7a74ull,
    0x4b435c16c8783070ull, 0xd61b2e840ffd2d8cull, 0x5e1299a604602dc2ull, 0x850ffb5a7f823b91ull,
    0x372dcf3038d8f0f5ull, 0xfd6883cc8af2b52dull, 0xca1256f799032018ull, 0x299e551585a52a3dull,
    0xa7715091943f1a04ull, 0x21d4e070673b39d1ull, 0xce3125593dd3a9a7ull, 0xf6844fd52109e643ull,
    0xbf0e66325443035bull, 0xc5a2043e8fb9bd2eull, 0x3211bed6ee7a04e6ull, 0x0eb913fb7253ba3aull,
    0x71cb1eb554e883a1ull, 0x283f953a80cc7065ull, 0x9be823394202a262ull, 0xa976eedba6a96f28ull,
    0x2194342e8f75b04dull, 0x53463e7d3c591117ull, 0x2b7163543fc4c182ull, 0x805cc17a793e1ba3ull,
    0xa29d30f212a48adbull, 0x2025d60655fc0d00ull, 0x8503b317ae93e44eull, 0x394b738aed75e853ull,
    0x1f3985a01e8140eeull, 0xca0daeb33eb5d240ull, 0xc6cced9fb7045396ull, 0x32f56006e15db65eull,
    0x771adee0cb968938ull, 0x22e8b1863e2cffebull, 0xdabf1c6778dbfafaull, 0x6b4dc7b30cf736a9ull,
    0xaccf27fb42135bc0ull, 0xb6c8127ac188ddd1ull, 0xc78307badc4a4a5full, 0xa2914b61bdc32bceull,
    0x1e8b14a7083ecd18ull, 0x028881f6f0e5dc56ull, 0x75b0ec50bf3f0e49ull, 0xd047a1cf934a1aa0ull,
};

static int log2u32(uint32_t v)
{
    return 31 - __builtin_clz(v);
}

static bool is_pow2(uint32_t v)
{
    return v && !(v & (v - 1));
}

int cdc_params_check(const cdc_params *p, orc_err *e)
{
    if (p->min < CDC_LIMIT_MIN)
        return orc_fail(e, ORC_EINVAL, "chunk min %u is below the limit %u", p->min, CDC_LIMIT_MIN);
    if (p->max > CDC_LIMIT_MAX)
        return orc_fail(e, ORC_EINVAL, "chunk max %u is above the limit %u", p->max, CDC_LIMIT_MAX);
    if (p->avg <= p->min || p->avg >= p->max)
        return orc_fail(e, ORC_EINVAL, "chunk avg %u must lie strictly between min %u and max %u",
                        p->avg, p->min, p->max);
    if (!is_pow2(p->avg))
        return orc_fail(e, ORC_EINVAL, "chunk avg %u is not a power of two", p->avg);
    return ORC_OK;
}

/* The top `bits` bits of a 64-bit word. */
static uint64_t high_mask(int bits)
{
    return ~UINT64_C(0) << (64 - bits);
}

void cdc_init(cdc *c, const cdc_params *p)
{
    assert(cdc_params_check(p, NULL) == ORC_OK);
    int bits = log2u32(p->avg);
    /* avg > min >= 64 gives bits >= 7, avg < max <= 64 MiB gives bits <= 25:
     * both masks have 5..27 bits. */
    c->p = *p;
    c->mask_s = high_mask(bits + 2);
    c->mask_l = high_mask(bits - 2);
}

size_t cdc_cut(const cdc *c, const uint8_t *data, size_t len, bool eof)
{
    size_t max = c->p.max;
    size_t n = len < max ? len : max;
    size_t normal = c->p.avg;
    size_t i = c->p.min;

    /* min < max, so n <= min means len < max: the chunk is not decided
     * unless this is the end of the stream. */
    if (n <= i) return eof ? n : 0;
    if (normal > n) normal = n;

    /* The hot loop: one load, shift-add and test per byte. The hash starts
     * from zero at min, so a cut depends only on bytes after min. */
    uint64_t h = 0;
    uint64_t mask = c->mask_s;
    for (; i < normal; i++) {
        h = (h << 1) + gear[data[i]];
        if (!(h & mask)) return i + 1;
    }
    mask = c->mask_l;
    for (; i < n; i++) {
        h = (h << 1) + gear[data[i]];
        if (!(h & mask)) return i + 1;
    }
    return (n == max || eof) ? n : 0;
}
