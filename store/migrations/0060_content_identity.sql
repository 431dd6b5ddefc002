-- Content identity (issue 3 item 4): what a report's object looked like when first seen live, so
-- later checks can tell "still the same content" from "something else is served there now".
-- Only descriptions of the content are kept, never the content (CONTRACT.md §7):
--   baseline_media     the response's header metadata {contentType, contentLength, etag, lastModified}
--   known_media_refs   absolute URLs of media the page referenced (at most 100: a bounded sample)
--   baseline_digests   {sha256, sha1, md5} of the body, under mediaPolicy: hash only
--   baseline_at        when the baseline was taken (the first live check); NULL = none yet
ALTER TABLE reports
  ADD COLUMN baseline_media   jsonb,
  ADD COLUMN known_media_refs jsonb
    CONSTRAINT reports_known_media_refs_bounded
    CHECK (known_media_refs IS NULL OR (jsonb_typeof(known_media_refs) = 'array' AND jsonb_array_length(known_media_refs) <= 100)),
  ADD COLUMN baseline_digests jsonb,
  ADD COLUMN baseline_at      timestamptz;
