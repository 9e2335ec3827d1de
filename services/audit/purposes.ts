/** 利用目的: the nine purposes of use (Prisma enum `Purpose`) and the Japanese name shown for each. */
import type { Purpose } from '../../prisma/generated/client';

/** In the order of the administrator manual; screens and CSVs list them in this order. */
export const PURPOSE_LABELS = {
  withholding_slip: '給与所得・退職所得の源泉徴収票作成事務',
  employment_insurance: '雇用保険届出事務',
  health_insurance_pension: '健康保険・厚生年金保険届出事務',
  workers_compensation: '労働者災害補償保険法に基づく請求に関する事務',
  category3_pension: '国民年金の第3号被保険者の届出事務',
  property_savings: '財産形成住宅貯蓄・財産形成年金貯蓄に関する事務',
  dividends: '株式・配当に関する支払調書作成事務',
  real_estate: '不動産に関する支払調書作成事務',
  contractor_payments: '外注先・業務委託者に関する源泉徴収票・支払調書作成事務',
} as const satisfies Record<Purpose, string>;

export const PURPOSES: readonly Purpose[] = Object.keys(PURPOSE_LABELS) as Purpose[];

export const isPurpose = (s: string): s is Purpose => Object.prototype.hasOwnProperty.call(PURPOSE_LABELS, s);

/** A reveal for the check at collection (取得時の番号確認) has no purpose of use: this is what it is called instead. */
export const COLLECTION_CHECK_LABEL = '取得時の確認（承認のための確認）';
