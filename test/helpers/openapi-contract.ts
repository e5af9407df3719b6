import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS; its default export arrives wrapped once more under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv2020) => void;

type Doc = { paths: Record<string, Record<string, Operation>>; components?: object } & Record<string, unknown>;
type Header = { required?: boolean; schema?: { type?: string } };
type Response = { headers?: Record<string, Header>; content?: Record<string, { schema?: object }> };
type Operation = { operationId: string; responses: Record<string, Response> };

/** What is checked of an answer: an inject() response, or a raw one from a socket. */
export interface Answer {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[] | number | undefined>;
  readonly body: string;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/**
 * The served OpenAPI document as a contract that real responses are checked against: the status
 * must be declared for the operation, the Content-Type must be a declared media type, the body must
 * validate against the declared schema (Ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses, with the
 * document's components), and the declared required headers must be there.
 */
export class OpenApiContract {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly templates: { method: string; template: string; pattern: RegExp; literal: number }[] = [];
  /** Statuses seen per operationId. */
  readonly seen = new Map<string, Set<number>>();
  readonly failures: string[] = [];
  checked = 0;

  constructor(readonly doc: Doc) {
    addFormats(this.ajv);
    this.ajv.addSchema(doc as object, 'openapi');
    for (const [template, item] of Object.entries(doc.paths)) {
      for (const method of METHODS) {
        if (!item[method]) continue;
        const source = template
          .split('/')
          .map((s) => (/^\{.+\}$/.test(s) ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
          .join('/');
        this.templates.push({ method, template, pattern: new RegExp(`^${source}$`), literal: template.split('/').filter((s) => !s.startsWith('{')).length });
      }
    }
    // Literal segments win over parameters, as in the router.
    this.templates.sort((a, b) => b.literal - a.literal);
  }

  /** Every operation, as `METHOD /template` with its operationId. */
  operations(): { method: string; template: string; operationId: string }[] {
    return this.templates.map(({ method, template }) => ({ method, template, operationId: this.doc.paths[template]![method]!.operationId }));
  }

  /** The operation a request addresses, or null when the document has none (the answer is then not checked). */
  find(method: string, url: string): { template: string; op: Operation; method: string } | null {
    const path = url.split('?')[0]!;
    const m = method.toLowerCase();
    const hit = this.templates.find((t) => t.method === m && t.pattern.test(path));
    return hit ? { template: hit.template, method: m, op: this.doc.paths[hit.template]![m]! } : null;
  }

  private validator(ref: string): ValidateFunction {
    let v = this.validators.get(ref);
    if (!v) {
      v = this.ajv.getSchema(`openapi#${ref}`);
      if (!v) throw new Error(`no schema at ${ref}`);
      this.validators.set(ref, v);
    }
    return v;
  }

  /** Checks one answer; failures are collected (with `label`) rather than thrown, so a run lists them all. */
  check(label: string, method: string, url: string, res: Answer): void {
    const found = this.find(method, url);
    if (!found) return;
    const { template, op } = found;
    this.checked++;
    const where = `${label}: ${method.toUpperCase()} ${url.slice(0, 80)} → ${res.statusCode}`;
    const fail = (why: string): void => {
      this.failures.push(`${where} (${op.operationId}): ${why}`);
    };
    const statuses = this.seen.get(op.operationId) ?? new Set();
    statuses.add(res.statusCode);
    this.seen.set(op.operationId, statuses);

    const key = String(res.statusCode);
    const declared = op.responses[key] ?? op.responses[`${key[0]}XX`] ?? op.responses.default;
    if (!declared) return fail(`status not declared (declared: ${Object.keys(op.responses).join(', ')})`);

    for (const [name, header] of Object.entries(declared.headers ?? {})) {
      const value = res.headers[name.toLowerCase()];
      if (value === undefined) {
        if (header.required) fail(`required header ${name} missing`);
      } else if (header.schema?.type === 'integer' && !/^\d+$/.test(String(value))) {
        fail(`header ${name}: "${String(value)}" is not an integer`);
      }
    }

    const hasBody = res.body.length > 0;
    if (!declared.content) {
      if (hasBody) fail(`body sent but none declared: ${res.body.slice(0, 120)}`);
      return;
    }
    const media = String(res.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase();
    const entry = declared.content[media];
    if (!entry) return fail(`Content-Type ${media || '(none)'} not declared (declared: ${Object.keys(declared.content).join(', ')}); body ${res.body.slice(0, 160)}`);
    if (!entry.schema) return;
    let body: unknown = res.body;
    if (media.endsWith('json')) {
      try {
        body = JSON.parse(res.body);
      } catch {
        return fail(`body is not JSON: ${res.body.slice(0, 120)}`);
      }
    }
    const validate = this.validator(
      `/${pointer('paths', template, found.method, 'responses', key in op.responses ? key : Object.keys(op.responses).find((k) => op.responses[k] === declared)!, 'content', media, 'schema')}`,
    );
    if (!validate(body)) fail(`body does not match the declared schema: ${this.ajv.errorsText(validate.errors)}; body ${res.body.slice(0, 200)}`);
  }
}
