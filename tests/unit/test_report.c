/* test_report.c — the violation and report JSON of domain.md: field names,
 * delta and nulls, ISO times, the streamed file form equal to the object form,
 * escaping of stored text. */
#include "service/report.h"
#include "util/timeutil.h"

#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static struct violation mismatch(void)
{
    struct violation v;
    memset(&v, 0, sizeof v);
    v.user_id = 42;
    snprintf(v.user_email, sizeof v.user_email, "a@b.c");
    snprintf(v.spec, sizeof v.spec, "PLAYER");
    snprintf(v.issue_type, sizeof v.issue_type, "level_mismatch");
    v.has_progress = v.has_license = true;
    v.progress_level = 3;
    v.license_level = 2;
    snprintf(v.recommended_action, sizeof v.recommended_action, "sync_progress_to_license");
    assert_int_equal(time_parse_iso("2025-10-25T14:30:00Z", &v.first_seen), 0);
    return v;
}

static void violation_object(void **state)
{
    (void)state;
    struct violation v = mismatch();
    json_t *o = report_violation_json(&v);
    json_t *want = json_loads("{\"user_id\": 42, \"user_email\": \"a@b.c\", \"specialization\": "
                              "\"PLAYER\", \"issue_type\": \"level_mismatch\", \"progress_level\": "
                              "3, \"license_level\": 2, \"delta\": 1, \"recommended_action\": "
                              "\"sync_progress_to_license\", \"first_seen\": "
                              "\"2025-10-25T14:30:00.000000Z\"}",
                              0, NULL);
    assert_non_null(want);
    assert_true(json_equal(o, want));
    json_decref(o);
    json_decref(want);
    /* A side missing: its level and delta are null. */
    v.has_license = false;
    v.license_level = 0;
    snprintf(v.issue_type, sizeof v.issue_type, "missing_license");
    o = report_violation_json(&v);
    assert_true(json_is_null(json_object_get(o, "license_level")));
    assert_true(json_is_null(json_object_get(o, "delta")));
    assert_int_equal(json_integer_value(json_object_get(o, "progress_level")), 3);
    json_decref(o);
    /* A negative delta when the license is ahead. */
    v = mismatch();
    v.progress_level = 1;
    v.license_level = 4;
    o = report_violation_json(&v);
    assert_int_equal(json_integer_value(json_object_get(o, "delta")), -3);
    json_decref(o);
    json_t *t = report_time_json(0);
    assert_true(json_is_null(t));
    json_decref(t);
}

static struct check_run run_of(double rate, const char *status)
{
    struct check_run c;
    memset(&c, 0, sizeof c);
    assert_int_equal(time_parse_iso("2025-10-25T14:30:00.123456Z", &c.timestamp), 0);
    c.total_checked = 150;
    c.consistent = 148;
    c.inconsistent = 2;
    c.consistency_rate = rate;
    snprintf(c.status, sizeof c.status, "%s", status);
    snprintf(c.trigger, sizeof c.trigger, "scheduled");
    c.duration_ms = 12.5;
    return c;
}

/* The file form (streamed violations) is the object form, field for field. */
static void file_form_equals_object_form(void **state)
{
    (void)state;
    struct check_run c = run_of(98.67, "degraded");
    struct violation v[3] = {mismatch(), mismatch(), mismatch()};
    v[1].user_id = 43;
    snprintf(v[1].user_email, sizeof v[1].user_email, "quote\"back\\slash\ttab\x01@b.c");
    v[2].user_id = 44;
    snprintf(v[2].user_email, sizeof v[2].user_email, "j\xc3\xbcrgen@b.c"); /* UTF-8 kept */
    v[2].has_progress = false;
    v[2].progress_level = 0;
    snprintf(v[2].issue_type, sizeof v[2].issue_type, "missing_progress");
    snprintf(v[2].recommended_action, sizeof v[2].recommended_action,
             "create_progress_from_license");
    v[2].first_seen = 0;
    FILE *body = tmpfile(), *file = tmpfile();
    assert_non_null(body);
    assert_non_null(file);
    for (int i = 0; i < 3; i++)
        assert_int_equal(report_write_violation(body, &v[i], i == 0), 0);
    assert_int_equal(report_write(file, &c, body), 0);
    rewind(file);
    json_error_t je;
    json_t *got = json_loadf(file, 0, &je);
    if (!got)
        fail_msg("the report file is not JSON: %s (line %d)", je.text, je.line);
    json_t *want = report_summary_json(&c);
    json_t *arr = json_array();
    for (int i = 0; i < 3; i++)
        json_array_append_new(arr, report_violation_json(&v[i]));
    json_object_set_new(want, "violations", arr);
    assert_true(json_equal(got, want));
    assert_string_equal(json_string_value(json_object_get(got, "timestamp")),
                        "2025-10-25T14:30:00.123456Z");
    assert_true(json_is_true(json_object_get(got, "requires_attention")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(
                            json_object_get(got, "violations"), 1), "user_email")),
                        "quote\"back\\slash\ttab\x01@b.c");
    json_decref(got);
    json_decref(want);
    /* The rate reads as written: 98.67, not 98.670000000000002. */
    rewind(file);
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, file);
    text[n] = '\0';
    assert_non_null(strstr(text, "\"consistency_rate\": 98.67,"));
    fclose(body);
    fclose(file);
}

static void report_without_violations(void **state)
{
    (void)state;
    struct check_run c = run_of(100.0, "healthy");
    c.inconsistent = 0;
    c.consistent = 150;
    FILE *file = tmpfile();
    assert_int_equal(report_write(file, &c, NULL), 0);
    rewind(file);
    json_t *got = json_loadf(file, 0, NULL);
    assert_non_null(got);
    assert_int_equal(json_array_size(json_object_get(got, "violations")), 0);
    assert_false(json_is_true(json_object_get(got, "requires_attention")));
    assert_int_equal(json_integer_value(json_object_get(got, "total_checked")), 150);
    assert_string_equal(json_string_value(json_object_get(got, "trigger")), "scheduled");
    json_decref(got);
    fclose(file);
    /* An empty body is the same as none. */
    FILE *body = tmpfile();
    file = tmpfile();
    assert_int_equal(report_write(file, &c, body), 0);
    rewind(file);
    got = json_loadf(file, 0, NULL);
    assert_non_null(got);
    assert_int_equal(json_array_size(json_object_get(got, "violations")), 0);
    json_decref(got);
    fclose(file);
    fclose(body);
}

static void file_names(void **state)
{
    (void)state;
    assert_true(report_valid_file_name("20251025_143000_violations.json"));
    assert_true(report_valid_file_name("20251025_143000_violations_12.json"));
    assert_false(report_valid_file_name("20251025_143000_violations_.json"));
    assert_false(report_valid_file_name("20251025_143000_violations./../x.json"));
    assert_false(report_valid_file_name("../25_143000_violations.json"));
    assert_false(report_valid_file_name("20251025_143000_violations_1/.json"));
    assert_false(report_valid_file_name(".report_state.json"));
}

static void write_at(const char *dir, const char *name, void (*fill)(FILE *, const void *),
                     const void *arg)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fill(fp, arg);
    fclose(fp);
}

static void fill_full(FILE *fp, const void *arg)
{
    const struct check_run *c = arg;
    struct violation v = mismatch();
    FILE *body = tmpfile();
    assert_int_equal(report_write_violation(body, &v, true), 0);
    assert_int_equal(report_write(fp, c, body), 0);
    fclose(body);
}

static void fill_ref(FILE *fp, const void *arg)
{
    assert_int_equal(report_write_reference(fp, arg, "20251025_143000_violations.json"), 0);
}

static void fill_cut(FILE *fp, const void *arg)
{
    assert_int_equal(report_write_truncated(fp, arg), 0);
}

/* A reference file reads back as its own fields plus the named file's list. */
static void whole_report(void **state)
{
    (void)state;
    char dir[] = "/tmp/lockstep-report-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct check_run c = run_of(98.0, "degraded");
    c.inconsistent = 1;
    write_at(dir, "20251025_143000_violations.json", fill_full, &c);
    struct check_run later = c;
    later.timestamp += 300 * USEC_PER_SEC;
    write_at(dir, "20251025_143500_violations.json", fill_ref, &later);
    write_at(dir, "20251025_144000_violations.json", fill_cut, &later);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(report_read_whole(dir, "20251025_143500_violations.json", 1 << 20, &text,
                                       &len), 0);
    json_t *got = json_loads(text, 0, NULL);
    assert_non_null(got);
    char iso[TIME_ISO_LEN];
    time_format_iso(later.timestamp, iso);
    assert_string_equal(json_string_value(json_object_get(got, "timestamp")), iso);
    assert_true(json_is_true(json_object_get(got, "violations_unchanged")));
    json_t *vs = json_object_get(got, "violations");
    assert_int_equal(json_array_size(vs), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(vs, 0), "user_id")), 42);
    json_decref(got);
    free(text);
    /* A truncated file holds no list: the caller asks the store. */
    assert_int_equal(report_read_whole(dir, "20251025_144000_violations.json", 1 << 20, &text,
                                       &len), -ENODATA);
    char path[512];
    snprintf(path, sizeof path, "%s/20251025_143000_violations.json", dir);
    unlink(path);
    assert_true(report_read_whole(dir, "20251025_143500_violations.json", 1 << 20, &text,
                                  &len) < 0);
    snprintf(path, sizeof path, "%s/20251025_143500_violations.json", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/20251025_144000_violations.json", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(violation_object),
        cmocka_unit_test(file_form_equals_object_form),
        cmocka_unit_test(report_without_violations),
        cmocka_unit_test(file_names),
        cmocka_unit_test(whole_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
