import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { createApi, type Api, type User } from './api';
import { messages } from './messages';
import { AccountPage } from './pages/account';
import { AdminPage } from './pages/admin';
import { LoginPage } from './pages/login';
import { RegisterPage } from './pages/register';
import { ForgotPage } from './pages/forgot';
import { ResetPage } from './pages/reset';
import { VerifyPage } from './pages/verify';
import { ConsentPage } from './pages/consent';
import { safeRedirect } from './redirect';
import { navigate, onLinkClick, useLocation } from './router';
import { readSettings, type UiSettings } from './settings';
import './styles.css';

/**
 * The sign-in page that leads back to `path`. An authorization request comes back with its query
 * (the request id) and hands its login_hint to the sign-in form.
 */
function loginFor(path: string): string {
  if (path === '/ui') return PAGES.login;
  if (path !== PAGES.consent) return `${PAGES.login}?${new URLSearchParams({ redirect_to: path })}`;
  const hint = new URLSearchParams(location.search).get('login_hint');
  return `${PAGES.login}?${new URLSearchParams({ redirect_to: path + location.search, ...(hint ? { login_hint: hint } : {}) })}`;
}

const currentPath = (url: { pathname: string } = location) => url.pathname.replace(/\/+$/, '') || '/ui';

const PAGES = {
  login: '/ui/login',
  register: '/ui/register',
  account: '/ui/account',
  admin: '/ui/admin',
  forgot: '/ui/forgot',
  reset: '/ui/reset',
  verify: '/ui/verify',
  consent: '/ui/consent',
} as const;

function App({ api, settings }: { api: Api; settings: UiSettings }) {
  const url = useLocation();
  // undefined while the page finds out whether a session exists.
  const [user, setUser] = useState<User | null | undefined>(undefined);

  useEffect(() => {
    let live = true;
    api.currentUser().then(
      (found) => live && setUser(found),
      () => live && setUser(null),
    );
    const off = api.client.on('signed-out', () => setUser(null));
    return () => {
      live = false;
      off();
    };
  }, [api]);

  const path = currentPath(url);
  const redirectTo = url.searchParams.get('redirect_to');
  // Carried between sign-in and sign-up so the way back survives a detour.
  const withRedirect = (href: string) => (redirectTo ? `${href}?${new URLSearchParams({ redirect_to: redirectTo })}` : href);
  // The effect below then leads on from the sign-in or sign-up page.
  const signedIn = (found: User) => setUser(found);

  useEffect(() => {
    if (user === undefined) return;
    // Where the browser is now, not where it was at this render: effects run after paint, and a
    // sign-out may have moved on since.
    const path = currentPath();
    const redirectTo = new URLSearchParams(location.search).get('redirect_to');
    const needsSession = path === PAGES.account || path === PAGES.admin || path === PAGES.consent || path === '/ui';
    // Signed in (just now, or already): the sign-in and sign-up pages lead on to redirect_to (WEB-03).
    if (user && (path === PAGES.login || path === PAGES.register))
      navigate(safeRedirect(redirectTo, location.href, settings.redirectOrigins, new URL(PAGES.account, location.origin).href), true);
    else if (needsSession && user === null) navigate(loginFor(path), true);
    else if (path === '/ui' && user) navigate(PAGES.account, true);
  }, [user, path]);

  // After moving between pages (not on arrival), a screen reader starts at the new page unless a
  // field took focus.
  const arrived = useRef(true);
  useEffect(() => {
    if (user === undefined) return;
    if (arrived.current) {
      arrived.current = false;
      return;
    }
    const timer = setTimeout(() => {
      if (document.activeElement === document.body || document.activeElement === null) document.getElementById('main')?.focus();
    }, 0);
    return () => clearTimeout(timer);
  }, [path, user === undefined]);

  useEffect(() => {
    const page = {
      [PAGES.login]: messages.login.title,
      [PAGES.register]: messages.register.title,
      [PAGES.account]: messages.account.title,
      [PAGES.admin]: messages.admin.title,
      [PAGES.forgot]: messages.forgot.title,
      [PAGES.reset]: messages.reset.title,
      [PAGES.verify]: messages.verify.title,
      [PAGES.consent]: messages.consent.title,
    }[path];
    document.title = page ? `${page} · ${settings.title}` : settings.title;
  }, [path]);

  const signOut = async () => {
    try {
      await api.signOut('local');
    } finally {
      setUser(null);
      navigate(PAGES.login, true);
    }
  };

  let main;
  if (user === undefined)
    main = (
      <p class="loading" role="status">
        {messages.app.loading}
      </p>
    );
  else if (path === PAGES.login) main = <LoginPage api={api} onSignedIn={signedIn} registerHref={withRedirect(PAGES.register)} />;
  else if (path === PAGES.register) main = <RegisterPage api={api} onSignedIn={signedIn} loginHref={withRedirect(PAGES.login)} />;
  else if (path === PAGES.account && user) main = <AccountPage api={api} user={user} onUser={setUser} onSignedOut={() => setUser(null)} />;
  else if (path === PAGES.admin && user) main = <AdminPage api={api} user={user} settings={settings} />;
  // The email pages work signed in or not: their links come from a message.
  else if (path === PAGES.forgot) main = <ForgotPage api={api} loginHref={PAGES.login} />;
  else if (path === PAGES.reset) main = <ResetPage api={api} loginHref={PAGES.login} forgotHref={PAGES.forgot} />;
  else if (path === PAGES.verify) main = <VerifyPage api={api} accountHref={PAGES.account} />;
  // prompt=login / max_age: this sign-in is too old for the application; sign in afresh.
  else if (path === PAGES.consent && user) main = <ConsentPage api={api} onSignInAgain={() => void api.signOut('local').finally(() => setUser(null))} />;
  else if (user === null || path === '/ui')
    main = (
      <p class="loading" role="status">
        {messages.app.loading}
      </p>
    );
  else main = <p class="card">{messages.app.notFound}</p>;

  return (
    <>
      <a class="skip" href="#main">
        {messages.app.skipToContent}
      </a>
      <header class="topbar">
        <a class="brand" href={user ? PAGES.account : PAGES.login} onClick={onLinkClick}>
          {settings.logoUrl && <img src={settings.logoUrl} alt="" class="brand-logo" />}
          <span>{settings.title}</span>
        </a>
        {user && (
          <nav aria-label={messages.app.mainNavigation} class="nav">
            <a href={PAGES.account} onClick={onLinkClick} aria-current={path === PAGES.account ? 'page' : undefined}>
              {messages.app.account}
            </a>
            {user.role === 'admin' && (
              <a href={PAGES.admin} onClick={onLinkClick} aria-current={path === PAGES.admin ? 'page' : undefined}>
                {messages.app.admin}
              </a>
            )}
            <button type="button" class="button button--quiet" onClick={signOut}>
              {messages.app.signOut}
            </button>
          </nav>
        )}
      </header>
      <main id="main" tabIndex={-1} class={path === PAGES.admin ? 'wide' : undefined}>
        {!settings.refreshCookie && user && <p class="note">{messages.app.memoryModeNote}</p>}
        {main}
      </main>
    </>
  );
}

const settings = readSettings();
render(<App api={createApi(settings)} settings={settings} />, document.getElementById('app')!);
