/* report.c — violation and report JSON. */
#include "service/report.h"

#include "model/health.h"
#include "util/fsutil.h"
#include "util/timeutil.h"

#include <errno.h>

#include <stdlib.h>
#include <string.h>

json_t *report_time_json(int64_t us)
{
    if (!us)
        return json_null();
    char iso[TIME_ISO_LEN];
    time_format_iso(us, iso);
    return json_string(iso);
}

json_t *report_violation_json(const struct violation *v)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "user_id", json_integer(v->user_id));
    json_object_set_new(o, "user_email", json_string(v->user_email));
    json_object_set_new(o, "specialization", json_string(v->spec));
    json_object_set_new(o, "issue_type", json_string(v->issue_type));
    json_object_set_new(o, "progress_level",
                        v->has_progress ? json_integer(v->progress_level) : json_null());
    json_object_set_new(o, "license_level",
                        v->has_license ? json_integer(v->license_level) : json_null());
    json_object_set_new(o, "delta", v->has_progress && v->has_license
                                        ? json_integer(v->progress_level - v->license_level)
                                        : json_null());
    json_object_set_new(o, "recommended_action", json_string(v->recommended_action));
    json_object_set_new(o, "first_seen", report_time_json(v->first_seen));
    return o;
}

/* The summary fields of a check; requires_attention and where the pairs were
 * read only in a report (the history's items leave them out, api.md). */
static json_t *summary_json(const struct check_run *c, bool attention)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "timestamp", report_time_json(c->timestamp));
    json_object_set_new(o, "total_checked", json_integer(c->total_checked));
    json_object_set_new(o, "consistent", json_integer(c->consistent));
    json_object_set_new(o, "inconsistent", json_integer(c->inconsistent));
    json_object_set_new(o, "consistency_rate", json_real(c->consistency_rate));
    json_object_set_new(o, "status", json_string(c->status));
    if (attention)
        json_object_set_new(o, "requires_attention",
                            json_boolean(health_requires_attention(c->status)));
    json_object_set_new(o, "trigger", json_string(c->trigger));
    json_object_set_new(o, "duration_ms", json_real(c->duration_ms));
    /* full or incremental (watch.md), and what a full sweep found the watcher
     * wrong about. */
    if (attention) { /* the history's items keep api.md's fields */
        json_object_set_new(o, "kind", json_string(c->kind[0] ? c->kind : "full"));
        json_object_set_new(o, "divergences", json_integer(c->divergences));
    }
    if (attention) { /* where the pairs were read (operations.md, "Reading from a replica") */
        json_object_set_new(o, "source",
                            json_string(c->read.source[0] ? c->read.source : "primary"));
        json_object_set_new(o, "replica_lag_seconds", c->read.has_replica_lag
                                                          ? json_real(c->read.replica_lag_seconds)
                                                          : json_null());
        json_object_set_new(o, "replica_fallback", json_string(c->read.replica_fallback));
    }
    return o;
}

json_t *report_summary_json(const struct check_run *c)
{
    return summary_json(c, true);
}

json_t *report_history_json(const struct check_run *c)
{
    return summary_json(c, false);
}

/* One violation line is built in memory and written with one fwrite: a check
 * may write hundreds of thousands, and stdio calls per field (each taking the
 * stream's lock) cost more than the rest of the line. The worst case is every
 * byte of every string field escaped as \u00XX. */
#define LINE_MAX_BYTES (6 * (EMAIL_MAX + SPEC_ID_MAX + ISSUE_TYPE_MAX + ACTION_MAX) + 256)

struct line {
    char *p;
};

static void put_raw(struct line *l, const char *s)
{
    size_t n = strlen(s);
    memcpy(l->p, s, n);
    l->p += n;
}

static void put_int(struct line *l, long long v)
{
    char tmp[24];
    int n = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *l->p++ = '-';
    while (n)
        *l->p++ = tmp[--n];
}

/* `s` as a JSON string (quotes included). Bytes >= 0x80 are copied as they
 * are (the store holds UTF-8); quotes, backslashes and control characters
 * are escaped. At most `max` bytes of `s` are read. */
static void put_json_string(struct line *l, const char *s, size_t max)
{
    static const char hex[] = "0123456789abcdef";
    *l->p++ = '"';
    for (const unsigned char *c = (const unsigned char *)s; max-- && *c; c++) {
        if (*c == '"' || *c == '\\') {
            *l->p++ = '\\';
            *l->p++ = (char)*c;
        } else if (*c < 0x20 || *c == 0x7f) {
            memcpy(l->p, "\\u00", 4);
            l->p[4] = hex[*c >> 4];
            l->p[5] = hex[*c & 15];
            l->p += 6;
        } else {
            *l->p++ = (char)*c;
        }
    }
    *l->p++ = '"';
}

/* A field that is a number or null. */
static void put_int_or_null(struct line *l, bool has, long long v)
{
    if (has)
        put_int(l, v);
    else
        put_raw(l, "null");
}

int report_write_violation(FILE *body, const struct violation *v, bool first)
{
    /* The same fields and order as report_violation_json, one per line. */
    char buf[LINE_MAX_BYTES];
    struct line l = {buf};
    if (!first)
        *l.p++ = ',';
    put_raw(&l, "\n    {\"user_id\":");
    put_int(&l, (long long)v->user_id);
    put_raw(&l, ",\"user_email\":");
    put_json_string(&l, v->user_email, sizeof v->user_email);
    put_raw(&l, ",\"specialization\":");
    put_json_string(&l, v->spec, sizeof v->spec);
    put_raw(&l, ",\"issue_type\":");
    put_json_string(&l, v->issue_type, sizeof v->issue_type);
    put_raw(&l, ",\"progress_level\":");
    put_int_or_null(&l, v->has_progress, v->progress_level);
    put_raw(&l, ",\"license_level\":");
    put_int_or_null(&l, v->has_license, v->license_level);
    put_raw(&l, ",\"delta\":");
    put_int_or_null(&l, v->has_progress && v->has_license,
                    (long long)v->progress_level - v->license_level);
    put_raw(&l, ",\"recommended_action\":");
    put_json_string(&l, v->recommended_action, sizeof v->recommended_action);
    put_raw(&l, ",\"first_seen\":");
    if (v->first_seen) {
        char iso[TIME_ISO_LEN];
        time_format_iso(v->first_seen, iso);
        *l.p++ = '"';
        put_raw(&l, iso);
        *l.p++ = '"';
    } else {
        put_raw(&l, "null");
    }
    *l.p++ = '}';
    size_t n = (size_t)(l.p - buf);
    return fwrite(buf, 1, n, body) == n && !ferror(body) ? 0 : -1;
}

/* "{" and the summary fields (then those of `extra`, borrowed, NULL: none),
 * one per line, each followed by a comma. */
static int write_head(FILE *fp, const struct check_run *c, json_t *extra)
{
    json_t *sum = report_summary_json(c);
    if (!sum || (extra && json_object_update(sum, extra) != 0)) {
        json_decref(sum);
        return -1;
    }
    int rc = fputs("{\n", fp) == EOF ? -1 : 0;
    const char *key;
    json_t *value;
    json_object_foreach(sum, key, value)
    {
        char *text = json_dumps(value, JSON_ENCODE_ANY | REPORT_JSON_FLAGS);
        if (!text || fprintf(fp, "  \"%s\": %s,\n", key, text) < 0)
            rc = -1;
        free(text);
        if (rc)
            break;
    }
    json_decref(sum);
    return rc;
}

int report_write_extra(FILE *fp, const struct check_run *c, json_t *extra, FILE *body)
{
    int rc = write_head(fp, c, extra);
    if (rc == 0 && fputs("  \"violations\": [", fp) == EOF)
        rc = -1;
    bool any = false;
    if (rc == 0 && body) {
        rewind(body);
        char chunk[65536];
        size_t got;
        while ((got = fread(chunk, 1, sizeof chunk, body)) > 0) {
            any = true;
            if (fwrite(chunk, 1, got, fp) != got) {
                rc = -1;
                break;
            }
        }
        if (ferror(body))
            rc = -1;
    }
    if (rc == 0 && fputs(any ? "\n  ]\n}\n" : "]\n}\n", fp) == EOF)
        rc = -1;
    return rc;
}

int report_write(FILE *fp, const struct check_run *c, FILE *body)
{
    return report_write_extra(fp, c, NULL, body);
}

int report_write_list(FILE *fp, const struct check_run *c, const struct violation *v, size_t n)
{
    if (write_head(fp, c, NULL) != 0 || fputs("  \"violations\": [", fp) == EOF)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (report_write_violation(fp, &v[i], i == 0) != 0)
            return -1;
    return fputs(n ? "\n  ]\n}\n" : "]\n}\n", fp) == EOF ? -1 : 0;
}

int report_write_reference(FILE *fp, const struct check_run *c, const char *violations_file)
{
    if (write_head(fp, c, NULL) != 0)
        return -1;
    json_t *name = json_string(violations_file);
    char *text = name ? json_dumps(name, JSON_ENCODE_ANY) : NULL;
    json_decref(name);
    int rc = text && fprintf(fp, "  \"violations_unchanged\": true,\n"
                                 "  \"" REPORT_REF_KEY "\": %s\n}\n",
                             text) >= 0
                 ? 0
                 : -1;
    free(text);
    return rc;
}

int report_write_truncated(FILE *fp, const struct check_run *c)
{
    if (write_head(fp, c, NULL) != 0)
        return -1;
    return fprintf(fp, "  \"violations_truncated\": true,\n  \"violations_count\": %lld\n}\n",
                   (long long)c->inconsistent) < 0
               ? -1
               : 0;
}

/* Where the list starts in a file written by report_write. */
static const char list_marker[] = "\n  \"violations\": [";

bool report_valid_file_name(const char *name)
{
    /* YYYYMMDD_HHMMSS_violations.json, or _violations_N.json for a second
     * check within the same second. */
    size_t n = strlen(name);
    if (n < 15 + 16 || n > 64 || strcmp(name + n - 5, ".json") != 0 ||
        strncmp(name + 15, "_violations", 11) != 0)
        return false;
    for (size_t i = 0; i < 15; i++)
        if (i == 8 ? name[i] != '_' : !(name[i] >= '0' && name[i] <= '9'))
            return false;
    const char *rest = name + 26; /* "" or "_N" before ".json" */
    if (rest[0] == '_')
        for (const char *p = rest + 1; p < name + n - 5; p++)
            if (!(*p >= '0' && *p <= '9'))
                return false;
    return rest[0] == '_' ? n > 26 + 1 + 5 : n == 26 + 5;
}

int report_read_whole(const char *data_dir, const char *report_file, size_t limit, char **out,
                      size_t *len)
{
    char path[FS_PATH_MAX], *text = NULL, *full = NULL;
    size_t n = 0, fn = 0;
    *out = NULL;
    *len = 0;
    if (fs_join(path, sizeof path, data_dir, report_file) != 0)
        return -ENAMETOOLONG;
    int rc = fs_read_file(path, limit, &text, &n);
    if (rc)
        return rc;
    if (memmem(text, n, list_marker, sizeof list_marker - 1)) {
        *out = text; /* the list is in the file itself */
        *len = n;
        return 0;
    }
    /* A reference: `"violations_file": "NAME"` in the same directory. */
    static const char ref[] = "\n  \"" REPORT_REF_KEY "\": \"";
    char *at = memmem(text, n, ref, sizeof ref - 1), *end = NULL, *close = NULL;
    char name[80];
    if (at) {
        at += sizeof ref - 1;
        end = memchr(at, '"', n - (size_t)(at - text));
    }
    /* The summary ends where the file's closing brace line starts. */
    for (size_t i = n; i >= 2 && !close; i--)
        if (text[i - 1] == '}' && text[i - 2] == '\n')
            close = text + i - 2;
    if (!at || !end || !close || (size_t)(end - at) >= sizeof name) {
        free(text);
        return -ENODATA; /* truncated (or not ours): the caller asks the store */
    }
    memcpy(name, at, (size_t)(end - at));
    name[end - at] = '\0';
    char dir[FS_PATH_MAX], *slash;
    snprintf(dir, sizeof dir, "%s", path);
    if (!report_valid_file_name(name) || !(slash = strrchr(dir, '/'))) {
        free(text);
        return -ENODATA;
    }
    *slash = '\0';
    if (fs_join(path, sizeof path, dir, name) != 0 ||
        (rc = fs_read_file(path, limit, &full, &fn)) != 0) {
        free(text);
        return rc ? rc : -ENAMETOOLONG;
    }
    char *list = memmem(full, fn, list_marker, sizeof list_marker - 1);
    size_t head = (size_t)(close - text), tail = list ? fn - (size_t)(list - full) : 0;
    char *whole = list ? malloc(head + 1 + tail + 1) : NULL;
    if (!whole) {
        free(text);
        free(full);
        return list ? -ENOMEM : -ENODATA;
    }
    /* This check's summary and reference, then the list of the file it names. */
    memcpy(whole, text, head);
    whole[head] = ',';
    memcpy(whole + head + 1, list, tail);
    whole[head + 1 + tail] = '\0';
    free(text);
    free(full);
    *out = whole;
    *len = head + 1 + tail;
    return 0;
}

struct collect {
    json_t *arr;
    int failed;
};

static int collect_violation(void *ctx, const struct violation *v)
{
    struct collect *c = ctx;
    json_t *o = report_violation_json(v);
    if (!o || json_array_append_new(c->arr, o)) {
        c->failed = 1;
        return 1;
    }
    return 0;
}

json_t *report_from_store(struct store *s, const struct check_run *c)
{
    json_t *rep = report_summary_json(c);
    json_t *arr = json_array();
    if (!rep || !arr) {
        json_decref(rep);
        json_decref(arr);
        store_fail(s, STORE_ERR_NOMEM, "out of memory");
        return NULL;
    }
    struct collect col = {arr, 0};
    int rc = s->ops->violations_open(s, NULL, collect_violation, &col);
    if (rc || col.failed) {
        json_decref(rep);
        json_decref(arr);
        if (col.failed)
            store_fail(s, STORE_ERR_NOMEM, "out of memory");
        return NULL;
    }
    json_object_set_new(rep, "violations", arr);
    return rep;
}
