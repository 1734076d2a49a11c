/**
 * Minimal local types for better-sqlite3 12 (only what memory and long-term-memory use).
 * Workaround until `@types/better-sqlite3` is a devDependency (requested in /tmp/requests/h5.md):
 * delete this file then; the published types are a superset of these.
 */
declare module 'better-sqlite3' {
  namespace BetterSqlite3 {
    interface RunResult {
      changes: number;
      lastInsertRowid: number | bigint;
    }
    interface Statement<P extends unknown[] = unknown[], R = unknown> {
      run(...params: P): RunResult;
      get(...params: P): R | undefined;
      all(...params: P): R[];
      iterate(...params: P): IterableIterator<R>;
      pluck(on?: boolean): this;
      raw(on?: boolean): this;
      readonly reader: boolean;
    }
    interface Options {
      readonly?: boolean;
      fileMustExist?: boolean;
      /** busy timeout, ms (default 5000). */
      timeout?: number;
      verbose?: (message?: unknown, ...more: unknown[]) => void;
    }
    interface PragmaOptions {
      simple?: boolean;
    }
    interface Transaction<F extends (...args: never[]) => unknown> {
      (...args: Parameters<F>): ReturnType<F>;
      immediate(...args: Parameters<F>): ReturnType<F>;
    }
  }
  class Database {
    constructor(filename: string, options?: BetterSqlite3.Options);
    readonly name: string;
    readonly open: boolean;
    readonly inTransaction: boolean;
    prepare<P extends unknown[] = unknown[], R = unknown>(sql: string): BetterSqlite3.Statement<P, R>;
    exec(sql: string): this;
    pragma(source: string, options?: BetterSqlite3.PragmaOptions): unknown;
    transaction<F extends (...args: never[]) => unknown>(fn: F): BetterSqlite3.Transaction<F>;
    close(): this;
  }
  namespace Database {
    type Statement<P extends unknown[] = unknown[], R = unknown> = BetterSqlite3.Statement<P, R>;
    type RunResult = BetterSqlite3.RunResult;
    type Options = BetterSqlite3.Options;
  }
  export default Database;
}
