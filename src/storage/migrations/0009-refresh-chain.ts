import type { MigrationSource } from './render.js';

export default {
  version: 9,
  name: 'refresh_chain',
  // A rotation rewrites the session's current token id and hash in place instead of adding a row per
  // refresh. Sessions started before keep NULL: their current token's hash is in its own row.
  statements: ['ALTER TABLE sessions ADD COLUMN refresh_hash TEXT'],
} satisfies MigrationSource;
