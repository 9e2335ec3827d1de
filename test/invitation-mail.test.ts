/**
 * The collection mails' deadline lines (pure rendering): asked for before the day, said to have
 * passed in a reminder sent after it, absent when HR set none; the day carries its weekday.
 */
import { renderInvitationMail } from '../services/mail/invitation-mail';
import { dayWithWeekday } from '../services/dates/day-text';

const base = { personName: '山田 太郎', companyName: '株式会社テスト', link: 'https://mynaflow.example/i/#k=x', expiresAt: new Date('2027-03-01T00:00:00Z') };

test('weekdays are the calendar’s (2027-01-15 is a Friday, 2026-12-06 a Sunday)', () => {
  expect(dayWithWeekday('2027-01-15')).toBe('2027年1月15日（金）');
  expect(dayWithWeekday('2026-12-06')).toBe('2026年12月6日（日）');
});

test('the invitation asks for the deadline; a reminder after it says it has passed; none without one', () => {
  const asked = renderInvitationMail({ ...base, kind: 'invitation', submissionDueDate: '2027-01-15', today: '2027-01-01' }).text;
  expect(asked).toContain('【提出期限】2027年1月15日（金）までに登録してください。');
  const onTheDay = renderInvitationMail({ ...base, kind: 'reminder', submissionDueDate: '2027-01-15', today: '2027-01-15' }).text;
  expect(onTheDay).toContain('までに登録してください。');
  const late = renderInvitationMail({ ...base, kind: 'reminder', submissionDueDate: '2027-01-15', today: '2027-01-16' }).text;
  expect(late).toContain('【提出期限】2027年1月15日（金）を過ぎています。お早めに登録してください。');
  expect(renderInvitationMail({ ...base, kind: 'invitation' }).text).not.toContain('提出期限');
});
