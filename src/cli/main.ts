#!/usr/bin/env node
import { collectStartupGarbage, warmUpNextTick } from './v8-tuning.js';
import 'dotenv/config';
import cluster from 'node:cluster';
import { parseArgs } from 'node:util';
import { runPrimary } from '../cluster/primary.js';
import { ConfigError, loadConfig, type Config } from '../config/index.js';
import type { AsymmetricAlgorithm } from '../core/auth/key-ring.js';
import { AppError, ValidationError } from '../core/errors.js';
import { ROLES, type GrantType, type Role } from '../core/model.js';
import { OPERATOR } from '../core/users/user-service.js';
import { auditEventView } from '../views/audit-event.js';
import { closeOnSignals, startServer } from '../server.js';
import { createServices, type Services } from '../services.js';
import { migrate, migrationStatus, openDriver, openStorage } from '../storage/open.js';
import { connectShared } from '../storage/redis/connect.js';
import { readPassword } from './password-input.js';
import { commandArgs, UnknownOptionError } from './args.js';
import { resolveSsoProvider } from '../config/sso.js';
import { MigrationChangedError, type MigrationStatus } from '../storage/sql/migration-check.js';
import { headerSafe } from '../core/email/compose.js';
import { smtpOptions, SmtpTransport } from '../mail/smtp-transport.js';
import { TemplateComposer } from '../mail/templates.js';
import type { MailSendError } from '../mail/transport.js';

const USAGE = `gatehouse: a self-hosted authentication service

Usage:
  gatehouse serve                                   run the HTTP service (the default)
  gatehouse migrate [--dry-run]                     apply database migrations and exit; with
                                                    --dry-run, list what would be applied, apply nothing
  gatehouse users create --username U --email E [--name N] [--admin]
                                                    create a user; the password is read from a
                                                    prompt, or from standard input when piped
  gatehouse users set-role <user> <user|admin>      <user> is an id, username or email
  gatehouse users disable <user>                    sign the user out everywhere and block logins
  gatehouse users enable <user>
  gatehouse keys list                               signing keys and where each stands
  gatehouse keys rotate [--algorithm ALG]           publish a new key; it signs after KEY_RELOAD_INTERVAL×2
                                                    plus 60 s. Its algorithm is the stored keys';
                                                    --algorithm EdDSA|ES256|RS256 changes it
  gatehouse keys retire <kid>                       withdraw a key now: tokens it signed stop verifying
  gatehouse clients create --name N --type public|confidential [--redirect-uri U]... [--scope S]...
                 [--grant G]... [--post-logout-redirect-uri U]... [--first-party]
                                                    register an OAuth client; a confidential client's
                                                    secret is printed this once
  gatehouse clients list                            registered OAuth clients
  gatehouse clients rotate-secret <id> [--drop-previous]
                                                    a new secret (printed once); the previous one stays
                                                    valid beside it unless --drop-previous
  gatehouse clients delete <id>                     remove a client
  gatehouse audit tail [-n N] [--follow]            the last N security events as JSON lines
  gatehouse mail test --to ADDRESS                  send a test message now through SMTP_URL; prints the
                                                    server's reply, or exactly why it failed
  gatehouse mail outbox [-n N]                      the last N queued messages (in development, with
                                                    their links: this is the development outbox)
  gatehouse providers list                          identity providers (SSO_PROVIDERS and stored ones)
  gatehouse providers add <id> --preset P --client-id ID [--issuer URL] [--name N] [--tenant T]
        [--scopes "a b"] [--authorization-endpoint URL] [--token-endpoint URL] [--api-url URL]
                                                    store a provider (P: google, microsoft, gitlab,
                                                    github, oidc); the client secret is read from a
                                                    prompt or standard input and stored encrypted
  gatehouse providers remove <id>
  gatehouse prune                                   delete sessions that ended over a week ago (the
                                                    service also does this every hour)

Configuration comes from the environment or a .env file; see README.md.`;

async function withServices<T>(config: Config, work: (services: Services) => Promise<T>): Promise<T> {
  const storage = await openStorage(config.databaseUrl);
  // With Redis, running instances hear of the CLI's changes at once instead of at their next poll.
  const shared = await connectShared(config.redisUrl, (error) => console.error('gatehouse: redis:', error instanceof Error ? error.message : error), config.redisPrefix);
  try {
    return await work(await createServices(config, storage, { bus: shared.bus, counters: shared.counters }));
  } finally {
    await shared.close();
    await storage.close();
  }
}

async function findUser(services: Services, reference: string | undefined) {
  if (!reference) throw new UsageError('name the user by id, username or email');
  const user = await services.users.find(reference);
  if (!user) throw new CliError(`no user "${reference}"`);
  return user;
}

/** The command line was wrong: say so, with the usage. */
class UsageError extends Error {}
/** The command was right but cannot be done: say why, without the usage. */
class CliError extends Error {}

// The audit log names the CLI as where an operator's change came from.
const CLI_CONTEXT = { userAgent: 'gatehouse-cli' };
const ASYMMETRIC: readonly string[] = ['EdDSA', 'ES256', 'RS256'] satisfies AsymmetricAlgorithm[];

const MIGRATION_STATES: Record<MigrationStatus['state'], string> = {
  pending: 'would be applied',
  applied: 'applied, checksum matches',
  unrecorded: 'applied, no checksum yet (recorded by the next migrate or start)',
  changed: 'applied, CHANGED since (checksum mismatch: the start would stop)',
};

/** `migrate --dry-run`: one line per migration, then what a real run would do. */
function printMigrationStatus(status: readonly MigrationStatus[]): void {
  for (const m of status) console.log(`${String(m.version).padStart(4, '0')} ${m.name}: ${MIGRATION_STATES[m.state]} (${m.checksum.slice(0, 19)})`);
  const pending = status.filter((m) => m.state === 'pending').map((m) => m.version);
  const changed = status.filter((m) => m.state === 'changed');
  if (changed.length) console.log(`dry run: migrate would stop: ${new MigrationChangedError(changed).message}`);
  else console.log(pending.length ? `dry run: would apply migrations ${pending.join(', ')}; nothing applied` : 'dry run: the database is up to date; nothing applied');
}

async function usersCommand(config: Config, args: string[]): Promise<void> {
  const [action, ...rest] = args;
  const { values, positionals } = commandArgs(rest, {
    username: { type: 'string' },
    email: { type: 'string' },
    name: { type: 'string' },
    admin: { type: 'boolean', default: false },
  });
  await withServices(config, async (services) => {
    switch (action) {
      case 'create': {
        if (!values.username || !values.email) throw new UsageError('users create needs --username and --email');
        // Never from argv: it would sit in the shell history and in `ps` for everyone to read.
        const password = await readPassword(`Password for ${values.username}: `);
        if (password === '') throw new CliError('no password given (type it at the prompt, or pipe it on standard input)');
        const user = await services.users.create(
          {
            username: values.username,
            email: values.email,
            name: values.name ?? null,
            password,
            role: values.admin ? 'admin' : 'user',
          },
          OPERATOR,
          CLI_CONTEXT,
        );
        console.log(`created ${user.role} ${user.username} (${user.id})`);
        return;
      }
      case 'set-role': {
        const role = positionals[1] as Role;
        if (!ROLES.includes(role)) throw new UsageError(`role must be one of ${ROLES.join(', ')}`);
        const user = await services.users.update(OPERATOR, (await findUser(services, positionals[0])).id, { role }, CLI_CONTEXT);
        console.log(`${user.username} is now ${user.role}`);
        return;
      }
      case 'disable':
      case 'enable': {
        const user = await services.users.update(OPERATOR, (await findUser(services, positionals[0])).id, { disabled: action === 'disable' }, CLI_CONTEXT);
        console.log(`${user.username} is ${user.disabled ? 'disabled' : 'enabled'}`);
        return;
      }
      default:
        throw new UsageError(`unknown users command "${action ?? ''}"`);
    }
  });
}

async function keysCommand(config: Config, args: string[]): Promise<void> {
  const [action, ...rest] = args;
  const { values, positionals } = commandArgs(rest, { algorithm: { type: 'string' } });
  const kid = positionals[0];
  const algorithm = values.algorithm;
  if (algorithm !== undefined && (action !== 'rotate' || !ASYMMETRIC.includes(algorithm as AsymmetricAlgorithm))) {
    throw new UsageError(
      action === 'rotate' ? `--algorithm must be one of ${ASYMMETRIC.join(', ')} (HS256 is a JWT_SECRET, not a stored key)` : '--algorithm belongs to keys rotate',
    );
  }
  await withServices(config, async ({ keys }) => {
    switch (action) {
      case 'list':
        console.log(['kid', 'alg', 'state', 'created', 'retired'].join('\t'));
        for (const k of await keys.list()) {
          console.log([k.kid, k.alg, k.state, new Date(k.createdAt).toISOString(), k.retiredAt ? new Date(k.retiredAt).toISOString() : ''].join('\t').trimEnd());
        }
        return;
      case 'rotate': {
        const before = await keys.storedAlgorithm();
        const key = await keys.rotate(CLI_CONTEXT, algorithm as AsymmetricAlgorithm | undefined);
        console.log(`published ${key.alg} key ${key.kid}; it signs from ${new Date(key.createdAt + config.keyPropagationMs).toISOString()}`);
        if (before !== null && before !== key.alg) {
          console.log(
            `changed the algorithm from ${before} to ${key.alg}: ${before} keys verify until their tokens expire. Set JWT_ALGORITHM=${key.alg} (or leave it unset) on every instance before it next starts.`,
          );
        } else {
          console.log(`${key.alg}: ${before === null ? 'the first key, from JWT_ALGORITHM' : "the algorithm of this deployment's stored keys"}`);
        }
        return;
      }
      case 'retire':
        if (!kid) throw new UsageError('keys retire needs a kid (see gatehouse keys list)');
        await keys.retire(kid, CLI_CONTEXT);
        console.log(`retired ${kid}`);
        return;
      default:
        throw new UsageError(`unknown keys command "${action ?? ''}"`);
    }
  });
}

const CLIENT_OPTIONS = {
  name: { type: 'string' },
  type: { type: 'string' },
  'redirect-uri': { type: 'string', multiple: true },
  'post-logout-redirect-uri': { type: 'string', multiple: true },
  grant: { type: 'string', multiple: true },
  scope: { type: 'string', multiple: true },
  'first-party': { type: 'boolean' },
  'drop-previous': { type: 'boolean' },
} as const;

async function clientsCommand(config: Config, args: string[]): Promise<void> {
  const [action, ...rest] = args;
  const { values, positionals } = commandArgs(rest, CLIENT_OPTIONS);
  const id = positionals[0];
  await withServices(config, async ({ oauth }) => {
    const printSecret = (secret: string | null) => {
      // OIDC-05: shown this once; only its hash is kept.
      if (secret) console.log(`client_secret: ${secret}\n(store it now: it is not shown again)`);
    };
    switch (action) {
      case 'create': {
        if (!values.name || (values.type !== 'public' && values.type !== 'confidential')) throw new UsageError('clients create needs --name and --type public|confidential');
        const { client, secret } = await oauth.clients.create(
          {
            name: values.name,
            type: values.type,
            firstParty: values['first-party'] ?? false,
            ...(values.grant ? { grantTypes: values.grant as GrantType[] } : {}),
            scopes: values.scope ?? [],
            redirectUris: values['redirect-uri'] ?? [],
            postLogoutRedirectUris: values['post-logout-redirect-uri'] ?? [],
          },
          null,
          CLI_CONTEXT,
        );
        console.log(`client_id: ${client.id}\ntype: ${client.type}\ngrant_types: ${client.grantTypes.join(' ')}`);
        printSecret(secret);
        return;
      }
      case 'list': {
        console.log(['id', 'name', 'type', 'first_party', 'grant_types', 'redirect_uris'].join('\t'));
        let after: string | undefined;
        do {
          const page = await oauth.clients.list({ limit: 100, after });
          for (const c of page.items) console.log([c.id, c.name, c.type, c.firstParty, c.grantTypes.join(' '), c.redirectUris.join(' ')].join('\t'));
          after = page.next ?? undefined;
        } while (after);
        return;
      }
      case 'rotate-secret': {
        if (!id) throw new UsageError('clients rotate-secret needs a client id');
        const { client, secret } = await oauth.clients.rotateSecret(id, !values['drop-previous'], null, CLI_CONTEXT);
        console.log(`client_id: ${client.id}\nactive secrets: ${client.secretHashes.length}`);
        printSecret(secret);
        return;
      }
      case 'delete':
        if (!id) throw new UsageError('clients delete needs a client id');
        await oauth.clients.delete(id, null, CLI_CONTEXT);
        console.log(`deleted ${id}`);
        return;
      default:
        throw new UsageError(`unknown clients command "${action ?? ''}"`);
    }
  });
}

async function mailCommand(config: Config, args: string[]): Promise<void> {
  const [action, ...rest] = args;
  if (action === 'test') {
    const { values } = parseArgs({ args: rest, options: { to: { type: 'string' } } });
    if (!values.to) throw new UsageError('mail test needs --to ADDRESS');
    if (!config.mail.smtpUrl) throw new CliError('SMTP_URL is not set: mail goes to the development outbox, there is no server to test (see README "Mail")');
    // No database needed: this talks to the SMTP server only.
    const to = headerSafe(values.to);
    if (!/^[^\s@]+@[^\s@]+$/.test(to)) throw new UsageError('--to must be an email address');
    const content = new TemplateComposer(config.mail.templatesDir).compose('test', { product: config.mail.productName, name: '', email: to });
    const transport = new SmtpTransport(config.mail);
    const { host, port, secure } = smtpOptions(config.mail);
    console.log(`sending to ${to} through ${host}:${port} (${secure ? 'TLS' : 'STARTTLS when offered'})...`);
    try {
      const { response } = await transport.send({ from: config.mail.from, to: { address: to, name: null }, ...content, messageId: `<test-${Date.now()}@gatehouse.invalid>` });
      console.log(`sent: the server answered ${response}`);
    } catch (error) {
      const e = error as MailSendError;
      throw new CliError(`mail test failed: ${e.message}${e.response && !e.message.includes(e.response) ? `\nserver reply: ${e.response}` : ''}`);
    } finally {
      transport.close();
    }
    return;
  }
  if (action === 'outbox') {
    const { values } = parseArgs({ args: rest, options: { n: { type: 'string', short: 'n', default: '10' } } });
    const count = Number(values.n);
    if (!Number.isInteger(count) || count < 1 || count > 100) throw new UsageError('-n takes a whole number from 1 to 100');
    const storage = await openStorage(config.databaseUrl);
    try {
      const { items } = await storage.outbox.list({ limit: count });
      if (items.length === 0) console.log('the outbox is empty');
      for (const m of items.reverse()) {
        const when = new Date(m.createdAt).toISOString();
        const state =
          m.state === 'queued' ? `queued (${m.attempts} tries${m.lastError ? `, last error: ${m.lastError}` : ''})` : m.state === 'failed' ? `failed: ${m.lastError}` : 'sent';
        console.log(`--- ${m.id} ${when} ${m.kind} ${state}\nTo: ${m.to}\nSubject: ${m.subject}\n\n${m.text || '(body dropped after sending)'}\n`);
      }
    } finally {
      await storage.close();
    }
    return;
  }
  throw new UsageError(`unknown mail command "${action ?? ''}"`);
}

async function auditCommand(config: Config, args: string[]): Promise<void> {
  const [action, ...rest] = args;
  if (action !== 'tail') throw new UsageError(`unknown audit command "${action ?? ''}"`);
  const { values } = parseArgs({ args: rest, options: { n: { type: 'string', short: 'n', default: '20' }, follow: { type: 'boolean', short: 'f', default: false } } });
  const count = Number(values.n);
  if (!Number.isInteger(count) || count < 1 || count > 100) throw new UsageError('-n takes a whole number from 1 to 100');
  await withServices(config, async ({ audit }) => {
    let lastId = '';
    // Pages come newest first; print oldest first, like tail.
    const printNew = async (limit: number) => {
      const fresh = (await audit.list({ limit })).items.filter((e) => e.id > lastId).reverse();
      for (const event of fresh) console.log(JSON.stringify(auditEventView(event)));
      if (fresh.length > 0) lastId = fresh[fresh.length - 1]!.id;
    };
    await printNew(count);
    while (values.follow) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await printNew(100);
    }
  });
}

async function providersCommand(config: Config, args: string[]): Promise<void> {
  const [action, ...rest] = args;
  const text = { type: 'string' } as const;
  const { values, positionals } = commandArgs(rest, {
    preset: text,
    'client-id': text,
    issuer: text,
    name: text,
    tenant: text,
    scopes: text,
    'authorization-endpoint': text,
    'token-endpoint': text,
    'api-url': text,
  });
  await withServices(config, async ({ providers, audit }) => {
    switch (action) {
      case 'list': {
        const all = await providers.list();
        if (all.length === 0) console.log('no identity providers configured');
        for (const p of all) {
          const where = p.type === 'github' ? p.apiUrl : p.issuer;
          console.log(`${p.id}\t${p.type}\t${p.name}\t${where}\tclient ${p.clientId}\t${p.hasSecret ? 'secret set' : 'no secret'}\t(${p.source})`);
        }
        return;
      }
      case 'add': {
        const [id] = positionals;
        if (!id || !values.preset || !values['client-id']) throw new UsageError('providers add needs <id>, --preset and --client-id');
        // Never from argv: it would sit in the shell history and in `ps` for everyone to read.
        const secret = await readPassword(`Client secret for ${id} (empty for none): `);
        const problems: string[] = [];
        const input = {
          id,
          preset: values.preset,
          client_id: values['client-id'],
          client_secret: secret || undefined,
          issuer: values.issuer,
          name: values.name,
          tenant: values.tenant,
          scopes: values.scopes,
          authorization_endpoint: values['authorization-endpoint'],
          token_endpoint: values['token-endpoint'],
          api_url: values['api-url'],
        };
        const resolved = resolveSsoProvider(Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)), `provider ${id}`, problems);
        if (!resolved) throw new CliError(problems.join('; '));
        const { clientSecret, preset: _preset, ...settings } = resolved;
        await providers.add(settings, clientSecret);
        // Who may sign people in is an operator's security decision: on the record (never the secret).
        await audit.record('sso.provider_added', CLI_CONTEXT, {
          details: { provider: resolved.id, type: resolved.type, issuer: resolved.issuer ?? resolved.apiUrl, client_id: resolved.clientId, has_secret: clientSecret !== null },
        });
        console.log(`added ${resolved.id} (${resolved.name}); callback URL to register at the provider: ${config.publicUrl}/auth/sso/${resolved.id}/callback`);
        return;
      }
      case 'remove': {
        if (!positionals[0]) throw new UsageError('providers remove needs <id>');
        await providers.remove(positionals[0]);
        await audit.record('sso.provider_removed', CLI_CONTEXT, { details: { provider: positionals[0] } });
        console.log(`removed ${positionals[0]}`);
        return;
      }
      default:
        throw new UsageError(`unknown providers command "${action ?? ''}"`);
    }
  });
}

export async function main(argv: string[]): Promise<number> {
  const [command = 'serve', ...args] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return 0;
  }
  try {
    const config = loadConfig(process.env);
    switch (command) {
      case 'serve': {
        if (config.workers > 1 && cluster.isPrimary) {
          await runPrimary(config);
          return -1; // the workers serve
        }
        warmUpNextTick();
        const server = await startServer(config, { beforeListen: collectStartupGarbage });
        closeOnSignals(server);
        return -1; // keep running
      }
      case 'migrate': {
        const { values } = parseArgs({ args, options: { 'dry-run': { type: 'boolean', default: false } } });
        const driver = openDriver(config.databaseUrl);
        try {
          if (values['dry-run']) {
            printMigrationStatus(await migrationStatus(driver));
            return 0;
          }
          const applied = await migrate(driver);
          console.log(applied.length ? `applied migrations ${applied.join(', ')}` : 'the database is up to date');
        } finally {
          await driver.close();
        }
        return 0;
      }
      case 'users':
        await usersCommand(config, args);
        return 0;
      case 'keys':
        await keysCommand(config, args);
        return 0;
      case 'clients':
        await clientsCommand(config, args);
        return 0;
      case 'audit':
        await auditCommand(config, args);
        return 0;
      case 'mail':
        await mailCommand(config, args);
        return 0;
      case 'providers':
        await providersCommand(config, args);
        return 0;
      case 'prune':
        await withServices(config, async ({ sessions, oauth }) => {
          console.log(`deleted ${await sessions.prune()} ended sessions`);
          console.log(`deleted ${await oauth.authorization.prune()} expired authorization requests and codes`);
        });
        return 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 2;
    }
    if (error instanceof UsageError || error instanceof UnknownOptionError || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      console.error(`gatehouse: ${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof CliError) {
      console.error(`gatehouse: ${error.message}`);
      return 1;
    }
    if ((error as { code?: string }).code === 'EADDRINUSE') {
      console.error(`gatehouse: port ${process.env.PORT ?? 3000} is already in use; stop the other server or set PORT`);
      return 1;
    }
    if (error instanceof ValidationError) {
      console.error(`gatehouse: ${error.errors.map((e) => `${e.field} ${e.message}`).join('; ')}`);
      return 1;
    }
    if (error instanceof AppError) {
      console.error(`gatehouse: ${error.message} (${error.code})`);
      return 1;
    }
    throw error;
  }
}

const code = await main(process.argv.slice(2));
if (code >= 0) process.exit(code);
