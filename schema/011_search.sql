-- Search (docs/PROTOCOL.md, E15): PostgreSQL's own full-text search over message
-- bodies, with one GIN index on an expression; no column is added, so the send
-- statement writes the same row as before and the index entry is all it costs.
--
-- The 'simple' configuration: words are lower-cased and kept as written, with no
-- stemming and no stop words, so names, foreign words and code-like tokens
-- (ERR_42, foo.bar) are found as typed in any language. Accents are folded by
-- search_fold below, not by the unaccent extension, so the same file runs on
-- PGlite, a Debian server and RDS without any extension.

-- A text's letters as search compares them: compatibility forms spelled out
-- (ﬁ, full-width letters), combining marks (accents) taken off, the few letters
-- that carry their stroke in the letter itself (ł, ø, đ) replaced, then composed
-- again (Hangul). Text that is all ASCII, most messages, is returned as it is,
-- so the common send pays one length check. functions/core/search-query.ts
-- foldWord does the same in TypeScript to place highlights.
create function search_fold(body text) returns text
language sql immutable strict parallel safe
as $$
  select case when octet_length(body) = length(body) then body
    else normalize(translate(regexp_replace(normalize(body, NFKD),
      '[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]', '', 'g'),
      'łŁøØđĐħĦıŀĿ', 'lLoOdDhHilL'), NFC)
  end
$$;

-- The words of a message as the index holds them; queries name this very
-- function so that the planner matches them to the index. search_fold is named
-- with its schema: PostgreSQL 17 builds and rebuilds indexes with a search_path
-- of pg_catalog alone.
create function search_document(body text) returns tsvector
language sql immutable strict parallel safe
as $$ select to_tsvector('simple'::regconfig, public.search_fold(body)) $$;

-- Built over the messages already stored when the migration runs. Not a partial
-- index (where deleted_at is null), though search never shows a deleted message:
-- the planner ignores the statistics of a partial index's expression, and without
-- them it cannot tell a common word (walk the newest messages) from a rare one
-- (look it up here). A tombstone's body is '', which adds nothing to the index.
-- A small pending list (256 kB instead of 4 MB): a send adds its words to the
-- list, a few µs, rather than to the index itself (70 µs and more, measured in
-- bench/README.md, on the send path that every member waits for); the list is
-- moved into the index by (auto)vacuum, on the embedded database by the server's
-- own VACUUM every few minutes, or by the send that fills it, and a small list
-- keeps both that send's pause and every search's read through it short.
create index messages_search on messages using gin (search_document(body)) with (fastupdate = on, gin_pending_list_limit = 256);
