import type { Progress } from '../commands.js';

/** One process of the local stack: how to install it, start it and tell that it is healthy. */
export interface LocalService {
  readonly name: string;
  readonly logFile: string;
  readonly pidFile: string;
  /** host:port pairs it listens on, checked free before start. */
  readonly ports: number[];
  /** What a user can do when it does not come up. */
  readonly hint: string;
  readonly startTimeoutMs: number;
  /** Idempotent; downloads and builds only what is missing. */
  install(progress: Progress): Promise<void>;
  /** Writes config and formats storage as needed, then starts the process; returns its pid. */
  start(progress: Progress): Promise<number>;
  healthy(): Promise<boolean>;
  /** The endpoint a client uses, e.g. 127.0.0.1:19092 or http://127.0.0.1:18123. */
  endpoint(): string;
}
