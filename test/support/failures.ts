import type pg from 'pg';

/** A failure injected into the hub's database; see {@link injectFailure}. */
export interface InjectedFailure {
  /** How many writes it has met so far (those it failed and, past `times`, those it let through). */
  fired(): Promise<number>;
  /** Removes the trigger: writes succeed again. */
  remove(): Promise<void>;
}

/**
 * Makes the writes to `table` that `when` matches (a trigger's WHEN condition on NEW or OLD)
 * fail with `message`, as a deadlock or a dropped connection would: every one of them, or only
 * the first `times`. `name` names the trigger, its function and its counter (a sequence, which
 * keeps its count when the failing transaction rolls back).
 */
export async function injectFailure(
  db: pg.Client,
  options: {
    name: string;
    table: string;
    on: 'INSERT OR UPDATE' | 'UPDATE' | 'DELETE';
    when: string;
    message?: string;
    times?: number;
  },
): Promise<InjectedFailure> {
  const { name, table, on, when, message = 'injected failure', times } = options;
  const failing = times === undefined ? 'TRUE' : `n <= ${times}`;
  await db.query(`CREATE SEQUENCE ${name};
    CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE n bigint := nextval('${name}');
    BEGIN
      IF ${failing} THEN RAISE EXCEPTION '%', ${quote(message)}; END IF;
      IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER ${name} BEFORE ${on} ON ${table} FOR EACH ROW
      WHEN (${when}) EXECUTE FUNCTION ${name}()`);
  return {
    fired: async () => {
      const { rows } = await db.query<{ n: string }>(
        `SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS n FROM ${name}`,
      );
      return Number(rows[0]!.n);
    },
    remove: async () => {
      await db.query(`DROP TRIGGER IF EXISTS ${name} ON ${table};
        DROP FUNCTION IF EXISTS ${name}(); DROP SEQUENCE IF EXISTS ${name}`);
    },
  };
}

function quote(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
