-- Rate limits whose state must outlive one process: on Lambda every invocation may
-- run in a different sandbox, so the counters live in the rows they limit.

-- A token bucket of sends per connection (null tokens: a full bucket), updated by
-- the send statement itself, and the auth attempts made on the connection.
alter table connections
  add column send_tokens    double precision,
  add column send_tokens_at timestamptz,
  add column auth_attempts  integer not null default 0;

-- Failed logins per account in a window that starts at the first failure; a
-- success resets it.
alter table users
  add column login_failures       integer not null default 0,
  add column login_failures_since timestamptz;
