"""On PostgreSQL the database itself refuses UPDATE and DELETE on the audit log, so not even a
raw query or a future bug can rewrite history. Erasure (GDPR) is the one sanctioned rewrite: it
runs `SET LOCAL hearth.audit_redaction = 'on'` inside its transaction first."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION members_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('hearth.audit_redaction', true) = 'on' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'members_auditevent is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER members_auditevent_append_only
    BEFORE UPDATE OR DELETE ON members_auditevent
    FOR EACH ROW EXECUTE FUNCTION members_auditevent_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS members_auditevent_append_only ON members_auditevent;
DROP FUNCTION IF EXISTS members_auditevent_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("members", "0001_tenancy_staff_and_audit_log")]
    operations = [migrations.RunPython(forward, backward)]
