-- Profiles, account deletion and export (docs/PROTOCOL.md, E20).

-- A profile: display_name (there since 001: the username as typed at sign-up,
-- now also set by the person), a short status, and an avatar: an image shared
-- through the file grants (013), kept while it is the avatar. Replacing it or
-- deleting the account deletes the file; the sweep spares a file that is one.
alter table users
  add column status_text    text,
  add column avatar_file_id text references files (id) on delete set null,
  -- set when the account was deleted: the row stays as an anonymous stub so the
  -- messages it kept still have a sender; its username becomes '~<id>', which no
  -- sign-up can take, and everything personal on it is erased
  add column deleted_at     timestamptz;

-- A deleted account's username stays unavailable until free_at, so nobody can
-- sign up under it straight away and pass for the person who left. Freed by the
-- first sign-up after free_at (which also drops the old direct conversations
-- named after it, so the newcomer never reads them).
create table held_names (
  username text primary key,
  free_at  timestamptz not null
);
