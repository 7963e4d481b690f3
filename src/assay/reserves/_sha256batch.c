/*
 * SHA-256 of many messages per call, for the sum tree (src/assay/reserves/sumtree.py).
 *
 * Python pays about a microsecond per hashlib call; a round of 10 million accounts makes some 30
 * million of them. These functions take whole blocks of messages (numpy buffers, through ctypes,
 * see native.py) and hash them with OpenSSL's low-level SHA256_Init/Update, which run the CPU's
 * SHA extensions where it has them. OpenSSL 3's one-shot SHA256() is avoided: it fetches the
 * algorithm on every call. The byte layout is layout.py's (docs/formats/reserves-tree.md);
 * nothing here decides what is hashed, only how fast.
 *
 * Every function trusts its buffers: native.py checks each size, type and offset before calling.
 * They return 0, or -1 when memory for a message buffer cannot be had (assay_sha256_nodes: 1
 * when a sum passes its width).
 *
 * Build: scripts/build-native.sh (gcc -O2 -shared -fPIC ... -lcrypto).
 */

/* SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, but stay, and cost
 * less per message than EVP_DigestInit/Update/Final: keep them without the warnings. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Raised whenever a signature or a meaning changes; native.py refuses a library built from an
 * older source (a stale _sha256batch.so) and falls back to hashlib. */
#define ABI_VERSION 1

int assay_abi_version(void) { return ABI_VERSION; }

/* Limbs (native uint64) written big-endian: the layout's amounts. */
static void put_be64(uint8_t *out, const uint64_t *limbs, size_t count) {
    for (size_t i = 0; i < count; i++) {
        uint64_t v = __builtin_bswap64(limbs[i]);
        memcpy(out + 8 * i, &v, 8);
    }
}

/* SHA-256's padding (FIPS 180-4 section 5.1.1) written after msg[0:len], in a buffer with 72
 * bytes to spare, for a hash that absorbed `done` bytes before msg; the padded length. */
static size_t pad_after(uint8_t *msg, size_t len, uint64_t done) {
    size_t size = (len + 9 + 63) & ~(size_t)63;
    msg[len] = 0x80;
    memset(msg + len + 1, 0, size - len - 9);
    uint64_t bits = __builtin_bswap64((done + len) * 8);
    memcpy(msg + size - 8, &bits, 8);
    return size;
}

/* The digest of a hash whose padding has been absorbed: its state words, big-endian
 * (SHA256_CTX is declared in <openssl/sha.h>, h[8] its state; SHA256_Update hashes whole blocks
 * as it gets them when none wait in its buffer, so the state is final here). */
static void digest_of(const SHA256_CTX *ctx, uint8_t *out) {
    for (int j = 0; j < 8; j++) {
        uint32_t word = __builtin_bswap32(ctx->h[j]);
        memcpy(out + 4 * j, &word, 4);
    }
}

/* The end of a hash, in place of SHA256_Final: ctx has absorbed `done` bytes, a multiple of 64
 * (so none wait in its buffer), and msg[0:len] follows. Whole blocks go to SHA256_Update
 * straight from msg, the rest with its padding from a local block. SHA256_Final would copy the
 * tail into the context, clear it and pad it there: measured here, some 20 ns a message more,
 * a third of a one-block hash (and a salt is two of those). Where this file builds a message
 * itself, it leaves room to pad it in place (pad_after) and skips even this copy. */
static void finish(SHA256_CTX *ctx, uint64_t done, const uint8_t *msg, size_t len, uint8_t *out) {
    size_t whole = len & ~(size_t)63, rest = len - whole;
    if (whole) SHA256_Update(ctx, msg, whole);
    uint8_t last[128];
    memcpy(last, msg + whole, rest);
    SHA256_Update(ctx, last, pad_after(last, rest, done + whole));
    digest_of(ctx, out);
}

static void sha256(const uint8_t *msg, size_t len, uint8_t *out) {
    SHA256_CTX ctx;
    SHA256_Init(&ctx);
    finish(&ctx, 0, msg, len, out);
}

/* n messages of len bytes, message i at in + i * stride; digests to out (n x 32). */
int assay_sha256_strided(const uint8_t *in, size_t stride, size_t len, size_t n, uint8_t *out) {
    for (size_t i = 0; i < n; i++) sha256(in + i * stride, len, out + 32 * i);
    return 0;
}

/* n messages, message i = data[offsets[i] : offsets[i + 1]]. */
int assay_sha256_offsets(const uint8_t *data, const int64_t *offsets, size_t n, uint8_t *out) {
    for (size_t i = 0; i < n; i++) {
        sha256(data + offsets[i], (size_t)(offsets[i + 1] - offsets[i]), out + 32 * i);
    }
    return 0;
}

/* HMAC-SHA256(key, message i) (RFC 2104), messages as in assay_sha256_offsets. The states after
 * the inner and the outer key block are computed once and copied per message, so a message of
 * up to 55 bytes costs two compressions. */
int assay_hmac_sha256_offsets(const uint8_t *key, size_t key_len, const uint8_t *data,
                              const int64_t *offsets, size_t n, uint8_t *out) {
    uint8_t block[64] = {0};
    uint8_t pad[64];
    SHA256_CTX inner, outer, ctx;
    if (key_len > 64) {
        sha256(key, key_len, block);
    } else if (key_len) {  /* an empty key may come as NULL */
        memcpy(block, key, key_len);
    }
    for (int i = 0; i < 64; i++) pad[i] = block[i] ^ 0x36;
    SHA256_Init(&inner);
    SHA256_Update(&inner, pad, 64);
    for (int i = 0; i < 64; i++) pad[i] = block[i] ^ 0x5c;
    SHA256_Init(&outer);
    SHA256_Update(&outer, pad, 64);
    uint8_t last[128];  /* the outer hash's one block: the inner digest, padded */
    pad_after(last, 32, 64);
    for (size_t i = 0; i < n; i++) {
        ctx = inner;
        finish(&ctx, 64, data + offsets[i], (size_t)(offsets[i + 1] - offsets[i]), last);
        ctx = outer;
        SHA256_Update(&ctx, last, 64);
        digest_of(&ctx, out + 32 * i);
    }
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(pad, sizeof pad);
    OPENSSL_cleanse(last, sizeof last);
    OPENSSL_cleanse(&inner, sizeof inner);
    OPENSSL_cleanse(&outer, sizeof outer);
    OPENSSL_cleanse(&ctx, sizeof ctx);
    return 0;
}

/* Leaves: SHA-256(prefix || salt i || limbs i big-endian || tail i) for n of them.
 * salts: n x 32; limbs: n x count native uint64 (count may be 0, limbs then unused); tail i:
 * data[offsets[i] : offsets[i + 1]], or nothing when data is NULL. An account's leaf is
 * (TAG_LEAF || round digest, its salt, its amounts, its id), a padding leaf (TAG_PAD || round
 * digest, its salt, no amounts, nothing). */
int assay_sha256_leaves(const uint8_t *prefix, size_t prefix_len, const uint8_t *salts,
                        const uint64_t *limbs, size_t count, const uint8_t *data,
                        const int64_t *offsets, size_t n, uint8_t *out) {
    size_t head = prefix_len + 32 + 8 * count, longest = 0;
    for (size_t i = 0; data != NULL && i < n; i++) {
        size_t len = (size_t)(offsets[i + 1] - offsets[i]);
        if (len > longest) longest = len;
    }
    uint8_t *message = malloc(head + longest + 72);
    if (message == NULL) return -1;
    if (prefix_len) memcpy(message, prefix, prefix_len);
    SHA256_CTX ctx;
    for (size_t i = 0; i < n; i++) {
        size_t len = data == NULL ? 0 : (size_t)(offsets[i + 1] - offsets[i]);
        memcpy(message + prefix_len, salts + 32 * i, 32);
        put_be64(message + prefix_len + 32, limbs + count * i, count);
        if (len) memcpy(message + head, data + offsets[i], len);
        SHA256_Init(&ctx);
        SHA256_Update(&ctx, message, pad_after(message, head + len, 0));
        digest_of(&ctx, out + 32 * i);
    }
    free(message);
    return 0;
}

/* Inner nodes and their sums, for i < half: out i = SHA-256(tag || hash 2i || hash 2i+1 ||
 * limbs 2i || limbs 2i+1), limbs big-endian (layout.node_hash), and sums i = limbs 2i + limbs
 * 2i+1, limb by limb. hashes: 2*half x 32; limbs and sums: 2*half and half x count uint64.
 * chained[j] is 1 when limb j is the low half of a 16-byte amount: its carry goes into limb
 * j - 1. A carry out of any other limb is a sum beyond its width: then 1 is returned (the sums
 * hold the wrapped value; the caller reports the asset). */
int assay_sha256_nodes(const uint8_t *tag, size_t tag_len, const uint8_t *hashes,
                       const uint64_t *limbs, size_t count, const uint8_t *chained, size_t half,
                       uint8_t *out, uint64_t *sums) {
    size_t size = tag_len + 64 + 16 * count;
    uint8_t *message = malloc(size + 72);
    if (message == NULL) return -1;
    if (tag_len) memcpy(message, tag, tag_len);
    size_t padded = pad_after(message, size, 0);  /* every node's message has the same length */
    int over = 0;
    SHA256_CTX ctx;
    for (size_t i = 0; i < half; i++) {
        const uint64_t *left = limbs + 2 * count * i, *right = left + count;
        memcpy(message + tag_len, hashes + 64 * i, 64);
        put_be64(message + tag_len + 64, left, 2 * count);
        SHA256_Init(&ctx);
        SHA256_Update(&ctx, message, padded);
        digest_of(&ctx, out + 32 * i);
        uint64_t *sum = sums + count * i, carry = 0;
        for (size_t j = count; j-- > 0;) {
            uint64_t s = left[j] + right[j];
            uint64_t c = s < left[j];
            s += carry;
            c |= s < carry;
            sum[j] = s;
            if (chained[j]) {
                carry = c;
            } else {
                carry = 0;
                over |= (int)c;
            }
        }
    }
    free(message);
    return over;
}
