import type { MigrationSource } from './render.js';

export default {
  version: 2,
  name: 'audit',
  statements: [
    `CREATE TABLE audit_events (
      id {KEY} PRIMARY KEY,
      at {INT64} NOT NULL,
      type TEXT NOT NULL,
      actor_id TEXT,
      subject_id TEXT,
      ip TEXT,
      user_agent TEXT,
      request_id TEXT,
      details TEXT NOT NULL
    )`,
    `CREATE INDEX audit_events_subject ON audit_events (subject_id, id)`,
    `CREATE INDEX audit_events_actor ON audit_events (actor_id, id)`,
    `CREATE INDEX audit_events_type ON audit_events (type, id)`,
  ],
} satisfies MigrationSource;
