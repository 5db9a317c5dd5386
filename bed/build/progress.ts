/** Progress lines for long steps, written to stderr so stdout stays JSON. */
export type Progress = (message: string) => void;

export const stderrProgress: Progress = (message) => {
  process.stderr.write(`[bed] ${message}\n`);
};

export const silentProgress: Progress = () => {};

export function formatElapsed(ms: number): string {
  const seconds = Math.round(ms / 1000);
  const minutes = Math.floor(seconds / 60);
  return minutes > 0 ? `${minutes}m${String(seconds % 60).padStart(2, "0")}s` : `${seconds}s`;
}
