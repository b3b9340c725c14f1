/** A coarse "now" that ticks every 30 s so relative times ("5 min ago") stay current. */

class Clock {
  now = $state(Date.now());
  private timer: ReturnType<typeof setInterval> | null = null;

  start(): () => void {
    this.timer ??= setInterval(() => {
      this.now = Date.now();
    }, 30_000);
    return () => {
      if (this.timer !== null) clearInterval(this.timer);
      this.timer = null;
    };
  }
}

export const clock = new Clock();
