import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';

type SerializerFactory = ReturnType<typeof SerializerSelector>;

/**
 * How answers become JSON: each route's response schema is its serializer, compiled by
 * fast-json-stringify exactly as Fastify would (the schema is the allow-list of what leaves).
 * A frozen view (views.ts freezes those built once per immutable user or item) is serialized once
 * per schema and its text reused: the cached principal's user is the same object request after
 * request, so its text need not be built again. Anything not frozen is serialized every time.
 */
export function memoizingSerializers(): SerializerFactory {
  const factory = SerializerSelector();
  return (externalSchemas, options) => {
    const compile = factory(externalSchemas, options);
    return (route) => {
      const serialize = compile(route);
      const texts = new WeakMap<object, string>();
      return (data: unknown) => {
        if (typeof data !== 'object' || data === null || !Object.isFrozen(data)) return serialize(data);
        let text = texts.get(data);
        if (text === undefined) texts.set(data, (text = serialize(data)));
        return text;
      };
    };
  };
}
