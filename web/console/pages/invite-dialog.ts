/** The collection mail's options (seed 001 ch. 7): the sender's message, a reply-to, a copy to oneself; what the passcode means. */
import { api } from '../api';
import type { Ctx } from '../context';
import { passcodeNotice } from './passcode';
import { cancelButton, checkbox, dialog, field, form, h, input, optional, textarea } from '../ui';

export interface InviteChoice {
  message?: string;
  replyTo?: string;
  copyTo?: string;
}

/** The mail's three choices, as fields (the single invitation's dialog and the mass invitation's review). */
export function inviteOptionFields(ctx: Ctx): HTMLElement[] {
  return [
    field('ご担当者からのメッセージ', textarea('message', { maxlength: 2000 }), { hint: 'メール本文に表示されます（2,000文字まで）。' }),
    field('返信先メールアドレス', input('replyTo', { type: 'email' }), { hint: '受け取った人が返信したときの宛先です。' }),
    checkbox('copyToSelf', `自分（${ctx.me.user.email}）にもコピーを送る`),
  ];
}

export async function askInviteOptions(ctx: Ctx, title: string, intro: string): Promise<InviteChoice | undefined> {
  const tenant = await api.tenant().catch(() => null);
  return dialog<InviteChoice>(title, (close) => [
    h('p', {}, intro),
    tenant ? passcodeNotice(ctx, tenant) : null,
    form(
      inviteOptionFields(ctx),
      '送信する',
      async (data) => {
        close({ message: optional(data, 'message'), replyTo: optional(data, 'replyTo'), copyTo: data.get('copyToSelf') ? ctx.me.user.email : undefined });
      },
      { id: 'invite-options', extraButtons: [cancelButton(close)] },
    ),
  ]);
}
