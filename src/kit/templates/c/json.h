/* json.h: the course's stdio protocol for your C solutions. A solution reads ONE JSON object
 * (the inputs) from stdin and prints ONE JSON object (the outputs) to stdout.
 *
 *     Json *in = json_read_stdin();
 *     size_t w_len;
 *     double *w = json_get_vec(in, "w", &w_len);
 *     double b = json_get_float(in, "b");
 *     Json *out = json_new_object();
 *     json_set(out, "z", json_new_float(w[0] + b));
 *     json_write_stdout(out);
 *
 * Non-finite floats travel as the strings "inf", "-inf" and "nan" (JSON has no infinity):
 * json_new_float(NAN) prints "nan", and the getters read those strings back (in any letter
 * case, also "Infinity" and "NaN"). A getter given a missing or mistyped input prints what is
 * wrong to stderr and exits with status 2. Memory is never freed by the getters: a test case
 * is one short run. */
#ifndef KIT_JSON_H
#define KIT_JSON_H

#include <stddef.h>
#include <stdio.h>

typedef enum { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } JsonType;

typedef struct Json Json;
struct Json {
    JsonType type;
    int boolean;        /* JSON_BOOL */
    double number;      /* JSON_NUMBER */
    int is_integer;     /* JSON_NUMBER written without a fraction or exponent ... */
    long long integer;  /* ... and its exact value */
    char *string;       /* JSON_STRING, NUL-terminated UTF-8 */
    size_t len;         /* JSON_ARRAY, JSON_OBJECT: the number of items */
    size_t cap;
    Json **items;       /* the items, or the object's values */
    char **keys;        /* JSON_OBJECT: the keys */
};

/* Reading: the whole of stdin as one JSON object (exits with status 2 if it is not one). */
Json *json_read_stdin(void);
/* Parses text; NULL on an error, with a message in *error (if error is not NULL). */
Json *json_parse(const char *text, const char **error);
/* Parses text that is known to be right, e.g. a literal (exits with status 2 if not). */
Json *json_from_text(const char *text);

/* An object's field: json_find gives NULL when absent, json_get exits. */
const Json *json_find(const Json *object, const char *key);
const Json *json_get(const Json *object, const char *key);
int json_is_null(const Json *value);

/* Typed getters of an object's fields (exit with status 2 when missing or mistyped). */
double json_get_float(const Json *object, const char *key);
long long json_get_int(const Json *object, const char *key);
int json_get_bool(const Json *object, const char *key);
const char *json_get_str(const Json *object, const char *key);
/* A vector: *len numbers, malloc'd. */
double *json_get_vec(const Json *object, const char *key, size_t *len);
/* A matrix, row-major and malloc'd: element (i, j) is m[i * *cols + j]. */
double *json_get_mat(const Json *object, const char *key, size_t *rows, size_t *cols);

/* The same for any value (what names the value in error messages). */
double json_float(const Json *value, const char *what);
long long json_int(const Json *value, const char *what);
double *json_vec(const Json *value, const char *what, size_t *len);
double *json_mat(const Json *value, const char *what, size_t *rows, size_t *cols);

/* Arrays and objects: the number of items, the i-th item, the i-th key of an object. */
size_t json_len(const Json *value);
const Json *json_at(const Json *value, size_t i);
const char *json_key_at(const Json *object, size_t i);

/* Building outputs. Every json_new_* value is malloc'd; json_set and json_push take it over. */
Json *json_new_null(void);
Json *json_new_bool(int b);
Json *json_new_float(double x);
Json *json_new_int(long long n);
Json *json_new_string(const char *s);
Json *json_new_array(void);
Json *json_new_object(void);
Json *json_new_vec(const double *xs, size_t len);
Json *json_new_mat(const double *m, size_t rows, size_t cols);
/* A vector of n copies of x, a rows x cols matrix of x (none when a size is <= 0). */
Json *json_new_filled_vec(long long n, double x);
Json *json_new_filled_mat(long long rows, long long cols, double x);
/* A deep copy, e.g. to pass an input on to the outputs. */
Json *json_copy(const Json *value);
/* Sets (or replaces) a field; returns the object. */
Json *json_set(Json *object, const char *key, Json *value);
/* Appends an item; returns the array. */
Json *json_push(Json *array, Json *value);
void json_free(Json *value);

/* Printing: as JSON text; json_write_stdout prints the outputs and a newline. */
void json_print(FILE *f, const Json *value);
void json_write_stdout(const Json *value);

#endif
