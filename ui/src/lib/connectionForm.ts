/**
 * What the connection form asks for, per kind, and how a draft becomes the `ConnectionForm`
 * the backend saves. The backend validates again and is the authority; these checks only
 * catch the obvious before a round trip.
 */
import type { Cloud } from './bindings/Cloud';
import type { ConnectionForm } from './bindings/ConnectionForm';
import type { ConnectionKind } from './bindings/ConnectionKind';
import type { FieldError } from './bindings/FieldError';
import { CLOUD_LABELS } from './format';

export type FormField = keyof ConnectionForm;

export interface CloudChoice {
  value: Cloud;
  label: string;
  /** Default sign-in authority and Graph host, shown as placeholders. */
  authorityUrl: string | null;
  graphUrl: string | null;
}

export const CLOUD_CHOICES: readonly CloudChoice[] = [
  {
    value: 'global',
    label: CLOUD_LABELS.global,
    authorityUrl: 'https://login.microsoftonline.com',
    graphUrl: 'https://graph.microsoft.com',
  },
  {
    value: 'us_gov',
    label: CLOUD_LABELS.us_gov,
    authorityUrl: 'https://login.microsoftonline.us',
    graphUrl: 'https://graph.microsoft.us',
  },
  {
    value: 'us_gov_dod',
    label: CLOUD_LABELS.us_gov_dod,
    authorityUrl: 'https://login.microsoftonline.us',
    graphUrl: 'https://dod-graph.microsoft.us',
  },
  {
    value: 'china',
    label: CLOUD_LABELS.china,
    authorityUrl: 'https://login.chinacloudapi.cn',
    graphUrl: 'https://microsoftgraph.chinacloudapi.cn',
  },
  { value: 'custom', label: CLOUD_LABELS.custom, authorityUrl: null, graphUrl: null },
];

export function cloudChoice(cloud: Cloud | null): CloudChoice | null {
  return CLOUD_CHOICES.find((choice) => choice.value === cloud) ?? null;
}

/** The kind-specific fields each kind uses (name, kind and the secret apply to all). */
export const KIND_FIELDS: Record<ConnectionKind, readonly FormField[]> = {
  jira: ['siteUrl', 'email', 'assetsApiUrl'],
  entra: ['tenantId', 'clientId', 'cloud', 'authorityUrl', 'graphUrl'],
  dataverse: ['orgUrl', 'tenantId', 'clientId', 'cloud', 'authorityUrl'],
};

export function emptyConnectionForm(): ConnectionForm {
  return {
    originalName: null,
    name: '',
    kind: null,
    siteUrl: null,
    email: null,
    assetsApiUrl: null,
    tenantId: null,
    clientId: null,
    cloud: null,
    authorityUrl: null,
    graphUrl: null,
    orgUrl: null,
    secretEnv: null,
    secret: null,
  };
}

/**
 * The form as the editor holds it: plain strings for inputs (empty means "not set"), the kind
 * and cloud as chosen. `toSubmission` turns it into the generated `ConnectionForm`.
 */
export interface ConnectionDraft {
  originalName: string | null;
  name: string;
  kind: ConnectionKind | '';
  siteUrl: string;
  email: string;
  assetsApiUrl: string;
  tenantId: string;
  clientId: string;
  cloud: Cloud;
  authorityUrl: string;
  graphUrl: string;
  orgUrl: string;
  secretEnv: string;
}

export function newDraft(): ConnectionDraft {
  return {
    originalName: null,
    name: '',
    kind: '',
    siteUrl: '',
    email: '',
    assetsApiUrl: '',
    tenantId: '',
    clientId: '',
    cloud: 'global',
    authorityUrl: '',
    graphUrl: '',
    orgUrl: '',
    secretEnv: '',
  };
}

/** A stored connection's form, ready to edit. There is no secret in it, by design. */
export function draftFrom(form: ConnectionForm, name: string): ConnectionDraft {
  return {
    originalName: form.originalName ?? name,
    name: form.name === '' ? name : form.name,
    kind: form.kind ?? '',
    siteUrl: form.siteUrl ?? '',
    email: form.email ?? '',
    assetsApiUrl: form.assetsApiUrl ?? '',
    tenantId: form.tenantId ?? '',
    clientId: form.clientId ?? '',
    cloud: form.cloud ?? 'global',
    authorityUrl: form.authorityUrl ?? '',
    graphUrl: form.graphUrl ?? '',
    orgUrl: form.orgUrl ?? '',
    secretEnv: form.secretEnv ?? '',
  };
}

function clean(value: string): string | null {
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}

/**
 * The form to send: values trimmed, empty text as `null`, fields of other kinds dropped, and
 * the secret only when one was typed (so an edit without one keeps the stored secret).
 */
export function toSubmission(
  draft: ConnectionDraft,
  secret: string,
  useSecretEnv: boolean,
): ConnectionForm {
  const form = emptyConnectionForm();
  form.originalName = draft.originalName;
  form.name = draft.name.trim();
  form.kind = draft.kind === '' ? null : draft.kind;
  const used = new Set<FormField>(form.kind === null ? [] : KIND_FIELDS[form.kind]);
  const textFields = [
    'siteUrl',
    'email',
    'assetsApiUrl',
    'tenantId',
    'clientId',
    'authorityUrl',
    'graphUrl',
    'orgUrl',
  ] as const;
  for (const field of textFields) {
    if (used.has(field)) form[field] = clean(draft[field]);
  }
  if (used.has('cloud')) form.cloud = draft.cloud;
  form.secretEnv = useSecretEnv ? clean(draft.secretEnv) : null;
  form.secret = useSecretEnv || secret === '' ? null : secret;
  return form;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function looksLikeUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/**
 * Obvious gaps, as `FieldError`s named like the form's keys (the same shape the backend
 * returns, so one code path shows both). `form` is what `toSubmission` made; `secretRequired` is
 * true for a new connection and for one whose keychain entry is missing.
 */
export function validateConnection(
  form: ConnectionForm,
  options: { secretRequired: boolean; useSecretEnv: boolean },
): FieldError[] {
  const errors: FieldError[] = [];
  const need = (field: FormField, value: string | null, message: string): void => {
    if (value === null || value.trim() === '') errors.push({ field, message });
  };
  const url = (field: FormField, value: string | null): void => {
    if (value !== null && !looksLikeUrl(value)) {
      errors.push({ field, message: 'Enter a full URL starting with https://.' });
    }
  };
  need('name', form.name, 'Give the connection a name.');
  if (form.kind === null) {
    errors.push({ field: 'kind', message: 'Choose what this connection talks to.' });
    return errors;
  }
  switch (form.kind) {
    case 'jira':
      need('siteUrl', form.siteUrl, 'Enter the Jira site URL.');
      url('siteUrl', form.siteUrl);
      need('email', form.email, 'Enter the Atlassian account email the token belongs to.');
      url('assetsApiUrl', form.assetsApiUrl);
      break;
    case 'dataverse':
      need('orgUrl', form.orgUrl, 'Enter the environment URL.');
      url('orgUrl', form.orgUrl);
      break;
    case 'entra':
      break;
  }
  if (form.kind === 'entra' || form.kind === 'dataverse') {
    need('tenantId', form.tenantId, 'Enter the directory (tenant) ID.');
    need('clientId', form.clientId, 'Enter the application (client) ID.');
    if (form.cloud === 'custom') {
      need('authorityUrl', form.authorityUrl, 'A custom cloud needs its sign-in authority URL.');
      if (form.kind === 'entra') need('graphUrl', form.graphUrl, 'A custom cloud needs its Graph URL.');
    }
    url('authorityUrl', form.authorityUrl);
    url('graphUrl', form.graphUrl);
  }
  if (options.useSecretEnv && form.secretEnv === null) {
    errors.push({ field: 'secretEnv', message: 'Enter the environment variable to read.' });
  } else if (form.secretEnv !== null && !ENV_NAME.test(form.secretEnv)) {
    errors.push({
      field: 'secretEnv',
      message: 'Use letters, digits and underscores, not starting with a digit.',
    });
  }
  if (options.secretRequired && !options.useSecretEnv && form.secret === null) {
    errors.push({
      field: 'secret',
      message:
        form.kind === 'jira' ? 'Enter the API token.' : 'Enter the client secret value.',
    });
  }
  return errors;
}
