import swagger from '@fastify/swagger';
import { Type } from '@sinclair/typebox';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { describeRoutes, openapiOptions } from '../../src/http/openapi.js';
import { RATE_RULES, rateLimit } from '../../src/http/plugins/rate-limit.js';
import { OAuthError } from '../../src/http/schemas/auth.js';
import { Problem, bearer } from '../../src/http/schemas/common.js';
import { optionalBody } from '../../src/http/plugins/optional-body.js';
import type { Services } from '../../src/services.js';

type Doc = {
  paths: Record<
    string,
    Record<
      string,
      {
        operationId: string;
        security: unknown[];
        requestBody?: { required: boolean };
        responses: Record<string, { headers?: Record<string, { required?: boolean }>; content?: Record<string, unknown> }>;
      }
    >
  >;
};

/**
 * Routes this module has never seen get their common responses by being registered (IN-07): the
 * kinds are recognised from how the route is built, not from a list of URLs.
 */
describe('OpenAPI declarations for routes registered later (IN-07)', () => {
  it('IN-07 a new OAuth route, a new bearer route with a parameter and a new public route are each described by their kind', async () => {
    const config = loadConfig({ DATABASE_URL: 'sqlite::memory:', JWT_ISSUER: 'https://id.example' });
    const app = Fastify();
    describeRoutes(app);
    await app.register(swagger, openapiOptions(config, '1'));
    app.addSchema(Problem);
    app.addSchema(OAuthError);
    const services = { config } as unknown as Services;
    await app.register(async (scope) => {
      scope.post(
        '/oauth/revoke',
        { onRequest: rateLimit(services, RATE_RULES.login), schema: { body: Type.Object({ token: Type.String() }), response: { 200: Type.Null() } } },
        async () => null,
      );
      scope.delete('/widgets/:id', { ...optionalBody, schema: { security: bearer, body: Type.Object({}), response: { 204: Type.Null() } } }, async () => null);
      scope.get('/.well-known/oauth-authorization-server', { schema: { response: { 200: Type.Object({ issuer: Type.String() }) } } }, async () => ({ issuer: 'x' }));
    });
    await app.ready();
    const doc = app.swagger() as unknown as Doc;

    const revoke = doc.paths['/oauth/revoke']!.post!;
    expect(revoke.operationId).toBe('postOauthRevoke');
    expect(revoke.security).toEqual([]);
    expect(Object.keys(revoke.responses).sort()).toEqual(['200', '400', '413', '415', '429', '500']);
    // RFC 6749 error JSON on OAuth routes; problem details only where the root handler answers.
    expect(Object.keys(revoke.responses['400']!.content!)).toEqual(['application/json']);
    expect(Object.keys(revoke.responses['429']!.content!)).toEqual(['application/json']);
    expect(Object.keys(revoke.responses['500']!.content!)).toEqual(['application/problem+json']);
    expect(revoke.responses['429']!.headers!['Retry-After']!.required).toBe(true);
    expect(Object.keys(revoke.responses['200']!.headers!)).toEqual(['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset']);

    const widget = doc.paths['/widgets/{id}']!.delete!;
    expect(widget.operationId).toBe('deleteWidgetsById');
    expect(widget.security).toEqual([{ bearerAuth: [] }]);
    expect(widget.requestBody!.required).toBe(false);
    expect(Object.keys(widget.responses).sort()).toEqual(['204', '400', '401', '403', '413', '414', '415', '500']);
    expect(Object.keys(widget.responses['403']!.content!)).toEqual(['application/problem+json']);
    expect(Object.keys(widget.responses['401']!.content!)).toEqual(['application/problem+json']);
    expect(widget.responses['401']!.headers!['WWW-Authenticate']!.required).toBe(true);

    const metadata = doc.paths['/.well-known/oauth-authorization-server']!.get!;
    expect(metadata.security).toEqual([]);
    expect(Object.keys(metadata.responses).sort()).toEqual(['200', '500']);
    expect((doc as unknown as { servers: { url: string }[] }).servers[0]!.url).toBe('https://id.example');
    await app.close();
  });
});
