/** Polls `pred` (every `everyMs`, 50 by default) until it holds; fails naming `what` after `timeoutMs`. */
export async function until(pred: () => Promise<boolean>, what: string, timeoutMs = 15_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
