import type { Tx } from "./transaction.js";

/**
 * Rows that a long transaction (a batch of 1,000 events) only ever inserts, held back and written
 * as multi-row inserts: one statement per hundred rows instead of one per row, which is most of
 * what a row costs. Only for tables nothing in that transaction reads before the buffer is flushed
 * (or whose readers flush it first, `flushInserts`). Without a buffer, writers insert at once.
 */
export type BufferedInsert = (trx: Tx, rows: ReadonlyArray<readonly unknown[]>) => Promise<unknown>;

/** Rows per statement: far below SQLite's and PostgreSQL's limits on bound parameters. */
const rowsPerStatement = 100;

class InsertBuffer {
  // Kept in first-use order, so rows go in the order their tables were first written.
  private readonly tables = new Map<BufferedInsert, Array<readonly unknown[]>>();

  add(insert: BufferedInsert, rows: ReadonlyArray<readonly unknown[]>): void {
    let pending = this.tables.get(insert);
    if (!pending) {
      pending = [];
      this.tables.set(insert, pending);
    }
    pending.push(...rows);
  }

  async flush(trx: Tx): Promise<void> {
    for (const [insert, rows] of this.tables) {
      while (rows.length > 0) await insert(trx, rows.splice(0, rowsPerStatement));
    }
  }
}

const buffers = new WeakMap<Tx, InsertBuffer>();

/** Inserts now, or into the transaction's buffer when it has one. */
export async function insertOrBuffer(
  trx: Tx,
  insert: BufferedInsert,
  rows: ReadonlyArray<readonly unknown[]>,
): Promise<void> {
  if (rows.length === 0) return;
  const buffer = buffers.get(trx);
  if (buffer) buffer.add(insert, rows);
  else await insert(trx, rows);
}

/** Writes what the transaction's buffer holds; a reader of a buffered table calls this first. */
export async function flushInserts(trx: Tx): Promise<void> {
  await buffers.get(trx)?.flush(trx);
}

/** Runs `work` with a buffer on `trx`, and writes what it holds before returning. */
export async function withInsertBuffer<T>(trx: Tx, work: () => Promise<T>): Promise<T> {
  const buffer = new InsertBuffer();
  buffers.set(trx, buffer);
  try {
    const result = await work();
    await buffer.flush(trx);
    return result;
  } finally {
    buffers.delete(trx);
  }
}
