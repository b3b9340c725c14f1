/**
 * Words for a client secret's expiry, shared by the Dashboard banner and the Connections badge.
 * The backend decides the thresholds (30, 14, 7, 1 days; 0 once expired); the UI only shows them.
 */
import type { SecretExpiryView } from './bindings/SecretExpiryView';

/** True within 30 days of expiry or after it: the admin should renew the secret. */
export function needsRenewal(expiry: SecretExpiryView): boolean {
  return expiry.threshold !== null;
}

/** "Secret expires in 14 days", "Secret expires in 1 day", "Secret expires within a day", "Secret expired". */
export function expiryBadgeLabel(expiry: SecretExpiryView): string {
  if (expiry.expired) return 'Secret expired';
  if (expiry.daysLeft <= 0) return 'Secret expires within a day';
  return expiry.daysLeft === 1 ? 'Secret expires in 1 day' : `Secret expires in ${expiry.daysLeft} days`;
}
