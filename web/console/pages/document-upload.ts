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
import { MAX_IMAGE_BYTES, type ImageType } from '../../../services/registration/images';

const PURPOSES: [string, string][] = [
  ['number_confirmation', '番号確認書類（マイナンバーが分かる書類）'],
  ['identity', '身元確認書類'],
];
const SIDES: [string, string][] = [
  ['front', '表面'],
  ['back', '裏面'],
];

/** Image files the API takes (the phone pages' rule): said before anything is sent. */
const IMAGE_TYPES: ImageType[] = ['image/jpeg', 'image/png', 'image/gif'];
export const imageProblem = (f: File): string | null =>
  !(IMAGE_TYPES as string[]).includes(f.type) ? `${f.name}：JPEG・PNG・GIFの画像を選んでください` : f.size > MAX_IMAGE_BYTES ? `${f.name}：画像は4MBまでです` : null;

export interface DocumentSlot {
  purpose: 'number_confirmation' | 'identity';
  type: string;
  side: 'front' | 'back';
}

/** The purpose, document and side selects of one slot; the documents follow the purpose as on the phone. */
function slotControls(prefix = '') {
  const purpose = select(`${prefix}purpose`, PURPOSES, 'number_confirmation');
  const type = select(`${prefix}type`, []);
  const fillTypes = () => {
    const types = purpose.value === 'number_confirmation' ? NUMBER_DOCUMENTS : (Object.keys(DOCUMENT_LABELS) as (keyof typeof DOCUMENT_LABELS)[]).filter((t) => t !== 'notification_card');
    type.replaceChildren(...types.map((t) => h('option', { value: t }, documentLabel(purpose.value as DocumentSlot['purpose'], t))));
  };
  fillTypes();
  purpose.addEventListener('change', fillTypes);
  const side = select(`${prefix}side`, SIDES, 'front');
  const file = input(`${prefix}file`, { type: 'file', accept: IMAGE_TYPES.join(',') });
  return { purpose, type, side, file, slot: (): DocumentSlot => ({ purpose: purpose.value as DocumentSlot['purpose'], type: type.value, side: side.value as DocumentSlot['side'] }) };
}

/** One document row of 新規追加 (the person's own documents, uploaded once the person is stored). */
export function documentRow(i: number, onRemove: (row: DocumentRow) => void): DocumentRow {
  const c = slotControls(`doc${i}-`);
  const el = h(
    'fieldset',
    { class: 'document-row filters' },
    h('legend', {}, `書類 ${i + 1}`),
    field('書類の目的', c.purpose),
    field('書類', c.type),
    field('面', c.side),
    field('画像ファイル', c.file, { hint: 'JPEG・PNG・GIF、4MBまで。' }),
  );
  const row: DocumentRow = { el, slot: c.slot, file: () => c.file.files?.[0] };
  el.append(h('button', { type: 'button', class: 'link remove-document', onclick: () => onRemove(row) }, 'この書類を削除'));
  return row;
}
export interface DocumentRow {
  el: HTMLElement;
  slot: () => DocumentSlot;
  file: () => File | undefined;
}

export const slotLabel = (d: { purpose: DocumentSlot['purpose']; type: string; side: string }) => `${documentLabel(d.purpose, d.type as never)}（${d.side === 'back' ? '裏面' : '表面'}）`;

/** Asks for the slot and the file, uploads it; the document's label once stored, or undefined. */
export async function uploadDocument(r: RegistrantItem): Promise<string | undefined> {
  const whose: [string, string][] = [['', `本人（${r.familyName} ${r.givenName} さん）`], ...r.dependents.filter((d) => d.kind === 'category3' && !d.noLongerDependent).map((d): [string, string] => [d.id, `扶養家族 ${d.familyName} ${d.givenName} さん（第3号被保険者）`])];
  const c = slotControls();
  return formDialog<string>(
    '書類の画像を登録・差し替え',
    [
      h('p', {}, '貴社で確認した書類の画像を登録します。同じ書類・同じ面の画像がすでにあるときは、新しい画像に差し替えます（前の画像は削除されます）。登録は操作履歴に記録されます。'),
      field('だれの書類', select('dependentId', whose)),
      field('書類の目的', c.purpose),
      field('書類', c.type),
      field('面', c.side),
      field('画像ファイル', c.file, { required: true, hint: 'JPEG・PNG・GIF、4MBまで。' }),
    ],
    '登録する',
    async (data, msg) => {
      const image = c.file.files?.[0];
      if (!image) {
        say(msg, '画像ファイルを選んでください');
        return undefined;
      }
      const dependentId = String(data.get('dependentId') ?? '');
      const doc = await api.uploadDocument(r.id, { ...c.slot(), ...(dependentId ? { dependentId } : {}) }, image);
      return `${slotLabel(doc)}の画像を登録しました。`;
    },
    'document-upload',
  );
}
