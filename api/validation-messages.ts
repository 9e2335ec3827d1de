/**
 * The contract validator's messages (Ajv's English) said in Japanese, for the people who read them:
 * HR in the console and employees on their phones. The machine-readable part stays in `code`.
 */
const FORMATS: Record<string, string> = {
  email: 'メールアドレスの形式が正しくありません',
  date: '日付はYYYY-MM-DDの形式で指定してください',
  'date-time': '日時の形式が正しくありません',
  uuid: 'IDの形式が正しくありません',
  uri: 'URLの形式が正しくありません',
};

const RULES: [RegExp, (m: RegExpExecArray) => string][] = [
  [/^must have required property '([^']+)'/, (m) => `「${m[1]}」を指定してください`],
  [/^must NOT have fewer than (\d+) characters/, (m) => `${m[1]}文字以上で入力してください`],
  [/^must NOT have more than (\d+) characters/, (m) => `${m[1]}文字以内で入力してください`],
  [/^must NOT have fewer than (\d+) items/, (m) => `${m[1]}件以上を指定してください`],
  [/^must NOT have more than (\d+) items/, (m) => `${m[1]}件以内にしてください`],
  [/^must NOT have fewer than (\d+) properties/, () => '変更する項目を1つ以上指定してください'],
  [/^must NOT have additional properties/, () => '使えない項目が含まれています'],
  [/^must NOT have duplicate items/, () => '同じ値が重複しています'],
  [/^must be equal to one of the allowed values/, () => '選択肢の中から選んでください'],
  [/^must match format "([^"]+)"/, (m) => FORMATS[m[1]!] ?? '形式が正しくありません'],
  [/^must match pattern/, () => '形式が正しくありません'],
  [/^must be (>=|>) (-?[\d.]+)/, (m) => `${m[2]}${m[1] === '>=' ? '以上' : 'より大きい値'}を指定してください`],
  [/^must be (<=|<) (-?[\d.]+)/, (m) => `${m[2]}${m[1] === '<=' ? '以下' : '未満'}の値を指定してください`],
  [/^must be (string|integer|number|boolean|array|object|null)/, () => '値の種類が正しくありません'],
  [/must be url encoded/i, () => '使えない文字が含まれています（URLエンコードしてください）'],
  [/^Unknown query parameter/i, () => '使えない検索条件が含まれています'],
];

export function japaneseValidationMessage(message: string): string {
  for (const [re, say] of RULES) {
    const m = re.exec(message);
    if (m) return say(m);
  }
  return '入力内容が正しくありません';
}
