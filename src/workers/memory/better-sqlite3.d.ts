/**
 * Minimal local types for better-sqlite3 12 (only what memory and long-term-memory use), shaped
 * like DefinitelyTyped's `@types/better-sqlite3` (`export =` a constructor, `Database.Database` the
 * instance type) so that code written against them compiles unchanged with the real package.
 * Workaround until `@types/better-sqlite3` is a devDependency (requested in /tmp/requests/h5.md):
 * delete this file then.
 */
declare module 'better-sqlite3' {
  namespace BetterSqlite3 {
    interface RunResult {
      changes: number;
      lastInsertRowid: number | bigint;
    }
    interface Statement<BindParameters extends unknown[] = unknown[], Result = unknown> {
      run(...params: BindParameters): RunResult;
      get(...params: BindParameters): Result | undefined;
      all(...params: BindParameters): Result[];
      iterate(...params: BindParameters): IterableIterator<Result>;
      pluck(toggleState?: boolean): this;
      raw(toggleState?: boolean): this;
      readonly reader: boolean;
    }
    interface Transaction<F extends (...args: never[]) => unknown> {
      (...args: Parameters<F>): ReturnType<F>;
      immediate(...args: Parameters<F>): ReturnType<F>;
    }
    interface Database {
      readonly name: string;
      readonly open: boolean;
      readonly inTransaction: boolean;
      prepare<BindParameters extends unknown[] = unknown[], Result = unknown>(source: string): Statement<BindParameters, Result>;
      exec(source: string): this;
      pragma(source: string, options?: { simple?: boolean }): unknown;
      transaction<F extends (...args: never[]) => unknown>(fn: F): Transaction<F>;
      close(): this;
    }
    interface DatabaseConstructor {
      new (filename?: string, options?: Database.Options): Database;
    }
  }
  namespace Database {
    interface Options {
      readonly?: boolean;
      fileMustExist?: boolean;
      /** Busy timeout, ms (default 5000). */
      timeout?: number;
      verbose?: (message?: unknown, ...additionalArgs: unknown[]) => void;
    }
    type Database = BetterSqlite3.Database;
    type Statement<BindParameters extends unknown[] = unknown[], Result = unknown> = BetterSqlite3.Statement<BindParameters, Result>;
    type RunResult = BetterSqlite3.RunResult;
  }
  const Database: BetterSqlite3.DatabaseConstructor;
  export = Database;
}
