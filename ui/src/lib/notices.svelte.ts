/**
 * The toast list in the corner of the window. Errors stay until dismissed (the admin has to
 * read the fix); confirmations fade after a few seconds.
 */

export type NoticeTone = 'error' | 'success' | 'info';

export interface Notice {
  id: number;
  tone: NoticeTone;
  message: string;
  fix: string | null;
}

const AUTO_DISMISS_MS = 6000;

class NoticeList {
  items = $state<Notice[]>([]);
  private nextId = 1;

  push(tone: NoticeTone, message: string, fix: string | null = null): number {
    const id = this.nextId++;
    // Replace an identical notice instead of stacking copies of the same failure.
    this.items = [
      ...this.items.filter((item) => item.message !== message || item.tone !== tone),
      { id, tone, message, fix },
    ].slice(-5);
    if (tone !== 'error') {
      setTimeout(() => {
        this.dismiss(id);
      }, AUTO_DISMISS_MS);
    }
    return id;
  }

  success(message: string): number {
    return this.push('success', message);
  }

  info(message: string): number {
    return this.push('info', message);
  }

  dismiss(id: number): void {
    this.items = this.items.filter((item) => item.id !== id);
  }

  clear(): void {
    this.items = [];
  }
}

export const notices = new NoticeList();
