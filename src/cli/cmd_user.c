/* cmd_user.c — `lockstep user add|list|passwd|disable`: accounts. */
#include "cli/cli.h"
#include "service/errors.h"
#include "service/users.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static int print_user(void *ctx, const struct user *u)
{
    (void)ctx;
    printf("%-6lld %-36s %-10s %-8s %s\n", (long long)u->id, u->email, u->role,
           u->is_active ? "active" : "disabled", u->name);
    return 0;
}

static int read_password(const struct cli *c, char *pw, size_t len)
{
    if (cli_read_secret("Password: ", pw, len) != 0 || !*pw) {
        cli_error(c, "no password on standard input");
        return EXIT_FAIL;
    }
    return 0;
}

int cmd_user(struct cli *c, int argc, char **argv)
{
    const char *email = NULL, *role = NULL, *name = NULL;
    bool password_stdin = false;
    struct cli_args args;
    const struct cli_opt opts[] = {
        CLI_VALUE("--email", &email),
        CLI_VALUE("--role", &role),
        CLI_VALUE("--name", &name),
        CLI_FLAG("--password-stdin", &password_stdin),
    };
    int rc = CLI_PARSE(c, argc, argv, opts, 1, &args);
    if (rc)
        return rc;
    const char *sub = args.n ? args.pos[0] : "";
    bool ok = (!strcmp(sub, "add") && email && role) ||
              (!strcmp(sub, "list") && !email && !role && !name && !password_stdin) ||
              ((!strcmp(sub, "passwd") || !strcmp(sub, "disable")) && email && !role && !name &&
               !password_stdin);
    if (!ok) {
        cli_error(c, "usage: lockstep user add --email E --role R [--name N] [--password-stdin]"
                     " | list | passwd --email E | disable --email E");
        return EXIT_USAGE;
    }
    if (!strcmp(sub, "add") && !users_valid_role(role)) {
        cli_error(c, "invalid --role '%.32s' (expected admin, instructor or student)", role);
        return EXIT_USAGE;
    }
    char pw[USERS_PASSWORD_MAX + 2] = "";
    bool generated = false;
    if (!strcmp(sub, "passwd") || (!strcmp(sub, "add") && password_stdin)) {
        if ((rc = read_password(c, pw, sizeof pw)) != 0)
            return rc;
    } else if (!strcmp(sub, "add")) {
        unsigned char raw[15];
        randombytes_buf(raw, sizeof raw);
        sodium_bin2base64(pw, sizeof pw, raw, sizeof raw,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        generated = true;
    }
    struct store *s;
    if ((rc = cli_configure_open_store(c, &s)) != 0)
        return rc;
    char err[600];
    struct user u;
    if (!strcmp(sub, "list")) {
        struct user_filter f = {.active = -1};
        rc = s->ops->user_list(s, &f, print_user, NULL);
        if (rc)
            cli_error(c, "%s", store_errmsg(s));
        rc = rc ? EXIT_FAIL : EXIT_OK;
    } else if (!strcmp(sub, "add")) {
        rc = users_create(s, email, name, pw, role, &u, err, sizeof err);
        if (rc) {
            cli_error(c, "%s", err);
            rc = EXIT_FAIL;
        } else {
            printf("Created %s %s (id %lld)\n", u.role, u.email, (long long)u.id);
            if (generated)
                printf("Password (shown once): %s\n", pw);
        }
    } else {
        rc = users_get_by_email(s, email, &u, err, sizeof err);
        if (rc == 0) {
            bool disable = !strcmp(sub, "disable");
            rc = users_update(s, u.id, NULL, NULL, disable ? 0 : -1, disable ? NULL : pw, &u,
                              err, sizeof err);
        }
        if (rc) {
            cli_error(c, "%s", err);
            rc = EXIT_FAIL;
        } else {
            printf(!strcmp(sub, "disable") ? "Disabled %s\n" : "Password changed for %s\n",
                   u.email);
        }
    }
    sodium_memzero(pw, sizeof pw);
    store_close(s);
    return rc;
}
