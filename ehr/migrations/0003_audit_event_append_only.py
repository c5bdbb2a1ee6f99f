from django.db import migrations

# On PostgreSQL the database itself refuses to change or delete audit events,
# whatever code runs. (SQLite is only the zero-setup development default.)
FORWARD = """
CREATE OR REPLACE FUNCTION ehr_auditevent_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ehr_auditevent_append_only
    BEFORE UPDATE OR DELETE ON ehr_auditevent
    FOR EACH ROW EXECUTE FUNCTION ehr_auditevent_refuse_change();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS ehr_auditevent_append_only ON ehr_auditevent;
DROP FUNCTION IF EXISTS ehr_auditevent_refuse_change();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("ehr", "0002_initial")]

    operations = [migrations.RunPython(forward, backward)]
