import { Type } from '@sinclair/typebox';
import { IdParam, Text } from './common.js';
import { Password } from './users.js';

const B64 = (description?: string) => Type.String({ minLength: 1, maxLength: 16_384, pattern: '^[A-Za-z0-9_-]*={0,2}$', ...(description ? { description } : {}) });
const ClientExtensionResults = Type.Object({}, { additionalProperties: true, maxProperties: 16 });

/** What `navigator.credentials.get()` gives, as @simplewebauthn/browser's startAuthentication returns it. */
export const Assertion = Type.Object(
  {
    id: B64('credential id'),
    rawId: B64(),
    type: Type.Literal('public-key'),
    response: Type.Object(
      {
        clientDataJSON: B64(),
        authenticatorData: B64(),
        signature: B64(),
        userHandle: Type.Optional(Type.Union([B64(), Type.Null()])),
      },
      { additionalProperties: false },
    ),
    clientExtensionResults: Type.Optional(ClientExtensionResults),
    authenticatorAttachment: Type.Optional(Type.Union([Type.Literal('platform'), Type.Literal('cross-platform'), Type.Null()])),
  },
  { additionalProperties: false },
);

/** What `navigator.credentials.create()` gives, as startRegistration returns it. */
export const Attestation = Type.Object(
  {
    id: B64('credential id'),
    rawId: B64(),
    type: Type.Literal('public-key'),
    response: Type.Object(
      {
        clientDataJSON: B64(),
        attestationObject: B64(),
        authenticatorData: Type.Optional(B64()),
        transports: Type.Optional(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 8 })),
        publicKeyAlgorithm: Type.Optional(Type.Integer()),
        publicKey: Type.Optional(B64()),
      },
      { additionalProperties: false },
    ),
    clientExtensionResults: Type.Optional(ClientExtensionResults),
    authenticatorAttachment: Type.Optional(Type.Union([Type.Literal('platform'), Type.Literal('cross-platform'), Type.Null()])),
  },
  { additionalProperties: false },
);

const ChallengeId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'from the options answer' });
const MfaToken = Type.String({ minLength: 1, maxLength: 128, description: 'from the mfa_required answer' });
const Code = Type.String({ minLength: 1, maxLength: 16, pattern: '^[0-9 ]+$', description: 'the six digits the authenticator app shows' });
const RecoveryCode = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9 -]+$', description: 'one of the ten recovery codes' });

/** POST /auth/reauthenticate: one proof of presence (MFA-05). */
export const ReauthenticateBody = Type.Object(
  {
    password: Type.Optional(Password),
    code: Type.Optional(Code),
    recovery_code: Type.Optional(RecoveryCode),
    challenge_id: Type.Optional(ChallengeId),
    assertion: Type.Optional(Assertion),
  },
  { additionalProperties: false },
);

export const MfaVerifyBody = Type.Object(
  {
    mfa_token: MfaToken,
    code: Type.Optional(Code),
    recovery_code: Type.Optional(RecoveryCode),
    challenge_id: Type.Optional(ChallengeId),
    assertion: Type.Optional(Assertion),
  },
  { additionalProperties: false },
);

export const PasskeyOptionsView = Type.Object({
  challenge_id: Type.String(),
  options: Type.Object({}, { additionalProperties: true, description: 'for navigator.credentials (PublicKeyCredential*OptionsJSON)' }),
});

export const MfaRequiredResponse = Type.Object(
  {
    mfa_required: Type.Literal(true),
    mfa_token: Type.String({ description: 'single-use, 5 minutes; send it to /auth/mfa/verify with the second factor' }),
    expires_in: Type.Integer(),
    methods: Type.Array(Type.String(), { description: 'totp, recovery_code, webauthn' }),
    webauthn: Type.Optional(PasskeyOptionsView),
  },
  { $id: 'MfaRequiredResponse' },
);

export const FactorView = Type.Object({
  id: Type.String(),
  type: Type.Union([Type.Literal('totp'), Type.Literal('webauthn')]),
  name: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
  last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  backup_eligible: Type.Optional(Type.Boolean()),
  backup_state: Type.Optional(Type.Boolean()),
});

export const FactorList = Type.Object({ items: Type.Array(FactorView), recovery_codes_left: Type.Integer() });

const FactorName = Text({ minLength: 1, maxLength: 64 });
export const NameBody = Type.Object({ name: Type.Optional(FactorName) }, { additionalProperties: false });
export const ConfirmBody = Type.Object({ code: Code }, { additionalProperties: false });
export const FactorParams = Type.Object({ id: IdParam }, { additionalProperties: false });

export const TotpEnrolmentView = Type.Object({
  id: Type.String(),
  secret: Type.String({ description: 'base32; shown this once' }),
  otpauth_uri: Type.String(),
  qr_svg: Type.String({ description: 'the otpauth URI as an SVG QR code' }),
});

export const RecoveryCodesView = Type.Object({ recovery_codes: Type.Optional(Type.Array(Type.String(), { description: 'shown once' })) });

export const RegisterVerifyBody = Type.Object({ challenge_id: ChallengeId, attestation: Attestation }, { additionalProperties: false });
export const PasskeyLoginOptionsBody = Type.Object(
  {
    login: Type.Optional(Text({ maxLength: 254, description: 'accepted and ignored: the allow-list stays empty, so it reveals nothing about the account' })),
    mfa_token: Type.Optional(MfaToken),
  },
  { additionalProperties: false },
);
export const PasskeyLoginVerifyBody = Type.Object({ challenge_id: ChallengeId, assertion: Assertion }, { additionalProperties: false });
