import type { MigrationSource } from './render.js';

export default {
  version: 4,
  name: 'username skeleton',
  statements: [
    // ID-04: NULL until filled at start-up (UserService.reindexLegacyUsers); NULLs never collide.
    // Skeletons depend on the confusables.txt version: a later version needs a migration setting
    // the column back to NULL, and start-up computes them again.
    `ALTER TABLE users ADD COLUMN username_skeleton {KEY}`,
    `CREATE UNIQUE INDEX users_username_skeleton ON users (username_skeleton)`,
  ],
} satisfies MigrationSource;
