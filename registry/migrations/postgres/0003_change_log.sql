-- What the caches in front of this database check before every request
-- (`registry/src/storage/postgres/changes.rs`): NOTIFY is delivered after the commit,
-- so a process could still serve a tag another process has just moved. Every change
-- the trigger announces is also logged here with the transaction that made it; a
-- process reads the rows of transactions at or after the oldest one still running
-- when it last looked (one small query per request), so nothing committed since can
-- be missed. Rows of different transactions never conflict: writers do not wait on
-- each other here. Rows older than an hour are pruned by the readers.
CREATE TABLE change_log (
    xid    xid8 NOT NULL DEFAULT pg_current_xact_id(),
    at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    change text NOT NULL,
    PRIMARY KEY (xid, change)
);
CREATE INDEX change_log_by_time ON change_log (at);

CREATE OR REPLACE FUNCTION berth_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed jsonb;
    what text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := to_jsonb(OLD);
    ELSE
        changed := to_jsonb(NEW);
    END IF;
    what := TG_TABLE_NAME || ':' || (changed ->> TG_ARGV[0]);
    PERFORM pg_notify('berth_changes', what);
    INSERT INTO change_log (change) VALUES (what) ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

-- A cached manifest record carries when it was last pulled: a pull recorded through
-- one process is what DescribeImages answers through every other.
DROP TRIGGER manifests_changed ON manifests;
CREATE TRIGGER manifests_changed AFTER INSERT OR UPDATE OR DELETE ON manifests
    FOR EACH ROW EXECUTE FUNCTION berth_notify_change('repository_id');
