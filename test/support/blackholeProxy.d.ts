/** Types of blackholeProxy.js (a loopback TCP proxy that blackholes connections). */
export declare class BlackholeProxy {
  constructor(o: { targetPort: number; targetHost?: string; port?: number });
  readonly port: number;
  readonly partitioned: boolean;
  readonly stats: { accepted: number; silenced: number; dropped: number };
  listen(): Promise<number>;
  blackholeCurrent(o?: { replies?: boolean }): number;
  partition(): void;
  heal(): void;
  counts(): { open: number; silent: number };
  close(): Promise<void>;
}
