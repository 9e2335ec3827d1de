/**
 * A PostgreSQL cluster of the test file's own, migrated, that the test can stop and start again (the
 * shared one serves every other file): for outages of the database.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clusterInfo, createDatabase, ensureCluster, startPostgres, stopPostgres, type ClusterInfo } from '../../services/devstack/postgres';
import { freePort } from '../../services/devstack/ports';
import { migrateAsOwner } from './migrate';

export interface PrivatePostgres {
  /** as the app role, which the product uses */
  url: string;
  /** as the owner, for what only the owner may do */
  ownerUrl: string;
  /** Stops the server (a fast shutdown: open connections are cut). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it for good and removes its files. */
  close(): Promise<void>;
}

export async function startPrivatePostgres(name: string): Promise<PrivatePostgres> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mynaflow-${name}-`));
  const { password } = ensureCluster(path.join(dir, 'pg'));
  const cluster: ClusterInfo = clusterInfo(path.join(dir, 'pg'), await freePort(), password);
  let server: ChildProcess | undefined;
  const start = async () => {
    server = await startPostgres(cluster, { logFile: path.join(dir, 'postgres.log') });
  };
  const stop = async () => {
    if (server) await stopPostgres(server);
    server = undefined;
  };
  await start();
  await createDatabase(cluster, name);
  const ownerUrl = cluster.url(name);
  const url = await migrateAsOwner(ownerUrl, { login: true });
  return {
    url,
    ownerUrl,
    start,
    stop,
    async close() {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
