import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';

type SerializerFactory = ReturnType<typeof SerializerSelector>;

/**
 * How answers become JSON: each route's response schema is its serializer, compiled by
 * fast-json-stringify exactly as Fastify would (the schema is the allow-list of what leaves).
 *
 * One serializer per distinct schema, not per route and status: most routes declare the same
 * problem answers (400, 401, 403, 404, 429...), so compiling each again made 622 serializers of
 * 43 distinct schemas, at start and in memory (what a serializer writes depends on
 * its schema and the app's shared schemas only, both the same for every route of one app).
 *
 * A frozen view (views.ts freezes those built once per immutable user or item) is serialized once
 * per schema and its text reused: the cached principal's user is the same object request after
 * request, so its text need not be built again. Anything not frozen is serialized every time.
 */
export function memoizingSerializers(): SerializerFactory {
  const factory = SerializerSelector();
  // Fastify asks for a compiler per plugin context; each gets the app's shared schemas again.
  const byContext = new Map<string, Map<string, (data: unknown) => string>>();
  return (externalSchemas, options) => {
    const compile = factory(externalSchemas, options);
    const context = JSON.stringify([externalSchemas, options]);
    const serializers = byContext.get(context) ?? new Map<string, (data: unknown) => string>();
    byContext.set(context, serializers);
    return (route) => {
      const key = JSON.stringify(route.schema);
      let serializer = serializers.get(key);
      if (serializer === undefined) serializers.set(key, (serializer = memoizing(compile(route) as (data: unknown) => string)));
      return serializer;
    };
  };
}

function memoizing(serialize: (data: unknown) => string): (data: unknown) => string {
  const texts = new WeakMap<object, string>();
  return (data) => {
    if (typeof data !== 'object' || data === null || !Object.isFrozen(data)) return serialize(data);
    let text = texts.get(data);
    if (text === undefined) texts.set(data, (text = serialize(data)));
    return text;
  };
}
