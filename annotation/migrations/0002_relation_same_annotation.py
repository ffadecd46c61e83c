"""A relation's head and tail must belong to the relation's own annotation.

The rule spans three rows, so no CHECK constraint can state it; triggers enforce it in the
database for PostgreSQL and SQLite, whatever code path writes the row.
"""

from django.db import migrations

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION annotation_relation_same_annotation() RETURNS trigger AS $$
BEGIN
    IF (SELECT annotation_id FROM annotation_mention WHERE id = NEW.head_id) IS DISTINCT FROM NEW.annotation_id
       OR (SELECT annotation_id FROM annotation_mention WHERE id = NEW.tail_id) IS DISTINCT FROM NEW.annotation_id
    THEN
        RAISE EXCEPTION 'relation ends must belong to the relation''s annotation' USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER annotation_relation_same_annotation
    BEFORE INSERT OR UPDATE ON annotation_relation
    FOR EACH ROW EXECUTE FUNCTION annotation_relation_same_annotation();
"""
PG_REVERSE = """
DROP TRIGGER IF EXISTS annotation_relation_same_annotation ON annotation_relation;
DROP FUNCTION IF EXISTS annotation_relation_same_annotation();
"""
SQLITE_CHECK = """
SELECT RAISE(ABORT, 'CHECK constraint failed: relation ends must belong to the relation''s annotation')
WHERE (SELECT annotation_id FROM annotation_mention WHERE id = NEW.head_id) IS NOT NEW.annotation_id
   OR (SELECT annotation_id FROM annotation_mention WHERE id = NEW.tail_id) IS NOT NEW.annotation_id;
"""
SQLITE_FORWARD = [
    f"CREATE TRIGGER annotation_relation_same_annotation_{event.lower()} BEFORE {event} ON annotation_relation "
    f"FOR EACH ROW BEGIN {SQLITE_CHECK} END;"
    for event in ("INSERT", "UPDATE")
]
SQLITE_REVERSE = [
    f"DROP TRIGGER IF EXISTS annotation_relation_same_annotation_{event.lower()};" for event in ("insert", "update")
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_REVERSE)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_REVERSE:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("annotation", "0001_initial")]
    operations = [migrations.RunPython(forward, reverse)]
