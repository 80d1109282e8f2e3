-- Two-factor authentication with an authenticator app (TOTP, RFC 6238), E19.
-- Nothing changes for existing accounts: 2FA is on only for an account with a
-- row in two_factor, and this migration adds none.

-- An account with 2FA on. `secret` is the base32 TOTP key: the server must read
-- it to check codes, so it cannot be a hash; it is protected as the database is
-- (access by the app's role only, storage encrypted on RDS, SECURITY.md).
-- `last_step` is the last TOTP time step a code was accepted for: a code of that
-- step or an earlier one is refused, so no code works twice. `failures` and
-- `failures_since` count wrong second-factor tries, like users.login_failures.
-- `recovery_salt` keys the HMAC of this account's recovery codes.
create table two_factor (
  user_id        bigint primary key references users (id) on delete cascade,
  secret         text not null,
  last_step      bigint not null default 0,
  failures       integer not null default 0,
  failures_since timestamptz,
  recovery_salt  text not null,
  enabled_at     timestamptz not null
);

-- An enrolment waiting for its first code: the secret becomes the account's only
-- when a code made from it is entered. One per account; a new one replaces it.
create table two_factor_enrolments (
  user_id    bigint primary key references users (id) on delete cascade,
  secret     text not null,
  attempts   integer not null default 0,
  expires_at timestamptz not null
);

-- Ten one-use recovery codes per account, only as keyed hashes.
create table two_factor_recovery_codes (
  user_id   bigint not null references users (id) on delete cascade,
  code_hash text not null,
  used_at   timestamptz,
  primary key (user_id, code_hash)
);

-- The second step of one login: after the right password, the connection that
-- gave it may finish with a code, once, within a few minutes. Only the SHA-256
-- of the challenge token is kept.
create table two_factor_challenges (
  id            bigint generated always as identity primary key,
  user_id       bigint not null references users (id) on delete cascade,
  connection_id text not null,
  token_hash    text not null unique,
  attempts      integer not null default 0,
  expires_at    timestamptz not null,
  used_at       timestamptz,
  created_at    timestamptz not null default now()
);
create index two_factor_challenges_expiry on two_factor_challenges (expires_at);
