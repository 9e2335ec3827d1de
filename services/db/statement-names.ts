/**
 * Names for the hot reads' statements, so each pooled connection parses and plans a SELECT once and
 * then only binds it (as Prisma's own query engine did with its statement cache). Measured on the
 * 2-core bench machine: a record read (the session, the person, the dependents) half as much again a second.
 *
 * Only statements marked PREPARED are named, at most `max` texts a process; anything else runs
 * unnamed, planned on every call.
 */
export class StatementNames {
  private readonly names = new Map<string, string>();
  private generation = 0;

  constructor(
    private readonly max = 64,
    private readonly maxLength = 4096,
  ) {}

  /** The name for this text, or undefined to run it unnamed. */
  nameFor(text: string): string | undefined {
    let name = this.names.get(text);
    if (name === undefined && this.names.size < this.max && text.length <= this.maxLength && text.startsWith(PREPARED)) {
      this.names.set(text, (name = `mynaflow_${this.generation}_${this.names.size}`));
    }
    return name;
  }

  /**
   * `name` failed as prepared (see mustPrepareAgain): every text gets a new name from now on, so each
   * connection prepares it again; the old statements die with their connections. A name of an
   * earlier generation changes nothing, so reads failing together start one generation, not one each.
   */
  forget(name: string): void {
    if (!name.startsWith(`mynaflow_${this.generation}_`)) return;
    this.names.clear();
    this.generation++;
  }

  get size(): number {
    return this.names.size;
  }

  /** How many times the names were forgotten. */
  get generations(): number {
    return this.generation;
  }
}

/**
 * Put before a SELECT by key (a session, a person, ids) to run it prepared on the direct-SQL pool.
 * Only there: a prepared statement settles on one generic plan after five calls, so a statement
 * whose best plan depends on its values (a whole tenant of 100,000 or of 10, a rare status) stays
 * unmarked and is planned on every call. Any client runs the text (it is a comment).
 */
export const PREPARED = '/* prepared */ ';

/**
 * Whether a named statement failed in a way only preparing it again mends:
 * - its tables changed shape since it was planned (a migration under a running process): 0A000 from
 *   PostgreSQL's RevalidateCachedQuery (the routine's name: the message may be in the server's language);
 * - the connection has no such statement (26000): pg counts one as parsed whose parameters it could
 *   not send (it closed it again). The pool drops a connection after any error, so this is only in
 *   case a connection ever keeps one.
 */
export function mustPrepareAgain(err: unknown): boolean {
  const e = err as { code?: unknown; routine?: unknown; message?: unknown } | null;
  if (e?.code === '26000') return true;
  if (e?.code !== '0A000') return false;
  return e.routine === 'RevalidateCachedQuery' || (typeof e.message === 'string' && e.message.includes('cached plan must not change result type'));
}
