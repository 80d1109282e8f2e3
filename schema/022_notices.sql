-- Email notices (docs/PROTOCOL.md, E24): one digest by email for direct messages
-- and mentions left unread past a delay. Nothing is written on the send path: the
-- minute sweep reads what is due from messages, memberships and read_marks, and
-- keeps per person only how far it has noticed and when it last mailed.

-- Each person's choice: 'off', 'mentions' (direct messages and mentions, the
-- default) or 'all' (every message in the rooms they are in); and whether a
-- notice quotes the text (off: only who wrote, and where).
alter table users add column notify text not null default 'mentions'
  constraint users_notify check (notify in ('off', 'mentions', 'all'));
alter table users add column notify_quote boolean not null default false;

-- One row per person the sweep has looked at. Messages up to `noticed_through`
-- are dealt with (mailed, or given up on); `last_sent_at` holds the hourly cap.
-- A sweep claims a row by moving `next_attempt_at` past now under
-- FOR UPDATE SKIP LOCKED (a lease: a sweep that dies mid-way frees it when it
-- lapses), and counts the try in `attempts`; a success clears both.
create table notices (
  user_id         bigint primary key references users (id) on delete cascade,
  noticed_through bigint not null default 0,
  last_sent_at    timestamptz,
  attempts        integer not null default 0,
  next_attempt_at timestamptz,
  last_error      text
);

-- People already here have not been told of anything before now, and need not be:
-- only messages after this migration can cause a notice.
insert into notices (user_id, noticed_through)
select u.id, coalesce((select max(id) from messages), 0) from users u;

-- What the sweep reads to find mentions without reading every unread message
-- of every channel (functions/core/notices.ts): partial, so a send without a
-- mention (most of them) writes no entry to either.
create index messages_mentioned on messages using gin (mentioned_user_ids) where mentioned_user_ids <> '{}';
create index messages_here on messages (room_id, id) where mentions_here;

-- Addresses SES reported as bouncing for good, or whose owner complained (spam):
-- notices are never mailed to them (sign-up and account codes still are: see
-- docs/DEPLOY.md).
create table mail_suppressions (
  email_lower text primary key,
  reason      text not null check (reason in ('bounce', 'complaint')),
  created_at  timestamptz not null default now()
);

-- Keys the server makes for itself, shared by every function through the
-- database: 'unsubscribe' signs the links in notices (HMAC-SHA256).
create table server_keys (
  name       text primary key,
  key        bytea not null,
  created_at timestamptz not null default now()
);
