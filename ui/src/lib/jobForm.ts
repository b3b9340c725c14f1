/**
 * The job editor's draft and its checks (JSON syntax of the settings, the interval, and for
 * Entra Sync jobs and Smart Connected Items the settings themselves, as the backend would
 * check them).
 */
import type { DynamicsMappingCatalogue } from './bindings/DynamicsMappingCatalogue';
import type { EntraCatalogue } from './bindings/EntraCatalogue';
import type { FieldError } from './bindings/FieldError';
import type { JobForm } from './bindings/JobForm';
import type { JobView } from './bindings/JobView';
import { DYNAMICS_ITEM_KIND, readDynamicsSettings, validateDynamicsSettings } from './dynamicsSettings';
import { ENTRA_SYNC_KIND, readEntraSettings, validateEntraSettings } from './entraSettings';
import { scheduleChoice, scheduleMinutes, toSchedule, type ScheduleChoice } from './schedule';

export interface JobDraft {
  originalName: string | null;
  name: string;
  kind: string;
  schedule: ScheduleChoice;
  everyMinutes: number;
  enabled: boolean;
  settingsJson: string;
}

export function newJobDraft(): JobDraft {
  return {
    originalName: null,
    name: '',
    kind: '',
    schedule: 'off',
    everyMinutes: 30,
    enabled: true,
    settingsJson: '{}',
  };
}

export function jobDraftFrom(job: JobView): JobDraft {
  const form = job.form;
  return {
    originalName: form.originalName ?? job.name,
    name: form.name === '' ? job.name : form.name,
    kind: form.kind === '' ? job.kind : form.kind,
    schedule: scheduleChoice(form.schedule),
    everyMinutes: scheduleMinutes(form.schedule) ?? 30,
    enabled: form.enabled,
    settingsJson: form.settingsJson,
  };
}

/** `null` when `text` is valid JSON, else a sentence saying what is wrong. */
export function jsonProblem(text: string): string | null {
  if (text.trim() === '') return 'Enter the settings as JSON, e.g. {}.';
  try {
    JSON.parse(text);
    return null;
  } catch (error: unknown) {
    const detail = error instanceof Error ? error.message : String(error);
    return `Not valid JSON: ${detail}`;
  }
}

export function prettyJson(text: string): string {
  return JSON.stringify(JSON.parse(text), null, 2);
}

export function toJobForm(draft: JobDraft): JobForm {
  return {
    originalName: draft.originalName,
    name: draft.name.trim(),
    kind: draft.kind,
    schedule: toSchedule(draft.schedule, draft.everyMinutes),
    enabled: draft.enabled,
    settingsJson: draft.settingsJson,
  };
}

/**
 * Problems to fix before saving; `entraCatalogue` (when loaded) lets an Entra Sync job's
 * settings be checked field by field (`settings.<path>` errors). A Smart Connected Item's
 * settings are always checked field by field; `dynamicsMapping` (the live catalogue of its
 * table and issue type, when loaded) adds unknown columns and fields and incompatible pairs.
 */
export function validateJob(
  draft: JobDraft,
  entraCatalogue: EntraCatalogue | null = null,
  dynamicsMapping: DynamicsMappingCatalogue | null = null,
): FieldError[] {
  const errors: FieldError[] = [];
  if (draft.name.trim() === '') errors.push({ field: 'name', message: 'Give the job a name.' });
  if (draft.kind === '') errors.push({ field: 'kind', message: 'Choose what the job does.' });
  if (
    draft.schedule === 'custom' &&
    (!Number.isInteger(draft.everyMinutes) || draft.everyMinutes < 1)
  ) {
    errors.push({ field: 'schedule', message: 'Enter a whole number of minutes, 1 or more.' });
  }
  const json = jsonProblem(draft.settingsJson);
  if (json !== null) {
    errors.push({ field: 'settingsJson', message: json });
  } else if (draft.kind === ENTRA_SYNC_KIND && entraCatalogue !== null) {
    const reading = readEntraSettings(draft.settingsJson, entraCatalogue.defaults);
    if (reading.settings === null) errors.push({ field: 'settingsJson', message: reading.problem });
    else errors.push(...validateEntraSettings(reading.settings, entraCatalogue));
  } else if (draft.kind === DYNAMICS_ITEM_KIND) {
    const reading = readDynamicsSettings(draft.settingsJson);
    if (reading.settings === null) errors.push({ field: 'settingsJson', message: reading.problem });
    else errors.push(...validateDynamicsSettings(reading.settings, dynamicsMapping));
  }
  return errors;
}
