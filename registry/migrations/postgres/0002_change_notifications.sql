-- Every committed change to something a process might cache is announced on the
-- channel `berth_changes`, payload `<table>:<key>` (e.g. `tags:42` for repository
-- 42's tags, `access_keys:AKIA…`). A process that caches LISTENs and drops what
-- another process changed. NOTIFY is delivered only at commit, in commit order,
-- and identical payloads of one transaction arrive once.
CREATE FUNCTION berth_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed jsonb;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := to_jsonb(OLD);
    ELSE
        changed := to_jsonb(NEW);
    END IF;
    PERFORM pg_notify('berth_changes', TG_TABLE_NAME || ':' || (changed ->> TG_ARGV[0]));
    RETURN NULL;
END
$$;

CREATE TRIGGER repositories_changed AFTER INSERT OR UPDATE OR DELETE ON repositories
    FOR EACH ROW EXECUTE FUNCTION berth_notify_change('id');
CREATE TRIGGER tag_mutability_exclusion_filters_changed AFTER INSERT OR UPDATE OR DELETE ON tag_mutability_exclusion_filters
    FOR EACH ROW EXECUTE FUNCTION berth_notify_change('repository_id');
CREATE TRIGGER repository_policies_changed AFTER INSERT OR UPDATE OR DELETE ON repository_policies
    FOR EACH ROW EXECUTE FUNCTION berth_notify_change('repository_id');
CREATE TRIGGER tags_changed AFTER INSERT OR UPDATE OR DELETE ON tags
    FOR EACH ROW EXECUTE FUNCTION berth_notify_change('repository_id');
-- Manifests are immutable once stored; pulls update last_pulled_at and stay quiet.
CREATE TRIGGER manifests_changed AFTER INSERT OR DELETE ON manifests
    FOR EACH ROW EXECUTE FUNCTION berth_notify_change('repository_id');
CREATE TRIGGER repository_blobs_changed AFTER DELETE ON repository_blobs
    FOR EACH ROW EXECUTE FUNCTION berth_notify_change('repository_id');
CREATE TRIGGER access_keys_changed AFTER UPDATE OR DELETE ON access_keys
    FOR EACH ROW EXECUTE FUNCTION berth_notify_change('access_key_id');
-- New tokens need no announcement; revoked ones do.
CREATE TRIGGER auth_tokens_changed AFTER DELETE ON auth_tokens
    FOR EACH ROW EXECUTE FUNCTION berth_notify_change('token_hash');
CREATE TRIGGER settings_changed AFTER INSERT OR UPDATE OR DELETE ON settings
    FOR EACH ROW EXECUTE FUNCTION berth_notify_change('key');
