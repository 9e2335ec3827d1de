export { registrantWorkflow } from './registrant';
export { deletionNoticeWorkflow } from './deletion-notice';
export { webhookDeliveryWorkflow } from './webhook-delivery';
export { reconcilerWorkflow } from './reconciler';
export { importJobWorkflow } from './import-job';
