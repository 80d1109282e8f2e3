-- Files shared in rooms (docs/PROTOCOL.md, E17). A row is made when a member is
-- granted an upload; the bytes live in storage (DATA_DIR/files locally, S3 on
-- AWS) under `files/<id>` and, for an image with a preview, `files/<id>.preview`.
-- The row is the only way to a file: every download URL is signed for a current
-- member of its room, and only while its message is there.
create table files (
  id           text primary key,               -- 128 random bits, base64url: the storage key's name
  room_id      text not null references rooms (id) on delete cascade,
  uploader_id  bigint not null references users (id) on delete cascade,
  name         text not null,
  content_type text not null,
  size         bigint not null check (size > 0),
  -- images: their size in pixels, so a preview takes its place before it loads
  width        integer,
  height       integer,
  preview_size integer,                        -- bytes of the WebP preview, when there is one
  -- set when the bytes were found in storage with the granted size and type
  uploaded_at  timestamptz,
  -- set once, by the send that attaches it; a file never moves to another message
  attached_at  timestamptz,
  -- set null if the message row itself is removed: the sweep then deletes the file
  message_id   bigint references messages (id) on delete set null,
  position     smallint,
  created_at   timestamptz not null default now()
);
create index files_message on files (message_id) where message_id is not null;
-- the per-person total, and the sweep of uploads never attached
create index files_uploader on files (uploader_id);
create index files_unattached on files (created_at) where attached_at is null;
