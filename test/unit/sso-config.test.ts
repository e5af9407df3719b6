import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { usernameCandidates } from '../../src/core/federation/usernames.js';

const load = (providers: unknown) => loadConfig({ DATABASE_URL: 'sqlite::memory:', SSO_PROVIDERS: typeof providers === 'string' ? providers : JSON.stringify(providers) });
const problemsOf = (providers: unknown): readonly string[] => {
  try {
    load(providers);
    return [];
  } catch (error) {
    return (error as ConfigError).problems;
  }
};

describe('SSO_PROVIDERS', () => {
  it('fills in the presets: Google, Microsoft (a tenant), GitLab, GitHub, a generic issuer', () => {
    const config = load([
      { preset: 'google', client_id: 'g', client_secret: 's' },
      { preset: 'microsoft', tenant: 'contoso.onmicrosoft.com', client_id: 'm' },
      { preset: 'gitlab', client_id: 'gl' },
      { preset: 'github', client_id: 'gh', client_secret: 's' },
      { id: 'corp', name: 'Corp SSO', issuer: 'https://sso.corp.example/realms/main/', client_id: 'c' },
    ]);
    expect(config.ssoProviders.map((p) => [p.id, p.type, p.issuer ?? p.apiUrl])).toEqual([
      ['google', 'oidc', 'https://accounts.google.com'],
      ['microsoft', 'oidc', 'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0'],
      ['gitlab', 'oidc', 'https://gitlab.com'],
      ['github', 'github', 'https://api.github.com'],
      ['corp', 'oidc', 'https://sso.corp.example/realms/main'],
    ]);
    expect(config.ssoProviders[3]!.scopes).toEqual(['read:user', 'user:email']);
    expect(config.ssoProviders[0]!.scopes).toEqual(['openid', 'email', 'profile']);
  });

  it('lists every problem at once: bad id, plain http to another host, missing client id, a tenant that cannot be checked, duplicates, unknown keys', () => {
    const problems = problemsOf([
      { id: 'Bad_Id', issuer: 'http://idp.example.com', client_id: 'x' },
      { preset: 'microsoft', tenant: 'common', client_id: 'm' },
      { preset: 'google' },
      { preset: 'github', client_id: 'gh' },
      { preset: 'google', client_id: 'a' },
      { preset: 'google', client_id: 'b' },
      { preset: 'nope', client_id: 'x', colour: 'red' },
    ]);
    expect(problems.join('\n')).toMatch(/SSO_PROVIDERS\[0\]: id must be/);
    expect(problems.join('\n')).toMatch(/SSO_PROVIDERS\[0\]: issuer must be an https URL/);
    expect(problems.join('\n')).toMatch(/SSO_PROVIDERS\[1\]: tenant must be your directory/);
    expect(problems.join('\n')).toMatch(/SSO_PROVIDERS\[2\]: client_id is required/);
    expect(problems.join('\n')).toMatch(/SSO_PROVIDERS\[3\]: client_secret is required for GitHub/);
    expect(problems.join('\n')).toMatch(/SSO_PROVIDERS\[5\]: id "google" is used twice/);
    expect(problems.join('\n')).toMatch(/SSO_PROVIDERS\[6\]: unknown setting "colour"/);
    expect(problems.join('\n')).toMatch(/SSO_PROVIDERS\[6\]: preset must be one of/);
    expect(problemsOf('not json')[0]).toMatch(/SSO_PROVIDERS must be a JSON array of providers or the path of a file/);
    expect(problemsOf('{"a":1}')[0]).toMatch(/must be a JSON array/);
  });

  it('a JSON mistake is reported by position only, never with the text around it (it quotes client secrets)', () => {
    for (const broken of ['[{"id": "a", "client_secret": hunter2-very-secret-value}]', '[{"id": "a", "client_secret": "hunter2-very-secret-value"']) {
      const problems = problemsOf(broken);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^SSO_PROVIDERS is not valid JSON( \(at position \d+\))?$/);
      expect(problems.join('\n')).not.toContain('hunter2');
    }
  });

  it('reads a file when given a path (secrets kept out of the environment)', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gatehouse-sso-')), 'providers.json');
    writeFileSync(file, JSON.stringify([{ id: 'local', issuer: 'http://127.0.0.1:5556/dex', client_id: 'x', client_secret: 'y' }]));
    expect(load(file).ssoProviders[0]).toMatchObject({ id: 'local', issuer: 'http://127.0.0.1:5556/dex', clientSecret: 'y' });
  });
});

describe('usernames derived for users created from a provider (ID-02..04)', () => {
  it('canonical, within the rules, without invisible or direction characters, and always with fallbacks', () => {
    const names = usernameCandidates(['Ada Lovelace\u202e', 'x'], 'ADA@Example.com', null);
    expect(names[0]).toBe('ada.lovelace');
    expect(names).toContain('ada');
    expect(names.every((n) => !/[\u202e\u200b ]/.test(n) && n === n.toLowerCase())).toBe(true);
    expect(names.filter((n) => /^ada\.lovelace-[0-9a-f]{6}$/.test(n))).toHaveLength(4);
    expect(usernameCandidates(['\u200b\u200b'], null, null)[0]).toBe('user');
    expect(usernameCandidates(['ΣΟΦΙΑ'], null, null)[0]).toBe('σοφια');
  });
});
