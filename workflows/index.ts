export { registrantWorkflow } from './registrant';
export { deletionNoticeWorkflow } from './deletion-notice';
