-- The newest transaction whose logged changes pruning has removed. `at` is when a
-- change was logged, not when its transaction committed: a transaction held open for
-- over an hour can commit changes that are pruned at once. A process whose horizon
-- is at or before this mark may have missed such changes, and starts over
-- (`registry/src/storage/postgres/changes.rs`).
CREATE TABLE change_log_pruned (
    id      integer PRIMARY KEY CHECK (id = 1),
    through bigint NOT NULL
);
INSERT INTO change_log_pruned (id, through) VALUES (1, 0);
