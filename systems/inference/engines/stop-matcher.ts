// Streams text while holding back any tail that could still grow into a stop sequence,
// so a stop sequence never reaches the client (the OpenAI semantics of `stop`).

export class StopMatcher {
  private pending = '';
  private emittedText = '';
  stopped = false;

  constructor(
    private readonly stops: readonly string[],
    private readonly emit: (text: string) => void,
  ) {}

  /** Feeds generated text; returns true once a stop sequence was seen (stop generating then). */
  push(text: string): boolean {
    if (this.stopped) return true;
    this.pending += text;
    let cut = -1;
    for (const s of this.stops) {
      const i = this.pending.indexOf(s);
      if (i !== -1 && (cut === -1 || i < cut)) cut = i;
    }
    if (cut !== -1) {
      this.out(this.pending.slice(0, cut));
      this.pending = '';
      this.stopped = true;
      return true;
    }
    let hold = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, this.pending.length); k > hold; k--) {
        if (this.pending.endsWith(s.slice(0, k))) {
          hold = k;
          break;
        }
      }
    }
    this.out(this.pending.slice(0, this.pending.length - hold));
    this.pending = this.pending.slice(this.pending.length - hold);
    return false;
  }

  /** Flushes held-back text at the end of generation; returns everything emitted. */
  end(): string {
    if (!this.stopped) this.out(this.pending);
    this.pending = '';
    return this.emittedText;
  }

  private out(text: string): void {
    if (!text) return;
    this.emittedText += text;
    this.emit(text);
  }
}
