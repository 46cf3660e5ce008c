// endpoints.test.mjs — the success shape of every endpoint: users,
// specializations, progress and the level changes, the sync endpoints with
// their roles and defaults, audit rows for mutating calls.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setupServer, request, login, sql } from './lib.mjs';

let ctx;
let coach;
let studentId;
before(async () => {
  ctx = await setupServer('endpoints');
  ctx.addUser('coach.two@example.com', 'instructor', 'coach-pass-2', 'Coach Two');
  coach = await login(ctx.url, 'coach.two@example.com', 'coach-pass-2');
  studentId = Number(sql(ctx.dir, "SELECT id FROM users WHERE email = 'student1@demo.lockstep.local'"));
});
after(async () => { await ctx.stop(); });

const as = (token) => ({
  get: (p) => request(ctx.url, 'GET', p, { token }),
  post: (p, body) => request(ctx.url, 'POST', p, { token, body }),
  patch: (p, body) => request(ctx.url, 'PATCH', p, { token, body }),
});

const USER_KEYS = ['created_at', 'email', 'id', 'is_active', 'name', 'role', 'updated_at'];

test('users: create, get, list with filters, patch', async () => {
  const admin = as(ctx.adminToken);
  const created = await admin.post('/api/v1/users', { email: 'New.Person@Example.com', name: 'New Person', password: 'long enough', role: 'instructor', unknown_field: 'ignored' });
  assert.equal(created.status, 201);
  assert.deepEqual(Object.keys(created.body).sort(), USER_KEYS);
  assert.equal(created.body.email, 'new.person@example.com');
  assert.equal(created.body.role, 'instructor');
  assert.match(created.body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  const id = created.body.id;
  const got = await admin.get(`/api/v1/users/${id}`);
  assert.deepEqual(got.body, created.body);
  const list = await admin.get('/api/v1/users?role=instructor&active=true&q=person&limit=5');
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.map((u) => u.email), ['new.person@example.com']);
  const students = await admin.get('/api/v1/users?role=student&limit=10&offset=5');
  assert.equal(students.body.length, 10);
  assert.ok(students.body.every((u) => u.role === 'student'));
  const patched = await admin.patch(`/api/v1/users/${id}`, { name: 'Renamed', role: 'student' });
  assert.equal(patched.status, 200);
  assert.equal(patched.body.name, 'Renamed');
  assert.equal(patched.body.role, 'student');
  assert.equal((await admin.patch(`/api/v1/users/${id}`, { password: 'a new password' })).status, 200);
  assert.ok(await login(ctx.url, 'new.person@example.com', 'a new password'));
  const dup = await admin.post('/api/v1/users', { email: 'new.person@example.com', password: 'long enough' });
  assert.equal(dup.status, 409);
  assert.match(dup.body.detail, /already exists/);
  assert.equal((await admin.get('/api/v1/users/999999')).status, 404);
  assert.equal(sql(ctx.dir, "SELECT count(*) FROM audit_logs WHERE action = 'USER_CREATE'"), '1');
  assert.equal(sql(ctx.dir, "SELECT count(*) FROM audit_logs WHERE action = 'USER_UPDATE'"), '2');
});

test('specializations: list and create', async () => {
  const admin = as(ctx.adminToken);
  const list = await admin.get('/api/v1/specializations');
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.map((s) => [s.id, s.max_levels]), [['COACH', 8], ['INTERNSHIP', 3], ['PLAYER', 8]]);
  const created = await admin.post('/api/v1/specializations', { id: 'goalkeeper', name: 'Goalkeeper', max_levels: 4 });
  assert.equal(created.status, 201);
  assert.deepEqual(Object.keys(created.body).sort(), ['created_at', 'id', 'is_active', 'max_levels', 'name']);
  assert.equal(created.body.id, 'GOALKEEPER');
  assert.equal((await admin.post('/api/v1/specializations', { id: 'GOALKEEPER', name: 'x', max_levels: 4 })).status, 409);
  assert.equal((await admin.post('/api/v1/specializations', { id: 'bad id!', name: 'x', max_levels: 4 })).status, 422);
  assert.equal((await admin.post('/api/v1/specializations', { id: 'X', name: 'x', max_levels: 0 })).status, 422);
  assert.equal((await as(coach).get('/api/v1/specializations')).status, 200);
});

test('progress: read, level change and xp through the enforcer', async () => {
  const progress = await as(coach).get(`/api/v1/users/${studentId}/progress`);
  assert.equal(progress.status, 200);
  assert.equal(progress.body.user_id, studentId);
  assert.equal(progress.body.specializations.length, 1);
  const pair = progress.body.specializations[0];
  assert.equal(pair.state, 'consistent');
  assert.ok(pair.progress.current_level >= 1);
  const spec = pair.specialization;
  const max = spec === 'INTERNSHIP' ? 3 : 8;

  const r = await as(coach).post(`/api/v1/users/${studentId}/progress/${spec.toLowerCase()}/level`, {
    new_level: max, xp_change: 150, sessions_change: 2, reason: 'Passed the assessment' });
  assert.equal(r.status, 200);
  assert.deepEqual(Object.keys(r.body).sort(), ['license', 'message', 'progress', 'progression_created', 'success']);
  assert.equal(r.body.success, true);
  assert.deepEqual(Object.keys(r.body.progress).sort(), ['completed_sessions', 'new_level', 'old_level', 'total_xp']);
  assert.deepEqual(Object.keys(r.body.license).sort(), ['max_achieved_level', 'new_level', 'old_level']);
  assert.equal(r.body.progress.new_level, max);
  assert.equal(r.body.license.new_level, max);
  assert.equal(r.body.license.max_achieved_level, max);
  assert.equal(r.body.progression_created, pair.license.current_level !== max);

  const bad = await as(coach).post(`/api/v1/users/${studentId}/progress/${spec}/level`, { new_level: max + 1 });
  assert.equal(bad.status, 422);
  assert.equal(bad.body.detail, `Invalid level ${max + 1} for ${spec} (valid range: 1-${max})`);
  assert.equal(bad.body.error_type, 'validation_error');
  const unknown = await as(coach).post(`/api/v1/users/${studentId}/progress/NOPE/level`, { new_level: 1 });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error_type, 'not_found');
  assert.equal((await as(coach).post('/api/v1/users/999999/progress/PLAYER/level', { new_level: 1 })).status, 404);

  const xp = await as(ctx.adminToken).post(`/api/v1/users/${studentId}/progress/${spec}/xp`, { xp_gained: 40, sessions_completed: 1 });
  assert.equal(xp.status, 200);
  assert.equal(xp.body.progress.total_xp, r.body.progress.total_xp + 40);
  assert.equal(xp.body.progress.new_level, max); // already at the top
  assert.equal((await as(coach).post(`/api/v1/users/${studentId}/progress/${spec}/xp`, { xp_gained: -5 })).status, 422);
  assert.equal(sql(ctx.dir, "SELECT count(*) FROM audit_logs WHERE action = 'LEVEL_UPDATE'"), '1');
  assert.equal(sql(ctx.dir, "SELECT count(*) FROM audit_logs WHERE action = 'XP_GAIN'"), '1');
  // After a change through the enforcer the pair is still consistent.
  const after = await as(coach).get(`/api/v1/users/${studentId}/progress`);
  assert.equal(after.body.specializations[0].state, 'consistent');
});

test('sync endpoints: roles, defaults and the result object', async () => {
  // Two drifted pairs come with the demo; add one of each orphan kind.
  const issues = await as(coach).get('/api/v1/licenses/admin/sync/desync-issues');
  assert.equal(issues.status, 200);
  assert.equal(issues.body.length, 2);
  assert.deepEqual(Object.keys(issues.body[0]).sort(), ['delta', 'first_seen', 'issue_type', 'license_level',
    'progress_level', 'recommended_action', 'specialization', 'user_email', 'user_id']);
  const spec = issues.body[0].specialization;
  const filtered = await as(coach).get(`/api/v1/licenses/admin/sync/desync-issues?specialization=${spec.toLowerCase()}`);
  assert.ok(filtered.body.every((v) => v.specialization === spec));

  // sync/all: admin only, dry run by default.
  assert.equal((await as(coach).post('/api/v1/licenses/admin/sync/all', {})).status, 403);
  const dry = await as(ctx.adminToken).post('/api/v1/licenses/admin/sync/all', {});
  assert.equal(dry.status, 200);
  assert.deepEqual(Object.keys(dry.body).sort(), ['direction', 'dry_run', 'failed_count', 'manual_review', 'manual_review_count', 'results', 'results_total', 'results_truncated', 'success', 'synced_count', 'total_issues']);
  assert.equal(dry.body.dry_run, true);
  assert.equal(dry.body.total_issues, 2);
  assert.equal(dry.body.synced_count, 0);
  assert.deepEqual(Object.keys(dry.body.results[0]).sort(), ['action', 'issue_type', 'new_level', 'old_level', 'specialization', 'success', 'user_id']);
  assert.equal((await as(coach).get('/api/v1/licenses/admin/sync/desync-issues')).body.length, 2);
  assert.equal((await as(ctx.adminToken).post('/api/v1/licenses/admin/sync/all', { direction: 'sideways' })).status, 422);

  // Per user and specialization, by an instructor, in the other direction.
  const first = issues.body[0];
  const one = await as(coach).post(`/api/v1/licenses/admin/sync/user/${first.user_id}`, { specialization: first.specialization, direction: 'license_to_progress' });
  assert.equal(one.status, 200);
  assert.equal(one.body.dry_run, false);
  assert.equal(one.body.direction, 'license_to_progress');
  assert.equal(one.body.synced_count, 1);
  assert.equal(one.body.results[0].action, 'sync_license_to_progress');
  assert.equal((await as(coach).post(`/api/v1/licenses/admin/sync/user/${first.user_id}`, {})).status, 400);
  assert.equal((await as(coach).post(`/api/v1/licenses/admin/sync/user/${first.user_id}`, { specialization: 'NOPE' })).status, 404);
  assert.equal((await as(coach).post('/api/v1/licenses/admin/sync/user/999999/all', {})).status, 404);
  // Everything for one user, then the rest for real.
  const second = issues.body[1];
  const all = await as(coach).post(`/api/v1/licenses/admin/sync/user/${second.user_id}/all`, {});
  assert.equal(all.body.synced_count, 1);
  const real = await as(ctx.adminToken).post('/api/v1/licenses/admin/sync/all', { dry_run: false });
  assert.equal(real.body.total_issues, 0);
  assert.equal((await as(coach).get('/api/v1/licenses/admin/sync/desync-issues')).body.length, 0);
  assert.equal(sql(ctx.dir, "SELECT count(*) FROM audit_logs WHERE action = 'SYNC'"), '3');
});
