import type { preParsingHookHandler, preValidationHookHandler } from 'fastify';

/**
 * Route hooks for a POST whose body is optional (/auth/refresh, /auth/logout): no body, an empty
 * body labelled JSON (what `fetch(url, { method: 'POST', headers: { 'content-type':
 * 'application/json' } })` sends) and `{}` all mean the same thing. Spread into the route options.
 */
export const optionalBody: { config: { bodyOptional: true }; preParsing: preParsingHookHandler; preValidation: preValidationHookHandler } = {
  // Read by the OpenAPI pass (src/http/openapi.ts): the document marks the body optional.
  config: { bodyOptional: true },
  preParsing: (request, _reply, payload, done) => {
    // Nothing to parse: without the label Fastify hands the route no body instead of refusing "empty JSON".
    const length = request.headers['content-length'];
    if ((length === undefined || length === '0') && request.headers['transfer-encoding'] === undefined) delete request.headers['content-type'];
    done(null, payload);
  },
  preValidation: (request, _reply, done) => {
    request.body ??= {};
    done();
  },
};
