-- Upload sessions know their size, and blob stores that cannot append (object
-- stores) record each chunk as a part, so any process can check the next offset.
ALTER TABLE uploads ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
CREATE TABLE upload_parts (
    upload_id TEXT NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
    offset_in_upload INTEGER NOT NULL,
    size      INTEGER NOT NULL,
    key       TEXT NOT NULL,
    digest    TEXT NOT NULL,
    PRIMARY KEY (upload_id, offset_in_upload)
);
