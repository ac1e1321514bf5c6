import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The real entry point, as `npx laurel` runs it. */
export const laurelBin = fileURLToPath(new URL("../../bin/laurel.js", import.meta.url));

/**
 * The environment for a Laurel process: this process's environment without any LAUREL_* variable
 * (so neither the developer's shell nor CI leaks configuration in), quiet logs, then `variables`.
 */
export function laurelEnvironment(variables: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(([name]) => !name.startsWith("LAUREL_"));
  return { ...Object.fromEntries(inherited), LAUREL_LOG_LEVEL: "silent", ...variables };
}

/**
 * An empty working directory for a Laurel process: no stray `.env` is read and nothing is written
 * into the repository when a command falls back to the default `file:./data/laurel.db`.
 */
export function createWorkingDirectory(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), "laurel-cwd-"));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface LaurelRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `laurel <args>` to completion and returns its exit code and output. */
export async function runLaurel(args: string[], variables: Record<string, string>): Promise<LaurelRun> {
  const directory = createWorkingDirectory();
  try {
    return await new Promise<LaurelRun>((resolve, reject) => {
      const child = spawn(process.execPath, [laurelBin, ...args], {
        cwd: directory.path,
        env: laurelEnvironment(variables),
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
      });
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk;
      });
      child.once("error", reject);
      child.once("close", (code) => resolve({ code, stdout, stderr }));
    });
  } finally {
    directory.remove();
  }
}
