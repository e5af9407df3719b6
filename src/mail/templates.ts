import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAIL_KINDS, type MailComposer, type MailContent, type MailKind } from '../core/email/compose.js';

interface KindMessages {
  readonly subject: string;
  readonly body: readonly string[];
  readonly action: string;
}

type Messages = Record<'greeting' | 'greeting_no_name' | 'footer', string> & Record<MailKind, KindMessages> & { lang?: string };

/** The shipped templates and messages (resources/mail); the same path from src/ and dist/. */
export const BUILT_IN_TEMPLATES = fileURLToPath(new URL('../../resources/mail/', import.meta.url));

const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** `{{name}}` → vars.name, through `escape`; unknown names become empty. */
function fill(template: string, vars: Readonly<Record<string, string>>, escape: (v: string) => string = (v) => v): string {
  return template.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (_, name: string) => escape(vars[name] ?? ''));
}

/**
 * Renders mail from a layout (layout.txt, layout.html) and one messages file (messages.json) that
 * holds every sentence, so a translation is one file. A folder given as MAIL_TEMPLATES overrides
 * any of them, and may add `<kind>.txt` / `<kind>.html` to replace one message's layout.
 * Variables are plain text: escaped in HTML, never able to add markup or links.
 */
export class TemplateComposer implements MailComposer {
  private readonly messages: Messages;
  private readonly layouts = new Map<string, string>();

  constructor(overrideDir: string | null = null) {
    const read = (name: string): string | null => {
      for (const dir of [overrideDir, BUILT_IN_TEMPLATES]) {
        if (dir && existsSync(join(dir, name))) return readFileSync(join(dir, name), 'utf8');
      }
      return null;
    };
    const builtIn = JSON.parse(readFileSync(join(BUILT_IN_TEMPLATES, 'messages.json'), 'utf8')) as Messages;
    const override =
      overrideDir && existsSync(join(overrideDir, 'messages.json')) ? (JSON.parse(readFileSync(join(overrideDir, 'messages.json'), 'utf8')) as Partial<Messages>) : {};
    this.messages = { ...builtIn, ...override } as Messages;
    for (const kind of MAIL_KINDS) {
      for (const part of ['txt', 'html']) {
        const layout = read(`${kind}.${part}`) ?? read(`layout.${part}`);
        if (layout === null) throw new TypeError(`mail template layout.${part} is missing`);
        this.layouts.set(`${kind}.${part}`, layout);
      }
    }
  }

  compose(kind: MailKind, vars: Readonly<Record<string, string>>): MailContent {
    const m = this.messages[kind];
    const line = (template: string) => fill(template, vars);
    const subject = line(m.subject);
    const greeting = vars.name ? line(this.messages.greeting) : line(this.messages.greeting_no_name);
    const body = m.body.map(line);
    const footer = line(this.messages.footer);
    const link = vars.link ?? '';
    const action = m.action && link ? line(m.action) : '';
    const plain = { ...vars, subject, greeting, footer, lang: this.messages.lang ?? 'en', body: body.join('\n\n'), action: action ? `\n${action}:\n${link}\n` : '' };
    const text = fill(this.layouts.get(`${kind}.txt`)!, plain);
    // Every value is escaped in HTML; the two blocks built here escape their parts before joining them.
    const htmlVars = { ...vars, subject, greeting, footer, lang: this.messages.lang ?? 'en' };
    const bodyHtml = body.map((p) => `<p style="margin:0 0 16px">${escapeHtml(p)}</p>`).join('\n');
    const actionHtml = action
      ? `<p style="margin:24px 0"><a href="${escapeHtml(link)}" style="display:inline-block;padding:12px 20px;background:#0b57d0;color:#fff;text-decoration:none;border-radius:6px">${escapeHtml(action)}</a></p>\n<p style="margin:0 0 16px;font-size:12px;color:#6e6e73;word-break:break-all">${escapeHtml(link)}</p>`
      : '';
    return { subject, text, html: this.fillBlocks(this.layouts.get(`${kind}.html`)!, htmlVars, bodyHtml, actionHtml) };
  }

  /** The HTML layout with its two blocks (body, action) already HTML, and every other value escaped. */
  private fillBlocks(layout: string, vars: Readonly<Record<string, string>>, body: string, action: string): string {
    return layout.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (_, name: string) => (name === 'body' ? body : name === 'action' ? action : escapeHtml(vars[name] ?? '')));
  }
}
