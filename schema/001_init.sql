-- Accounts, one-time codes, sessions, connections, rooms, memberships, messages.
-- Runs on PostgreSQL 15 through 18 (Debian's server, RDS, PGlite).

create table users (
  id            bigint generated always as identity primary key,
  username      text not null unique,          -- lower-cased: names compare case-insensitively
  display_name  text not null,                 -- as the person typed it
  email         text not null,
  email_lower   text not null,
  password_hash text not null,
  verified_at   timestamptz,
  created_at    timestamptz not null default now()
);
create index users_email_lower on users (email_lower);

-- A one-time code is stored only as a salted hash; 5 wrong tries burn it.
create table otp_challenges (
  id          bigint generated always as identity primary key,
  user_id     bigint references users (id) on delete cascade,
  email_lower text not null,                   -- for the per-address send limit
  code_hash   text not null,
  attempts    integer not null default 0,
  expires_at  timestamptz not null,
  used_at     timestamptz,
  created_at  timestamptz not null default now()
);
create index otp_challenges_user on otp_challenges (user_id, created_at);
create index otp_challenges_email on otp_challenges (email_lower, created_at);

-- Session tokens are random; only their SHA-256 is kept.
create table sessions (
  id          bigint generated always as identity primary key,
  user_id     bigint not null references users (id) on delete cascade,
  token_hash  text not null unique,
  expires_at  timestamptz not null,
  revoked_at  timestamptz,
  created_at  timestamptz not null default now()
);
create index sessions_user on sessions (user_id);

-- One row per open WebSocket. Anonymous (user_id null) until auth succeeds.
create table connections (
  id           text primary key,               -- API Gateway connectionId
  user_id      bigint references users (id) on delete cascade,
  session_id   bigint references sessions (id) on delete set null,
  connected_at timestamptz not null default now(),
  authed_at    timestamptz
);
create index connections_user on connections (user_id);

create table rooms (
  id              text primary key,            -- 'general', or 'dm:alice:bob'
  kind            text not null check (kind in ('channel', 'dm')),
  -- The last message id handed out in this room. Bumping it takes the room's row
  -- lock, so ids are assigned in commit order within a room and a client that
  -- catches up with `after` never skips a message committed late.
  last_message_id bigint,
  created_at      timestamptz not null default now()
);
insert into rooms (id, kind) values ('general', 'channel');

create table memberships (
  room_id   text not null references rooms (id) on delete cascade,
  user_id   bigint not null references users (id) on delete cascade,
  joined_at timestamptz not null default now(),
  primary key (room_id, user_id)
);
create index memberships_user on memberships (user_id);

create sequence message_ids;
create table messages (
  id         bigint primary key default nextval('message_ids'),
  room_id    text not null references rooms (id) on delete cascade,
  sender_id  bigint not null references users (id) on delete cascade,
  client_id  text not null,
  body       text not null,
  created_at timestamptz not null default now(),
  unique (sender_id, client_id)                -- an idempotent send
);
alter sequence message_ids owned by messages.id;
-- history by room and id, in either direction
create index messages_room_id on messages (room_id, id);
