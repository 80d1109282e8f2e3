-- Budgets for every action, per user, per address and server-wide: a token bucket
-- per key (say 'join:user:42' or 'auth:ip:203.0.113.9'), kept in PostgreSQL so
-- that every Lambda sandbox and the local server share one count.
create table rate_budgets (
  key        text primary key,
  tokens     double precision not null,
  updated_at timestamptz not null
);
-- the sweep deletes buckets that have long been full again
create index rate_budgets_updated on rate_budgets (updated_at);

-- The address a socket connected from (API Gateway's identity.sourceIp, or the
-- local socket's peer), for budgets on anonymous traffic.
alter table connections add column source_ip text;
create index connections_source_ip on connections (source_ip) where user_id is null;
