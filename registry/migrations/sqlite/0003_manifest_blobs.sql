-- The config and layer blobs each manifest references, so that garbage collection
-- keeps them without parsing every manifest, and cannot delete their records. Rows
-- for manifests stored before this table are filled in by the registry (it parses
-- them) in the same transaction. Idempotent: data dirs from before versioned
-- migrations may have the table already.
CREATE TABLE IF NOT EXISTS manifest_blobs (
    repository_id   INTEGER NOT NULL,
    manifest_digest TEXT NOT NULL,
    blob_digest     TEXT NOT NULL REFERENCES blobs(digest),
    PRIMARY KEY (repository_id, manifest_digest, blob_digest),
    FOREIGN KEY (repository_id, manifest_digest) REFERENCES manifests (repository_id, digest) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS manifest_blobs_by_blob ON manifest_blobs (blob_digest);
-- Garbage collection asks "does anything link this blob?" per blob.
CREATE INDEX IF NOT EXISTS repository_blobs_by_digest ON repository_blobs (digest);
