// Time that printlog itself was running. After a stall of printlog (an SD card's slow fsync,
// swapping, a suspended process) its timers fire before the lines that waited meanwhile are
// read: judged on the wall clock, a printer that answered at once would look silent for the
// whole stall. Measured on this clock, a stall counts as one step.

export class AwakeClock {
  private wall = 0;
  private awake = 0;

  /** `maxStep`: the most one call may add (the ticker's interval plus its jitter). */
  constructor(private readonly maxStep: number) {}

  /** Wall time between the last two calls (0 before the second). */
  gap = 0;

  /** Advances by the wall time since the last call, at most `maxStep`; returns the new time. */
  advance(wallNow: number): number {
    this.gap = this.wall > 0 ? wallNow - this.wall : 0;
    this.awake += Math.min(Math.max(this.gap, 0), this.maxStep);
    this.wall = wallNow;
    return this.awake;
  }

  get now(): number {
    return this.awake;
  }
}

/** How long the printer has said nothing while a command waited, in printlog's running time. */
export class SilenceWatch {
  private lineAt = 0;
  private since = 0;

  /** `lastLineAt`: wall time of the link's last line (0: none yet); `awake`: the clock's time. */
  silentFor(lastLineAt: number, busy: boolean, awake: number): number {
    if (lastLineAt !== this.lineAt) {
      this.lineAt = lastLineAt;
      this.since = awake;
    }
    return busy && lastLineAt > 0 ? awake - this.since : 0;
  }

  /** Starts counting again (the port was reopened). */
  reset(awake: number): void {
    this.since = awake;
  }
}
