-- Account recovery and devices (extension E18).
--
-- Each session remembers the device it was started on (a short label parsed from
-- the browser's User-Agent at connect), the address it was started from, and when
-- it was last used (a login or resume; at most every few minutes otherwise), so a
-- person can see their sessions and end one. Sessions from before have none of
-- it: they list as an unknown device, last used when created.
alter table connections add column device text;
alter table sessions add column device text;
alter table sessions add column created_ip text;
alter table sessions add column last_ip text;
alter table sessions add column last_used_at timestamptz;
update sessions set last_used_at = created_at where last_used_at is null;
alter table sessions alter column last_used_at set default now();
alter table sessions alter column last_used_at set not null;

-- One-time codes for account changes: a password reset ('reset') or a new email
-- address ('email', which travels on the row until the code confirms it). Like
-- sign-up codes they are stored only as a salted hash, live otpTtlSeconds, and
-- each try is claimed before the comparison; a code is bound to its account.
create table account_codes (
  id          bigint generated always as identity primary key,
  user_id     bigint not null references users (id) on delete cascade,
  purpose     text not null check (purpose in ('reset', 'email')),
  new_email   text,
  code_hash   text not null,
  attempts    integer not null default 0,
  expires_at  timestamptz not null,
  used_at     timestamptz,
  created_at  timestamptz not null default now()
);
create index account_codes_user on account_codes (user_id, purpose, id);
