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
