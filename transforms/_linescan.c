/*
 * Canonical JSON lines straight into Arrow buffers: the parse's common case in C.
 *
 * scan(lines, first_is_line_one, max_bytes) reads each line as a canonical event and,
 * when the line is plainly clean JSON of the expected shape, appends its fields to
 * column buffers that Python wraps as Arrow arrays without copying (transforms/scan.py).
 * The scanner is deliberately narrow: anything it is not sure it reads exactly as
 * orjson would (an escape in a string, a float where an integer is expected, a
 * duplicate or unknown key, invalid UTF-8, a nesting deeper than 32, a line over
 * max_bytes, the file's first line with its possible byte-order mark) leaves the line
 * out, and the line takes the orjson path it took before. So this module decides no
 * rule of the contract: the columnar contract checks what it returns, and the tests
 * (tests/transforms/test_scan.py) hold its output equal to the orjson path's.
 *
 * Per clean line it gives: the twelve text fields (text or null), score (an integer of
 * at most 15 digits, or absent), amount (the raw token of a number or a string, or
 * absent), every identifier (type and text value, in line order), and properties
 * re-serialised as orjson.dumps(..., option=OPT_SORT_KEYS) would (compact, keys in
 * byte order; an empty object is no properties).
 *
 * record_hashes(lines) gives each line's content hash, (crc32 << 32) | adler32 of the line
 * without its trailing CR/LF bytes, equal to Python's zlib (the tie-break between copies).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32
#define MAX_INT_DIGITS 18   /* an integer in properties: orjson keeps it as a 64-bit int */
#define MAX_SCORE_DIGITS 15 /* a score: exact as a double */

/* ---- growable buffers ---------------------------------------------------------------- */

typedef struct {
    char *p;
    Py_ssize_t n, cap;
} Buf;

static int buf_reserve(Buf *b, Py_ssize_t extra) {
    if (b->n + extra <= b->cap) return 0;
    Py_ssize_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + extra) cap *= 2;
    char *p = PyMem_Realloc(b->p, (size_t)cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int buf_put(Buf *b, const void *src, Py_ssize_t len) {
    if (buf_reserve(b, len)) return -1;
    memcpy(b->p + b->n, src, (size_t)len);
    b->n += len;
    return 0;
}

static int buf_byte(Buf *b, char c) { return buf_put(b, &c, 1); }

static void buf_free(Buf *b) {
    PyMem_Free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

/* An Arrow string/binary column: validity bitmap, int32 offsets, data. */
typedef struct {
    Buf valid, offsets, data;
    Py_ssize_t rows;
} Col;

static int col_init(Col *c) {
    int32_t zero = 0;
    memset(c, 0, sizeof *c);
    return buf_put(&c->offsets, &zero, sizeof zero);
}

static int col_append(Col *c, const char *s, Py_ssize_t len, int valid) {
    Py_ssize_t byte = c->rows >> 3;
    if (byte >= c->valid.n) {
        if (buf_reserve(&c->valid, 1)) return -1;
        c->valid.p[c->valid.n++] = 0;
    }
    if (valid) {
        c->valid.p[byte] |= (char)(1 << (c->rows & 7));
        if (buf_put(&c->data, s, len)) return -1;
    }
    if (c->data.n > INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "a column of the batch exceeds 2 GiB");
        return -1;
    }
    int32_t end = (int32_t)c->data.n;
    if (buf_put(&c->offsets, &end, sizeof end)) return -1;
    c->rows++;
    return 0;
}

static void col_free(Col *c) {
    buf_free(&c->valid);
    buf_free(&c->offsets);
    buf_free(&c->data);
}

/* ---- the scanner ------------------------------------------------------------------- */

typedef struct {
    const unsigned char *s, *end;
} Cursor;

typedef struct {
    const char *p;
    Py_ssize_t n;
} Span;

static inline void skip_ws(Cursor *c) {
    while (c->s < c->end && (*c->s == ' ' || *c->s == '\t' || *c->s == '\n' || *c->s == '\r'))
        c->s++;
}

/* The length of a valid UTF-8 sequence at s (first byte >= 0x80), or 0 when invalid
 * (overlong forms, surrogates and code points past U+10FFFF are invalid, as for orjson). */
static int utf8_len(const unsigned char *s, const unsigned char *end) {
    unsigned char b = s[0];
    if (b >= 0xC2 && b <= 0xDF) {
        return (end - s >= 2 && (s[1] & 0xC0) == 0x80) ? 2 : 0;
    }
    if (b >= 0xE0 && b <= 0xEF) {
        if (end - s < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
        if (b == 0xE0 && s[1] < 0xA0) return 0; /* overlong */
        if (b == 0xED && s[1] >= 0xA0) return 0; /* a surrogate */
        return 3;
    }
    if (b >= 0xF0 && b <= 0xF4) {
        if (end - s < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
            (s[3] & 0xC0) != 0x80)
            return 0;
        if (b == 0xF0 && s[1] < 0x90) return 0; /* overlong */
        if (b == 0xF4 && s[1] >= 0x90) return 0; /* past U+10FFFF */
        return 4;
    }
    return 0;
}

/* A string with no escapes and valid UTF-8: its content (between the quotes). */
static int scan_string(Cursor *c, Span *out) {
    if (c->s >= c->end || *c->s != '"') return 0;
    const unsigned char *start = ++c->s;
    while (c->s < c->end) {
        unsigned char b = *c->s;
        if (b == '"') {
            out->p = (const char *)start;
            out->n = c->s - start;
            c->s++;
            return 1;
        }
        if (b == '\\' || b < 0x20) return 0;
        if (b < 0x80) {
            c->s++;
        } else {
            int len = utf8_len(c->s, c->end);
            if (!len) return 0;
            c->s += len;
        }
    }
    return 0;
}

/* An integer token -?(0|[1-9][0-9]*) of at most max_digits digits, not "-0", and not
 * followed by a fraction or an exponent. */
static int scan_int(Cursor *c, int max_digits, Span *out) {
    const unsigned char *start = c->s;
    if (c->s < c->end && *c->s == '-') c->s++;
    const unsigned char *digits = c->s;
    while (c->s < c->end && *c->s >= '0' && *c->s <= '9') c->s++;
    Py_ssize_t n = c->s - digits;
    if (n == 0 || n > max_digits) return 0;
    if (digits[0] == '0' && (n > 1 || digits != start)) return 0; /* 01, -0 */
    if (c->s < c->end && (*c->s == '.' || *c->s == 'e' || *c->s == 'E')) return 0;
    out->p = (const char *)start;
    out->n = c->s - start;
    return 1;
}

/* Any JSON number token: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int scan_number(Cursor *c, Span *out) {
    const unsigned char *start = c->s;
    if (c->s < c->end && *c->s == '-') c->s++;
    if (c->s >= c->end) return 0;
    if (*c->s == '0') {
        c->s++;
    } else if (*c->s >= '1' && *c->s <= '9') {
        while (c->s < c->end && *c->s >= '0' && *c->s <= '9') c->s++;
    } else {
        return 0;
    }
    if (c->s < c->end && *c->s == '.') {
        const unsigned char *frac = ++c->s;
        while (c->s < c->end && *c->s >= '0' && *c->s <= '9') c->s++;
        if (c->s == frac) return 0;
    }
    if (c->s < c->end && (*c->s == 'e' || *c->s == 'E')) {
        c->s++;
        if (c->s < c->end && (*c->s == '+' || *c->s == '-')) c->s++;
        const unsigned char *exp = c->s;
        while (c->s < c->end && *c->s >= '0' && *c->s <= '9') c->s++;
        if (c->s == exp) return 0;
    }
    out->p = (const char *)start;
    out->n = c->s - start;
    return 1;
}

static int scan_literal(Cursor *c, const char *word, Py_ssize_t len) {
    if (c->end - c->s < len || memcmp(c->s, word, (size_t)len)) return 0;
    c->s += len;
    return 1;
}

/* A member's key and its colon, the cursor then on the value. */
static int scan_key(Cursor *c, Span *key) {
    skip_ws(c);
    if (!scan_string(c, key)) return 0;
    skip_ws(c);
    if (c->s >= c->end || *c->s != ':') return 0;
    c->s++;
    skip_ws(c);
    return 1;
}

/* After a member or an element: 1 when another follows (its comma read), 0 when ``close``
 * ends the object or array (read), -1 for anything else. */
static int next_item(Cursor *c, char close) {
    skip_ws(c);
    if (c->s < c->end && *c->s == ',') {
        c->s++;
        return 1;
    }
    if (c->s < c->end && *c->s == close) {
        c->s++;
        return 0;
    }
    return -1;
}

/* ---- properties: re-serialised with sorted keys ------------------------------------- */

typedef struct {
    Span key;
    Py_ssize_t at, len; /* the value's bytes in the level's scratch buffer */
} Member;

typedef struct {
    Buf scratch[MAX_DEPTH + 1];
    Member *members[MAX_DEPTH + 1];
    Py_ssize_t cap[MAX_DEPTH + 1];
    int error; /* a Python error is set (memory), not a line to leave out */
} Emitter;

static int emit_value(Emitter *e, Cursor *c, int depth, Buf *out);

static int key_order(const void *a, const void *b) {
    const Span *x = &((const Member *)a)->key, *y = &((const Member *)b)->key;
    Py_ssize_t n = x->n < y->n ? x->n : y->n;
    int cmp = memcmp(x->p, y->p, (size_t)n);
    if (cmp) return cmp;
    return (x->n > y->n) - (x->n < y->n);
}

#define FAIL_MEM(e) \
    do {            \
        (e)->error = 1; \
        return 0;   \
    } while (0)

/* An object (the cursor on its '{') written to out with its keys in byte order. */
static int emit_object(Emitter *e, Cursor *c, int depth, Buf *out) {
    if (depth > MAX_DEPTH) return 0;
    Buf *scratch = &e->scratch[depth];
    Py_ssize_t count = 0;
    scratch->n = 0;
    c->s++; /* '{' */
    skip_ws(c);
    if (c->s < c->end && *c->s == '}') {
        c->s++;
        if (buf_put(out, "{}", 2)) FAIL_MEM(e);
        return 1;
    }
    for (int more = 1; more;) {
        Span key;
        if (!scan_key(c, &key)) return 0;
        if (count == e->cap[depth]) {
            Py_ssize_t cap = e->cap[depth] ? e->cap[depth] * 2 : 16;
            Member *m = PyMem_Realloc(e->members[depth], (size_t)cap * sizeof(Member));
            if (!m) FAIL_MEM(e);
            e->members[depth] = m;
            e->cap[depth] = cap;
        }
        Member *member = &e->members[depth][count++];
        member->key = key;
        member->at = scratch->n;
        if (!emit_value(e, c, depth + 1, scratch)) return 0;
        member->len = scratch->n - member->at;
        if ((more = next_item(c, '}')) < 0) return 0;
    }
    Member *members = e->members[depth];
    qsort(members, (size_t)count, sizeof(Member), key_order);
    if (buf_byte(out, '{')) FAIL_MEM(e);
    for (Py_ssize_t i = 0; i < count; i++) {
        if (i && key_order(&members[i - 1], &members[i]) == 0) return 0; /* a duplicate */
        if ((i && buf_byte(out, ',')) || buf_byte(out, '"') ||
            buf_put(out, members[i].key.p, members[i].key.n) || buf_put(out, "\":", 2) ||
            buf_put(out, scratch->p + members[i].at, members[i].len))
            FAIL_MEM(e);
    }
    if (buf_byte(out, '}')) FAIL_MEM(e);
    return 1;
}

static int emit_array(Emitter *e, Cursor *c, int depth, Buf *out) {
    if (depth > MAX_DEPTH) return 0;
    c->s++; /* '[' */
    if (buf_byte(out, '[')) FAIL_MEM(e);
    skip_ws(c);
    if (c->s < c->end && *c->s == ']') {
        c->s++;
        if (buf_byte(out, ']')) FAIL_MEM(e);
        return 1;
    }
    for (int more = 1, first = 1; more; first = 0) {
        if (!first && buf_byte(out, ',')) FAIL_MEM(e);
        skip_ws(c);
        if (!emit_value(e, c, depth + 1, out)) return 0;
        if ((more = next_item(c, ']')) < 0) return 0;
    }
    if (buf_byte(out, ']')) FAIL_MEM(e);
    return 1;
}

static int emit_value(Emitter *e, Cursor *c, int depth, Buf *out) {
    Span span;
    if (c->s >= c->end) return 0;
    switch (*c->s) {
    case '{':
        return emit_object(e, c, depth, out);
    case '[':
        return emit_array(e, c, depth, out);
    case '"':
        if (!scan_string(c, &span)) return 0;
        if (buf_byte(out, '"') || buf_put(out, span.p, span.n) || buf_byte(out, '"'))
            FAIL_MEM(e);
        return 1;
    case 't':
        if (!scan_literal(c, "true", 4)) return 0;
        if (buf_put(out, "true", 4)) FAIL_MEM(e);
        return 1;
    case 'f':
        if (!scan_literal(c, "false", 5)) return 0;
        if (buf_put(out, "false", 5)) FAIL_MEM(e);
        return 1;
    case 'n':
        if (!scan_literal(c, "null", 4)) return 0;
        if (buf_put(out, "null", 4)) FAIL_MEM(e);
        return 1;
    default:
        if (!scan_int(c, MAX_INT_DIGITS, &span)) return 0;
        if (buf_put(out, span.p, span.n)) FAIL_MEM(e);
        return 1;
    }
}

/* ---- one line ------------------------------------------------------------------------ */

/* The canonical fields: the text fields first, in the order transforms/scan.py names
 * them, then the four others (F_IDENTIFIERS on); each with its length, since every key of
 * every line is looked up here. */
#define FIELD(name) {name, sizeof(name) - 1}
static const struct {
    const char *name;
    Py_ssize_t len;
} FIELDS[] = {
    FIELD("event_id"),    FIELD("source"),      FIELD("stream"),        FIELD("event_type"),
    FIELD("survey_type"), FIELD("account_id"),  FIELD("channel"),       FIELD("campaign_id"),
    FIELD("message_theme"), FIELD("currency"),  FIELD("occurred_at"),   FIELD("received_at"),
    FIELD("identifiers"), FIELD("score"),       FIELD("amount"),        FIELD("properties"),
};
#define N_TEXT 12
enum { F_IDENTIFIERS = N_TEXT, F_SCORE, F_AMOUNT, F_PROPERTIES, N_FIELDS };

static int field_of(const Span *key) {
    for (int i = 0; i < N_FIELDS; i++)
        if (FIELDS[i].len == key->n && !memcmp(FIELDS[i].name, key->p, (size_t)key->n)) return i;
    return -1;
}

typedef struct {
    Span text[N_TEXT]; /* p == NULL: null or absent */
    Span score, amount; /* p == NULL: absent */
    int amount_is_text;
    Buf ids;           /* Span pairs: (type, value) */
    Py_ssize_t n_ids;
    Buf properties;
    int has_properties;
} Line;

/* The identifiers object (the cursor on its '{'): text values only, no duplicate types. */
static int scan_identifiers(Emitter *e, Cursor *c, Line *line) {
    c->s++;
    line->ids.n = 0;
    line->n_ids = 0;
    for (int more = 1; more;) {
        Span pair[2];
        if (!scan_key(c, &pair[0]) || !scan_string(c, &pair[1])) return 0;
        const Span *seen = (const Span *)line->ids.p;
        for (Py_ssize_t i = 0; i < line->n_ids; i++)
            if (seen[2 * i].n == pair[0].n && !memcmp(seen[2 * i].p, pair[0].p, pair[0].n))
                return 0;
        if (buf_put(&line->ids, pair, sizeof pair)) FAIL_MEM(e);
        line->n_ids++;
        if ((more = next_item(c, '}')) < 0) return 0;
    }
    return 1;
}

static int scan_line(Emitter *e, const char *data, Py_ssize_t size, Line *line) {
    Cursor c = {(const unsigned char *)data, (const unsigned char *)data + size};
    unsigned seen = 0;
    memset(line->text, 0, sizeof line->text);
    line->score.p = line->amount.p = NULL;
    line->n_ids = 0;
    line->properties.n = 0;
    line->has_properties = 0;
    skip_ws(&c);
    if (c.s >= c.end || *c.s != '{') return 0;
    c.s++;
    skip_ws(&c);
    if (c.s < c.end && *c.s == '}') return 0; /* no fields: nothing to accept */
    for (int more = 1; more;) {
        Span key;
        if (!scan_key(&c, &key)) return 0;
        int field = field_of(&key);
        if (field < 0 || (seen & (1u << field))) return 0;
        seen |= 1u << field;
        if (c.s >= c.end) return 0;
        int null = *c.s == 'n';
        if (null && !scan_literal(&c, "null", 4)) return 0;
        if (field < N_TEXT) {
            if (!null && !scan_string(&c, &line->text[field])) return 0;
        } else if (field == F_IDENTIFIERS) {
            if (null || *c.s != '{' || !scan_identifiers(e, &c, line)) return 0;
        } else if (field == F_SCORE) {
            if (!null && !scan_int(&c, MAX_SCORE_DIGITS, &line->score)) return 0;
        } else if (field == F_AMOUNT) {
            if (!null) {
                line->amount_is_text = *c.s == '"';
                if (line->amount_is_text ? !scan_string(&c, &line->amount)
                                         : !scan_number(&c, &line->amount))
                    return 0;
            }
        } else if (!null) { /* properties */
            if (*c.s != '{' || !emit_object(e, &c, 1, &line->properties)) return 0;
            line->has_properties = line->properties.n > 2; /* {} is no properties */
        }
        if ((more = next_item(&c, '}')) < 0) return 0;
    }
    skip_ws(&c);
    return c.s == c.end && line->n_ids > 0;
}

/* ---- the batch ----------------------------------------------------------------------- */

typedef struct {
    Buf index;           /* int32: the position of each clean line in the batch */
    Col text[N_TEXT];
    Buf score;           /* float64 */
    Buf score_present;   /* uint8 */
    Col amount;
    Buf amount_is_text;  /* uint8 */
    Buf id_rows;         /* int32: the clean row of each identifier */
    Col id_types, id_values;
    Col properties;
} Batch;

static int batch_init(Batch *b) {
    memset(b, 0, sizeof *b);
    for (int i = 0; i < N_TEXT; i++)
        if (col_init(&b->text[i])) return -1;
    if (col_init(&b->amount) || col_init(&b->id_types) || col_init(&b->id_values) ||
        col_init(&b->properties))
        return -1;
    return 0;
}

static void batch_free(Batch *b) {
    buf_free(&b->index);
    for (int i = 0; i < N_TEXT; i++) col_free(&b->text[i]);
    buf_free(&b->score);
    buf_free(&b->score_present);
    col_free(&b->amount);
    buf_free(&b->amount_is_text);
    buf_free(&b->id_rows);
    col_free(&b->id_types);
    col_free(&b->id_values);
    col_free(&b->properties);
}

static int batch_add(Batch *b, const Line *line, int32_t position) {
    int32_t row = (int32_t)(b->index.n / (Py_ssize_t)sizeof(int32_t));
    if (buf_put(&b->index, &position, sizeof position)) return -1;
    for (int i = 0; i < N_TEXT; i++) {
        const Span *s = &line->text[i];
        if (col_append(&b->text[i], s->p, s->n, s->p != NULL)) return -1;
    }
    double score = 0.0;
    char present = line->score.p != NULL;
    if (present) {
        char digits[MAX_SCORE_DIGITS + 2];
        memcpy(digits, line->score.p, (size_t)line->score.n);
        digits[line->score.n] = 0;
        score = (double)strtoll(digits, NULL, 10);
    }
    if (buf_put(&b->score, &score, sizeof score) || buf_byte(&b->score_present, present))
        return -1;
    const Span *amount = &line->amount;
    if (col_append(&b->amount, amount->p, amount->n, amount->p != NULL) ||
        buf_byte(&b->amount_is_text, (char)(amount->p != NULL && line->amount_is_text)))
        return -1;
    const Span *ids = (const Span *)line->ids.p;
    for (Py_ssize_t i = 0; i < line->n_ids; i++) {
        if (buf_put(&b->id_rows, &row, sizeof row) ||
            col_append(&b->id_types, ids[2 * i].p, ids[2 * i].n, 1) ||
            col_append(&b->id_values, ids[2 * i + 1].p, ids[2 * i + 1].n, 1))
            return -1;
    }
    return col_append(&b->properties, line->properties.p, line->properties.n,
                      line->has_properties);
}

static PyObject *bytes_of(const Buf *b) { return PyBytes_FromStringAndSize(b->p ? b->p : "", b->n); }

static PyObject *col_tuple(const Col *c) {
    return Py_BuildValue("(NNNn)", bytes_of(&c->valid), bytes_of(&c->offsets), bytes_of(&c->data),
                         c->rows);
}

static PyObject *batch_result(const Batch *b) {
    PyObject *texts = PyTuple_New(N_TEXT);
    if (!texts) return NULL;
    for (int i = 0; i < N_TEXT; i++) {
        PyObject *col = col_tuple(&b->text[i]);
        if (!col) {
            Py_DECREF(texts);
            return NULL;
        }
        PyTuple_SET_ITEM(texts, i, col);
    }
    return Py_BuildValue("{s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N}", "index", bytes_of(&b->index),
                         "text", texts, "score", bytes_of(&b->score), "score_present",
                         bytes_of(&b->score_present), "amount", col_tuple(&b->amount),
                         "amount_is_text", bytes_of(&b->amount_is_text), "id_rows",
                         bytes_of(&b->id_rows), "id_types", col_tuple(&b->id_types),
                         "id_values", col_tuple(&b->id_values), "properties",
                         col_tuple(&b->properties));
}

static PyObject *scan(PyObject *self, PyObject *args) {
    PyObject *lines;
    int first_is_line_one;
    Py_ssize_t max_bytes;
    if (!PyArg_ParseTuple(args, "O!pn", &PyList_Type, &lines, &first_is_line_one, &max_bytes))
        return NULL;
    Py_ssize_t count = PyList_GET_SIZE(lines);
    if (count > INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "too many lines in one batch");
        return NULL;
    }
    Batch batch;
    Emitter emitter;
    Line line;
    PyObject *result = NULL;
    memset(&emitter, 0, sizeof emitter);
    memset(&line, 0, sizeof line);
    if (batch_init(&batch)) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = first_is_line_one ? 1 : 0; i < count; i++) {
        PyObject *item = PyList_GET_ITEM(lines, i);
        if (!PyBytes_Check(item)) {
            PyErr_SetString(PyExc_TypeError, "lines must be bytes");
            goto done;
        }
        Py_ssize_t size = PyBytes_GET_SIZE(item);
        if (size > max_bytes) continue;
        if (!scan_line(&emitter, PyBytes_AS_STRING(item), size, &line)) {
            if (emitter.error) {
                PyErr_NoMemory();
                goto done;
            }
            continue;
        }
        if (batch_add(&batch, &line, (int32_t)i)) {
            if (!PyErr_Occurred()) PyErr_NoMemory();
            goto done;
        }
    }
    result = batch_result(&batch);
done:
    batch_free(&batch);
    for (int d = 0; d <= MAX_DEPTH; d++) {
        buf_free(&emitter.scratch[d]);
        PyMem_Free(emitter.members[d]);
    }
    buf_free(&line.ids);
    buf_free(&line.properties);
    return result;
}

/* ---- line hashes ----------------------------------------------------------------------
 * record_hashes(lines): for each line without its trailing \r and \n bytes,
 * (crc32 << 32) | adler32, the values of Python's zlib.crc32 and zlib.adler32 (the
 * standard CRC-32 and Adler-32; no zlib headers needed to build), as native uint64s. */

static uint32_t CRC[8][256]; /* slicing-by-8 tables of the reflected polynomial 0xEDB88320 */

static void crc_tables(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        CRC[0][i] = c;
    }
    for (int i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++) CRC[t][i] = (CRC[t - 1][i] >> 8) ^ CRC[0][CRC[t - 1][i] & 0xff];
}

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t crc32_of(const unsigned char *p, Py_ssize_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (; n >= 8; p += 8, n -= 8) {
        uint32_t one = le32(p) ^ c, two = le32(p + 4);
        c = CRC[7][one & 0xff] ^ CRC[6][(one >> 8) & 0xff] ^ CRC[5][(one >> 16) & 0xff] ^
            CRC[4][one >> 24] ^ CRC[3][two & 0xff] ^ CRC[2][(two >> 8) & 0xff] ^
            CRC[1][(two >> 16) & 0xff] ^ CRC[0][two >> 24];
    }
    for (; n > 0; n--) c = CRC[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static uint32_t adler32_of(const unsigned char *p, Py_ssize_t n) {
    uint32_t a = 1, b = 0;
    while (n > 0) {
        /* 5552 bytes (347 blocks of 16) at most before b could pass 32 bits; a block of 16
         * adds to b 16 times a and each byte weighted by how many sums it is in, which is
         * b's value after 16 single steps without their chain of dependent additions */
        Py_ssize_t k = n < 5552 ? n : 5552;
        n -= k;
        for (; k >= 16; k -= 16, p += 16) {
            uint32_t sum = 0, weighted = 0;
            for (int j = 0; j < 16; j++) {
                sum += p[j];
                weighted += (uint32_t)(16 - j) * p[j];
            }
            b += 16 * a + weighted;
            a += sum;
        }
        for (; k > 0; k--) {
            a += *p++;
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    return b << 16 | a;
}

static PyObject *record_hashes(PyObject *self, PyObject *lines) {
    if (!PyList_Check(lines)) {
        PyErr_SetString(PyExc_TypeError, "lines must be a list of bytes");
        return NULL;
    }
    Py_ssize_t count = PyList_GET_SIZE(lines);
    PyObject *out = PyBytes_FromStringAndSize(NULL, count * (Py_ssize_t)sizeof(uint64_t));
    if (!out) return NULL;
    char *dest = PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = PyList_GET_ITEM(lines, i);
        if (!PyBytes_Check(item)) {
            Py_DECREF(out);
            PyErr_SetString(PyExc_TypeError, "lines must be a list of bytes");
            return NULL;
        }
        const unsigned char *text = (const unsigned char *)PyBytes_AS_STRING(item);
        Py_ssize_t n = PyBytes_GET_SIZE(item);
        while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r')) n--;
        uint64_t hash = (uint64_t)crc32_of(text, n) << 32 | adler32_of(text, n);
        memcpy(dest + i * (Py_ssize_t)sizeof hash, &hash, sizeof hash);
    }
    return out;
}

static PyMethodDef METHODS[] = {
    {"scan", scan, METH_VARARGS,
     "scan(lines, first_is_line_one, max_bytes) -> dict of column buffers for the clean "
     "canonical lines (see transforms/scan.py)."},
    {"record_hashes", record_hashes, METH_O,
     "record_hashes(lines) -> bytes: per line without its trailing CR/LF bytes, "
     "(zlib.crc32 << 32) | zlib.adler32 as a native uint64."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {
    PyModuleDef_HEAD_INIT, "_linescan", "Canonical JSON lines into Arrow column buffers.", -1,
    METHODS, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__linescan(void) {
    crc_tables();
    return PyModule_Create(&MODULE);
}
