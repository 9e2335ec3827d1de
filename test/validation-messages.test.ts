/**
 * The contract validator's refusals reach people in Japanese (HR in the console, employees on their
 * phones), with the machine code kept beside the message, and never with the value that was sent.
 */
import { japaneseValidationMessage } from '../api/validation-messages';
import { useApiHarness } from './support/api-harness';
import { createTenant, type Agent } from './support/fixtures';

const JAPANESE = /[ぁ-んァ-ヶ一-龠]/;
const harness = useApiHarness({ taskQueue: 'validation-messages' });
let hr: Agent;

beforeAll(async () => {
  hr = await harness.agent(await createTenant(harness.prisma, '検証株式会社'), 'manager');
});

test.each([
  ["must have required property 'familyName'", '「familyName」を指定してください'],
  ['must NOT have more than 50 characters', '50文字以内で入力してください'],
  ['must NOT have fewer than 1 characters', '1文字以上で入力してください'],
  ['must be equal to one of the allowed values: employee, part_time', '選択肢の中から選んでください'],
  ['must match format "email"', 'メールアドレスの形式が正しくありません'],
  ['must match format "date"', '日付はYYYY-MM-DDの形式で指定してください'],
  ['must match pattern "^[0-9A-Za-z_-]+$"', '形式が正しくありません'],
  ['must be <= 1000', '1000以下の値を指定してください'],
  ['must NOT have additional properties', '使えない項目が含まれています'],
  ['something the table does not know', '入力内容が正しくありません'],
])('%s → %s', (english, japanese) => {
  expect(japaneseValidationMessage(english)).toBe(japanese);
});

test('a real refusal: Japanese per field, the rule as the code, the sent value nowhere', async () => {
  const secretish = 'あ'.repeat(51);
  const res = await hr.post('/v1/registrants').send({ familyName: secretish, givenName: '太郎', email: 'not-an-address', category: 'boss' });
  expect(res.status).toBe(400);
  expect(res.body.code).toBe('VALIDATION_FAILED');
  const byPath = Object.fromEntries((res.body.errors as { path: string; message: string; code?: string }[]).map((e) => [e.path, e]));
  expect(byPath['/body/familyName']).toMatchObject({ message: '50文字以内で入力してください', code: 'maxLength' });
  expect(byPath['/body/email']).toMatchObject({ message: 'メールアドレスの形式が正しくありません', code: 'format' });
  expect(byPath['/body/category']).toMatchObject({ message: '選択肢の中から選んでください', code: 'enum' });
  for (const e of res.body.errors as { message: string }[]) expect(e.message).toMatch(JAPANESE);
  expect(res.text).not.toContain(secretish);
  expect(res.text).not.toContain('not-an-address');
  // A query value the validator cannot read says so in Japanese too.
  const query = await hr.get('/v1/registrants?name=%E5%B1%B1+%E7%94%B0');
  expect(query.status).toBe(400);
  expect(query.body.errors[0].message).toMatch(JAPANESE);
});
