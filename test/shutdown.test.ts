import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { connect, type Socket } from "node:net";
import { createInterface } from "node:readline";
import { sql } from "kysely";
import { afterEach, expect, it } from "vitest";
import { openDatabase } from "../src/platform/db/database.js";
import { describeEachDialect } from "./support/app.js";
import { createWorkingDirectory, laurelBin, laurelEnvironment } from "./support/cli.js";
import { createTestDatabaseUrl, type TestDatabaseUrl } from "./support/dialects.js";

// Graceful shutdown through a real `laurel serve` process and raw sockets. Nothing here waits for
// time to pass: every step waits for an event (a log line, bytes on a socket, a refused connect,
// the process exiting), and the test timeout is the only bound.
const shutdownTestTimeoutMs = 60_000;

interface LogLine {
  level?: number;
  msg?: string;
  address?: string;
  [field: string]: unknown;
}

/** A running `laurel serve` whose stdout is read line by line. */
class ServerProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters = new Set<() => void>();
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly directory = createWorkingDirectory();
  private hasExited = false;
  stderr = "";

  constructor(variables: Record<string, string>) {
    this.child = spawn(process.execPath, [laurelBin, "serve"], {
      cwd: this.directory.path,
      env: laurelEnvironment(variables),
    });
    this.child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      this.stderr += chunk;
    });
    createInterface({ input: this.child.stdout }).on("line", (line) => {
      this.lines.push(line);
      this.notify();
    });
    // "close" comes after stdout has ended, so every line is in `lines` by then.
    this.exited = new Promise((resolve) => {
      this.child.once("close", (code, signal) => {
        this.hasExited = true;
        this.notify();
        resolve({ code, signal });
      });
    });
  }

  get logs(): LogLine[] {
    return this.lines.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as LogLine);
  }

  /** The first stdout line matching `predicate`, waiting for it; rejects if the process exits first. */
  line(predicate: (line: string) => boolean): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.lines.find(predicate);
        if (found === undefined && !this.hasExited) return;
        this.waiters.delete(check);
        if (found !== undefined) resolve(found);
        else
          reject(
            new Error(
              `laurel serve exited without that line.\nstdout:\n${this.lines.join("\n")}\nstderr:\n${this.stderr}`,
            ),
          );
      };
      this.waiters.add(check);
      check();
    });
  }

  async log(message: string): Promise<LogLine> {
    return JSON.parse(await this.line((line) => line.startsWith("{") && JSON.parse(line).msg === message));
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Kills the process if a failed test left it running, and removes its working directory. */
  async dispose(): Promise<void> {
    if (!this.hasExited) {
      this.child.kill("SIGKILL");
      await this.exited;
    }
    this.directory.remove();
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** Connects to the port; resolves with the socket, or with the error code when the connect fails. */
function tryConnect(port: number): Promise<Socket | string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => resolve(socket));
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

interface ParsedResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Raw HTTP/1.1 bytes split into interim responses (1xx) and the final one, or undefined while the
 * final response has not fully arrived.
 */
function parseResponses(raw: string): { interim: number[]; final: ParsedResponse; trailing: string } | undefined {
  const interim: number[] = [];
  let rest = raw;
  for (;;) {
    const headerEnd = rest.indexOf("\r\n\r\n");
    if (headerEnd < 0) return undefined;
    const [statusLine = "", ...headerLines] = rest.slice(0, headerEnd).split("\r\n");
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1]);
    rest = rest.slice(headerEnd + 4);
    if (status >= 100 && status < 200) {
      interim.push(status);
      continue;
    }
    const headers = Object.fromEntries(
      headerLines.map((line) => {
        const colon = line.indexOf(":");
        return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
      }),
    );
    const length = Number(headers["content-length"]);
    if (rest.length < length) return undefined;
    const body = Buffer.from(rest.slice(0, length), "latin1").toString("utf8");
    return { interim, final: { status, headers, body }, trailing: rest.slice(length) };
  }
}

/** Collects what the server sends on a client socket and lets a test wait for what it needs. */
class ClientConnection {
  received = "";
  private hasEnded = false;
  private failure: Error | undefined;
  private readonly waiters = new Set<() => void>();

  constructor(readonly socket: Socket) {
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      this.received += chunk;
      this.notify();
    });
    socket.once("end", () => {
      this.hasEnded = true;
      this.notify();
    });
    socket.once("error", (error) => {
      this.failure = error;
      this.notify();
    });
  }

  /** Waits until `predicate` holds for the bytes received so far. */
  until(predicate: (received: string) => boolean): Promise<void> {
    return this.wait(() => predicate(this.received), "the expected bytes");
  }

  /** Waits for the final response (after any 1xx). */
  async response(): Promise<{ interim: number[]; final: ParsedResponse; trailing: string }> {
    await this.wait(() => parseResponses(this.received) !== undefined, "a complete response");
    const parsed = parseResponses(this.received);
    if (!parsed) throw new Error("unreachable: response vanished");
    return parsed;
  }

  /** Waits until the server has closed the connection. */
  closedByServer(): Promise<void> {
    return this.wait(() => this.hasEnded, "the server to close the connection");
  }

  private wait(isDone: () => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (isDone()) {
          this.waiters.delete(check);
          resolve();
        } else if (this.failure || this.hasEnded) {
          this.waiters.delete(check);
          reject(
            new Error(`connection ended before ${what}: ${this.failure?.message ?? JSON.stringify(this.received)}`),
          );
        }
      };
      this.waiters.add(check);
      check();
    });
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

describeEachDialect("graceful shutdown of laurel serve", (dialect) => {
  let target: TestDatabaseUrl | undefined;
  const servers: ServerProcess[] = [];
  const sockets: Socket[] = [];

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    for (const server of servers.splice(0)) await server.dispose();
    await target?.drop();
    target = undefined;
  });

  function startServer(databaseUrl: string): ServerProcess {
    const server = new ServerProcess({
      LAUREL_DATABASE_URL: databaseUrl,
      LAUREL_PORT: "0",
      LAUREL_HOST: "127.0.0.1",
      LAUREL_DEMO_SHOP: "true",
      LAUREL_LOG_FORMAT: "json",
      LAUREL_LOG_LEVEL: "info",
      // Far beyond the test timeout: the process may only finish by completing its work, never
      // because the forced close after the shutdown timeout kicked in.
      LAUREL_SHUTDOWN_TIMEOUT_MS: "600000",
    });
    servers.push(server);
    return server;
  }

  async function openConnection(port: number): Promise<ClientConnection> {
    const socket = await tryConnect(port);
    if (typeof socket === "string") throw new Error(`could not connect to port ${port}: ${socket}`);
    sockets.push(socket);
    return new ClientConnection(socket);
  }

  /** The port from Laurel's "listening" log line, which carries the bound address. */
  async function listeningPort(server: ServerProcess): Promise<number> {
    const listening = await server.line(
      (line) => line.startsWith("{") && (JSON.parse(line) as LogLine).address !== undefined,
    );
    return Number(new URL(String((JSON.parse(listening) as LogLine).address)).port);
  }

  it(
    "finishes a request in flight at SIGTERM, refuses new connections, then exits 0 with the data saved",
    async () => {
      target = await createTestDatabaseUrl(dialect);
      const server = startServer(target.url);
      const secretKey = /Secret key\s+(sk_\S+)/.exec(await server.line((line) => /Secret key\s+sk_/.test(line)))?.[1];
      const shopId = /\((shop_\w+), USD\)/.exec(await server.line((line) => /Shop\s+Demo Shop/.test(line)))?.[1];
      expect(secretKey).toBeDefined();
      const port = await listeningPort(server);

      const body = JSON.stringify({ name: "Renamed during shutdown" });
      const half = Math.floor(body.length / 2);
      const inFlight = await openConnection(port);
      // Expect: 100-continue is the proof that the server holds the request. Node writes the
      // interim "100 Continue" in the same synchronous step in which it hands the parsed request
      // to Fastify, which routes it then; so once the client reads it, the request is in flight
      // (routed while the server was still open) and waits only for the rest of its body. An
      // answer on a second connection would prove nothing: the server reads its sockets in no
      // promised order.
      inFlight.socket.write(
        [
          "PATCH /v1/shop HTTP/1.1",
          `Host: 127.0.0.1:${port}`,
          `Authorization: Bearer ${secretKey}`,
          "Content-Type: application/json",
          `Content-Length: ${Buffer.byteLength(body)}`,
          "Expect: 100-continue",
          "",
          body.slice(0, half),
        ].join("\r\n"),
      );
      await inFlight.until((received) => received.includes("HTTP/1.1 100 Continue\r\n\r\n"));

      server.signal("SIGTERM");
      await server.log("shutting down: finishing in-flight requests");
      // The log line is written just before app.close() starts; the listening socket closes a few
      // steps later. A refused connect is the proof that it has: from then on no new connection
      // gets in. A connect that still succeeds is idle and is closed by the server or by us.
      // Sending the rest of the body only after that makes the request finish while the server is
      // closing: a signal and socket data otherwise reach the server in no fixed order.
      let refusal: string | undefined;
      for (let attempt = 0; attempt < 10_000 && refusal === undefined; attempt += 1) {
        const outcome = await tryConnect(port);
        if (typeof outcome === "string") {
          if (outcome === "ECONNREFUSED") refusal = outcome;
        } else {
          outcome.destroy();
        }
      }
      expect(refusal).toBe("ECONNREFUSED");

      inFlight.socket.write(body.slice(half));
      const { interim, final, trailing } = await inFlight.response();
      expect(interim).toEqual([100]);
      expect(final.status).toBe(200);
      expect(JSON.parse(final.body)).toMatchObject({ id: shopId, object: "shop", name: "Renamed during shutdown" });
      expect(trailing).toBe("");
      // Keeping the connection alive would hold the shutdown up until the client hangs up: the
      // server says it closes the connection, and does.
      expect(final.headers.connection).toBe("close");
      await inFlight.closedByServer();

      expect(await server.exited).toEqual({ code: 0, signal: null });
      const messages = server.logs.map((log) => log.msg);
      expect(messages).toContain("shutdown complete");
      expect(messages).not.toContain("in-flight requests did not finish in time; closing anyway");
      expect(server.logs.filter((log) => (log.level ?? 0) >= 40)).toEqual([]);
      expect(server.stderr).toBe("");

      const database = openDatabase(target.url, { poolSize: 1 });
      try {
        if (database.dialect === "sqlite") {
          const { rows } = await sql<{ integrity_check: string }>`pragma integrity_check`.execute(database.db);
          expect(rows).toEqual([{ integrity_check: "ok" }]);
        }
        const shops = await database.db.selectFrom("shops").select(["id", "name"]).execute();
        expect(shops).toEqual([{ id: shopId, name: "Renamed during shutdown" }]);
      } finally {
        await database.close();
      }
    },
    shutdownTestTimeoutMs,
  );

  it(
    "closes idle connections and exits 0 on SIGTERM, and a restart makes no second demo shop",
    async () => {
      target = await createTestDatabaseUrl(dialect);
      const first = startServer(target.url);
      await first.line((line) => /Secret key\s+sk_/.test(line));
      const port = await listeningPort(first);
      // A whole request and its response first: then the server has surely accepted the connection,
      // which now sits idle in keep-alive.
      const idle = await openConnection(port);
      idle.socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      const { final } = await idle.response();
      expect(final).toMatchObject({ status: 200, headers: { connection: "keep-alive" } });

      first.signal("SIGTERM");
      // The idle keep-alive connection must not hold the shutdown up: the server closes it.
      await idle.closedByServer();
      expect(await first.exited).toEqual({ code: 0, signal: null });
      expect(first.logs.map((log) => log.msg)).toContain("shutdown complete");

      const second = startServer(target.url);
      await listeningPort(second);
      second.signal("SIGINT");
      expect(await second.exited).toEqual({ code: 0, signal: null });
      expect(second.lines.join("\n")).not.toMatch(/Secret key|sk_/);
      expect(second.logs.map((log) => log.msg)).not.toContain("database migrated");
      expect(second.logs.map((log) => log.msg)).toContain("shutdown complete");

      const database = openDatabase(target.url, { poolSize: 1 });
      try {
        expect(await database.db.selectFrom("shops").select("name").execute()).toEqual([{ name: "Demo Shop" }]);
      } finally {
        await database.close();
      }
    },
    shutdownTestTimeoutMs,
  );
});
