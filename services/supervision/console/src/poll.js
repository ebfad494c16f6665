// Refresh a page every few seconds: the next load starts only after the last one finished,
// so a slow server is never asked twice at once. Returns stop().

export function poll(intervalMs, load) {
  let stopped = false;
  let timer = null;
  async function tick() {
    try {
      await load();
    } finally {
      if (!stopped) timer = setTimeout(tick, intervalMs);
    }
  }
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
