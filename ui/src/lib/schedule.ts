/** The job form's schedule select, mapped to and from the generated `Schedule` type. */
import type { Schedule } from './bindings/Schedule';

export type ScheduleChoice = 'off' | 'hourly' | 'every6_hours' | 'daily' | 'custom';

export const SCHEDULE_CHOICES: readonly { value: ScheduleChoice; label: string }[] = [
  { value: 'off', label: 'Off (Sync now only)' },
  { value: 'hourly', label: 'Hourly' },
  { value: 'every6_hours', label: 'Every 6 hours' },
  { value: 'daily', label: 'Daily' },
  { value: 'custom', label: 'Custom interval' },
];

export function scheduleChoice(schedule: Schedule): ScheduleChoice {
  return typeof schedule === 'string' ? schedule : 'custom';
}

export function scheduleMinutes(schedule: Schedule): number | null {
  return typeof schedule === 'string' ? null : schedule.every_minutes;
}

export function toSchedule(choice: ScheduleChoice, minutes: number): Schedule {
  return choice === 'custom' ? { every_minutes: minutes } : choice;
}
