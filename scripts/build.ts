/**
 * `npm run build`: what production runs, made ahead of time: the API, worker, migration, ops and
 * outbox entries compiled to dist/app (services/build/app-build.ts) and the workflow bundle the worker loads
 * (services/worker/workflow-bundle.ts). Set-up and the Docker image run it.
 */
import { APP_DIR, APP_ENTRIES, buildApp } from '../services/build/app-build';
import { BUNDLE_DIR, buildWorkflowBundle } from '../services/worker/workflow-bundle';

async function main() {
  await buildApp();
  console.log(`[build] ${Object.keys(APP_ENTRIES).join(', ')} compiled to ${APP_DIR}`);
  const built = await buildWorkflowBundle();
  console.log(built ? `[build] workflow bundle written to ${BUNDLE_DIR}` : '[build] workflow bundle up to date');
}

main().catch((err: Error) => {
  console.error(`[build] ${err.message}`);
  process.exit(1);
});
