-- Safety (docs/PROTOCOL.md, E22): blocks between people, reports of messages to
-- the server's administrators, and suspensions of accounts. New tables only: no
-- existing row changes, and the send statement reads `blocks` for direct
-- messages alone.

-- A person (blocker) blocks another (blocked): no direct messages between them,
-- and the blocked person's presence is hidden from the blocker. Clients collapse
-- the blocked person's channel messages; the server stores them as before.
create table blocks (
  blocker_id bigint not null references users (id) on delete cascade,
  blocked_id bigint not null references users (id) on delete cascade,
  created_at timestamptz not null default now(),
  primary key (blocker_id, blocked_id),
  constraint blocks_not_self check (blocker_id <> blocked_id)
);
-- "who has blocked this person": presence and the send statement ask it
create index blocks_blocked on blocks (blocked_id, blocker_id);

-- A report of one message by one person, at most once. `body` is the message's
-- text when it was reported (the reporter saw it and chose to show it to the
-- administrators); it is erased when the report is closed.
create table reports (
  id          bigint generated always as identity primary key,
  -- a message the expiry sweep deletes takes its reports with it
  message_id  bigint not null references messages (id) on delete cascade,
  room_id     text not null references rooms (id) on delete cascade,
  sender_id   bigint not null references users (id) on delete cascade,
  reporter_id bigint not null references users (id) on delete cascade,
  reason      text not null check (char_length(reason) between 1 and 500),
  body        text not null,
  created_at  timestamptz not null default now(),
  -- 'open' until an administrator dismisses it or deletes the message
  status      text not null default 'open' check (status in ('open', 'dismissed', 'deleted')),
  closed_by   text,
  closed_at   timestamptz,
  unique (message_id, reporter_id)
);
create index reports_open on reports (id) where status = 'open';
create index reports_message on reports (message_id);

-- A suspended account cannot log in or resume until `until` (null: for good).
-- Lifting a suspension deletes its row.
create table suspensions (
  user_id    bigint primary key references users (id) on delete cascade,
  until      timestamptz,
  created_by text not null,
  created_at timestamptz not null default now()
);
