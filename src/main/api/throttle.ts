// Progress callbacks can fire thousands of times a second (one per imported file); the window only
// needs a few updates a second. Passes the first call, then at most one per interval, and always
// the final one (done === total) so the bar reaches its end.
export function throttleProgress(
  emit: (done: number, total: number) => void,
  intervalMs: number,
  now: () => number = Date.now,
): (done: number, total: number) => void {
  let last = -Infinity;
  return (done, total) => {
    const t = now();
    if (done >= total || t - last >= intervalMs) {
      last = t;
      emit(done, total);
    }
  };
}
