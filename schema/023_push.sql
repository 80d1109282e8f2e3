-- Away presence and Web Push notifications (E25).
--
-- A connection says whether its person is looking at it: 'active' (a visible tab
-- in use), 'idle' (no input for a while) or 'hidden' (the tab is in the
-- background). A person is away when every one of their connections is idle or
-- hidden, and a push goes only to people with no active connection. Existing
-- rows (sockets open during the upgrade) count as active, as they did before.
alter table connections add column activity text not null default 'active'
  check (activity in ('active', 'idle', 'hidden'));

-- Whether a push may carry the message's text (off: room, sender and id only).
alter table users add column push_text boolean not null default false;

-- One row per device a person turned notifications on for: the push service's
-- endpoint (a capability URL) and the keys a payload is encrypted to (RFC 8291).
-- The same endpoint under another account is a separate row: each account's
-- pushes are its own, and removing one leaves the other.
create table push_subscriptions (
  id           bigint generated always as identity primary key,
  user_id      bigint not null references users (id) on delete cascade,
  endpoint     text not null,
  p256dh       text not null,
  auth         text not null,
  device       text,
  created_at   timestamptz not null default now(),
  last_used_at timestamptz,
  unique (user_id, endpoint)
);
