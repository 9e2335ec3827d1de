/**
 * The rest of seed 001's 契約者情報: who the contract is with and how to reach them. Checked whole
 * (every problem at its field, in Japanese) and stored as one document; the history records that
 * it changed, not what it says (the applicant is a person).
 */
import type { components } from '../../api/generated/openapi';
import { AppError } from '../errors';

export type ContractDetails = NonNullable<components['schemas']['ContractDetails']>;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PREFECTURES = new Set(
  '北海道 青森県 岩手県 宮城県 秋田県 山形県 福島県 茨城県 栃木県 群馬県 埼玉県 千葉県 東京都 神奈川県 新潟県 富山県 石川県 福井県 山梨県 長野県 岐阜県 静岡県 愛知県 三重県 滋賀県 京都府 大阪府 兵庫県 奈良県 和歌山県 鳥取県 島根県 岡山県 広島県 山口県 徳島県 香川県 愛媛県 高知県 福岡県 佐賀県 長崎県 熊本県 大分県 宮崎県 鹿児島県 沖縄県'.split(' '),
);

/** The details as stored: trimmed, digits half-width (NFKC), postal code and phone without hyphens. */
export function checkContractDetails(input: ContractDetails): ContractDetails {
  const problems: { path: string; code: string; message: string }[] = [];
  const fail = (field: string, code: string, message: string) => problems.push({ path: `/body/contractDetails/${field}`, code, message });
  const text = (field: keyof ContractDetails, what: string, max: number, required: boolean): string | null => {
    const v = String(input[field] ?? '').normalize('NFKC').trim();
    if (!v) {
      if (required) fail(field, 'REQUIRED', `${what}を入力してください`);
      return null;
    }
    if ([...v].length > max) fail(field, 'TOO_LONG', `${what}は${max}文字以内で入力してください`);
    return v;
  };
  const postal = text('postalCode', '郵便番号', 8, true)?.replace(/-/g, '') ?? null;
  if (postal && !/^\d{7}$/.test(postal)) fail('postalCode', 'POSTAL_CODE_FORMAT', '郵便番号は7桁の数字で入力してください（例：150-0036）');
  const prefecture = text('prefecture', '都道府県', 4, true);
  if (prefecture && !PREFECTURES.has(prefecture)) fail('prefecture', 'PREFECTURE_UNKNOWN', '都道府県を正しく入力してください（例：東京都）');
  const phone = text('phone', '電話番号', 20, true)?.replace(/[-()\s]/g, '') ?? null;
  if (phone && !/^0\d{9,10}$/.test(phone)) fail('phone', 'PHONE_FORMAT', '電話番号は0から始まる10桁または11桁の数字で入力してください');
  const email = text('email', 'メールアドレス', 254, true)?.toLowerCase() ?? null;
  if (email && !EMAIL.test(email)) fail('email', 'EMAIL_FORMAT', 'メールアドレスの形式が正しくありません');
  const details: ContractDetails = {
    businessType: input.businessType,
    department: text('department', '申請部署', 100, false),
    applicantName: text('applicantName', '申請者氏名', 100, true) ?? '',
    email: email ?? '',
    postalCode: postal ?? '',
    prefecture: prefecture ?? '',
    city: text('city', '市区町村・番地', 200, true) ?? '',
    building: text('building', '建物名など', 200, false),
    phone: phone ?? '',
    industry: text('industry', '業種', 100, true) ?? '',
    newsletter: input.newsletter,
  };
  if (problems.length) throw new AppError(400, 'VALIDATION_FAILED', '入力内容に誤りがあります', problems);
  return details;
}
