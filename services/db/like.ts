/**
 * `s` matched literally inside a LIKE pattern. Prisma's `contains` becomes ILIKE '%' || value || '%'
 * without escaping the value (checked by the tests): escape % _ and \ (PostgreSQL's default LIKE
 * escape) so they match literally.
 */
export const likeLiteral = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);
