/**
 * The custom search attributes the registrant workflows publish (status, tenant, link expiry, deletion
 * due date) so operators can list "every link expiring this week" in the Web UI or `temporal workflow
 * list`. A namespace must know them before a workflow upserts them, or its task fails.
 */
import { SearchAttributeType } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../../shared';

/** A visibility query for the tenant's registrant workflows that also match `where`. */
export const tenantWorkflowsQuery = (tenantId: string, where: string) =>
  `WorkflowType = 'registrantWorkflow' AND ${SEARCH_ATTRIBUTES.tenant.name} = '${tenantId.replace(/['\\]/g, '')}' AND (${where})`;

/** gRPC status code ALREADY_EXISTS. */
const ALREADY_EXISTS = 6;

type Operator = Pick<temporal.api.operatorservice.v1.OperatorService, 'addSearchAttributes'>;

const { IndexedValueType } = temporal.api.enums.v1;
const TYPES: Partial<Record<SearchAttributeType, { indexed: temporal.api.enums.v1.IndexedValueType; cli: string }>> = {
  [SearchAttributeType.KEYWORD]: { indexed: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, cli: 'Keyword' },
  [SearchAttributeType.DATETIME]: { indexed: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME, cli: 'Datetime' },
  [SearchAttributeType.BOOL]: { indexed: IndexedValueType.INDEXED_VALUE_TYPE_BOOL, cli: 'Bool' },
};
function typeOf(type: SearchAttributeType) {
  const known = TYPES[type];
  if (!known) throw new Error(`no mapping for search attribute type ${type}`);
  return known;
}

/**
 * Registers each attribute that is missing, one at a time: "already exists" is success, so this is safe
 * on every start and on servers without ListSearchAttributes (the time-skipping test server).
 */
export async function ensureSearchAttributes(operator: Operator, namespace: string): Promise<void> {
  for (const key of Object.values(SEARCH_ATTRIBUTES)) {
    try {
      await operator.addSearchAttributes({ namespace, searchAttributes: { [key.name]: typeOf(key.type).indexed } });
    } catch (err) {
      if ((err as { code?: number }).code === ALREADY_EXISTS) continue;
      throw new Error(
        `Temporal namespace "${namespace}" lacks the search attribute ${key.name} (${key.type}) and it could not be added: ${(err as Error).message}. ` +
          `Add it once with: temporal operator search-attribute create --namespace ${namespace} --name ${key.name} --type ${typeOf(key.type).cli}`,
        { cause: err },
      );
    }
  }
}
