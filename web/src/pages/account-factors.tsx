import { useEffect, useState } from 'preact/hooks';
import { STEP_UP_EVENT, type Api, type Factor, type TotpEnrolment } from '../api';
import { Field, FormNotices, Notice, Submit, missing, useForm } from '../components/form';
import { formatTime } from '../format';
import { messages } from '../messages';

const t = messages.account;

/** Appears when a change wanted a recent sign-in (RFC 9470): the password or a passkey again, then the change is retried. */
export function StepUp({ api }: { api: Api }) {
  const [needed, setNeeded] = useState(false);
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const form = useForm({ password: t.stepUpPassword, code: t.stepUpCode });
  useEffect(() => {
    const show = () => setNeeded(true);
    window.addEventListener(STEP_UP_EVENT, show);
    return () => window.removeEventListener(STEP_UP_EVENT, show);
  }, []);
  useEffect(() => {
    if (needed) document.getElementById('step-up')?.scrollIntoView({ block: 'center' });
  }, [needed]);
  if (!needed && !form.success) return null;

  const done = () => {
    setPassword('');
    setCode('');
    setNeeded(false);
    return t.stepUpDone;
  };
  const submit = (event: Event) => {
    event.preventDefault();
    const typed = code.trim();
    if (!password && !typed) return form.fail(messages.form.required(t.stepUpPassword), { password: messages.form.required(t.stepUpPassword) });
    void form.run(async () => {
      // An account with a second factor proves presence with it: six digits are an app's code, anything else a recovery code.
      await api.reauthenticate(typed ? (/^\d{6}$/.test(typed.replace(/\s/g, '')) ? { code: typed.replace(/\s/g, '') } : { recoveryCode: typed }) : { password });
      return done();
    });
  };
  return (
    <section class="card" aria-labelledby="step-up-title" id="step-up">
      <h2 id="step-up-title">{t.stepUpTitle}</h2>
      <FormNotices form={form} />
      {needed && (
        <form onSubmit={submit} noValidate>
          <p>{t.stepUpIntro}</p>
          <Field id="step-up-password" label={t.stepUpPassword} type="password" value={password} onInput={setPassword} autocomplete="current-password" autofocus />
          <Field id="step-up-code" label={t.stepUpCode} value={code} onInput={setCode} autocomplete="one-time-code" />
          <div class="actions">
            <Submit form={form} label={t.stepUpSubmit} />
            <button
              type="button"
              class="button"
              id="step-up-passkey"
              disabled={form.busy}
              onClick={() =>
                void form.run(async () => {
                  await api.reauthenticateWithPasskey();
                  return done();
                })
              }
            >
              {messages.login.usePasskey}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}

function FactorRow({ factor, busy, onRemove }: { factor: Factor; busy: boolean; onRemove: () => void }) {
  return (
    <li class="session" data-factor={factor.id}>
      <div>
        <strong>{factor.name}</strong>
        {factor.backup_state && <span class="badge">{t.synced}</span>}
        <dl class="facts">
          <div>
            <dt>{t.added}</dt>
            <dd>{formatTime(factor.created_at)}</dd>
          </div>
          <div>
            <dt>{t.lastUsedFactor}</dt>
            <dd>{factor.last_used_at ? formatTime(factor.last_used_at) : t.never}</dd>
          </div>
        </dl>
      </div>
      <button type="button" class="button" aria-label={t.removeFactor(factor.name)} disabled={busy} onClick={onRemove}>
        {t.remove}
      </button>
    </li>
  );
}

function RecoveryCodes({ codes }: { codes: readonly string[] }) {
  return (
    <div id="recovery-codes">
      <h3>{t.recoveryCodesTitle}</h3>
      <Notice kind="info">{t.recoveryCodesIntro}</Notice>
      <ol class="codes">
        {codes.map((code) => (
          <li key={code}>{code}</li>
        ))}
      </ol>
    </div>
  );
}

/** Authenticator apps (TOTP) and recovery codes, and passkeys, with what each one needs. */
export function Factors({ api }: { api: Api }) {
  const [factors, setFactors] = useState<Factor[] | null>(null);
  const [codesLeft, setCodesLeft] = useState(0);
  const [enrolment, setEnrolment] = useState<TotpEnrolment | null>(null);
  const [code, setCode] = useState('');
  const [codes, setCodes] = useState<string[] | null>(null);
  const [passkeyName, setPasskeyName] = useState('');
  const list = useForm();
  const totpForm = useForm({ code: t.confirmCode });
  const passkeyForm = useForm();
  const load = () =>
    list.run(async () => {
      const answer = await api.factors();
      setFactors(answer.items);
      setCodesLeft(answer.recovery_codes_left);
    });
  useEffect(() => void load(), []);

  const remove = (form: typeof totpForm, id: string) =>
    void form.run(async () => {
      await api.removeFactor(id);
      await load();
      return t.factorRemoved;
    });
  const startTotp = () =>
    void totpForm.run(async () => {
      setCodes(null);
      setEnrolment(await api.startTotp());
    });
  const confirmTotp = (event: Event) => {
    event.preventDefault();
    const fields = missing({ code }, { code: t.confirmCode }, ['code']);
    if (Object.keys(fields).length > 0) return totpForm.fail(Object.values(fields).join(' '), fields);
    void totpForm.run(async () => {
      const answer = await api.confirmTotp(enrolment!.id, code);
      setEnrolment(null);
      setCode('');
      if (answer.recovery_codes) setCodes(answer.recovery_codes);
      await load();
      return t.totpAdded;
    });
  };
  const newCodes = () =>
    void totpForm.run(async () => {
      setCodes((await api.newRecoveryCodes()).recovery_codes);
      await load();
    });
  const addPasskey = () =>
    void passkeyForm.run(async () => {
      await api.addPasskey(passkeyName.trim() || undefined);
      setPasskeyName('');
      await load();
      return t.passkeyAdded;
    });

  const apps = factors?.filter((f) => f.type === 'totp') ?? [];
  const passkeys = factors?.filter((f) => f.type === 'webauthn') ?? [];
  return (
    <>
      <section class="card" aria-labelledby="mfa-title" id="second-factors">
        <h2 id="mfa-title">{t.secondFactors}</h2>
        <p class="muted">{t.secondFactorsIntro}</p>
        <FormNotices form={list} />
        <FormNotices form={totpForm} />
        {factors && apps.length === 0 && <p>{t.noFactors}</p>}
        <ul class="sessions">
          {apps.map((f) => (
            <FactorRow key={f.id} factor={f} busy={totpForm.busy} onRemove={() => remove(totpForm, f.id)} />
          ))}
        </ul>
        {factors && factors.length > 0 && <p id="codes-left">{t.recoveryCodesLeft(codesLeft)}</p>}
        {codes && <RecoveryCodes codes={codes} />}
        {enrolment ? (
          <form onSubmit={confirmTotp} noValidate id="totp-enrolment">
            <p>{t.scanQr}</p>
            {/* The SVG is drawn by Gatehouse from the otpauth URI (qrcode): markup, no script. */}
            <div class="qr" dangerouslySetInnerHTML={{ __html: enrolment.qr_svg }} />
            <p>
              {t.secretKey}:{' '}
              <span class="secret" id="totp-secret">
                {enrolment.secret}
              </span>
            </p>
            <Field id="totp-code" label={t.confirmCode} value={code} onInput={setCode} autocomplete="one-time-code" required autofocus error={totpForm.failure?.fields.code} />
            <Submit form={totpForm} label={t.confirmTotp} />
          </form>
        ) : (
          <div class="actions">
            <button type="button" class="button button--primary" id="add-totp" disabled={totpForm.busy} onClick={startTotp}>
              {t.addTotp}
            </button>
            {factors && factors.length > 0 && (
              <button type="button" class="button" id="new-recovery-codes" disabled={totpForm.busy} onClick={newCodes}>
                {t.newRecoveryCodes}
              </button>
            )}
          </div>
        )}
      </section>
      <section class="card" aria-labelledby="passkeys-title" id="passkeys">
        <h2 id="passkeys-title">{t.passkeys}</h2>
        <p class="muted">{t.passkeysIntro}</p>
        <FormNotices form={passkeyForm} />
        {factors && passkeys.length === 0 && <p>{t.noPasskeys}</p>}
        <ul class="sessions">
          {passkeys.map((f) => (
            <FactorRow key={f.id} factor={f} busy={passkeyForm.busy} onRemove={() => remove(passkeyForm, f.id)} />
          ))}
        </ul>
        <Field id="passkey-name" label={t.passkeyName} value={passkeyName} onInput={setPasskeyName} autocomplete="off" />
        <button type="button" class="button button--primary" id="add-passkey" disabled={passkeyForm.busy} onClick={addPasskey}>
          {t.addPasskey}
        </button>
      </section>
    </>
  );
}
