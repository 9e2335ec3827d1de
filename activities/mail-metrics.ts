/**
 * Mails the activities hand to the mail server, counted through the Temporal SDK's metric meter: on
 * the worker's Prometheus endpoint (METRICS_PORT) beside the SDK's own metrics; a no-op without one.
 * Labels: the mail's kind and, for a failure, the error's class (never an address).
 */
import { Context } from '@temporalio/activity';

export function countMail(kind: string, outcome: 'sent' | 'failed', err?: unknown): void {
  const meter = Context.current().metricMeter;
  meter.createCounter(outcome === 'sent' ? 'mynaflow_mails_sent' : 'mynaflow_mails_failed', 'mails', outcome === 'sent' ? 'Mails the mail server accepted' : 'Mails the mail server did not accept (retried)').add(1, {
    kind,
    ...(outcome === 'failed' ? { error: err instanceof Error ? err.name : 'unknown' } : {}),
  });
}
