/**
 * The workflows the bench worker runs: the product's own, plus a no-op used as the baseline for
 * raw workflow starts. Bundled for the bench worker only; production bundles workflows/index.ts.
 */
export * from '../../workflows';

/** Returns at once: what a start costs with no work behind it. */
export async function benchNoopWorkflow(): Promise<void> {
  return;
}
