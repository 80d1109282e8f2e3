-- Presence subscriptions (E23): a connection names the people whose presence it
-- wants (`watch`), and hears of them in `presence_batch` frames instead of a v1
-- `presence` frame for every roommate of every room.
--
-- Kept in the database because on AWS a connection outlives any one Lambda
-- invocation: the function that posts a sign-in's presence is not the one that
-- took the `watch`. Rows go with their connection and with the watched account.
alter table connections add column watches boolean not null default false;

create table presence_watches (
  connection_id text not null references connections (id) on delete cascade,
  user_id       bigint not null references users (id) on delete cascade,
  primary key (connection_id, user_id)
);
-- A sign-in looks up the connections that watch the person signing in.
create index presence_watches_user on presence_watches (user_id);

-- A watch list belongs to the person who made it on that connection: when the
-- connection signs out or another account signs in on it, the list goes and the
-- connection is an old client again until it sends `watch`. Here rather than in
-- each statement that binds or unbinds a connection (login, logout, revoked
-- sessions, suspensions), so none can forget it.
create function reset_presence_watches() returns trigger
language plpgsql as $$
begin
  if new.user_id is distinct from old.user_id then
    new.watches := false;
    delete from presence_watches where connection_id = new.id;
  end if;
  return new;
end $$;

create trigger connections_reset_watches before update of user_id on connections
  for each row execute function reset_presence_watches();
