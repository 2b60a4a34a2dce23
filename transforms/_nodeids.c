/* Identity-graph node ids of many identifiers at once, without the GIL.
 *
 * node_hashes(type_offsets, type_data, type_start, value_offsets, value_data, value_start,
 * count) -> bytes: for each of ``count`` identifiers, the BLAKE2b digest (8 bytes, no key)
 * of type + "\x1f" + value, as a native signed int64 read little-endian: the value of
 * transforms.identifiers.node_id, hashlib.blake2b(key, digest_size=8). Types and values
 * are Arrow string arrays (int32 offsets), given as their offsets and data buffers and the
 * arrays' offsets; no nulls (the caller checks). BLAKE2b as in RFC 7693. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static const uint64_t IV[8] = {
    0x6A09E667F3BCC908ULL, 0xBB67AE8584CAA73BULL, 0x3C6EF372FE94F82BULL, 0xA54FF53A5F1D36F1ULL,
    0x510E527FADE682D1ULL, 0x9B05688C2B3E6C1FULL, 0x1F83D9ABFB41BD6BULL, 0x5BE0CD19137E2179ULL,
};

static const uint8_t SIGMA[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
};

typedef struct {
    uint8_t block[128];
    uint64_t h[8];
    uint64_t bytes; /* compressed so far (keys are far shorter than 2^64 bytes) */
    size_t filled;  /* bytes in block */
} Blake2b;

static uint64_t rotr(uint64_t x, int n) { return (x >> n) | (x << (64 - n)); }

static uint64_t load64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

#define G(a, b, c, d, x, y)           \
    do {                              \
        v[a] = v[a] + v[b] + (x);     \
        v[d] = rotr(v[d] ^ v[a], 32); \
        v[c] = v[c] + v[d];           \
        v[b] = rotr(v[b] ^ v[c], 24); \
        v[a] = v[a] + v[b] + (y);     \
        v[d] = rotr(v[d] ^ v[a], 16); \
        v[c] = v[c] + v[d];           \
        v[b] = rotr(v[b] ^ v[c], 63); \
    } while (0)

static void compress(Blake2b *s, int last) {
    uint64_t v[16], m[16];
    for (int i = 0; i < 8; i++) {
        v[i] = s->h[i];
        v[i + 8] = IV[i];
    }
    v[12] ^= s->bytes; /* the counter's high word stays 0 */
    if (last) v[14] = ~v[14];
    for (int i = 0; i < 16; i++) m[i] = load64(s->block + 8 * i);
    for (int r = 0; r < 12; r++) {
        const uint8_t *z = SIGMA[r];
        G(0, 4, 8, 12, m[z[0]], m[z[1]]);
        G(1, 5, 9, 13, m[z[2]], m[z[3]]);
        G(2, 6, 10, 14, m[z[4]], m[z[5]]);
        G(3, 7, 11, 15, m[z[6]], m[z[7]]);
        G(0, 5, 10, 15, m[z[8]], m[z[9]]);
        G(1, 6, 11, 12, m[z[10]], m[z[11]]);
        G(2, 7, 8, 13, m[z[12]], m[z[13]]);
        G(3, 4, 9, 14, m[z[14]], m[z[15]]);
    }
    for (int i = 0; i < 8; i++) s->h[i] ^= v[i] ^ v[i + 8];
}

static void start(Blake2b *s) {
    memcpy(s->h, IV, sizeof IV);
    s->h[0] ^= 0x01010000ULL ^ 8; /* no key, an 8-byte digest */
    s->bytes = 0;
    s->filled = 0;
}

static void update(Blake2b *s, const uint8_t *p, size_t n) {
    while (n > 0) {
        if (s->filled == 128) { /* a full block is compressed only once more input comes */
            s->bytes += 128;
            compress(s, 0);
            s->filled = 0;
        }
        size_t take = 128 - s->filled < n ? 128 - s->filled : n;
        memcpy(s->block + s->filled, p, take);
        s->filled += take;
        p += take;
        n -= take;
    }
}

static int64_t finish(Blake2b *s) {
    s->bytes += s->filled;
    memset(s->block + s->filled, 0, 128 - s->filled);
    compress(s, 1);
    return (int64_t)s->h[0]; /* the digest's 8 bytes are h[0] little-endian */
}

/* Whether offsets[start .. start + count] rise and stay within a data buffer of size. */
static int offsets_ok(const Py_buffer *offsets, Py_ssize_t start, Py_ssize_t count,
                      Py_ssize_t size) {
    if (start < 0 || offsets->len / (Py_ssize_t)sizeof(int32_t) < start + count + 1) return 0;
    const int32_t *o = (const int32_t *)offsets->buf + start;
    if (o[0] < 0 || o[count] > size) return 0;
    for (Py_ssize_t i = 0; i < count; i++)
        if (o[i + 1] < o[i]) return 0;
    return 1;
}

static PyObject *node_hashes(PyObject *self, PyObject *args) {
    Py_buffer t_off, t_data, v_off, v_data;
    Py_ssize_t t_start, v_start, count;
    if (!PyArg_ParseTuple(args, "y*y*ny*y*nn", &t_off, &t_data, &t_start, &v_off, &v_data,
                          &v_start, &count))
        return NULL;
    PyObject *out = NULL;
    if (count < 0 || !offsets_ok(&t_off, t_start, count, t_data.len) ||
        !offsets_ok(&v_off, v_start, count, v_data.len)) {
        PyErr_SetString(PyExc_ValueError, "offsets outside their data buffers");
        goto done;
    }
    out = PyBytes_FromStringAndSize(NULL, count * (Py_ssize_t)sizeof(int64_t));
    if (!out) goto done;
    char *dest = PyBytes_AS_STRING(out);
    const int32_t *to = (const int32_t *)t_off.buf + t_start;
    const int32_t *vo = (const int32_t *)v_off.buf + v_start;
    const uint8_t *td = t_data.buf, *vd = v_data.buf;
    static const uint8_t SEP = 0x1f;
    Py_BEGIN_ALLOW_THREADS
    Blake2b s;
    for (Py_ssize_t i = 0; i < count; i++) {
        start(&s);
        update(&s, td + to[i], (size_t)(to[i + 1] - to[i]));
        update(&s, &SEP, 1);
        update(&s, vd + vo[i], (size_t)(vo[i + 1] - vo[i]));
        int64_t id = finish(&s);
        memcpy(dest + i * (Py_ssize_t)sizeof id, &id, sizeof id);
    }
    Py_END_ALLOW_THREADS
done:
    PyBuffer_Release(&t_off);
    PyBuffer_Release(&t_data);
    PyBuffer_Release(&v_off);
    PyBuffer_Release(&v_data);
    return out;
}

static PyMethodDef METHODS[] = {
    {"node_hashes", node_hashes, METH_VARARGS,
     "node_hashes(type_offsets, type_data, type_start, value_offsets, value_data, "
     "value_start, count) -> bytes: per identifier, blake2b(type + '\\x1f' + value, "
     "digest_size=8) as a native int64 read little-endian (see transforms/identifiers.py)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {
    PyModuleDef_HEAD_INIT, "_nodeids", "Identity-graph node ids of many identifiers at once.",
    -1, METHODS, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__nodeids(void) { return PyModule_Create(&MODULE); }
