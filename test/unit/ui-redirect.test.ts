import { describe, expect, it } from 'vitest';
import { safeRedirect } from '../../web/src/redirect.js';

const HERE = 'https://auth.example.com/ui/login?redirect_to=x';
const FALLBACK = 'https://auth.example.com/ui/account';
const ALLOWED = ['https://app.example.com', 'http://localhost:5173'];
const go = (raw: string | null) => safeRedirect(raw, HERE, ALLOWED, FALLBACK);

describe('redirect_to after sign-in (WEB-03)', () => {
  it('WEB-03 follows paths on this origin and URLs on allow-listed origins', () => {
    expect(go('/ui/admin')).toBe('https://auth.example.com/ui/admin');
    expect(go('https://auth.example.com/docs#x')).toBe('https://auth.example.com/docs#x');
    expect(go('https://app.example.com/after?x=1')).toBe('https://app.example.com/after?x=1');
    expect(go('http://localhost:5173/')).toBe('http://localhost:5173/');
  });

  it('WEB-03 ignores every other target: other hosts, look-alikes, scheme tricks, credentials, malformed', () => {
    for (const raw of [
      'https://evil.example/',
      '//evil.example/path',
      '/\\evil.example/path',
      '\\\\evil.example',
      'https://app.example.com.evil.example/',
      'https://app.example.com@evil.example/',
      'https://user:pass@app.example.com/',
      'http://app.example.com/',
      'https://app.example.com:444/',
      'javascript:alert(document.cookie)',
      'JaVaScRiPt:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'http://[::1',
      '',
      null,
    ]) {
      expect(go(raw), String(raw)).toBe(FALLBACK);
    }
  });
});
