-- The embedded registry's first schema. Every statement is idempotent: data dirs
-- made before versioned migrations (user_version 0) already hold these tables.
CREATE TABLE IF NOT EXISTS access_keys (
    access_key_id     TEXT PRIMARY KEY,
    secret_access_key TEXT NOT NULL,
    -- NULL for the account's root (admin) key.
    user_name         TEXT,
    created_at        REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    user_name  TEXT PRIMARY KEY,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS repositories (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT NOT NULL UNIQUE,
    created_at           REAL NOT NULL,
    image_tag_mutability TEXT NOT NULL,
    scan_on_push         INTEGER NOT NULL,
    encryption_type      TEXT NOT NULL,
    kms_key              TEXT
);
CREATE TABLE IF NOT EXISTS blobs (
    digest     TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    created_at REAL NOT NULL
);
-- Which repositories may serve a blob: pushed or mounted there.
CREATE TABLE IF NOT EXISTS repository_blobs (
    repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    digest        TEXT NOT NULL REFERENCES blobs(digest),
    PRIMARY KEY (repository_id, digest)
);
CREATE TABLE IF NOT EXISTS manifests (
    repository_id  INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    digest         TEXT NOT NULL,
    media_type     TEXT NOT NULL,
    artifact_type  TEXT,
    content        BLOB NOT NULL,
    image_size     INTEGER NOT NULL,
    pushed_at      REAL NOT NULL,
    last_pulled_at REAL,
    subject        TEXT,
    PRIMARY KEY (repository_id, digest)
);
CREATE INDEX IF NOT EXISTS manifests_by_subject ON manifests (repository_id, subject);
CREATE TABLE IF NOT EXISTS tags (
    repository_id INTEGER NOT NULL,
    tag           TEXT NOT NULL,
    digest        TEXT NOT NULL,
    PRIMARY KEY (repository_id, tag),
    FOREIGN KEY (repository_id, digest) REFERENCES manifests (repository_id, digest) ON DELETE CASCADE
);
-- Covers "the tags of this image, in order": without the tag column SQLite walks
-- every tag of the repository per image (200 ms per DescribeImages page at 10,000 tags).
DROP INDEX IF EXISTS tags_by_digest;
CREATE INDEX IF NOT EXISTS tags_by_image ON tags (repository_id, digest, tag);
CREATE TABLE IF NOT EXISTS uploads (
    id            TEXT PRIMARY KEY,
    repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    started_at    REAL NOT NULL
);
-- Registry tokens from GetAuthorizationToken; only their SHA-256 is kept.
CREATE TABLE IF NOT EXISTS auth_tokens (
    token_hash    TEXT PRIMARY KEY,
    access_key_id TEXT NOT NULL,
    user_name     TEXT,
    expires_at    REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS repository_policies (
    repository_id INTEGER PRIMARY KEY REFERENCES repositories(id) ON DELETE CASCADE,
    policy_text   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS repository_tags (
    repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    key           TEXT NOT NULL,
    value         TEXT NOT NULL,
    PRIMARY KEY (repository_id, key)
);
