import type { Dialect, Migration } from '../sql/driver.js';
import core from './0001-core.js';
import audit from './0002-audit.js';
import sessionClient from './0003-session-client.js';
import usernameSkeleton from './0004-username-skeleton.js';
import email from './0005-email.js';
// 0006 is the second-factor migration (issue 14); its import goes here.
import oauthProvider from './0007-oauth-provider.js';
import { render, type MigrationSource } from './render.js';

/** Every migration in order, one file each: a new one is the next number's file and one line here. */
const SOURCES: readonly MigrationSource[] = [core, audit, sessionClient, usernameSkeleton, email, /* 0006 here */ oauthProvider];

export const MIGRATIONS: Record<Dialect, readonly Migration[]> = { sqlite: render(SOURCES, 'sqlite'), postgres: render(SOURCES, 'postgres') };
