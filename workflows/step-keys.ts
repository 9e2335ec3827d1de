/**
 * Idempotency keys of lifecycle steps. A key names the workflow chain (the first run: kept across
 * continue-as-new and reset, new for a registrant's later workflow), the kind of step, how many steps
 * of that kind came before, and a hash of the step's arguments. A step replayed after a reset finds
 * its key and is not applied twice; any other step, even one taking the same place in a different
 * order of events, has a key of its own and is never mistaken for done.
 */

/** cyrb53: a fast, well-mixed 53-bit string hash (deterministic, no crypto in the workflow sandbox). */
export function hash53(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

export function stepKey(chain: string, kind: string, ordinal: number, args: unknown): string {
  return `${chain}/${kind}/${ordinal}/${hash53(JSON.stringify(args ?? null))}`;
}
