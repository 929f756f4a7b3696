/** Where command results go: JSON for scripts (`--json`), lines for people. */
export interface Output {
  readonly json: boolean;
  /** Prints a command's result: the data as JSON, or the human lines. */
  result(data: unknown, human: () => string[] | string): void;
  /** A progress or status line for people; silent in JSON mode. */
  info(line: string): void;
}

export function createOutput(json: boolean, stdout: NodeJS.WritableStream = process.stdout): Output {
  return {
    json,
    result(data, human) {
      if (json) stdout.write(`${JSON.stringify(data, null, 2)}\n`);
      else {
        const lines = human();
        const text = Array.isArray(lines) ? lines.join('\n') : lines;
        if (text) stdout.write(`${text}\n`);
      }
    },
    info(line) {
      if (!json) stdout.write(`${line}\n`);
    },
  };
}
