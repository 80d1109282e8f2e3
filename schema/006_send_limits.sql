-- A send's idempotency key is (sender, room, clientId): the same clientId sent to
-- another room is a new message there, not an answer with the first room's one.
-- The new key is looser than the old (sender, clientId), so every existing row
-- already satisfies it: the index builds on a database with data as it is. It
-- also serves the old key's other use, finding a sender's messages (purge).
create unique index messages_sender_room_client on messages (sender_id, room_id, client_id);
alter table messages add constraint messages_sender_room_client unique using index messages_sender_room_client;
alter table messages drop constraint messages_sender_id_client_id_key;

-- When a repeated send was re-broadcast to the room (null: never). A repeat soon
-- after the original is re-broadcast once, in case the original's fan-out was
-- lost; every later repeat is answered to its sender only, so repeats cannot
-- multiply fan-out.
alter table messages add column rebroadcast_at timestamptz;
