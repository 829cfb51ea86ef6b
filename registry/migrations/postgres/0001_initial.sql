-- Berth's metadata in PostgreSQL: the same tables as the embedded SQLite store.
-- Names, tags and digests use the "C" collation: pages are keyed by them, and byte
-- order is what the embedded store and the OCI/ECR paging contracts use, whatever
-- the database's locale.
CREATE TABLE access_keys (
    access_key_id     TEXT PRIMARY KEY,
    secret_access_key TEXT NOT NULL,
    -- NULL for the account's root (admin) key.
    user_name         TEXT,
    created_at        DOUBLE PRECISION NOT NULL
);
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE users (
    user_name  TEXT PRIMARY KEY,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE repositories (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                 TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at           DOUBLE PRECISION NOT NULL,
    image_tag_mutability TEXT NOT NULL,
    scan_on_push         BOOLEAN NOT NULL,
    encryption_type      TEXT NOT NULL,
    kms_key              TEXT
);
-- A repository's tag mutability exclusion filters, in the order they were given.
CREATE TABLE tag_mutability_exclusion_filters (
    repository_id BIGINT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    filter_type   TEXT NOT NULL,
    filter        TEXT NOT NULL,
    PRIMARY KEY (repository_id, position)
);
CREATE TABLE blobs (
    digest     TEXT COLLATE "C" PRIMARY KEY,
    size       BIGINT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
-- Which repositories may serve a blob: pushed or mounted there.
CREATE TABLE repository_blobs (
    repository_id BIGINT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    digest        TEXT COLLATE "C" NOT NULL REFERENCES blobs(digest),
    -- When a push last linked, mounted or confirmed the blob here: an image deletion
    -- keeps links a push started since relies on.
    linked_at     DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (repository_id, digest)
);
-- Garbage collection asks "does any repository still link this blob?".
CREATE INDEX repository_blobs_by_digest ON repository_blobs (digest);
CREATE TABLE manifests (
    repository_id  BIGINT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    digest         TEXT COLLATE "C" NOT NULL,
    media_type     TEXT NOT NULL,
    artifact_type  TEXT,
    content        BYTEA NOT NULL,
    image_size     BIGINT NOT NULL,
    pushed_at      DOUBLE PRECISION NOT NULL,
    last_pulled_at DOUBLE PRECISION,
    subject        TEXT COLLATE "C",
    PRIMARY KEY (repository_id, digest)
);
CREATE INDEX manifests_by_subject ON manifests (repository_id, subject);
CREATE TABLE tags (
    repository_id BIGINT NOT NULL,
    tag           TEXT COLLATE "C" NOT NULL,
    digest        TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (repository_id, tag),
    FOREIGN KEY (repository_id, digest) REFERENCES manifests (repository_id, digest) ON DELETE CASCADE
);
-- "The tags of this image, in order", and the foreign key's cascade.
CREATE INDEX tags_by_image ON tags (repository_id, digest, tag);
-- The config and layer blobs each manifest references, so that garbage collection
-- keeps them without parsing every manifest, and cannot delete their records.
CREATE TABLE manifest_blobs (
    repository_id   BIGINT NOT NULL,
    manifest_digest TEXT COLLATE "C" NOT NULL,
    blob_digest     TEXT COLLATE "C" NOT NULL REFERENCES blobs(digest),
    PRIMARY KEY (repository_id, manifest_digest, blob_digest),
    FOREIGN KEY (repository_id, manifest_digest) REFERENCES manifests (repository_id, digest) ON DELETE CASCADE
);
CREATE INDEX manifest_blobs_by_blob ON manifest_blobs (blob_digest);
-- The manifests each index references: a child cannot be deleted under its index,
-- and the rows go with their index.
CREATE TABLE manifest_children (
    repository_id BIGINT NOT NULL,
    parent        TEXT COLLATE "C" NOT NULL,
    child         TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (repository_id, parent, child),
    FOREIGN KEY (repository_id, parent) REFERENCES manifests (repository_id, digest) ON DELETE CASCADE,
    FOREIGN KEY (repository_id, child) REFERENCES manifests (repository_id, digest)
);
CREATE INDEX manifest_children_by_child ON manifest_children (repository_id, child);
CREATE TABLE uploads (
    id            TEXT PRIMARY KEY,
    repository_id BIGINT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    started_at    DOUBLE PRECISION NOT NULL,
    -- Bytes recorded in upload_parts so far (object stores), or 0.
    size          BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX uploads_by_repository ON uploads (repository_id);
-- Chunks of an upload stored whole by a blob store that cannot append.
CREATE TABLE upload_parts (
    upload_id        TEXT NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
    offset_in_upload BIGINT NOT NULL,
    size             BIGINT NOT NULL,
    key              TEXT NOT NULL,
    digest           TEXT NOT NULL,
    PRIMARY KEY (upload_id, offset_in_upload)
);
-- Registry tokens from GetAuthorizationToken; only their SHA-256 is kept.
CREATE TABLE auth_tokens (
    token_hash    TEXT PRIMARY KEY,
    access_key_id TEXT NOT NULL,
    user_name     TEXT,
    expires_at    DOUBLE PRECISION NOT NULL
);
CREATE INDEX auth_tokens_by_expiry ON auth_tokens (expires_at);
CREATE TABLE repository_policies (
    repository_id BIGINT PRIMARY KEY REFERENCES repositories(id) ON DELETE CASCADE,
    policy_text   TEXT NOT NULL
);
CREATE TABLE lifecycle_policies (
    repository_id     BIGINT PRIMARY KEY REFERENCES repositories(id) ON DELETE CASCADE,
    policy_text       TEXT NOT NULL,
    last_evaluated_at DOUBLE PRECISION
);
-- Each repository's latest lifecycle policy preview; `result` once it is complete.
CREATE TABLE lifecycle_previews (
    repository_id BIGINT PRIMARY KEY REFERENCES repositories(id) ON DELETE CASCADE,
    policy_text   TEXT NOT NULL,
    started_at    DOUBLE PRECISION NOT NULL,
    state         TEXT NOT NULL,
    result        TEXT
);
CREATE TABLE repository_tags (
    repository_id BIGINT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    key           TEXT COLLATE "C" NOT NULL,
    value         TEXT NOT NULL,
    PRIMARY KEY (repository_id, key)
);
