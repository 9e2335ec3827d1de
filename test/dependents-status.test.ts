/**
 * The dependents column of a registrant (DESIGN.md): the lowest status among the dependents,
 * unregistered < pending/remanded < refused/completed, with one status standing for each tier.
 * The HR API shows it as `dependentsStatus` (asserted in lifecycle-api.test.ts).
 */
import type { Status } from '../prisma/generated/client';
import { dependentsStatus, DEPENDENTS_STATUS_ORDER, type DependentStatusRow } from '../services/registrants/view';

const dep = (status: Status, extra: Partial<DependentStatusRow> = {}): DependentStatusRow => ({ status, noLongerDependentAt: null, draft: false, ...extra });
const of = (...statuses: Status[]) => dependentsStatus(statuses.map((s) => dep(s)));

describe('dependentsStatus', () => {
  it('is null without dependents', () => {
    expect(dependentsStatus([])).toBeNull();
  });

  it('is the status of a single dependent, whichever it is', () => {
    for (const s of DEPENDENTS_STATUS_ORDER) expect(of(s)).toBe(s);
  });

  it('shows the lowest tier: unregistered < pending/remanded < refused/completed', () => {
    expect(of('completed', 'unregistered', 'pending')).toBe('unregistered');
    expect(of('refused', 'unregistered')).toBe('unregistered');
    expect(of('completed', 'pending')).toBe('pending');
    expect(of('refused', 'remanded')).toBe('remanded');
    expect(of('completed', 'completed')).toBe('completed');
  });

  it('picks remanded over pending and refused over completed within a tier, in any order', () => {
    expect(of('pending', 'remanded')).toBe('remanded');
    expect(of('remanded', 'pending')).toBe('remanded');
    expect(of('completed', 'refused')).toBe('refused');
    expect(of('refused', 'completed')).toBe('refused');
  });

  it('does not count dependents marked "no longer a dependent", nor those still in the draft', () => {
    const gone = dep('unregistered', { noLongerDependentAt: new Date('2025-04-01T00:00:00Z') });
    const drafted = dep('unregistered', { draft: true });
    expect(dependentsStatus([dep('completed'), gone, drafted])).toBe('completed');
    expect(dependentsStatus([gone])).toBeNull();
    expect(dependentsStatus([drafted])).toBeNull();
  });

  it('ranks every status exactly once', () => {
    expect([...DEPENDENTS_STATUS_ORDER].sort()).toEqual(['completed', 'pending', 'refused', 'remanded', 'unregistered']);
  });
});
