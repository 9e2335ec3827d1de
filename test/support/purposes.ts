import type { Purpose } from '../../prisma/generated/client';

/** The nine purposes of use in the manual's order, written out apart from the product's list. */
export const ALL_PURPOSES: Purpose[] = [
  'withholding_slip',
  'employment_insurance',
  'health_insurance_pension',
  'workers_compensation',
  'category3_pension',
  'property_savings',
  'dividends',
  'real_estate',
  'contractor_payments',
];
