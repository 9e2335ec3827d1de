/** `npm run build:workflows`: the workflow bundle workers load instead of bundling at start. */
import { BUNDLE_DIR, buildWorkflowBundle } from '../services/worker/workflow-bundle';

buildWorkflowBundle().then(
  (built) => console.log(built ? `[build] workflow bundle written to ${BUNDLE_DIR}` : '[build] workflow bundle up to date'),
  (err: Error) => {
    console.error(`[build] workflow bundle: ${err.message}`);
    process.exit(1);
  },
);
