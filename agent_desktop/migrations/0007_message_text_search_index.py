"""A full-text index of message text, for the desktop's search (agent_desktop.search).

PostgreSQL: a GIN index on the message's tsvector. SQLite: an FTS5 table that triggers keep in
step with the messages. Each database gets only its own; the other's step does nothing."""

from django.db import migrations

PG_CREATE = """
CREATE INDEX IF NOT EXISTS agent_desktop_message_text_fts
ON agent_desktop_message USING GIN (to_tsvector('simple', "text"))
"""
PG_DROP = "DROP INDEX IF EXISTS agent_desktop_message_text_fts"

SQLITE_CREATE = [
    """CREATE VIRTUAL TABLE agent_desktop_message_fts USING fts5(
        text, content='agent_desktop_message', content_rowid='id', tokenize='unicode61'
    )""",
    """CREATE TRIGGER agent_desktop_message_fts_insert AFTER INSERT ON agent_desktop_message
    BEGIN
        INSERT INTO agent_desktop_message_fts(rowid, text) VALUES (new.id, new.text);
    END""",
    """CREATE TRIGGER agent_desktop_message_fts_delete AFTER DELETE ON agent_desktop_message
    BEGIN
        INSERT INTO agent_desktop_message_fts(agent_desktop_message_fts, rowid, text)
        VALUES ('delete', old.id, old.text);
    END""",
    """CREATE TRIGGER agent_desktop_message_fts_update AFTER UPDATE OF text
    ON agent_desktop_message
    BEGIN
        INSERT INTO agent_desktop_message_fts(agent_desktop_message_fts, rowid, text)
        VALUES ('delete', old.id, old.text);
        INSERT INTO agent_desktop_message_fts(rowid, text) VALUES (new.id, new.text);
    END""",
    # Messages stored before this migration.
    "INSERT INTO agent_desktop_message_fts(agent_desktop_message_fts) VALUES ('rebuild')",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS agent_desktop_message_fts_insert",
    "DROP TRIGGER IF EXISTS agent_desktop_message_fts_delete",
    "DROP TRIGGER IF EXISTS agent_desktop_message_fts_update",
    "DROP TABLE IF EXISTS agent_desktop_message_fts",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("agent_desktop", "0006_notes_canned_responses_labels")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": [PG_CREATE], "sqlite": SQLITE_CREATE}),
            _run({"postgresql": [PG_DROP], "sqlite": SQLITE_DROP}),
        )
    ]
