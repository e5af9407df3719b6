import type { Dialect, Migration } from '../sql/driver.js';
import core from './0001-core.js';
import audit from './0002-audit.js';
import sessionClient from './0003-session-client.js';
import usernameSkeleton from './0004-username-skeleton.js';
import email from './0005-email.js';
import secondFactors from './0006-second-factors.js';
import oauthProvider from './0007-oauth-provider.js';
import federation from './0008-federation.js';
import refreshChain from './0009-refresh-chain.js';
import { render, type MigrationSource } from './render.js';

/** Every migration in order, one file each: a new one is the next number's file and one line here. */
const SOURCES: readonly MigrationSource[] = [core, audit, sessionClient, usernameSkeleton, email, secondFactors, oauthProvider, federation, refreshChain];

export const MIGRATIONS: Record<Dialect, readonly Migration[]> = { sqlite: render(SOURCES, 'sqlite'), postgres: render(SOURCES, 'postgres') };
