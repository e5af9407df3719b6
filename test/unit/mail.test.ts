import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { headerSafe, MAIL_KINDS } from '../../src/core/email/compose.js';
import { describeSmtpError } from '../../src/mail/smtp-transport.js';
import { TemplateComposer } from '../../src/mail/templates.js';

describe('EMAIL-05: headers', () => {
  it('EMAIL-05: CR, LF, other controls and line separators never survive into a header value', () => {
    for (const evil of ['Eve\r\nBcc: x@example.com', 'Eve\nX: y', 'Eve\u0000\u001b', 'Eve\u2028Bcc: z', 'Eve\u0085Bcc: z']) {
      // eslint-disable-next-line no-control-regex -- EMAIL-05: checks that no control character is left
      expect(headerSafe(evil)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    }
  });
});

describe('templates', () => {
  const vars = {
    product: 'Acme <Auth>',
    name: '<script>alert(1)</script>',
    email: 'a@example.com',
    link: 'https://auth.example.com/ui/verify#token=abc&x="1"',
    expires: '1 hour',
    code: '123456',
    new_email: 'b@example.com',
  };

  it('every kind renders a subject, a text part and an HTML part; HTML escapes every value', () => {
    const composer = new TemplateComposer();
    for (const kind of MAIL_KINDS) {
      const m = composer.compose(kind, vars);
      expect(m.subject.length, kind).toBeGreaterThan(0);
      expect(m.text, kind).toContain('Hello <script>');
      expect(m.html, kind).not.toContain('<script>');
      expect(m.html, kind).toContain('&#60;script&#62;');
    }
    const verify = composer.compose('verify_email', vars);
    expect(verify.text).toContain(vars.link);
    expect(verify.html).toContain('href="https://auth.example.com/ui/verify#token=abc&#38;x=&#34;1&#34;"');
  });

  it("a folder overrides the messages (translation) and one kind's layout", () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-templates-'));
    try {
      writeFileSync(
        join(dir, 'messages.json'),
        JSON.stringify({
          greeting: 'Hallo {{name}},',
          reset_password: { subject: '{{product}}: Passwort zurücksetzen', body: ['Der Link gilt {{expires}}.'], action: 'Neues Passwort wählen' },
        }),
      );
      writeFileSync(join(dir, 'sign_in.txt'), 'CODE {{code}}\n');
      const composer = new TemplateComposer(dir);
      const reset = composer.compose('reset_password', vars);
      expect(reset.subject).toBe('Acme <Auth>: Passwort zurücksetzen');
      expect(reset.text).toContain('Hallo <script>');
      expect(reset.text).toContain('Neues Passwort wählen:\n' + vars.link);
      expect(composer.compose('sign_in', vars).text).toBe('CODE 123456\n');
      // Untouched kinds keep the built-in sentences.
      expect(composer.compose('verify_email', vars).subject).toBe('Confirm your email address for Acme <Auth>');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SMTP errors an operator can act on', () => {
  it('says which failure it was and whether waiting helps', () => {
    const auth = describeSmtpError(Object.assign(new Error('Invalid login'), { code: 'EAUTH', responseCode: 535, response: '535 5.7.8 bad credentials', command: 'AUTH PLAIN' }));
    expect(auth.message).toMatch(/^EAUTH 535: authentication refused: 535 5\.7\.8 bad credentials/);
    expect(auth.transient).toBe(true);
    const rcpt = describeSmtpError(Object.assign(new Error('Recipient rejected'), { code: 'EENVELOPE', responseCode: 550, response: '550 no such user', command: 'RCPT TO' }));
    expect(rcpt.transient).toBe(false);
    const busy = describeSmtpError(Object.assign(new Error('try later'), { code: 'EENVELOPE', responseCode: 451, response: '451 greylisted', command: 'RCPT TO' }));
    expect(busy.transient).toBe(true);
    const refused = describeSmtpError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ESOCKET' }));
    expect(refused.message).toMatch(/connection failed: the server refused the connection/);
    const dns = describeSmtpError(Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.invalid'), { code: 'EDNS' }));
    expect(dns.message).toMatch(/DNS: the host name was not found/);
  });
});
