/* handlers.h — the handlers of serve's routes (api_*.c, auth.c), one per
 * route of the routing table (router.c). Each answers through request.h. */
#ifndef LOCKSTEP_HTTP_HANDLERS_H
#define LOCKSTEP_HTTP_HANDLERS_H

#include "http/request.h"

/* A route's handler: answers r (or defers it, see http_defer). */
typedef void (*http_handler)(struct http_req *r);

void h_login(struct http_req *r);
void h_refresh(struct http_req *r);
void h_logout(struct http_req *r);
void h_me(struct http_req *r);
void h_users_list(struct http_req *r);
void h_users_create(struct http_req *r);
void h_user_get(struct http_req *r);
void h_user_patch(struct http_req *r);
void h_specs_list(struct http_req *r);
void h_specs_create(struct http_req *r);
void h_progress_get(struct http_req *r);
void h_progress_level(struct http_req *r);
void h_progress_xp(struct http_req *r);
void h_desync_issues(struct http_req *r);
void h_sync_user_spec(struct http_req *r);
void h_sync_user_all(struct http_req *r);
void h_sync_all(struct http_req *r);
void h_health_status(struct http_req *r);
void h_health_latest_report(struct http_req *r);
void h_health_violations(struct http_req *r);
void h_health_metrics(struct http_req *r);
void h_health_check_now(struct http_req *r);
void h_health_history(struct http_req *r);
void h_health_jobs(struct http_req *r);
void h_baselines_list(struct http_req *r);
void h_baseline_create(struct http_req *r);
void h_baseline_get(struct http_req *r);
void h_health_trend(struct http_req *r);
void h_health_stabilization_report(struct http_req *r);
void h_alerts(struct http_req *r);
void h_alert_silences(struct http_req *r);
void h_alert_silence_create(struct http_req *r);
void h_alert_silence_delete(struct http_req *r);
void h_healthz(struct http_req *r);
void h_readyz(struct http_req *r);
void h_prometheus(struct http_req *r);
#endif
