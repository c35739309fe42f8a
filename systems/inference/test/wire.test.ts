// The streaming hot path's prebuilt events must be the very bytes the object builders serialise to.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ContentEvents, chatChunk, newId, textCompletion } from '../wire.ts';

describe('ContentEvents', () => {
  const envelope = { id: newId('chatcmpl'), created: 1_796_000_000, model: 'tiny "llama"\u2028' };

  it('gives the same bytes as JSON.stringify of chatChunk / textCompletion, for any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.boolean(), (text, usage) => {
        const chat = new ContentEvents('chat', envelope, usage);
        expect(chat.event(text)).toBe(
          `data: ${JSON.stringify(chatChunk(envelope, { content: text }, null, usage))}\n\n`,
        );
        const completion = new ContentEvents('completion', envelope, usage);
        expect(completion.event(text)).toBe(
          `data: ${JSON.stringify(textCompletion(envelope, text, null, usage ? null : undefined))}\n\n`,
        );
      }),
      { numRuns: 500 },
    );
  });

  it('keeps text that looks like its own marker apart', () => {
    const events = new ContentEvents('chat', envelope, false);
    const tricky = '\u0000rig-content\u0000';
    expect(JSON.parse(events.event(tricky).slice(6)).choices[0].delta.content).toBe(tricky);
  });
});
