-- Tag mutability exclusion filters, what each index references (so a child cannot
-- be deleted under its index), lifecycle policies and their previews. Rows of
-- manifest_children for indexes stored before it, and the linked_at column of
-- repository_blobs (when a push last relied on a link), are added by the registry in
-- the same transaction. Idempotent: data dirs from before versioned migrations may
-- have these already.
CREATE TABLE IF NOT EXISTS tag_mutability_exclusion_filters (
    repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    filter_type   TEXT NOT NULL,
    filter        TEXT NOT NULL,
    PRIMARY KEY (repository_id, position)
);
CREATE TABLE IF NOT EXISTS manifest_children (
    repository_id INTEGER NOT NULL,
    parent        TEXT NOT NULL,
    child         TEXT NOT NULL,
    PRIMARY KEY (repository_id, parent, child),
    FOREIGN KEY (repository_id, parent) REFERENCES manifests (repository_id, digest) ON DELETE CASCADE,
    FOREIGN KEY (repository_id, child) REFERENCES manifests (repository_id, digest)
);
CREATE INDEX IF NOT EXISTS manifest_children_by_child ON manifest_children (repository_id, child);
CREATE TABLE IF NOT EXISTS lifecycle_policies (
    repository_id     INTEGER PRIMARY KEY REFERENCES repositories(id) ON DELETE CASCADE,
    policy_text       TEXT NOT NULL,
    last_evaluated_at REAL
);
-- Each repository's latest lifecycle policy preview; `result` once it is complete.
CREATE TABLE IF NOT EXISTS lifecycle_previews (
    repository_id INTEGER PRIMARY KEY REFERENCES repositories(id) ON DELETE CASCADE,
    policy_text   TEXT NOT NULL,
    started_at    REAL NOT NULL,
    state         TEXT NOT NULL,
    result        TEXT
);
