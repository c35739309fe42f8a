/** Keeps the last `limit` characters of a stream of output. */
export class LogBuffer {
  private chunks: string[] = [];
  private size = 0;
  constructor(private readonly limit = 1 << 20) {}

  push(chunk: string | Buffer): void {
    const text = chunk.toString();
    this.chunks.push(text);
    this.size += text.length;
    while (this.size > this.limit && this.chunks.length > 1) this.size -= this.chunks.shift()!.length;
  }

  text(): string {
    return this.chunks.join('');
  }
}
