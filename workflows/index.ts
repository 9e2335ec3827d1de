export { registrantWorkflow } from './registrant';
