/* json.c: see json.h. A small JSON reader and writer for the course's protocol. */
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 256

static void die(const char *format, ...) {
    va_list args;
    va_start(args, format);
    fputs("json: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    exit(2);
}

static void *grab(size_t size) {
    void *p = calloc(1, size ? size : 1);
    if (!p) die("out of memory");
    return p;
}

static char *copy_text(const char *s) {
    size_t n = strlen(s);
    char *c = grab(n + 1);
    memcpy(c, s, n);
    return c;
}

static Json *new_value(JsonType type) {
    Json *v = grab(sizeof *v);
    v->type = type;
    return v;
}

static void append(Json *container, char *key, Json *item) {
    if (container->len == container->cap) {
        size_t cap = container->cap ? container->cap * 2 : 4;
        Json **items = realloc(container->items, cap * sizeof *items);
        char **keys = container->type == JSON_OBJECT
            ? realloc(container->keys, cap * sizeof *keys) : container->keys;
        if (!items || (container->type == JSON_OBJECT && !keys)) die("out of memory");
        container->items = items;
        container->keys = keys;
        container->cap = cap;
    }
    if (container->type == JSON_OBJECT) container->keys[container->len] = key;
    container->items[container->len++] = item;
}

/* ---------------------------------------------------------------- parsing */

typedef struct {
    const char *p;
    const char *error;
    int depth;
} Parser;

static void skip_space(Parser *ps) {
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r') ps->p++;
}

static Json *parse_value(Parser *ps);

static int hex4(const char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

static size_t put_utf8(char *out, unsigned cp) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A string starting at the opening quote; NULL on an error. */
static char *parse_string(Parser *ps) {
    const char *p = ps->p + 1;
    size_t cap = 16, n = 0;
    char *out = grab(cap);
    for (;;) {
        if (cap - n < 8) {
            cap *= 2;
            char *bigger = realloc(out, cap);
            if (!bigger) die("out of memory");
            out = bigger;
        }
        unsigned char c = (unsigned char)*p;
        if (c == '"') break;
        if (c == 0) { ps->error = "a string is not closed"; free(out); return NULL; }
        if (c < 0x20) { ps->error = "a control character inside a string"; free(out); return NULL; }
        if (c != '\\') { out[n++] = (char)c; p++; continue; }
        p++;
        switch (*p) {
        case '"': out[n++] = '"'; break;
        case '\\': out[n++] = '\\'; break;
        case '/': out[n++] = '/'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'u': {
            unsigned cp, low;
            if (!hex4(p + 1, &cp)) { ps->error = "a bad \\u escape"; free(out); return NULL; }
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && p[1] == '\\' && p[2] == 'u' && hex4(p + 3, &low)
                && low >= 0xDC00 && low < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                p += 6;
            } else if (cp >= 0xD800 && cp < 0xE000) {
                cp = 0xFFFD; /* a lone surrogate */
            }
            n += put_utf8(out + n, cp);
            break;
        }
        default: ps->error = "a bad escape in a string"; free(out); return NULL;
        }
        p++;
    }
    out[n] = 0;
    ps->p = p + 1;
    return out;
}

static Json *parse_number(Parser *ps) {
    const char *start = ps->p, *p = ps->p;
    int integer = 1;
    if (*p == '-') p++;
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') while (*p >= '0' && *p <= '9') p++;
    else { ps->error = "a bad number"; return NULL; }
    if (*p == '.') {
        integer = 0;
        p++;
        if (!(*p >= '0' && *p <= '9')) { ps->error = "a bad number"; return NULL; }
        while (*p >= '0' && *p <= '9') p++;
    }
    if (*p == 'e' || *p == 'E') {
        integer = 0;
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!(*p >= '0' && *p <= '9')) { ps->error = "a bad number"; return NULL; }
        while (*p >= '0' && *p <= '9') p++;
    }
    size_t n = (size_t)(p - start);
    char buf[512];
    char *text = n < sizeof buf ? buf : grab(n + 1);
    memcpy(text, start, n);
    text[n] = 0;
    Json *v = new_value(JSON_NUMBER);
    v->number = strtod(text, NULL);
    if (integer) {
        errno = 0;
        long long i = strtoll(text, NULL, 10);
        if (errno == 0) { v->is_integer = 1; v->integer = i; }
    }
    if (text != buf) free(text);
    ps->p = p;
    return v;
}

static int literal(Parser *ps, const char *word) {
    size_t n = strlen(word);
    if (strncmp(ps->p, word, n) != 0) return 0;
    ps->p += n;
    return 1;
}

static Json *parse_container(Parser *ps, int object) {
    if (++ps->depth > JSON_MAX_DEPTH) { ps->error = "nested too deeply"; return NULL; }
    Json *v = new_value(object ? JSON_OBJECT : JSON_ARRAY);
    char close = object ? '}' : ']';
    ps->p++;
    skip_space(ps);
    if (*ps->p == close) { ps->p++; ps->depth--; return v; }
    for (;;) {
        char *key = NULL;
        if (object) {
            skip_space(ps);
            if (*ps->p != '"') { ps->error = "expected a key"; json_free(v); return NULL; }
            key = parse_string(ps);
            if (!key) { json_free(v); return NULL; }
            skip_space(ps);
            if (*ps->p != ':') { ps->error = "expected ':'"; free(key); json_free(v); return NULL; }
            ps->p++;
        }
        Json *item = parse_value(ps);
        if (!item) { free(key); json_free(v); return NULL; }
        append(v, key, item);
        skip_space(ps);
        if (*ps->p == ',') { ps->p++; continue; }
        if (*ps->p == close) { ps->p++; break; }
        ps->error = object ? "expected ',' or '}'" : "expected ',' or ']'";
        json_free(v);
        return NULL;
    }
    ps->depth--;
    return v;
}

static Json *parse_value(Parser *ps) {
    skip_space(ps);
    char c = *ps->p;
    if (c == '{' || c == '[') return parse_container(ps, c == '{');
    if (c == '"') {
        char *s = parse_string(ps);
        if (!s) return NULL;
        Json *v = new_value(JSON_STRING);
        v->string = s;
        return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number(ps);
    if (literal(ps, "true")) { Json *v = new_value(JSON_BOOL); v->boolean = 1; return v; }
    if (literal(ps, "false")) return new_value(JSON_BOOL);
    if (literal(ps, "null")) return new_value(JSON_NULL);
    ps->error = c ? "unexpected character" : "unexpected end";
    return NULL;
}

Json *json_parse(const char *text, const char **error) {
    Parser ps = { text, NULL, 0 };
    Json *v = parse_value(&ps);
    if (v) {
        skip_space(&ps);
        if (*ps.p) { ps.error = "more text after the JSON value"; json_free(v); v = NULL; }
    }
    if (!v && error) *error = ps.error;
    return v;
}

Json *json_from_text(const char *text) {
    const char *error = NULL;
    Json *v = json_parse(text, &error);
    if (!v) die("%s in: %s", error ? error : "bad JSON", text);
    return v;
}

Json *json_read_stdin(void) {
    size_t cap = 1 << 16, n = 0, got;
    char *buf = grab(cap);
    while ((got = fread(buf + n, 1, cap - n - 1, stdin)) > 0) {
        n += got;
        if (cap - n < 2) {
            cap *= 2;
            char *bigger = realloc(buf, cap);
            if (!bigger) die("out of memory");
            buf = bigger;
        }
    }
    if (ferror(stdin)) die("cannot read stdin");
    buf[n] = 0;
    const char *error = NULL;
    Json *v = json_parse(buf, &error);
    if (!v) die("stdin is not JSON: %s", error ? error : "?");
    if (v->type != JSON_OBJECT) die("stdin is not a JSON object");
    free(buf);
    return v;
}

/* ---------------------------------------------------------------- getters */

const Json *json_find(const Json *object, const char *key) {
    if (!object || object->type != JSON_OBJECT) return NULL;
    for (size_t i = 0; i < object->len; i++)
        if (strcmp(object->keys[i], key) == 0) return object->items[i];
    return NULL;
}

const Json *json_get(const Json *object, const char *key) {
    const Json *v = json_find(object, key);
    if (!v) die("the input has no field `%s`", key);
    return v;
}

int json_is_null(const Json *value) { return !value || value->type == JSON_NULL; }

static int same_word(const char *a, const char *b) {
    for (; *a && *b; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        if (x != *b) return 0;
    }
    return *a == *b;
}

double json_float(const Json *v, const char *what) {
    if (v && v->type == JSON_NUMBER) return v->number;
    if (v && v->type == JSON_STRING) {
        const char *s = v->string;
        if (same_word(s, "inf") || same_word(s, "+inf") || same_word(s, "infinity")
            || same_word(s, "+infinity")) return INFINITY;
        if (same_word(s, "-inf") || same_word(s, "-infinity")) return -INFINITY;
        if (same_word(s, "nan")) return NAN;
    }
    die("`%s` is not a number", what);
    return 0;
}

long long json_int(const Json *v, const char *what) {
    if (v && v->type == JSON_NUMBER) {
        if (v->is_integer) return v->integer;
        if (v->number == floor(v->number) && fabs(v->number) < 9e15) return (long long)v->number;
    }
    die("`%s` is not an integer", what);
    return 0;
}

double *json_vec(const Json *v, const char *what, size_t *len) {
    if (!v || v->type != JSON_ARRAY) die("`%s` is not a vector", what);
    double *xs = grab(v->len * sizeof *xs);
    for (size_t i = 0; i < v->len; i++) xs[i] = json_float(v->items[i], what);
    *len = v->len;
    return xs;
}

double *json_mat(const Json *v, const char *what, size_t *rows, size_t *cols) {
    if (!v || v->type != JSON_ARRAY) die("`%s` is not a matrix", what);
    size_t r = v->len, c = r ? json_len(v->items[0]) : 0;
    double *m = grab(r * c * sizeof *m);
    for (size_t i = 0; i < r; i++) {
        const Json *row = v->items[i];
        if (row->type != JSON_ARRAY || row->len != c) die("`%s` is not a matrix (ragged rows)", what);
        for (size_t j = 0; j < c; j++) m[i * c + j] = json_float(row->items[j], what);
    }
    *rows = r;
    *cols = c;
    return m;
}

double json_get_float(const Json *o, const char *key) { return json_float(json_get(o, key), key); }
long long json_get_int(const Json *o, const char *key) { return json_int(json_get(o, key), key); }

int json_get_bool(const Json *o, const char *key) {
    const Json *v = json_get(o, key);
    if (v->type != JSON_BOOL) die("`%s` is not true or false", key);
    return v->boolean;
}

const char *json_get_str(const Json *o, const char *key) {
    const Json *v = json_get(o, key);
    if (v->type != JSON_STRING) die("`%s` is not a string", key);
    return v->string;
}

double *json_get_vec(const Json *o, const char *key, size_t *len) {
    return json_vec(json_get(o, key), key, len);
}

double *json_get_mat(const Json *o, const char *key, size_t *rows, size_t *cols) {
    return json_mat(json_get(o, key), key, rows, cols);
}

size_t json_len(const Json *v) {
    return v && (v->type == JSON_ARRAY || v->type == JSON_OBJECT) ? v->len : 0;
}

const Json *json_at(const Json *v, size_t i) { return i < json_len(v) ? v->items[i] : NULL; }

const char *json_key_at(const Json *o, size_t i) {
    return o && o->type == JSON_OBJECT && i < o->len ? o->keys[i] : NULL;
}

/* ---------------------------------------------------------------- building */

Json *json_new_null(void) { return new_value(JSON_NULL); }

Json *json_new_bool(int b) {
    Json *v = new_value(JSON_BOOL);
    v->boolean = b != 0;
    return v;
}

Json *json_new_float(double x) {
    Json *v = new_value(JSON_NUMBER);
    v->number = x;
    return v;
}

Json *json_new_int(long long n) {
    Json *v = new_value(JSON_NUMBER);
    v->number = (double)n;
    v->is_integer = 1;
    v->integer = n;
    return v;
}

Json *json_new_string(const char *s) {
    Json *v = new_value(JSON_STRING);
    v->string = copy_text(s);
    return v;
}

Json *json_new_array(void) { return new_value(JSON_ARRAY); }
Json *json_new_object(void) { return new_value(JSON_OBJECT); }

Json *json_new_vec(const double *xs, size_t len) {
    Json *a = json_new_array();
    for (size_t i = 0; i < len; i++) json_push(a, json_new_float(xs[i]));
    return a;
}

Json *json_new_mat(const double *m, size_t rows, size_t cols) {
    Json *a = json_new_array();
    for (size_t i = 0; i < rows; i++) json_push(a, json_new_vec(m + i * cols, cols));
    return a;
}

Json *json_new_filled_vec(long long n, double x) {
    Json *a = json_new_array();
    for (long long i = 0; i < n; i++) json_push(a, json_new_float(x));
    return a;
}

Json *json_new_filled_mat(long long rows, long long cols, double x) {
    Json *a = json_new_array();
    for (long long i = 0; i < rows; i++) json_push(a, json_new_filled_vec(cols, x));
    return a;
}

Json *json_copy(const Json *v) {
    if (!v) return json_new_null();
    Json *c = new_value(v->type);
    c->boolean = v->boolean;
    c->number = v->number;
    c->is_integer = v->is_integer;
    c->integer = v->integer;
    if (v->string) c->string = copy_text(v->string);
    for (size_t i = 0; i < v->len; i++)
        append(c, v->type == JSON_OBJECT ? copy_text(v->keys[i]) : NULL, json_copy(v->items[i]));
    return c;
}

Json *json_set(Json *o, const char *key, Json *value) {
    if (!o || o->type != JSON_OBJECT) die("json_set: not an object");
    for (size_t i = 0; i < o->len; i++) {
        if (strcmp(o->keys[i], key) == 0) {
            json_free(o->items[i]);
            o->items[i] = value;
            return o;
        }
    }
    append(o, copy_text(key), value);
    return o;
}

Json *json_push(Json *a, Json *value) {
    if (!a || a->type != JSON_ARRAY) die("json_push: not an array");
    append(a, NULL, value);
    return a;
}

void json_free(Json *v) {
    if (!v) return;
    for (size_t i = 0; i < v->len; i++) {
        json_free(v->items[i]);
        if (v->type == JSON_OBJECT) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->string);
    free(v);
}

/* ---------------------------------------------------------------- printing */

static void print_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20) fprintf(f, "\\u%04x", *p);
            else fputc(*p, f);
        }
    }
    fputc('"', f);
}

/* The shortest of %.15g, %.16g, %.17g that reads back as the same double. */
static void print_float(FILE *f, double x) {
    if (isnan(x)) { fputs("\"nan\"", f); return; }
    if (isinf(x)) { fputs(x > 0 ? "\"inf\"" : "\"-inf\"", f); return; }
    char buf[40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, x);
        if (strtod(buf, NULL) == x) break;
    }
    fputs(buf, f);
}

void json_print(FILE *f, const Json *v) {
    if (!v) { fputs("null", f); return; }
    switch (v->type) {
    case JSON_NULL: fputs("null", f); break;
    case JSON_BOOL: fputs(v->boolean ? "true" : "false", f); break;
    case JSON_NUMBER:
        if (v->is_integer) fprintf(f, "%lld", v->integer);
        else print_float(f, v->number);
        break;
    case JSON_STRING: print_string(f, v->string); break;
    case JSON_ARRAY:
    case JSON_OBJECT:
        fputc(v->type == JSON_ARRAY ? '[' : '{', f);
        for (size_t i = 0; i < v->len; i++) {
            if (i) fputc(',', f);
            if (v->type == JSON_OBJECT) {
                print_string(f, v->keys[i]);
                fputc(':', f);
            }
            json_print(f, v->items[i]);
        }
        fputc(v->type == JSON_ARRAY ? ']' : '}', f);
        break;
    }
}

void json_write_stdout(const Json *v) {
    json_print(stdout, v);
    fputc('\n', stdout);
    if (fflush(stdout) != 0 || ferror(stdout)) die("cannot write stdout");
}
