/** An error that is the caller's to fix (or a dependency being down), with a machine code and a Japanese title. */
export class AppError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    public readonly title: string,
    public readonly errors?: { path: string; message: string; code?: string }[],
  ) {
    super(`${code}: ${title}`);
    this.name = 'AppError';
  }
}

/** Not in the caller's tenant (or not at all): the same answer either way. */
export const REGISTRANT_NOT_FOUND = () => new AppError(404, 'REGISTRANT_NOT_FOUND', '登録者が見つかりません');
/** Not this registrant's, or still in the employee's draft (HR does not see those). */
export const DEPENDENT_NOT_FOUND = () => new AppError(404, 'DEPENDENT_NOT_FOUND', '扶養家族が見つかりません');
