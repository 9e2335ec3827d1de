/**
 * 書類の画像を登録・差し替え (owners and managers, on a registrant's page): HR adds the image of a
 * document it checked itself — numbers collected on paper, or moved in from another service — for
 * the person or a 第3号 dependent. The API checks it as the phone pages do; the same slot (whose,
 * purpose, document, side) again replaces the earlier image.
 */
import { api, type RegistrantItem } from '../api';
import { field, h, input, say, select } from '../ui';
import { DOCUMENT_LABELS, documentLabel, NUMBER_DOCUMENTS } from '../../shared/labels';
import { formDialog } from './shared-admin';

const PURPOSES: [string, string][] = [
  ['number_confirmation', '番号確認書類（マイナンバーが分かる書類）'],
  ['identity', '身元確認書類'],
];
const SIDES: [string, string][] = [
  ['front', '表面'],
  ['back', '裏面'],
];

/** Asks for the slot and the file, uploads it; the document's label once stored, or undefined. */
export async function uploadDocument(r: RegistrantItem): Promise<string | undefined> {
  const whose: [string, string][] = [['', `本人（${r.familyName} ${r.givenName} さん）`], ...r.dependents.filter((d) => d.kind === 'category3' && !d.noLongerDependent).map((d): [string, string] => [d.id, `扶養家族 ${d.familyName} ${d.givenName} さん（第3号被保険者）`])];
  const purpose = select('purpose', PURPOSES, 'number_confirmation');
  const type = select('type', []);
  // The documents a purpose takes, as the phone pages offer them.
  const fillTypes = () => {
    const types = purpose.value === 'number_confirmation' ? NUMBER_DOCUMENTS : (Object.keys(DOCUMENT_LABELS) as (keyof typeof DOCUMENT_LABELS)[]).filter((t) => t !== 'notification_card');
    type.replaceChildren(...types.map((t) => h('option', { value: t }, documentLabel(purpose.value as 'number_confirmation' | 'identity', t))));
  };
  fillTypes();
  purpose.addEventListener('change', fillTypes);
  const file = input('file', { type: 'file', accept: 'image/jpeg,image/png,image/gif' });
  return formDialog<string>(
    '書類の画像を登録・差し替え',
    [
      h('p', {}, '貴社で確認した書類の画像を登録します。同じ書類・同じ面の画像がすでにあるときは、新しい画像に差し替えます（前の画像は削除されます）。登録は操作履歴に記録されます。'),
      field('だれの書類', select('dependentId', whose)),
      field('書類の目的', purpose),
      field('書類', type),
      field('面', select('side', SIDES, 'front')),
      field('画像ファイル', file, { required: true, hint: 'JPEG・PNG・GIF、4MBまで。' }),
    ],
    '登録する',
    async (data, msg) => {
      const image = file.files?.[0];
      if (!image) {
        say(msg, '画像ファイルを選んでください');
        return undefined;
      }
      const dependentId = String(data.get('dependentId') ?? '');
      const doc = await api.uploadDocument(r.id, { purpose: purpose.value, type: type.value, side: String(data.get('side') ?? 'front'), ...(dependentId ? { dependentId } : {}) }, image);
      return `${documentLabel(doc.purpose, doc.type)}（${doc.side === 'back' ? '裏面' : '表面'}）の画像を登録しました。`;
    },
    'document-upload',
  );
}
