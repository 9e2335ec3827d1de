/** The embedded mail server of `npm start`: keeps every mail under DATA_DIR/outbox. */
import path from 'node:path';
import { loadConfig } from '../config/config';
import { createLogger } from '../logging/logger';
import { startOutbox } from './outbox';

async function main() {
  const config = loadConfig();
  const log = createLogger({ level: config.logLevel, name: 'outbox' });
  const dir = path.join(config.dataDir, 'outbox');
  const outbox = await startOutbox({ dir, smtpPort: config.embedded.smtpPort, httpPort: config.embedded.outboxPort });
  log.info({ smtpPort: outbox.smtpPort, httpPort: outbox.httpPort, dir, kept: outbox.mails.length }, 'outbox ready');
  const stop = () => void outbox.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  console.error(`outbox: ${(err as Error).message}`);
  process.exit(1);
});
