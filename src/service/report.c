/* report.c — violation and report JSON. */
#include "service/report.h"

#include "service/health.h"
#include "util/timeutil.h"

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

json_t *report_summary_json(const struct check_run *c)
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
    json_object_set_new(o, "requires_attention",
                        json_boolean(health_requires_attention(c->status)));
    json_object_set_new(o, "trigger", json_string(c->trigger));
    json_object_set_new(o, "duration_ms", json_real(c->duration_ms));
    return o;
}

/* Write `s` as a JSON string (quotes included). Bytes >= 0x80 are copied as
 * they are (the store holds UTF-8); quotes, backslashes and control
 * characters are escaped. */
static void put_json_string(FILE *fp, const char *s)
{
    putc('"', fp);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            putc('\\', fp);
            putc(*p, fp);
        } else if (*p < 0x20 || *p == 0x7f) {
            fprintf(fp, "\\u%04x", *p);
        } else {
            putc(*p, fp);
        }
    }
    putc('"', fp);
}

int report_write_violation(FILE *body, const struct violation *v, bool first)
{
    /* Hand-formatted (one line per violation, the same fields and order as
     * report_violation_json): a check may write hundreds of thousands. */
    char iso[TIME_ISO_LEN];
    time_format_iso(v->first_seen, iso);
    fprintf(body, "%s\n    {\"user_id\":%lld,\"user_email\":", first ? "" : ",",
            (long long)v->user_id);
    put_json_string(body, v->user_email);
    fputs(",\"specialization\":", body);
    put_json_string(body, v->spec);
    fprintf(body, ",\"issue_type\":\"%s\",\"progress_level\":", v->issue_type);
    if (v->has_progress)
        fprintf(body, "%d", v->progress_level);
    else
        fputs("null", body);
    fputs(",\"license_level\":", body);
    if (v->has_license)
        fprintf(body, "%d", v->license_level);
    else
        fputs("null", body);
    fputs(",\"delta\":", body);
    if (v->has_progress && v->has_license)
        fprintf(body, "%d", v->progress_level - v->license_level);
    else
        fputs("null", body);
    fprintf(body, ",\"recommended_action\":\"%s\",\"first_seen\":", v->recommended_action);
    if (v->first_seen)
        fprintf(body, "\"%s\"}", iso);
    else
        fputs("null}", body);
    return ferror(body) ? -1 : 0;
}

int report_write(FILE *fp, const struct check_run *c, FILE *body)
{
    json_t *sum = report_summary_json(c);
    if (!sum)
        return -1;
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
        store_fail(s, STORE_ERR, "out of memory");
        return NULL;
    }
    struct collect col = {arr, 0};
    int rc = s->ops->violations_open(s, NULL, collect_violation, &col);
    if (rc || col.failed) {
        json_decref(rep);
        json_decref(arr);
        if (col.failed)
            store_fail(s, STORE_ERR, "out of memory");
        return NULL;
    }
    json_object_set_new(rep, "violations", arr);
    return rep;
}
